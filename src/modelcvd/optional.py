"""Optional extras: a feature that needs a heavy dependency says which extra to install.

A base install (`pip install modelcvd`, no extras) serves every page and API operation. The
features that run local models (weight forensics, the behaviour probe, `hf:` verification
targets, the classifier judge, the SmolLM2 demo model) need the `ml` extra; they call
`require_ml(feature)` before importing torch or transformers, and the error it raises is
mapped once per surface: the API answers 503 `{"detail": ...}`, a page answers 503 with the
message, the CLI prints it on one line.

Pure (no Django): the engines use it too.
"""

from __future__ import annotations

import importlib.util

ML_MODULES = ("torch", "transformers", "safetensors")
# What to add to "pip install 'modelcvd[extra]'": an unpinned torch pulls a multi-GB CUDA build.
INSTALL_NOTES = {"ml": " (torch==2.13.0 CPU, installed first)"}


class ExtraMissing(Exception):
    """A feature needs an extra that is not installed here. `status` is the HTTP answer."""

    status = 503

    def __init__(self, *, extra: str, feature: str) -> None:
        self.extra = extra
        self.feature = feature
        self.message = (
            f"{feature} is not available on this server; install the {extra} extra: "
            f"pip install 'modelcvd[{extra}]'{INSTALL_NOTES.get(extra, '')}"
        )
        super().__init__(self.message)


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a finder that refuses the name, or a broken install
        return False


def require_ml(feature: str) -> None:
    """Raise `ExtraMissing` unless torch, transformers and safetensors can be imported."""
    if not all(_installed(module) for module in ML_MODULES):
        raise ExtraMissing(extra="ml", feature=feature)
