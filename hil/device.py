"""A device speaking the ecqx protocol over any Transport, with failures as exceptions that
say what happened (timeout, reset, garbled reply, refusal)."""

from __future__ import annotations

import time

import numpy as np

from ecqx.errors import EcqxError
from ecqx.hil.protocol import (
    AudioResult,
    BadFrame,
    DeviceInfo,
    ErrorCode,
    Frame,
    Msg,
    Parser,
    Result,
    StreamResult,
    audio_parts,
    encode,
)
from ecqx.hil.transport import Transport, TransportError


class HilError(EcqxError, RuntimeError):
    """The device did not give a valid answer."""


class DeviceTimeout(HilError):
    pass


class DeviceReset(HilError):
    pass


class DeviceGarbled(HilError):
    pass


class DeviceRefused(HilError):
    pass


class StaleFirmware(HilError):
    pass


class LinkLost(HilError):
    """The serial link or the emulator's pipe failed (cable pulled, socket closed)."""


class Device:
    def __init__(self, transport: Transport, timeout: float = 5.0) -> None:
        self.t = transport
        self.timeout = timeout
        self.parser = Parser()
        self._pending: list[Frame | BadFrame] = []
        self.info: DeviceInfo | None = None

    def _next(self, timeout: float) -> Frame:
        deadline = time.monotonic() + timeout
        while not self._pending:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DeviceTimeout(
                    f"no reply from {self.t.describe()} within {timeout:.1f} s (device hung?)"
                )
            try:
                data = self.t.read(min(left, 0.5))
            except TransportError as e:
                raise LinkLost(str(e)) from e
            self._pending += self.parser.feed(data)
            code = self.t.exit_code
            if not data and code is not None and not self._pending:
                raise DeviceReset(f"{self.t.describe()} exited with code {code}")
        ev = self._pending.pop(0)
        if isinstance(ev, BadFrame):
            raise DeviceGarbled(f"garbled reply from the device ({ev.code.name})")
        return ev

    def _parse_info(self, payload: bytes) -> DeviceInfo:
        try:
            self.info = DeviceInfo.parse(payload)
        except ValueError as e:
            raise DeviceGarbled(f"invalid device information: {e}") from e
        return self.info

    def wait_boot(self, timeout: float = 15.0) -> DeviceInfo:
        """The BOOT announcement a device sends after reset (emulators: right after start)."""
        fr = self._next(timeout)
        if fr.type != Msg.BOOT:
            raise DeviceGarbled(f"expected BOOT, got message type {fr.type:#x}")
        return self._parse_info(fr.payload)

    def _request(self, msg: int, payload: bytes, want: int) -> Frame:
        try:
            self.t.write(encode(msg, payload))
        except TransportError as e:
            raise LinkLost(str(e)) from e
        fr = self._next(self.timeout)
        if fr.type == Msg.BOOT:
            self._parse_info(fr.payload)
            raise DeviceReset("the device reset while handling the request")
        if fr.type == Msg.ERROR:
            code = fr.payload[0] if fr.payload else 0
            name = ErrorCode(code).name if code in ErrorCode._value2member_map_ else str(code)
            raise DeviceRefused(f"device answered ERROR {name}")
        if fr.type != want:
            raise DeviceGarbled(f"expected message {want:#x}, got {fr.type:#x}")
        return fr

    def hello(self) -> DeviceInfo:
        return self._parse_info(self._request(Msg.HELLO, b"", Msg.INFO).payload)

    def infer(self, x: np.ndarray) -> Result:
        if self.info is None:
            self.hello()
        assert self.info is not None
        fr = self._request(Msg.INFER, np.asarray(x, np.int8).tobytes(), Msg.RESULT)
        try:
            return Result.parse(fr.payload, self.info.num_classes)
        except ValueError as e:
            raise DeviceGarbled(str(e)) from e

    def classify(self, pcm: np.ndarray) -> AudioResult:
        """Send one int16 clip in AUDIO parts (each acknowledged), then CLASSIFY it."""
        self._need_front_end()
        for part in audio_parts(np.ascontiguousarray(pcm, "<i2").tobytes()):
            ack = self._request(Msg.AUDIO, part, Msg.ACK)
            if ack.payload != part[:2]:
                raise DeviceGarbled(f"ACK for sample {ack.payload.hex()}, sent {part[:2].hex()}")
        fr = self._request(Msg.CLASSIFY, b"", Msg.AUDIO_RESULT)
        try:
            return AudioResult.parse(fr.payload, self.info.in_features, self.info.num_classes)
        except ValueError as e:
            raise DeviceGarbled(str(e)) from e

    def _need_front_end(self) -> None:
        if self.info is None:
            self.hello()
        assert self.info is not None
        if not self.info.front_end:
            raise DeviceRefused("the firmware has no audio front end (a model trained on float "
                                "features): re-train with --features fixed")  # fmt: skip

    def stream_reset(self) -> None:
        self._need_front_end()
        self._request(Msg.STREAM_RESET, b"", Msg.ACK)

    def stream_push(self, hop: np.ndarray) -> StreamResult:
        """One hop of int16 PCM into the device's streaming recognizer."""
        self._need_front_end()
        assert self.info is not None
        fr = self._request(Msg.STREAM_PUSH, np.ascontiguousarray(hop, "<i2").tobytes(),
                           Msg.STREAM_RESULT)  # fmt: skip
        try:
            return StreamResult.parse(fr.payload, self.info.num_classes)
        except ValueError as e:
            raise DeviceGarbled(str(e)) from e
