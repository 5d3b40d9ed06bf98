"""Byte transports to a device: a real serial port (pyserial) or an emulated board (QEMU
started and stopped by the harness). Both offer write / read with a deadline / close."""

from __future__ import annotations

import os
import selectors
import shutil
import subprocess
import time
from pathlib import Path

from ecqx.codegen.boards import boards, emulated, qemu_command
from ecqx.errors import EcqxError


class TransportError(EcqxError, RuntimeError):
    pass


class Transport:
    def write(self, data: bytes) -> None:
        raise NotImplementedError

    def read(self, timeout: float) -> bytes:
        """Whatever arrives within ``timeout`` seconds (b"" if nothing)."""
        raise NotImplementedError

    def close(self) -> None:
        pass

    @property
    def exit_code(self) -> int | None:
        """The device's exit status where it can end (an emulator), else None."""
        return None

    def describe(self) -> str:
        return type(self).__name__

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SerialTransport(Transport):
    def __init__(self, port: str, baud: int = 115200) -> None:
        import serial

        try:
            self._s = serial.serial_for_url(port, baudrate=baud, timeout=0)
        except (serial.SerialException, ValueError) as e:
            raise TransportError(
                f"cannot open serial port {port}: {e}; check the cable and the device name"
            ) from e
        self.port = port
        # a link that drops mid-run (cable pulled, socket closed) raises these
        self._link_errors = (serial.SerialException, OSError)

    def write(self, data: bytes) -> None:
        try:
            self._s.write(data)
            self._s.flush()
        except self._link_errors as e:
            raise TransportError(f"writing to {self.port} failed: {e}") from e

    def read(self, timeout: float) -> bytes:
        try:
            self._s.timeout = timeout
            first = self._s.read(1)
            if not first:
                return b""
            self._s.timeout = 0
            return first + self._s.read(self._s.in_waiting or 0)
        except self._link_errors as e:
            raise TransportError(f"reading from {self.port} failed: {e}") from e

    def close(self) -> None:
        try:
            self._s.close()
        except self._link_errors:
            pass  # already gone

    def describe(self) -> str:
        return f"serial {self.port}"


class QemuTransport(Transport):
    """QEMU running the firmware ELF, its UART0 on the process's stdin/stdout (binary safe).

    With ``icount_plugin`` the TCG plugin writes exact instruction counts between the two
    firmware markers to ``icount_file`` and, with ``profile_file``, per-address counts there."""

    def __init__(
        self,
        elf: Path,
        board: str,
        icount_plugin: Path | None = None,
        markers: tuple[int, int] | None = None,
        icount_file: Path | None = None,
        profile_file: Path | None = None,
    ) -> None:
        if board not in boards():
            raise TransportError(f"unknown emulated board {board!r}; one of {emulated()}")
        qemu = shutil.which("qemu-system-arm")
        if qemu is None:
            raise TransportError("qemu-system-arm not found: install qemu-system-arm")
        cmd = qemu_command(board, elf, qemu)
        if icount_plugin is not None and markers is not None and icount_file is not None:
            args = f"{icount_plugin},begin={markers[0]:#x},end={markers[1]:#x},out={icount_file}"
            if profile_file is not None:
                args += f",profile={profile_file}"
            cmd += ["-plugin", args]
        self.board = board
        self.cmd = cmd
        self._p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)  # fmt: skip
        os.set_blocking(self._p.stdout.fileno(), False)
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._p.stdout, selectors.EVENT_READ)

    def write(self, data: bytes) -> None:
        if self._p.poll() is not None:
            raise TransportError(f"emulator exited with code {self._p.returncode}")
        # Small chunks from the caller's thread: the guest drains its UART by interrupt.
        try:
            for i in range(0, len(data), 256):
                self._p.stdin.write(data[i : i + 256])
                self._p.stdin.flush()
        except BrokenPipeError as e:
            raise TransportError(f"emulator exited with code {self._p.poll()}") from e

    def read(self, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return b""
            if self._sel.select(left):
                chunk = self._p.stdout.read(65536)
                if chunk:
                    return chunk
                if chunk == b"" or self._p.poll() is not None:
                    return b""
            elif self._p.poll() is not None:
                return b""

    @property
    def exit_code(self) -> int | None:
        return self._p.poll()

    def close(self) -> None:
        if self._p.poll() is None:
            self._p.terminate()
            try:
                self._p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._p.kill()
                self._p.wait()
        self._sel.close()
        for f in (self._p.stdin, self._p.stdout, self._p.stderr):
            try:
                f.close()
            except (OSError, ValueError):
                pass

    def describe(self) -> str:
        return f"QEMU {self.board}"
