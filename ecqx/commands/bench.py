"""``ecqx bench``: timings of the quantizer's building blocks."""

from __future__ import annotations

import argparse

HELP = "time assignment, relevance and QAT steps"
DESCRIPTION = "Benchmark the quantizer on MLP_GSC-shaped weights and print a table."


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ecqx.bench import add_arguments as bench_arguments

    bench_arguments(p)


def run(args: argparse.Namespace) -> int:
    from ecqx.bench import run as bench

    bench(args)
    return 0
