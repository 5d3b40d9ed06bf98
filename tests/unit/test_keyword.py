"""`ecqx predict`: the keyword of a WAV file by the integer engine, short files padded, clear
errors for a missing model or a file it cannot take."""

import json

import numpy as np
import pytest
from helpers import audio_integer_model

from ecqx.cli import main
from ecqx.data.audio import write_wav
from ecqx.data.features import DEFAULT_MFCC, mfcc
from ecqx.integer import engine
from ecqx.keyword import load_model, predict_wav


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    model, clips = audio_integer_model(seed=11)
    path = tmp_path_factory.mktemp("m") / "integer_model.npz"
    model.save(path)
    return path, clips


def test_predict_equals_the_engine_and_pads_short_files(model_file, tmp_path, capsys):
    path, clips = model_file
    model = load_model(path)
    for i in (0, 1, 6):
        wav = tmp_path / f"{i}.wav"
        write_wav(wav, clips[i])
        want = engine.run(model, model.quantize_input(mfcc(clips[i : i + 1], DEFAULT_MFCC)))[0]
        r = predict_wav(wav, model)
        np.testing.assert_array_equal(r.logits, want)
        assert r.label == model.labels[int(want.argmax())] and r.used == "the whole file"
        assert r.probabilities.sum() == pytest.approx(1.0)
    short = tmp_path / "short.wav"
    write_wav(short, clips[1][:8000])
    padded = clips[1].copy()
    padded[8000:] = 0
    want = engine.run(model, model.quantize_input(mfcc(padded[None], DEFAULT_MFCC)))[0]
    r = predict_wav(short, model)
    np.testing.assert_array_equal(r.logits, want)
    assert "padded with silence" in r.used
    assert main(["predict", str(short), "--model", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["keyword"] == r.label and out["logits"] == want.tolist()


def test_predict_errors_say_what_to_do(model_file, tmp_path, capsys):
    path, clips = model_file
    assert main(["predict", str(tmp_path / "x.wav"), "--model", str(tmp_path)]) == 2
    assert "ecqx export --model" in capsys.readouterr().err
    stereo = tmp_path / "stereo.wav"
    import wave

    with wave.open(str(stereo), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(bytes(64000))
    assert main(["predict", str(stereo), "--model", str(path)]) == 2
    assert "expected mono" in capsys.readouterr().err
