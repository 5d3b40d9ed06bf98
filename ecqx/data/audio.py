"""16 kHz mono 16-bit wav I/O with errors that say which file is wrong and how."""

from __future__ import annotations

import io
import wave
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ecqx.errors import EcqxError

SAMPLE_RATE = 16000


class DataError(EcqxError, ValueError):
    """A dataset folder or file is missing or malformed; the message says what to do."""


def read_wav_bytes(data: bytes) -> tuple[np.ndarray, int]:
    """Decode a 16-bit PCM wav held in memory to float32 in [-1, 1] and its sample rate."""
    with wave.open(io.BytesIO(data)) as w:
        if w.getsampwidth() != 2:
            raise DataError(f"expected 16-bit PCM, got {8 * w.getsampwidth()}-bit")
        if w.getnchannels() != 1:
            # Keyword spotting models hear one microphone; silently taking one channel of a
            # stereo recording hides a data problem.
            raise DataError(
                f"{w.getnchannels()} channels, expected mono (e.g. sox in.wav -c 1 out.wav)"
            )
        frames = w.readframes(w.getnframes())
        if len(frames) % 2:
            raise DataError("the sample data ends mid-sample: the file is truncated")
        x = np.frombuffer(frames, dtype="<i2")
        return x.astype(np.float32) / 32768.0, w.getframerate()


def read_wav(path: Path, expect_rate: int = SAMPLE_RATE) -> np.ndarray:
    """A 16 kHz mono 16-bit wav as float32 in [-1, 1]."""
    try:
        x, rate = read_wav_bytes(Path(path).read_bytes())
    except IsADirectoryError as e:
        raise DataError(f"{path}: a folder where a wav file was expected; rename it") from e
    except (wave.Error, EOFError, OSError, DataError) as e:
        raise DataError(f"{path}: unreadable wav ({e}); re-create or delete the file") from e
    if rate != expect_rate:
        raise DataError(
            f"{path}: sample rate {rate} Hz, expected {expect_rate} Hz; resample the dataset "
            f"(e.g. sox in.wav -r {expect_rate} out.wav)"
        )
    return x


def write_wav(path: Path | BinaryIO, x: np.ndarray, rate: int = SAMPLE_RATE) -> None:
    """float [-1, 1] (or int16 PCM, written as is) -> 16-bit mono wav in ``path`` (a file name
    or a binary file object)."""
    if np.asarray(x).dtype == np.int16:
        pcm = np.asarray(x, "<i2")
    else:
        pcm = np.clip(np.round(x * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(path if hasattr(path, "write") else str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
