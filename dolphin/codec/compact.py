"""Compact storage of codec weights: float16 or int8 tensors in the safetensors file.

A codec trained in float32 ships smaller when its weights are stored at lower precision:

* ``"float16"``: every floating tensor as float16 (half the size);
* ``"int8"``: large weight matrices (at least :data:`INT8_MIN_SIZE` values, two or more
  dimensions, outside the quantizer) as int8 with one float32 scale per output row
  (``<name>.int8_scale``, symmetric: ``w = q * scale``), everything else as float16 (about a
  quarter of the size).

In both, the EMA statistics that only steer training (``quantizer.cluster_size``,
``quantizer.embed_avg``) are left out; :func:`expand_state` restores them as if every code had
been used once, so a compact codec can also be fine-tuned. Loading always gives float32
tensors; a codec saved compactly is first rounded to the stored values, so the codec in memory,
the file and its identity hash agree.
"""

from __future__ import annotations

import torch

PRECISIONS = ("float32", "float16", "int8")
#: Weight tensors at least this large are stored as int8 under ``precision="int8"``.
INT8_MIN_SIZE = 65536
SCALE_SUFFIX = ".int8_scale"
#: Training-only statistics, left out of compact files.
TRAINING_ONLY = ("quantizer.cluster_size", "quantizer.embed_avg")


def _int8_candidate(name: str, tensor: torch.Tensor) -> bool:
    return (
        tensor.is_floating_point()
        and tensor.dim() >= 2
        and tensor.numel() >= INT8_MIN_SIZE
        and not name.startswith("quantizer.")
    )


def compact_state(state: dict[str, torch.Tensor], precision: str) -> dict[str, torch.Tensor]:
    """Tensors to write for ``precision`` (see the module docstring).

    Parameters
    ----------
    state : dict of str to torch.Tensor
        A float32 state dict (CPU).
    precision : str
        ``"float32"`` (unchanged), ``"float16"`` or ``"int8"``.

    Returns
    -------
    dict of str to torch.Tensor
        Contiguous CPU tensors; int8 weights come with ``<name>.int8_scale`` of shape
        ``[rows, 1, ...]`` (float32).

    Raises
    ------
    ValueError
        Unknown precision.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    out: dict[str, torch.Tensor] = {}
    for name, tensor in state.items():
        t = tensor.detach().cpu()
        if precision == "float32":
            out[name] = t.contiguous()
        elif name in TRAINING_ONLY:
            continue
        elif precision == "int8" and _int8_candidate(name, t):
            dims = tuple(range(1, t.dim()))
            scale = (t.abs().amax(dim=dims, keepdim=True) / 127.0).clamp_min(1e-12).float()
            out[name] = torch.round(t / scale).clamp(-127, 127).to(torch.int8).contiguous()
            out[name + SCALE_SUFFIX] = scale.contiguous()
        elif t.is_floating_point():
            out[name] = t.to(torch.float16).contiguous()
        else:
            out[name] = t.contiguous()
    return out


def expand_state(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Float32 state dict of tensors written by :func:`compact_state` (any precision).

    int8 weights are multiplied by their scales, float16 tensors widened, and missing training
    statistics rebuilt from the codebooks (``cluster_size`` ones ``[K, N]``, ``embed_avg`` equal
    to ``embed`` ``[K, N, D]``).
    """
    out: dict[str, torch.Tensor] = {}
    for name, t in tensors.items():
        if name.endswith(SCALE_SUFFIX):
            continue
        if t.dtype == torch.int8 and name + SCALE_SUFFIX in tensors:
            out[name] = t.float() * tensors[name + SCALE_SUFFIX].float()
        elif t.is_floating_point():
            out[name] = t.float()
        else:
            out[name] = t
    embed = out.get("quantizer.embed")
    if embed is not None:
        out.setdefault("quantizer.embed_avg", embed.clone())
        out.setdefault("quantizer.cluster_size", torch.ones(embed.shape[:-1]))
    return out
