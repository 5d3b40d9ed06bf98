"""Host side of ecqx's framed serial protocol (device side: firmware/lib/ecqx_proto).

Frame: ``0xEC 0x51 | version u8 | type u8 | length u16 LE | payload | crc16 LE``, CRC-16/
CCITT-FALSE over version, type, length and payload. ``Parser`` is the same byte-wise state
machine as the device's: garbage between frames is skipped, bad frames are reported and the
parser resynchronizes on the next sync pair.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

SYNC = b"\xec\x51"
VERSION = 2  # 2: INFO carries a front-end byte; AUDIO / CLASSIFY
MAX_PAYLOAD = 1024
AUDIO_PART_SAMPLES = 500  # int16 samples per AUDIO frame: 2 + 1000 bytes fit MAX_PAYLOAD


class Msg(IntEnum):
    HELLO = 0x01
    INFER = 0x02
    AUDIO = 0x03
    CLASSIFY = 0x04
    STREAM_RESET = 0x05
    STREAM_PUSH = 0x06
    INFO = 0x81
    RESULT = 0x82
    BOOT = 0x83
    ACK = 0x84
    AUDIO_RESULT = 0x85
    STREAM_RESULT = 0x86
    ERROR = 0x7F


class ErrorCode(IntEnum):
    CRC = 1
    OVERSIZE = 2
    UNKNOWN_TYPE = 3
    LENGTH = 4
    VERSION = 5


def crc16(data: bytes, crc: int = 0xFFFF) -> int:
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def encode(msg_type: int, payload: bytes = b"", version: int = VERSION) -> bytes:
    if len(payload) > 0xFFFF:
        raise ValueError("payload too long for a frame")
    head = struct.pack("<BBH", version, msg_type, len(payload))
    return SYNC + head + payload + struct.pack("<H", crc16(head + payload))


@dataclass
class Frame:
    type: int
    payload: bytes


@dataclass
class BadFrame:
    code: ErrorCode


class Parser:
    """Feed bytes, get Frames and BadFrames back, in order."""

    def __init__(self, max_payload: int = MAX_PAYLOAD) -> None:
        self.max_payload = max_payload
        self._state = "sync0"
        self._head = bytearray()
        self._payload = bytearray()
        self._length = 0
        self._crc = bytearray()

    def feed(self, data: bytes) -> list[Frame | BadFrame]:
        out: list[Frame | BadFrame] = []
        for b in data:
            ev = self._byte(b)
            if ev is not None:
                out.append(ev)
        return out

    def _byte(self, b: int) -> Frame | BadFrame | None:
        st = self._state
        if st == "sync0":
            if b == SYNC[0]:
                self._state = "sync1"
        elif st == "sync1":
            self._state = "head" if b == SYNC[1] else ("sync1" if b == SYNC[0] else "sync0")
            self._head.clear()
        elif st == "head":
            # Each header byte is checked as it arrives, so a stray sync pair in front of a
            # frame costs at most that pair, never the frame (or a retry) behind it.
            if not self._head and b == SYNC[0]:
                self._state = "sync1"  # "EC 51 EC ...": the first pair was noise
                return None
            self._head.append(b)
            if len(self._head) == 1 and b != VERSION:
                return self._reject(b, ErrorCode.VERSION)
            if len(self._head) == 2 and b not in Msg._value2member_map_:
                return self._reject(b, ErrorCode.UNKNOWN_TYPE)
            if len(self._head) == 4:
                _, _, self._length = struct.unpack("<BBH", self._head)
                if self._length > self.max_payload:
                    return self._reject(b, ErrorCode.OVERSIZE)
                self._payload.clear()
                self._crc.clear()
                self._state = "payload" if self._length else "crc"
        elif st == "payload":
            self._payload.append(b)
            if len(self._payload) == self._length:
                self._state = "crc"
        else:  # crc
            self._crc.append(b)
            if len(self._crc) == 2:
                self._state = "sync0"
                version, mtype, _ = struct.unpack("<BBH", self._head)
                if struct.unpack("<H", self._crc)[0] != crc16(bytes(self._head + self._payload)):
                    return BadFrame(ErrorCode.CRC)
                return Frame(mtype, bytes(self._payload))
        return None

    def _reject(self, b: int, code: ErrorCode) -> BadFrame:
        """A header that cannot start a valid frame: report it and resynchronize at once,
        keeping the rejected byte if it could begin the next frame's sync pair."""
        self._state = "sync1" if b == SYNC[0] else "sync0"
        return BadFrame(code)


@dataclass
class DeviceInfo:
    version: int
    model_id: str
    in_features: int
    num_classes: int
    board: str
    front_end: bool = False  # the firmware can take audio (AUDIO / CLASSIFY)

    @staticmethod
    def parse(payload: bytes) -> DeviceInfo:
        if len(payload) < 22:
            raise ValueError(f"INFO payload of {len(payload)} bytes, expected >= 22")
        version = payload[0]
        model_id = payload[1:17].decode("ascii", "replace")
        n_in, n_out = struct.unpack("<HH", payload[17:21])
        if not (n_in and n_out):
            raise ValueError(f"INFO declares a {n_in}-input, {n_out}-class model")
        if payload[21] > 1:
            raise ValueError(f"INFO declares front end {payload[21]}, expected 0 or 1")
        board = payload[22:].decode("ascii", "replace")
        return DeviceInfo(version, model_id, n_in, n_out, board, bool(payload[21]))


@dataclass
class Result:
    logits: bytes  # int8 values as bytes
    label: int
    cycles: int

    @staticmethod
    def parse(payload: bytes, num_classes: int) -> Result:
        if len(payload) != num_classes + 5:
            raise ValueError(f"RESULT payload of {len(payload)} bytes, expected {num_classes + 5}")
        cycles = struct.unpack("<I", payload[num_classes + 1 :])[0]
        if payload[num_classes] >= num_classes:
            raise ValueError(
                f"RESULT names class {payload[num_classes]}, the model has {num_classes}"
            )
        return Result(payload[:num_classes], payload[num_classes], cycles)


def audio_parts(pcm: bytes | memoryview) -> list[bytes]:
    """AUDIO payloads for one int16 clip: first sample u16 LE, then up to AUDIO_PART_SAMPLES
    samples."""
    step = 2 * AUDIO_PART_SAMPLES
    return [struct.pack("<H", at // 2) + bytes(pcm[at : at + step])
            for at in range(0, len(pcm), step)]  # fmt: skip


@dataclass
class AudioResult:
    features: bytes  # int8 values as bytes
    logits: bytes
    label: int
    cycles_front_end: int
    cycles_network: int

    @staticmethod
    def parse(payload: bytes, in_features: int, num_classes: int) -> AudioResult:
        size = in_features + num_classes + 9
        if len(payload) != size:
            raise ValueError(f"AUDIO_RESULT payload of {len(payload)} bytes, expected {size}")
        at = in_features + num_classes
        if payload[at] >= num_classes:
            raise ValueError(f"AUDIO_RESULT names class {payload[at]}, the model has {num_classes}")
        fe, net = struct.unpack("<II", payload[at + 1 :])
        return AudioResult(payload[:in_features], payload[in_features:at], payload[at], fe, net)


@dataclass
class StreamResult:
    inferred: bool
    detected: bool
    index: int
    frame: int
    lead: int
    count: int
    logits: bytes  # int8 values as bytes (zeros when nothing was inferred)

    @staticmethod
    def parse(payload: bytes, num_classes: int) -> StreamResult:
        if len(payload) != 15 + num_classes:
            raise ValueError(f"STREAM_RESULT payload of {len(payload)} bytes, expected "
                             f"{15 + num_classes}")  # fmt: skip
        inferred, detected, index, frame, lead, count = struct.unpack("<BBbiii", payload[:15])
        if inferred > 1 or detected > 1 or (detected and not 0 <= index < num_classes):
            raise ValueError(f"STREAM_RESULT flags {inferred}/{detected} class {index} invalid")
        return StreamResult(bool(inferred), bool(detected), index, frame, lead, count,
                            payload[15:])  # fmt: skip
