"""The weight bit widths ECQx supports end to end: the quantizer's grids, the integer model,
every exporter and the C kernels (2-bit codes are ternary, 5-bit codes fit the kernels' 6-bit
code field). Every stage asks ``supported``/``check_bits`` here."""

from ecqx.errors import EcqxError

MIN_BITS = 2
MAX_BITS = 5
RANGE_TEXT = f"{MIN_BITS}..{MAX_BITS}"


class BitsError(EcqxError, ValueError):
    """A bit width outside the supported range."""


def supported(bits: object) -> bool:
    return isinstance(bits, int) and not isinstance(bits, bool) and MIN_BITS <= bits <= MAX_BITS


def check_bits(bits: object) -> int:
    """Return ``bits`` if it is a supported width, else raise a BitsError saying what to do."""
    if not supported(bits):
        raise BitsError(
            f"bit width {bits!r} is not supported: ECQx quantizes to {RANGE_TEXT} bits; "
            f"pass --bits between {MIN_BITS} and {MAX_BITS}"
        )
    return bits  # type: ignore[return-value]
