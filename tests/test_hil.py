"""The HIL protocol on both sides, failure reporting with misbehaving devices, and the
firmware built with PlatformIO and checked on the emulated Cortex-M4 end to end."""

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import random_integer_model
from protocol_streams import build_device_parser, device_events, host_events, random_stream

from ecqx.hil.check import run_check
from ecqx.hil.device import Device, DeviceGarbled, DeviceReset, DeviceTimeout, LinkLost
from ecqx.hil.protocol import BadFrame, ErrorCode, Frame, Msg, Parser, encode
from ecqx.hil.run import hil
from ecqx.hil.transport import Transport, TransportError
from ecqx.integer import engine


def test_host_parser_round_trip_and_errors():
    p = Parser()
    good = encode(Msg.INFER, bytes(range(200)))
    assert p.feed(good) == [Frame(Msg.INFER, bytes(range(200)))]
    bad_crc = bytearray(good)
    bad_crc[10] ^= 0xFF
    assert p.feed(bytes(bad_crc)) == [BadFrame(ErrorCode.CRC)]
    # garbage (including a lone sync byte) between frames is skipped
    assert p.feed(b"\x00\xec\x13garbage" + encode(Msg.HELLO)) == [Frame(Msg.HELLO, b"")]
    oversize = b"\xec\x51\x01\x02" + (5000).to_bytes(2, "little")
    assert p.feed(oversize + encode(Msg.HELLO)) == [BadFrame(ErrorCode.OVERSIZE), Frame(1, b"")]
    assert p.feed(encode(0x55)) == [BadFrame(ErrorCode.UNKNOWN_TYPE)]
    assert p.feed(encode(Msg.HELLO, version=9)) == [BadFrame(ErrorCode.VERSION)]
    truncated = encode(Msg.INFER, b"x" * 50)[:30]
    # a truncated frame swallows bytes until its length is complete, then fails its CRC;
    # the parser is back in sync for the frame after that
    events = p.feed(truncated + encode(Msg.HELLO) * 6)
    assert BadFrame(ErrorCode.CRC) in events and events[-1] == Frame(Msg.HELLO, b"")


@pytest.fixture(scope="module")
def device_parser(tmp_path_factory):
    return build_device_parser(tmp_path_factory.mktemp("proto"))


def test_a_stray_sync_pair_costs_only_itself(device_parser):
    """Noise that looks like a sync pair in front of a frame (or of its retry) must not make
    either parser read the real frame's header as a length and swallow what follows."""
    hello, infer = encode(Msg.HELLO), encode(Msg.INFER, bytes(40))
    for stream, expected in [
        (b"\xec\x51" + hello, [Frame(Msg.HELLO, b"")]),
        (b"\xec\x51" + infer + b"\xec\x51" + infer, [Frame(Msg.INFER, bytes(40))] * 2),
        (b"\xec\x51\x07" + hello, [BadFrame(ErrorCode.VERSION), Frame(Msg.HELLO, b"")]),
        (b"\xec\x51\x01\xec" + hello, [BadFrame(ErrorCode.UNKNOWN_TYPE), Frame(1, b"")]),
    ]:
        assert Parser().feed(stream) == expected, stream
        assert device_events(device_parser, stream) == host_events(stream), stream


def test_device_parser_agrees_with_host_parser(device_parser):
    stream = (
        encode(Msg.HELLO)
        + b"noise"
        + encode(Msg.INFER, bytes(735))
        + b"\xec\x51\x01\x02\xff\xff"  # oversize
        + encode(Msg.INFER, b"abc")[:-1]
        + b"\x00"  # bad CRC
        + encode(0x42)
        + encode(Msg.HELLO)
    )
    assert device_events(device_parser, stream) == host_events(stream)


def test_device_parser_fuzz_under_asan(device_parser):
    """A long random stream mixing valid frames, corrupted frames and noise: the C parser
    (ASan/UBSan) never overflows and reports exactly what the host parser reports."""
    stream = random_stream(np.random.default_rng(0), 3000)
    assert len(stream) > 200_000
    dev, host = device_events(device_parser, stream), host_events(stream)
    assert dev == host and len(dev) > 1000


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
                + m.num_classes.to_bytes(2, "little") + b"fake")  # fmt: skip

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
                        self.outbox += b"\xec\x51\x01\x82\x11\x00" + b"\x00" * 19
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


def test_host_errors_start_no_emulator_and_leave_no_old_report(tiny_trained, tmp_path,
                                                               monkeypatch):  # fmt: skip
    """A bad --data fails before QEMU starts (nothing to orphan) and removes an old PASS."""
    import ecqx.hil.run as hil_run
    from ecqx.data.audio import DataError

    started = []
    monkeypatch.setattr(hil_run, "QemuTransport", lambda *a, **k: started.append(a))
    (tmp_path / "hil_report.json").write_text(json.dumps({"bit_exact": True}))
    with pytest.raises(DataError):
        hil(tiny_trained, board="mps2-an386", data=tmp_path / "none", out=tmp_path)
    assert not started and not (tmp_path / "hil_report.json").exists()


def test_a_broken_elf_is_a_clear_error(tmp_path):
    from ecqx.hil.plugin import marker_addresses
    from ecqx.hil.transport import TransportError

    (tmp_path / "firmware.elf").write_bytes(b"\x7fELF" + b"\x00" * 10)
    with pytest.raises(TransportError, match="not a readable firmware ELF"):
        marker_addresses(tmp_path / "firmware.elf")


def test_a_correct_device_passes(tmp_path):
    model, feats = random_integer_model(seed=51)
    x = model.quantize_input(feats[:10])
    r = run_check(Device(FakeDevice(model, "wrong", good=99)), model, x,
                  engine.predict(model, x), tmp_path, progress=False)  # fmt: skip
    assert r["bit_exact"] and r["completed"] == 10 and r["top1"]["device"] == 1.0


def test_an_unreadable_integer_model_makes_the_firmware_stale(tmp_path, monkeypatch):
    """An export folder from an older ecqx (integer-model format 1) is rebuilt, not refused."""
    import ecqx.codegen.firmware_build as fb
    from ecqx.hil.run import firmware_for
    from ecqx.run import ExportDir

    files = ExportDir(tmp_path / "export")
    files.root.mkdir()
    elf = files.root / "firmware.elf"
    elf.write_bytes(b"old")
    files.firmware_report.write_text(json.dumps({"board": "mps2-an386", "elf": str(elf)}))
    files.integer_model.write_bytes(b"PK old format")
    rebuilt = []

    def fake_export(model_dir, out, board, data):
        rebuilt.append(board)
        ExportDir(out).firmware_report.write_text(json.dumps({"elf": "new.elf"}))

    monkeypatch.setattr(fb, "export_cortex_m", fake_export)
    assert firmware_for(tmp_path, files.root, "mps2-an386", None) == Path("new.elf")
    assert rebuilt == ["mps2-an386"]
