"""The HIL check against misbehaving devices: every failure ends in a report and keeps partial
results."""

import json

import numpy as np
import pytest
from helpers import audio_integer_model, random_integer_model

from ecqx.hil.check import run_check
from ecqx.hil.device import Device, DeviceGarbled, DeviceReset, DeviceTimeout, LinkLost
from ecqx.hil.protocol import Msg, Parser, encode
from ecqx.hil.transport import Transport, TransportError
from ecqx.integer import engine


class FakeDevice(Transport):
    """A scripted device: answers correctly for ``good`` requests, then misbehaves."""

    def __init__(self, model, behaviour, good=3):
        self.model, self.behaviour, self.good = model, behaviour, good
        self.parser = Parser()
        self.outbox = bytearray()
        self.served = 0

    def _info(self):
        m = self.model
        return (bytes([1]) + m.identity().encode() + m.in_features.to_bytes(2, "little")
                + m.num_classes.to_bytes(2, "little") + b"\x00fake")  # fmt: skip

    def write(self, data):
        if self.behaviour == "drop" and self.served >= self.good:
            raise TransportError("writing to /dev/ttyACM0 failed: device disconnected")
        if self.behaviour == "interrupt" and self.served >= self.good:
            raise KeyboardInterrupt
        for fr in self.parser.feed(data):
            if fr.type == Msg.HELLO:
                info = self._info()[:12] if self.behaviour == "short_info" else self._info()
                self.outbox += encode(Msg.INFO, info)
            elif fr.type == Msg.INFER:
                self.served += 1
                x = np.frombuffer(fr.payload, np.int8)
                y = engine.run(self.model, x)
                if self.served > self.good:
                    if self.behaviour == "hang":
                        continue
                    if self.behaviour == "wrong":
                        y = y.copy()
                        y[0] = np.int8(y[0] ^ 1)
                    if self.behaviour == "reset":
                        self.outbox += encode(Msg.BOOT, self._info())
                        continue
                    if self.behaviour == "bad_class":
                        payload = y.tobytes() + bytes([200]) + (1).to_bytes(4, "little")
                        self.outbox += encode(Msg.RESULT, payload)
                        continue
                    if self.behaviour == "garble":
                        self.outbox += b"\xec\x51\x02\x82\x11\x00" + b"\x00" * 19
                        continue
                payload = y.tobytes() + bytes([int(y.argmax())]) + (123).to_bytes(4, "little")
                self.outbox += encode(Msg.RESULT, payload)

    def read(self, timeout):
        out, self.outbox = bytes(self.outbox), bytearray()
        return out


@pytest.mark.parametrize(
    "behaviour,error",
    [("hang", DeviceTimeout), ("reset", DeviceReset), ("garble", DeviceGarbled), ("wrong", None)],
)
def test_misbehaving_device_is_a_failure_and_keeps_partial_results(tmp_path, behaviour, error):
    model, feats = random_integer_model(seed=50)
    x = model.quantize_input(feats[:8])
    labels = engine.predict(model, x)
    dev = Device(FakeDevice(model, behaviour), timeout=0.3)
    r = run_check(dev, model, x, labels, tmp_path, progress=False)
    assert r["bit_exact"] is False
    saved = json.loads((tmp_path / "hil_report.json").read_text())
    assert saved["completed"] == r["completed"] >= 3
    if error is None:
        assert r["failure"] is None and len(r["mismatches"]) == 5
        assert r["mismatches"][0]["sample"] == 3
    else:
        assert r["failure"].startswith(error.__name__) and r["completed"] == 3
    assert "NO" in (tmp_path / "hil_report.md").read_text()


@pytest.mark.parametrize(
    "behaviour,error,completed",
    [("drop", LinkLost, 3), ("bad_class", DeviceGarbled, 3), ("short_info", DeviceGarbled, 0)],
)
def test_invalid_replies_and_dropped_links_end_in_a_report(tmp_path, behaviour, error, completed):
    """A link that drops, a class byte out of range, a too-short INFO: the run ends with a
    failure report of what was obtained, and an earlier PASS in the same folder is gone."""
    model, feats = random_integer_model(seed=52)
    x = model.quantize_input(feats[:8])
    (tmp_path / "hil_report.json").write_text(json.dumps({"bit_exact": True}))
    (tmp_path / "confusion.png").write_bytes(b"old")
    dev = Device(FakeDevice(model, behaviour), timeout=0.3)
    r = run_check(dev, model, x, engine.predict(model, x), tmp_path, progress=False)
    saved = json.loads((tmp_path / "hil_report.json").read_text())
    assert saved["bit_exact"] is False and saved["completed"] == r["completed"] == completed
    assert saved["failure"].startswith(error.__name__), saved["failure"]
    if not completed:
        assert not (tmp_path / "confusion.png").exists()


def test_a_board_that_never_boots_ends_in_a_report(tmp_path):
    """An emulator whose firmware dies before announcing itself: a failure report, no
    traceback (before: a RuntimeError)."""

    class Crashed(FakeDevice):
        exit_code = 3  # the emulator has exited

    model, feats = random_integer_model(seed=54)
    x = model.quantize_input(feats[:4])
    dev = Device(Crashed(model, "hang"), timeout=0.3)
    r = run_check(dev, model, x, engine.predict(model, x), tmp_path, progress=False, boot=True)
    assert r["completed"] == 0 and r["failure"].startswith("DeviceReset"), r["failure"]
    assert "did not boot" in json.loads((tmp_path / "hil_report.json").read_text())["failure"]


def test_an_interrupted_check_writes_its_report_then_stops(tmp_path):
    model, feats = random_integer_model(seed=53)
    x = model.quantize_input(feats[:8])
    dev = Device(FakeDevice(model, "interrupt"), timeout=0.3)
    with pytest.raises(KeyboardInterrupt):
        run_check(dev, model, x, engine.predict(model, x), tmp_path, progress=False)
    saved = json.loads((tmp_path / "hil_report.json").read_text())
    assert saved["completed"] == 3 and saved["failure"].startswith("interrupted")


def test_a_correct_device_passes(tmp_path):
    model, feats = random_integer_model(seed=51)
    x = model.quantize_input(feats[:10])
    r = run_check(Device(FakeDevice(model, "wrong", good=99)), model, x,
                  engine.predict(model, x), tmp_path, progress=False)  # fmt: skip
    assert r["bit_exact"] and r["completed"] == 10 and r["top1"]["device"] == 1.0


class FakeAudioDevice(FakeDevice):
    """Takes AUDIO parts and CLASSIFY like the firmware, computing with the reference front
    end; ``behaviour`` "wrong_features" changes one feature (the logits stay right),
    "no_front_end" announces firmware without one."""

    def __init__(self, model, behaviour):
        super().__init__(model, behaviour)
        self.pcm = np.zeros(16000, "<i2")

    def _info(self):
        info = super()._info()
        return info[:21] + bytes([self.behaviour != "no_front_end"]) + info[22:]

    def write(self, data):
        import struct

        from ecqx.data.features import DEFAULT_MFCC, mfcc

        for fr in self.parser.feed(data):
            if fr.type == Msg.HELLO:
                self.outbox += encode(Msg.INFO, self._info())
            elif fr.type == Msg.AUDIO:
                first = struct.unpack("<H", fr.payload[:2])[0]
                part = np.frombuffer(fr.payload[2:], "<i2")
                self.pcm[first : first + part.size] = part
                self.outbox += encode(Msg.ACK, fr.payload[:2])
            elif fr.type == Msg.CLASSIFY:
                x = self.model.quantize_input(mfcc(self.pcm[None].astype(np.int16), DEFAULT_MFCC))[
                    0
                ]
                y = engine.run(self.model, x[None])[0]
                if self.behaviour == "wrong_features":
                    x = x.copy()
                    x[100] ^= 1
                payload = (x.tobytes() + y.tobytes() + bytes([int(y.argmax())])
                           + struct.pack("<II", 5000, 1000))  # fmt: skip
                self.outbox += encode(Msg.AUDIO_RESULT, payload)


@pytest.mark.parametrize("behaviour", ["good", "wrong_features", "no_front_end"])
def test_audio_check_compares_the_device_front_end_too(tmp_path, behaviour):
    from ecqx.data.features import DEFAULT_MFCC, mfcc

    model, clips = audio_integer_model(seed=5)
    clips = clips[:3]
    x = model.quantize_input(mfcc(clips, DEFAULT_MFCC))
    dev = Device(FakeAudioDevice(model, behaviour), timeout=0.5)
    r = run_check(dev, model, x, engine.predict(model, x), tmp_path, progress=False, pcm=clips)
    a = r["audio"]
    if behaviour == "good":
        assert r["bit_exact"] and a["features_bit_exact"] and r["completed"] == 3
    elif behaviour == "wrong_features":
        # every logit matches, yet the run fails: the features are compared on their own
        assert not r["bit_exact"] and not a["features_bit_exact"]
        assert a["features_mismatching_samples"] == 3 == len(r["mismatches"])
        assert all(m["device"] == m["reference"] and not m["features_equal"]
                   for m in r["mismatches"])  # fmt: skip
        assert "features bit-exact: **NO**" in (tmp_path / "hil_report.md").read_text()
    else:
        assert r["completed"] == 0 and "re-train with --features fixed" in r["failure"]
