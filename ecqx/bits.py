"""The weight bit widths ECQx supports end to end: the quantizer's grids, the integer model,
every exporter and the C kernels (2-bit codes are ternary, 5-bit codes fit the kernels' 6-bit
code field)."""

MIN_BITS = 2
MAX_BITS = 5
