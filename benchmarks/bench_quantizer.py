"""Quantizer benchmark (same as `ecqx bench`): python benchmarks/bench_quantizer.py --help"""

from ecqx.bench import main

if __name__ == "__main__":
    main()
