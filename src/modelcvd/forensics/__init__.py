"""Derivative forensics, pure Python (no Django): weight diffs, abliteration detection, base
finding and the behavioural refusal probe.

`compare_dirs(base, derived)` streams two safetensors checkpoints tensor by tensor and says how
the derived one was made from the base (`abliterated`, `fine-tuned`, `quantized`, `identical`,
`unrelated`), with the per-matrix evidence. Torch is imported here; transformers only by the
behaviour probe.
"""

from modelcvd.forensics.weights import (
    Comparison,
    ForensicsError,
    MatrixScore,
    compare_dirs,
)

__all__ = ["Comparison", "ForensicsError", "MatrixScore", "compare_dirs"]
