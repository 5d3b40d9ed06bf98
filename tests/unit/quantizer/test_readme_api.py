"""The README's Python API example runs as printed, and does what it says: the quantized
conv model still solves its task with a share of zero weights; the Quantizer's defaults are
`ecqx train`'s."""

import re
from pathlib import Path

from ecqx.config import TrainConfig
from ecqx.quantizer import Quantizer

README = Path(__file__).resolve().parents[3] / "README.md"


def test_readme_python_api_example_runs(tmp_path, monkeypatch):
    text = README.read_text()
    section = text.split("## Python API: quantize your own model", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - our own README
    # sparse but not collapsed: the defaults (p 0.7, beta max 4) zero ~93% of this small
    # model's weights and it still classifies; a collapsed one would sit near 50%
    assert scope["stats"].correct / scope["stats"].count > 0.9
    assert 0.1 < scope["q"].sparsity() < 0.98
    assert scope["codes"].dtype.name == "int8" and (tmp_path / "my_quantized.npz").is_file()


def test_quantizer_defaults_are_the_command_lines():
    import inspect

    d, cli = inspect.signature(Quantizer).parameters, TrainConfig()
    assert (d["bits"].default, d["lam"].default, d["p"].default, d["lr"].default) == (
        cli.bits, cli.lam, cli.p, cli.qat_lr)  # fmt: skip
    assert (d["lam_mode"].default, d["relevance_every"].default, d["grad_scaling"].default) == (
        cli.lam_mode, cli.relevance_every, cli.grad_scaling)  # fmt: skip
