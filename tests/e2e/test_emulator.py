"""End to end on the emulated Cortex-M boards: PlatformIO builds the firmware offline, QEMU
runs it, the HIL check compares every output with the reference engine (slow: toolchain and
emulator)."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from helpers import random_integer_model

from ecqx.cli import main
from ecqx.hil.check import run_check
from ecqx.hil.device import Device
from ecqx.hil.profile import by_function, read_profile, table
from ecqx.hil.run import hil
from ecqx.integer import engine

pytestmark = pytest.mark.slow


def test_firmware_and_hil_on_the_emulated_cortex_m4(tiny_trained, tmp_path, capsys):
    """PlatformIO builds the firmware offline, QEMU runs it, the check passes bit-exactly."""
    rc = main(["hil", "--model", str(tiny_trained), "--board", "mps2-an386", "--limit", "25",
               "--out", str(tmp_path)])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0, out
    r = json.loads((tmp_path / "hil_report.json").read_text())
    n = r["requested"]  # the tiny test split may hold fewer than 25
    assert n >= 10 and r["bit_exact"] and r["completed"] == n and not r["mismatches"]
    ic = r["instructions_per_inference"]
    assert ic["count"] == n and ic["mean"] > 10_000
    assert (tmp_path / "confusion.png").stat().st_size > 1000
    fw = json.loads((tiny_trained / "export" / "firmware_report.json").read_text())
    assert fw["sizes"]["flash"] > fw["weight_bytes"] and fw["sizes"]["ram"] > 0
    parts = fw["parts"]  # the library's share, by symbol: tables and scratch vs weights
    assert parts["network"]["flash"] > fw["weight_bytes"] and parts["network"]["ram"] > 0
    assert 4000 < parts["front_end"]["flash"] < 50_000 and 4000 < parts["front_end"]["ram"] < 8192


def test_hil_on_raw_audio_checks_the_front_end_on_the_device(tiny_trained, tmp_path, capsys):
    """16-bit PCM over the link; the device's features and logits are both bit-exact, and the
    front end and the network are counted as separate intervals."""
    rc = main(["hil", "--model", str(tiny_trained), "--board", "mps2-an386", "--limit", "4",
               "--audio", "--out", str(tmp_path)])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0, out
    r = json.loads((tmp_path / "hil_report.json").read_text())
    a, n = r["audio"], r["requested"]
    assert r["bit_exact"] and a["features_bit_exact"] and r["completed"] == n >= 4
    fe, net = a["instructions_front_end"], r["instructions_per_inference"]
    assert fe["count"] == net["count"] == n and fe["mean"] > 100_000 and net["mean"] > 10_000
    assert "features bit-exact: yes" in out


def test_streaming_on_the_device_equals_the_reference(tiny_trained, tmp_path, capsys):
    """`ecqx stream --board`: the firmware (built on demand) runs its recognizer on a test
    stream, every inference's logits and every detection equal to the reference;
    instructions counted per hop."""
    rc = main(["stream", "--model", str(tiny_trained), "--seconds", "12", "--board",
               "mps2-an386", "--device-seconds", "4", "--out", str(tmp_path)])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0, out
    r = json.loads((tmp_path / "stream_report.json").read_text())
    dev = r["device"]
    assert dev["logits_bit_exact"] and dev["detections_equal"] and dev["hops"] == 200
    assert dev["inferences"] == (200 - 1 - 48 - 1) // 5 + 1
    ih = dev["instructions_per_hop"]
    assert ih["with_inference"] > ih["without_inference"] > 10_000
    assert r["keywords"] >= 3 and len(r["thresholds"]) == 8
    assert (tmp_path / "detection_vs_false_alarms.png").stat().st_size > 1000


@pytest.mark.parametrize("board", ["mps3-an547", "mps2-an500"])
def test_firmware_runs_bit_exact_on_the_m55_and_m7(tiny_trained, tmp_path, capsys, board):
    """The other emulated cores: their own interrupt lines / memory maps, same answers."""
    rc = main(["hil", "--model", str(tiny_trained), "--board", board, "--limit", "5",
               "--out", str(tmp_path)])  # fmt: skip
    assert rc == 0, capsys.readouterr().out
    r = json.loads((tmp_path / "hil_report.json").read_text())
    assert r["bit_exact"] and r["completed"] == r["requested"] >= 5


def test_instruction_profile_adds_up_to_the_counted_total(tiny_trained, tmp_path):
    """The per-address profile covers the same intervals as the plain count, exactly, and
    attributes most of an inference to the fully-connected kernels."""
    r = hil(tiny_trained, board="mps2-an386", limit=3, out=tmp_path, progress=False,
            profile=True)  # fmt: skip
    assert r["bit_exact"] and r["completed"] == 3
    counted = sum(int(v) for v in (tmp_path / "instructions.txt").read_text().split())
    counts = read_profile(tmp_path / "profile.txt")
    assert sum(counts.values()) == counted
    elf = Path(json.loads((tiny_trained / "export" / "firmware_report.json").read_text())["elf"])
    per_fn = by_function(counts, elf)
    kernels = sum(n for name, n in per_fn.items() if name.startswith("ecqx_fc_"))
    assert kernels > 0.8 * counted and "?" not in per_fn
    assert "| ecqx_fc_" in table(counts, elf, 3)


@pytest.mark.parametrize("board", ["mps2-an386", "mps3-an547"])
def test_core_specific_kernel_paths_are_bit_exact_on_the_emulator(tmp_path, board):
    """Code that only a Cortex-M runs: the SMLAD paths of the dense kernel (2-, 4- and 8-bit
    storage, rows ending mid-word), the sparse group sum and the by-column scatter-add -
    Thumb-2 assembly on the M4 (full 31-weight groups and shorter ones), on the M55 Helium
    gathers and scatters for long groups (whole and partial quads) and the Thumb-2 run for
    short ones - in one model of mixed widths; the by-column layer sees ReLU outputs, so it
    skips zero inputs and scatters live ones."""
    from ecqx.codegen.firmware_build import build, copy_project
    from ecqx.codegen.render import render
    from ecqx.codegen.sparse_format import encode_colsparse, encode_sparse
    from ecqx.hil.transport import QemuTransport

    widths, bits = (41, 300, 200, 24, 7), (2, 4, 2, 5)
    parts = [random_integer_model(seed=60 + b, bits=b, widths=widths, sparsity=0.3)[0]
             for b in bits]  # fmt: skip
    model = dataclasses.replace(parts[0], layers=[p.layers[i] for i, p in enumerate(parts)])
    model.layers[2].codes[::2, 10:190] = 1  # 180 equal codes a row: full 31-weight groups
    model.layers[1].codes[10:190, ::2] = 1  # the same down columns for the by-column kernel
    model.validate()
    # groups of every length, so both sides of the M55's Helium/scalar split run
    for counts in (encode_sparse(model.layers[2].codes).counts,
                   encode_colsparse(model.layers[1].codes).by_column.counts):  # fmt: skip
        assert counts.min() <= 2 and counts.max() == 31
    project = copy_project(tmp_path / "fw")
    formats = ["dense", "colsparse", "sparse", "dense"]
    summary = render(model, project / "src" / "generated", formats).summary()
    assert [ly["bits"] for ly in summary["layers"]] == list(bits)
    elf = build(project, board)
    x = np.random.default_rng(1).integers(-128, 128, (12, widths[0])).astype(np.int8)
    with QemuTransport(elf, board) as transport:
        dev = Device(transport, timeout=10.0)
        dev.wait_boot()
        r = run_check(dev, model, x, engine.predict(model, x), tmp_path / "hil", progress=False)
    assert r["bit_exact"] and r["completed"] == 12
