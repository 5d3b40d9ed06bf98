"""The generated C with the Cortex-M toolchain and PlatformIO (slow: cross-compiler runs)."""

import shutil
import subprocess

import pytest
from helpers import random_integer_model

from ecqx.codegen.host import C_FLAGS
from ecqx.codegen.render import render

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "cpu",
    [
        ["-mcpu=cortex-m4", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],  # DSP path (SMLAD)
        ["-mcpu=cortex-m3"],  # portable path
        ["-mcpu=cortex-m7", "-mfloat-abi=hard", "-mfpu=fpv5-d16"],
        ["-mcpu=cortex-m55", "-mfloat-abi=hard"],  # Helium core; DSP path
    ],
)
def test_kernel_compiles_warning_free_for_cortex_m(tmp_path, cpu):
    assert shutil.which("arm-none-eabi-gcc"), "run through scripts/test.sh"
    model, _ = random_integer_model(seed=9, bits=5)  # 8-bit storage: the SIMD kernel
    gen = tmp_path / "gen"
    render(model, gen, "dense")
    for src in sorted(gen.glob("*.c")):
        cmd = ["arm-none-eabi-gcc", "-O2", "-mthumb", *cpu, *C_FLAGS, "-I", str(gen), "-c",
               "-o", str(tmp_path / (src.stem + ".o")), str(src)]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr


def test_platformio_configuration_parses_for_every_board(tmp_path):
    """Real boards cannot be built offline, but their configuration must lint clean."""
    from ecqx.codegen.firmware_build import copy_project, pio

    project = copy_project(tmp_path / "fw")
    proc = pio(project, "project", "config", "--lint", timeout=120)
    assert proc.returncode == 0 and "free from linting errors" in proc.stdout, proc.stdout
    proc = pio(project, "project", "config", "--json-output", timeout=120)
    envs = [name for name, _ in __import__("json").loads(proc.stdout)]
    assert {
        "env:mps2-an386",
        "env:mps2-an500",
        "env:mps3-an547",
        "env:mps2-an385",
        "env:nano33ble",
        "env:nucleo_l4r5zi",
    } <= set(envs)


def test_the_exported_c_library_drops_into_a_users_platformio_project(tmp_path):
    """A user's own PlatformIO project with the exported `c/` folder copied into `lib/`:
    PlatformIO finds it by its library.json and links it into their firmware (-Werror)."""
    from helpers import audio_integer_model

    from ecqx.codegen.boards import FIRMWARE
    from ecqx.codegen.elf import symbols
    from ecqx.codegen.firmware_build import pio, prepare_core
    from ecqx.codegen.library import package

    model, _ = audio_integer_model(seed=2)
    project = tmp_path / "user"
    package(model, project / "lib" / "ecqx-model")
    (project / "src").mkdir()
    shutil.copy(FIRMWARE / "src" / "startup_cortexm.c", project / "src")
    (project / "src" / "main.c").write_text(
        '#include "ecqx_model.h"\n'
        "void ecqx_uart0_rx_handler(void) {}\nvoid ecqx_systick_handler(void) {}\n"
        "static int16_t pcm[ECQX_AUDIO_SAMPLES];\nvolatile int32_t keyword;\n"
        "int main(void) { ecqx_result_t r; ecqx_classify(pcm, &r); keyword = r.index;"
        " for (;;) {} }\n"
    )
    (project / "platformio.ini").write_text(
        "[platformio]\ncore_dir = ${PROJECT_DIR}/.pio-core\n\n[env:mps2-an386]\n"
        f"platform = symlink://{(FIRMWARE / 'platform').resolve()}\n"
        "platform_packages = toolchain-gccarmnoneeabi @ "
        "symlink://${PROJECT_DIR}/.pio-core/toolchain-local\n"
        "board = mps2-an386\nbuild_flags = -Wall -Wextra -Werror\n"
    )
    prepare_core(project)
    proc = pio(project, "run", "-e", "mps2-an386")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "ecqx-model" in proc.stdout  # found through lib/ by its manifest
    names = {s.name for s in symbols(project / ".pio" / "build" / "mps2-an386" / "firmware.elf")}
    assert {"ecqx_classify", "ecqx_mfcc_frame", "ecqx_infer"} <= names
