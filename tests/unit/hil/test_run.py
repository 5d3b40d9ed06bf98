"""`ecqx hil` host-side checks: they fail before any emulator starts; stale firmware is rebuilt."""

import json
from pathlib import Path

import pytest

from ecqx.hil.run import hil
from ecqx.hil.transport import TransportError


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

    (tmp_path / "firmware.elf").write_bytes(b"\x7fELF" + b"\x00" * 10)
    with pytest.raises(TransportError, match="not a readable firmware ELF"):
        marker_addresses(tmp_path / "firmware.elf")


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
