"""The generated C kernel equals the reference engine bit for bit (host gcc, under ASan and
UBSan), for 2..5 bits, sparse and dense weights, both roundings; and it compiles
warning-free for Cortex-M."""

import dataclasses
import subprocess

import numpy as np
import pytest
from helpers import C_FLAGS, random_integer_model

from ecqx.codegen.render import render
from ecqx.integer import engine

HOST_RUNNER = "codegen/host/ecqx_host_runner.c"


def build_host(tmp_path, model, weights):
    gen = tmp_path / f"gen-{weights}"
    render(model, gen, weights)
    exe = gen / "run"
    srcs = [str(p) for p in sorted(gen.glob("*.c"))] + [HOST_RUNNER]
    cmd = ["gcc", "-O1", *C_FLAGS, "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
           "-I", str(gen), "-o", str(exe), *srcs]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return gen, exe


def run_host(exe, x, n_out):
    proc = subprocess.run([str(exe)], input=x.tobytes(), capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    return np.frombuffer(proc.stdout, np.int8).reshape(-1, n_out)


@pytest.mark.parametrize("bits", [2, 3, 4, 5])
@pytest.mark.parametrize("weights", ["sparse", "dense", "int8"])
def test_host_kernel_is_bit_exact(tmp_path, bits, weights):
    # 41 inputs (odd: unaligned packed rows), a 300-wide layer (codes spread over two windows)
    model, feats = random_integer_model(
        seed=bits, bits=bits, widths=(41, 300, 24, 7), sparsity=0.85
    )
    model.layers[0].codes[::7] = 0  # dead units: removed, folded into the next bias
    model.layers[-1].codes[2] = 0  # an output row without weights: a placeholder group
    x = model.quantize_input(feats)
    # shift >= 0 (real multiplier >= 0.5) takes the general single-rounding path
    wide = dataclasses.replace(model.layers[1], shift=1)
    variants = {
        "single": model,
        "double": dataclasses.replace(model, rounding="double"),
        "single-shift1": dataclasses.replace(
            model, layers=[model.layers[0], wide, model.layers[2]]
        ),
    }
    for name, m in variants.items():
        _, exe = build_host(tmp_path / name, m, weights)
        assert np.array_equal(run_host(exe, x, m.num_classes), engine.run(m, x)), name


def test_generated_code_has_no_malloc_and_is_readable(tmp_path):
    model, _ = random_integer_model(seed=11)
    gen = tmp_path / "gen"
    summary = render(model, gen, "auto")
    for f in gen.glob("*.[ch]"):
        text = f.read_text()
        assert "malloc" not in text and "free(" not in text, f.name
    assert "ecqx_model_infer" in (gen / "ecqx_model.c").read_text()
    assert summary["weight_bytes"] == sum(ly["weight_bytes"] for ly in summary["layers"])
