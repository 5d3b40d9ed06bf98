"""The generated C model equals the reference engine bit for bit (host gcc, under ASan and
UBSan), for 2..5 bits, sparse (by row and by column) and dense weights, both roundings; it
compiles warning-free for the host and for Cortex-M; weights are defined once."""

import dataclasses
import shutil
import subprocess

import numpy as np
import pytest
from helpers import random_integer_model

from ecqx.codegen.host import C_FLAGS, compile_host, run_host
from ecqx.codegen.render import API_HEADER, GENERATED, render
from ecqx.integer import engine


@pytest.mark.parametrize("fmt", ["sparse", "colsparse", "dense", "int8"])
def test_generated_c_compiles_warning_free_for_host_and_cortex_m(tmp_path, fmt):
    model, _ = random_integer_model(seed=40)
    src = render(model, tmp_path / "c", fmt)
    assert {f.name for f in src.files} >= set(GENERATED)
    use = tmp_path / "use.c"
    use.write_text(
        f'#include "{API_HEADER}"\n'
        "int main(void) { return ECQX_NUM_CLASSES + ECQX_IN_FEATURES"
        " + (int)ecqx_label(0)[0]; }\n"
    )
    for cc in ("gcc", "arm-none-eabi-gcc"):
        assert shutil.which(cc), f"{cc} missing: run through scripts/test.sh"
        for c_file in [use, *sorted(src.folder.glob("*.c"))]:
            flags = [*C_FLAGS, "-c", "-o", str(tmp_path / "u.o"), "-I", str(src.folder)]
            proc = subprocess.run([cc, *flags, str(c_file)], capture_output=True)
            assert proc.returncode == 0, (cc, c_file.name, proc.stderr.decode())
    data = (src.folder / "ecqx_model_data.c").read_text()
    assert model.identity() in data and ("_offsets" in data) == (fmt in ("sparse", "colsparse"))
    assert ("_columns" in data) == (fmt == "colsparse")
    # defined once: the header only declares
    header = (src.folder / "ecqx_model_data.h").read_text()
    assert "extern const int32_t ecqx_l0_bias" in header and "= {" not in header


@pytest.mark.parametrize("bits", [2, 3, 4, 5])
@pytest.mark.parametrize("weights", ["sparse", "colsparse", "dense", "int8"])
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
        src = render(m, tmp_path / name, weights)
        exe = compile_host(src.folder, tmp_path / name / "run", sanitize=True)
        assert np.array_equal(run_host(exe, x, m.num_classes), engine.run(m, x)), name


def test_generated_code_has_no_malloc_and_is_readable(tmp_path):
    model, _ = random_integer_model(seed=11)
    gen = tmp_path / "gen"
    summary = render(model, gen, "auto").summary()
    for f in gen.glob("*.[ch]"):
        text = f.read_text()
        assert "malloc" not in text and "free(" not in text, f.name
    assert "ecqx_infer" in (gen / "ecqx_model.c").read_text()
    assert summary["weight_bytes"] == sum(ly["weight_bytes"] for ly in summary["layers"])


def test_host_build_errors_are_clear(tmp_path):
    model, _ = random_integer_model(seed=12)
    src = render(model, tmp_path / "c")
    (src.folder / "ecqx_model_data.c").write_text("this is not C\n")
    with pytest.raises(Exception, match="does not compile"):
        compile_host(src.folder, tmp_path / "exe")


def test_activation_buffers_are_sized_by_layer_outputs_not_the_input(tmp_path):
    """The first layer reads the caller's input in place, so the two static buffers hold the
    widest layer output (not the 41-wide input) and the API header states their RAM."""
    model, _ = random_integer_model(seed=3, widths=(41, 24, 16, 5))
    src = render(model, tmp_path / "c")
    header = (src.folder / "ecqx_model_data.h").read_text()
    assert "#define ECQX_MAX_WIDTH 24\n" in header
    assert src.plan.max_width == 24
    api = (src.folder / API_HEADER).read_text()
    ram = int(api.split("#define ECQX_INFER_RAM_BYTES ")[1].split()[0])
    assert ram == 2 * 24 + 4 * src.plan.max_sparse_rows * any(
        ly["format"] in ("sparse", "colsparse") for ly in src.plan.layers
    )
