"""Derivative forensics, pure Python (no Django): weight diffs, abliteration detection, base
finding and the behavioural refusal probe.

`weights.compare_dirs(base, derived)` streams two safetensors checkpoints tensor by tensor and
says how the derived one was made from the base (`abliterated`, `fine-tuned`, `quantized`,
`identical`, `unrelated`), with the per-matrix evidence. `weights` and `base_finder` import torch
and safetensors (the ml extra), so this package re-exports nothing from them: a base install
imports `behaviour` and names the result types without loading torch.
"""
