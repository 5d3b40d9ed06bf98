"""Long fuzz run of the device's protocol parser: random streams of valid, corrupted and
oversize frames, stray sync pairs and noise, fed to the C parser built with ASan/UBSan, whose
events must equal the host parser's. The test suite runs a short version of this.

    source scripts/setup.sh && python scripts/fuzz_protocol.py [--parts 1000000] [--seed 0]
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from protocol_streams import (  # noqa: E402
    build_device_parser,
    device_events,
    host_events,
    random_stream,
)

CHUNK = 20_000  # stream parts per run of the harness (each ~ 3 MB)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parts", type=int, default=1_000_000, help="frames/noise chunks in all")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    t0, done, events, nbytes = time.perf_counter(), 0, 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        exe = build_device_parser(Path(tmp))
        while done < args.parts:
            n = min(CHUNK, args.parts - done)
            stream = random_stream(rng, n)
            dev, host = device_events(exe, stream), host_events(stream)
            if dev != host:
                bad = Path(f"fuzz-mismatch-seed{args.seed}-at{done}.bin")
                bad.write_bytes(stream)
                print(f"MISMATCH after {done} parts; stream saved to {bad}")
                return 1
            done, events, nbytes = done + n, events + len(dev), nbytes + len(stream)
            print(f"{done:>10,d} parts, {nbytes / 1e6:8.1f} MB, {events:>10,d} events, "
                  f"{time.perf_counter() - t0:6.0f} s", flush=True)  # fmt: skip
    print(f"ok: {done:,d} parts ({nbytes / 1e6:.1f} MB, {events:,d} events) with no sanitizer "
          "report and identical events on both sides")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
