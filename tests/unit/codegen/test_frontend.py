"""The generated C front end equals the fixed-point reference bit for bit (host gcc under ASan
and UBSan): the Q10 coefficients, the int8 features after normalization and input
quantization, and the logits of audio in, keyword out; on hard clips (silence, DC, full-scale
square waves, a click, white noise, chirps at many levels). It compiles warning-free for the
host and for Cortex-M0+/M3/M4/M33/M55; the streaming recognizer equals the reference. Each
with and without cepstral mean normalization."""

import shutil
import subprocess
from dataclasses import replace

import numpy as np
import pytest
from helpers import audio_integer_model, hard_clips, random_integer_model

from ecqx.codegen.frontend import feature_params, has_frontend
from ecqx.codegen.host import C_FLAGS, compile_host, run_host, run_host_audio, run_host_mfcc
from ecqx.codegen.render import FRONTEND_GENERATED, render
from ecqx.data.features import DEFAULT_MFCC, mfcc
from ecqx.data.fixed_mfcc import mfcc_fixed
from ecqx.integer import engine
from ecqx.integer.recognize import RecognizerParams

STREAM = RecognizerParams(threshold=0.02, min_count=2, suppression_frames=20)


@pytest.fixture(scope="module", params=[False, True], ids=["plain", "cmn"])
def built(tmp_path_factory, request):
    tmp = tmp_path_factory.mktemp("fe")
    model, clips = audio_integer_model(seed=3, cmn=request.param)
    # a recognizer that a random model triggers: low threshold, short suppression
    src = render(model, tmp / "c", stream=STREAM)
    return model, clips, src, compile_host(src.folder, tmp / "run", sanitize=True)


def test_c_mfcc_is_bit_exact_on_hard_clips(built):
    model, _, _, exe = built
    pcm = np.concatenate([hard_clips(18, seed=7), hard_clips(6, seed=8)])
    got = run_host_mfcc(exe, pcm, DEFAULT_MFCC.size)  # the coefficients before any CMN
    np.testing.assert_array_equal(got, mfcc_fixed(pcm, replace(DEFAULT_MFCC, cmn=False)))


def test_c_audio_path_equals_reference_features_and_logits(built):
    model, clips, _, exe = built
    feats, logits = run_host_audio(exe, clips, model.in_features, model.num_classes)
    x = model.quantize_input(mfcc(clips, feature_params(model)))
    np.testing.assert_array_equal(feats, x)
    np.testing.assert_array_equal(logits, engine.run(model, x))
    # the features path of the same build agrees too, and the clips are not degenerate
    np.testing.assert_array_equal(run_host(exe, x, model.num_classes), logits)
    assert len(np.unique(x)) > 50 and len(np.unique(logits.argmax(1))) > 1


def test_input_quantization_rounds_half_to_even_like_numpy(tmp_path, built):
    """Ties and clamps of ``ecqx_quantize_features`` against numpy float32 (mean 0, std 1,
    scale 1/1024 * 2: q = c / 2048)."""
    src = built[2].folder
    c = np.array([0, 1024, 3072, 5120, -1024, -3072, 1023, 1025, 2047, 2049, 260095, 260096,
                  264192, -262144, -263168, -264192, 2**23, -(2**23)], np.int32)  # fmt: skip
    prog = tmp_path / "q.c"
    prog.write_text(
        '#include <stdio.h>\n#include "ecqx_frontend.h"\n'
        f"static const int32_t c[{c.size}] = {{{', '.join(map(str, c))}}};\n"
        f"int main(void) {{ float m[{c.size}] = {{0}}, s[{c.size}]; int8_t q[{c.size}];\n"
        f"  for (int i = 0; i < {c.size}; i++) s[i] = 1.0f;\n"
        f"  ecqx_quantize_features(c, NULL, m, s, 2.0f, {c.size}, q);\n"
        f"  return fwrite(q, 1, {c.size}, stdout) == {c.size} ? 0 : 1; }}\n"
    )
    exe = tmp_path / "q"
    cmd = ["gcc", *C_FLAGS, "-I", str(src), "-o", str(exe), str(prog),
           str(src / "ecqx_quantize_features.c")]  # fmt: skip
    assert subprocess.run(cmd, capture_output=True).returncode == 0
    got = np.frombuffer(subprocess.run([str(exe)], capture_output=True).stdout, np.int8)
    x = (c * np.float32(2**-10) - np.float32(0)) / np.float32(1)
    want = np.clip(np.rint(x.astype(np.float32) / np.float32(2.0)), -128, 127).astype(np.int8)
    np.testing.assert_array_equal(got, want)
    assert {0, 2, -2, 127, -128} <= set(want.tolist())  # ties to even and both clamps


def test_a_float_feature_model_has_no_front_end(tmp_path):
    model, _ = random_integer_model(seed=1)
    assert not has_frontend(model)
    files = {f.name for f in render(model, tmp_path / "c").files}
    assert not files & set(FRONTEND_GENERATED) and "ecqx_mfcc_frame.c" not in files


@pytest.mark.parametrize(
    "cpu",
    [
        ["-mcpu=cortex-m0plus"],
        ["-mcpu=cortex-m3"],
        ["-mcpu=cortex-m4", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
        ["-mcpu=cortex-m33", "-mfloat-abi=hard", "-mfpu=fpv5-sp-d16"],
        ["-mcpu=cortex-m55", "-mfloat-abi=hard"],
    ],
)
def test_the_library_compiles_warning_free_for_cortex_m(tmp_path, built, cpu):
    """Every source of the library (front end, streaming, network kernels, generated data)."""
    assert shutil.which("arm-none-eabi-gcc"), "run through scripts/test.sh"
    src = built[2].folder
    names = sorted(p.name for p in src.glob("*.c"))
    assert {"ecqx_mfcc_frame.c", "ecqx_stream.c", "ecqx_fc_sparse.c", "ecqx_model.c"} <= set(names)
    for name in names:
        cmd = ["arm-none-eabi-gcc", "-O2", "-mthumb", *cpu, *C_FLAGS, "-I", str(src), "-c",
               "-o", str(tmp_path / "x.o"), str(src / name)]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, (name, proc.stderr)


def test_c_streaming_recognizer_equals_the_reference(built):
    """Every inference's logits and every detection of the C recognizer on a stream made of
    the test clips equal the reference's."""
    from ecqx.codegen.host import run_host_stream
    from ecqx.streaming import reference

    model, clips, src, exe = built
    pcm = np.concatenate([np.zeros(1000, np.int16), *clips[:8]])[: 320 * 400]
    got = run_host_stream(exe, pcm, model.num_classes)
    rp = STREAM
    ref = reference(model, pcm, rp)
    np.testing.assert_array_equal(got["logits"], ref.logits)
    assert got["frame"][0] == 48 and (np.diff(got["frame"]) == rp.infer_every).all()
    det = got[got["detected"] == 1]
    assert [(int(d["frame"]), int(d["index"]), int(d["lead"])) for d in det] == [
        (d.frame, d.label, d.lead) for d in ref.detections
    ]
    assert len(ref.detections) >= 2 and len(set(det["index"])) >= 1
