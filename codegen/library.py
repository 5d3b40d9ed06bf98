"""The C library of ``ecqx export --target c``: the rendered sources in ``src/``, a
``library.json`` (PlatformIO) and ``library.properties`` (Arduino) so users drop the folder
into their own project, a README with the API, sizes and build lines, and (for a model with
the front end) an example ``main.c`` that classifies a WAV file."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from ecqx.codegen.render import CSources, context, render, template_env
from ecqx.integer.model import IntegerModel

HERE = Path(__file__).parent / "library"
FILES = ("library.json", "library.properties", "README.md")  # each from templates/<name>.j2
EXAMPLE = Path("examples") / "classify_wav" / "main.c"


@dataclass
class Library:
    root: Path
    sources: CSources

    @property
    def src(self) -> Path:
        return self.root / "src"

    @property
    def example(self) -> Path | None:
        path = self.root / EXAMPLE
        return path if path.is_file() else None


def package(model: IntegerModel, root: Path, weights: str | list[str] = "auto") -> Library:
    """Write the library for ``model`` into ``root`` (replacing an older one there)."""
    root = Path(root)
    for stale in ("src", "examples"):
        shutil.rmtree(root / stale, ignore_errors=True)
    sources = render(model, root / "src", weights)
    ctx = context(sources.plan) | {
        "label_list": ", ".join(model.labels),
        "weight_bytes": sources.plan.weight_bytes,
    }
    env = template_env(HERE / "templates")
    for name in FILES:
        (root / name).write_text(env.get_template(name + ".j2").render(**ctx))
    if ctx["frontend"]:
        (root / EXAMPLE).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(HERE / EXAMPLE, root / EXAMPLE)
    return Library(root, sources)
