# SCons build script of the offline emulated-board platform: compile and link bare metal
# with the board's CPU flags and linker script; `-t upload` starts the emulator.
import os
import shlex

from SCons.Script import AlwaysBuild, Builder, Default, DefaultEnvironment


def upload_command(board_id: str) -> str:
    """QEMU with the firmware, from the one command-line builder in ecqx's board table (the
    interpreter running PlatformIO is the ecqx environment's when ecqx drives the build)."""
    try:
        from ecqx.codegen.boards import qemu_command
    except ImportError:
        return "echo 'starting the emulator needs ecqx: source scripts/setup.sh first' && false"
    return " ".join(shlex.quote(arg) for arg in qemu_command(board_id, "$SOURCE"))


env = DefaultEnvironment()
board = env.BoardConfig()
cpu_flags = board.get("build.cpu_flags")
ldscripts = os.path.join(env.PioPlatform().get_dir(), "ldscripts")

env.Replace(
    AR="arm-none-eabi-gcc-ar",
    AS="arm-none-eabi-as",
    CC="arm-none-eabi-gcc",
    CXX="arm-none-eabi-g++",
    # The emulated boards are pure C: linking with gcc keeps the C++ runtime out of the image.
    LINK="arm-none-eabi-gcc",
    OBJCOPY="arm-none-eabi-objcopy",
    RANLIB="arm-none-eabi-gcc-ranlib",
    SIZETOOL="arm-none-eabi-size",
    PROGNAME="firmware",
    PROGSUFFIX=".elf",
    UPLOADCMD=upload_command(board.id),
)
env.Append(
    ASFLAGS=cpu_flags,
    CCFLAGS=cpu_flags + ["-ffunction-sections", "-fdata-sections", "-O2"],
    CFLAGS=["-std=c99"],
    CPPDEFINES=[
        "ECQX_BARE_METAL",
        "ECQX_BOARD_MPS2",
        ("ECQX_BOARD_NAME", '\\"' + board.id + '\\"'),
    ]
    # board-specific peripheral addresses and interrupt lines (NAME=VALUE strings)
    + [tuple(d.split("=", 1)) for d in board.get("build.defines", [])],
    LINKFLAGS=cpu_flags
    + [
        "--specs=nano.specs",
        "--specs=nosys.specs",
        "-nostartfiles",
        "-Wl,--gc-sections",
        # The map names every object and library the link used (read by the set-up test).
        "-Wl,-Map=" + os.path.join("$BUILD_DIR", "firmware.map"),
    ],
    # PlatformIO adds -T<board's build.ldscript> itself; it must find it here.
    LIBPATH=[ldscripts],
    BUILDERS=dict(
        ElfToBin=Builder(
            action=env.VerboseAction("$OBJCOPY -O binary $SOURCES $TARGET", "Building $TARGET"),
            suffix=".bin",
        )
    ),
)

elf = env.BuildProgram()
binary = env.ElfToBin(os.path.join("$BUILD_DIR", "${PROGNAME}"), elf)
size = env.Alias("size", elf, env.VerboseAction("$SIZETOOL -A -d $SOURCES", "Section sizes"))
upload = env.Alias("upload", elf, env.VerboseAction("$UPLOADCMD", "Starting the emulator"))
AlwaysBuild(size)
AlwaysBuild(upload)
Default([binary, size])
