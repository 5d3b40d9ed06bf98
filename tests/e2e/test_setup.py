"""A fresh machine gets everything the project uses from the project's own set-up.

CI runs on a machine where earlier sessions may have installed things by hand, so a green run
can hide a missing install step. These tests look at what a real firmware build and the
project's external programs actually use, ask Debian which package installed each file, and
fail when that package is not in scripts/debian-packages.txt (what scripts/setup.sh installs).
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import random_integer_model

pytestmark = pytest.mark.slow  # the toolchain, dpkg and the set-up script itself

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_LIST = ROOT / "scripts" / "debian-packages.txt"
# Programs the project runs itself (synthesis, firmware build, emulator, ELF inspection).
PROGRAMS = ("espeak-ng", "flite", "festival", "gcc", "qemu-system-arm", "arm-none-eabi-gcc",
            "arm-none-eabi-as", "arm-none-eabi-objcopy", "arm-none-eabi-size",
            "arm-none-eabi-nm")  # fmt: skip


def listed_packages() -> set[str]:
    lines = (line.split("#", 1)[0].split() for line in PACKAGE_LIST.read_text().splitlines())
    return {words[0] for words in lines if words}


def owners(paths: list[Path]) -> dict[Path, set[str]]:
    """Debian package(s) that installed each path; an empty set when none did."""
    found: dict[Path, set[str]] = {p: set() for p in paths}
    for p in paths:
        # dpkg knows the path as the package shipped it: the name as called, else the target,
        # either with or without /usr (Debian 12 merged /bin and /lib into /usr)
        names = [str(p), os.path.realpath(p)]
        names += [n.removeprefix("/usr") for n in names if re.match(r"/usr/(s?bin|lib)", n)]
        for candidate in dict.fromkeys(names):
            proc = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
            for line in proc.stdout.splitlines():
                pkgs, _, where = line.partition(": ")
                if where == candidate and not line.startswith("diversion"):
                    found[p] |= {x.strip().split(":")[0] for x in pkgs.split(",")}
            if found[p]:
                break
    return found


def map_inputs(map_file: Path, project: Path) -> list[Path]:
    """Every file the linker loaded (the map's LOAD lines) that is not part of the project."""
    files = []
    for line in map_file.read_text().splitlines():
        m = re.match(r"^LOAD (\S+)$", line)
        if m and not m.group(1).startswith("linker stubs"):
            path = Path(os.path.normpath(project / m.group(1)))  # relative paths: the project
            if project not in path.parents:
                files.append(path)
    return files


def toolchain_files() -> list[Path]:
    """The compiler driver's helpers and the spec files the link asks for."""

    def ask(flag: str) -> Path:
        out = subprocess.run(["arm-none-eabi-gcc", flag], capture_output=True, text=True)
        return Path(out.stdout.strip())

    files = [ask(f"-print-prog-name={p}") for p in ("cc1", "collect2", "ld")]
    files += [ask(f"-print-file-name={s}") for s in ("nano.specs", "nosys.specs")]
    return [f if f.is_absolute() else Path(shutil.which(str(f)) or f) for f in files]


def unlisted(paths: list[Path]) -> list[str]:
    listed = listed_packages()
    problems = []
    for path, pkgs in owners(paths).items():
        if not pkgs:
            problems.append(f"{path}: no Debian package installed it")
        elif not pkgs & listed:
            problems.append(f"{path}: from {', '.join(sorted(pkgs))}, not in {PACKAGE_LIST.name}")
    return problems


def test_firmware_build_uses_only_packages_the_setup_installs(tmp_path):
    """Build an emulated board's firmware and resolve every file the link loaded (the linker
    map) and every tool of the build to its Debian package: each must be in the set-up list.
    A C++ runtime (libstdc++_nano from libstdc++-arm-none-eabi-newlib) fails it."""
    from ecqx.codegen.firmware_build import build, copy_project
    from ecqx.codegen.render import render

    project = copy_project(tmp_path / "fw").resolve()
    render(random_integer_model(seed=3)[0], project / "src" / "generated", "sparse")
    elf = build(project, "mps2-an386")
    loaded = map_inputs(elf.with_name("firmware.map"), project)
    names = {p.name for p in loaded}
    assert "libc_nano.a" in names and "libgcc.a" in names, names  # the map was read
    assert not {n for n in names if "stdc++" in n}, "the emulated firmware links a C++ runtime"
    assert unlisted(loaded + toolchain_files()) == []


def test_programs_the_project_runs_come_from_listed_packages():
    paths = []
    for prog in PROGRAMS:
        where = shutil.which(prog)
        assert where, f"{prog} is not installed: run scripts/setup.sh"
        paths.append(Path(where))
    assert unlisted(paths) == []


def test_festival_voices_come_from_listed_packages():
    """A voice is data Festival loads at run time: check the files of every voice used."""
    from ecqx.data.voices import ACCENTED_VOICES, FESTIVAL_VOICES

    folders = {p.name: p for p in Path("/usr/share/festival/voices").glob("*/*")}
    for voice in FESTIVAL_VOICES + ACCENTED_VOICES:
        assert voice in folders, f"festival voice {voice} is not installed: run scripts/setup.sh"
        files = [f for f in folders[voice].rglob("*") if f.is_file()][:5]
        assert files and unlisted(files) == [], voice


def test_the_package_check_catches_an_unlisted_package():
    """The check itself can fail: dpkg (package dpkg) and a file no package installed."""
    problems = unlisted([Path(shutil.which("dpkg")), Path(__file__)])
    assert len(problems) == 2
    assert "from dpkg, not in" in problems[0] and "no Debian package" in problems[1]


def _bash(script: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)  # fmt: skip


def test_sourcing_setup_leaves_the_callers_shell_options_alone():
    """`source scripts/setup.sh` (the README's way to get `ecqx` on PATH) must not turn on
    errexit/nounset/pipefail in the user's shell, and a failed set-up must not close it."""
    script = """
        set +euo pipefail
        before="$(set +o)"
        source scripts/setup.sh >/dev/null
        rc=$?
        [ "$before" = "$(set +o)" ] && echo "options kept"
        echo "rc=$rc"
        command -v ecqx
    """
    ok = _bash(script)
    assert "options kept" in ok.stdout and "rc=0" in ok.stdout, ok.stdout + ok.stderr
    assert ok.stdout.strip().endswith("/bin/ecqx")
    # a failing set-up (no Python 3.11) returns to the caller, options unchanged
    bad = _bash(script, ECQX_PYTHON="/bin/false")
    assert "options kept" in bad.stdout and "rc=1" in bad.stdout, bad.stdout + bad.stderr
    assert "Python 3.11" in bad.stderr


def test_help_does_not_import_the_training_stack():
    """`ecqx --help` must answer at once: building the parser imports no torch or zennit."""
    code = (
        "import sys; from ecqx.cli import build_parser; build_parser(); "
        "heavy = sorted(m for m in ('torch', 'zennit', 'torchvision', 'onnx', 'onnxruntime') "
        "if m in sys.modules); print(heavy); sys.exit(bool(heavy))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
