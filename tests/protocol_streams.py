"""Shared by the parser tests and scripts/fuzz_protocol.py: the device parser built for the
host under ASan/UBSan, both parsers' event lists, and random byte streams that mix valid
frames, corrupted frames, stray sync pairs and noise."""

import subprocess
from pathlib import Path

import numpy as np

from ecqx.codegen.host import C_FLAGS
from ecqx.hil.protocol import Frame, Parser, encode

ROOT = Path(__file__).resolve().parent.parent
PROTO = ROOT / "firmware" / "lib" / "ecqx_proto"
DRIVER = ROOT / "tests" / "c" / "proto_events.c"


def build_device_parser(out_dir: Path) -> Path:
    exe = Path(out_dir) / "proto_events"
    cmd = ["gcc", "-O1", "-g", *C_FLAGS,
           "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-I", str(PROTO),
           "-o", str(exe), str(PROTO / "ecqx_proto.c"), str(DRIVER)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return exe


def device_events(exe: Path, data: bytes) -> list[str]:
    proc = subprocess.run([str(exe)], input=data, capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode().split("\n")[:-1]


def host_events(data: bytes) -> list[str]:
    out = []
    for ev in Parser().feed(data):
        out.append(f"F {ev.type} {len(ev.payload)}" if isinstance(ev, Frame) else f"E {ev.code}")
    return out


def random_stream(rng: np.random.Generator, parts: int) -> bytes:
    chunks = []
    for _ in range(parts):
        kind = rng.integers(0, 5)
        if kind == 0:
            chunks.append(rng.integers(0, 256, rng.integers(1, 40)).astype(np.uint8).tobytes())
            continue
        frame = bytearray(
            encode(int(rng.choice([1, 2, 0x81, 0x7F, 0x33])), bytes(rng.integers(0, 300)))
        )
        if kind == 2:
            frame[rng.integers(2, len(frame))] ^= 1 << int(rng.integers(0, 8))
        if kind == 3 and rng.random() < 0.3:
            frame[4:6] = int(rng.integers(1025, 65536)).to_bytes(2, "little")
        if kind == 4:
            frame[:0] = b"\xec\x51"  # a stray sync pair in front of the frame
        chunks.append(bytes(frame))
    return b"".join(chunks)
