"""The generated C model compiled and run on the host (gcc): the check that C sources equal
the reference engine before anything is flashed. A small stdin/stdout harness
(``host/ecqx_host_runner.c``) feeds int8 inputs and returns int8 logits."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

from ecqx.errors import EcqxError

HOST_RUNNER = Path(__file__).parent / "host" / "ecqx_host_runner.c"
# how every generated file must compile: warnings are errors
C_FLAGS = ("-Wall", "-Wextra", "-Werror", "-std=c99")
SANITIZE = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all")


class HostBuildError(EcqxError, RuntimeError):
    """The generated C did not compile or run on the host; the message has gcc's output."""


def compile_host(src: Path, exe: Path, sanitize: bool = False) -> Path:
    """Build the C sources in ``src`` with the host runner into ``exe``."""
    cc = shutil.which("gcc")
    if cc is None:
        raise HostBuildError("gcc not found: install gcc (scripts/setup.sh does it)")
    srcs = [str(p) for p in sorted(Path(src).glob("*.c"))] + [str(HOST_RUNNER)]
    cmd = [cc, "-O1", *C_FLAGS, *(SANITIZE if sanitize else ()), "-I", str(src), "-o",
           str(exe), *srcs]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise HostBuildError(f"the generated C in {src} does not compile:\n{proc.stderr[-3000:]}")
    return Path(exe)


def _run(exe: Path, mode: str, data: np.ndarray, dtype: type, per_record: int,
         timeout: float) -> np.ndarray:  # fmt: skip
    proc = subprocess.run([str(exe), mode], input=np.ascontiguousarray(data).tobytes(),
                          capture_output=True, timeout=timeout)  # fmt: skip
    if proc.returncode != 0:
        raise HostBuildError(f"{exe} failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    out = np.frombuffer(proc.stdout, dtype)
    if out.size != len(data) * per_record:
        raise HostBuildError(f"{exe} {mode} returned {out.size} values for {len(data)} records")
    return out.reshape(len(data), per_record)


def run_host(exe: Path, x: np.ndarray, num_classes: int, timeout: float = 300) -> np.ndarray:
    """int8 logits of the host build for int8 inputs ``x`` [n, in_features]."""
    return _run(exe, "features", np.asarray(x, np.int8), np.int8, num_classes, timeout)


def run_host_audio(exe: Path, pcm: np.ndarray, in_features: int, num_classes: int,
                   timeout: float = 600) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(int8 features, int8 logits) of the host build's front end + network for int16 PCM
    clips [n, samples] (a model with the C front end)."""
    out = _run(exe, "audio", np.asarray(pcm, np.int16), np.int8, in_features + num_classes,
               timeout)  # fmt: skip
    return out[:, :in_features], out[:, in_features:]


def run_host_mfcc(exe: Path, pcm: np.ndarray, n_coeffs: int, timeout: float = 600) -> np.ndarray:
    """int32 Q10 MFCC [n, frames * coeffs] of the host build's front end alone."""
    return _run(exe, "mfcc", np.asarray(pcm, np.int16), np.int32, n_coeffs, timeout)


def run_host_stream(exe: Path, pcm: np.ndarray, num_classes: int,
                    timeout: float = 600) -> list[dict]:  # fmt: skip
    """Per inference of the host build's streaming recognizer on one int16 stream: frame,
    lead, count, detected, index and the int8 logits."""
    proc = subprocess.run([str(exe), "stream"], input=np.ascontiguousarray(pcm, "<i2").tobytes(),
                          capture_output=True, timeout=timeout)  # fmt: skip
    if proc.returncode != 0:
        raise HostBuildError(f"{exe} failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    rec = np.dtype([("frame", "<i4"), ("lead", "<i4"), ("count", "<i4"), ("detected", "i1"),
                    ("index", "i1"), ("logits", "i1", (num_classes,))])  # fmt: skip
    if len(proc.stdout) % rec.itemsize:
        raise HostBuildError(f"{exe} stream returned a partial record")
    return np.frombuffer(proc.stdout, rec)
