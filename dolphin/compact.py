"""Compact weight files: float16 or int8 tensors in safetensors, widened to float32 on loading.

Models trained in float32 ship smaller when their weights are stored at lower precision:

* ``"float16"``: every floating tensor as float16 (half the size);
* ``"int8"``: large weight matrices (at least :data:`INT8_MIN_SIZE` values, two or more
  dimensions, not under an excluded prefix) as int8 with one float32 scale per output row
  (``<name>.int8_scale``, symmetric: ``w = q * scale``), every other floating tensor as
  float16 (about a quarter of the size).

Used by :meth:`dolphin.codec.Codec.save` and :meth:`dolphin.lm.SoundLM.save_pretrained`, which
round the model to the stored values on saving, so the model in memory and the file agree.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

PRECISIONS = ("float32", "float16", "int8")
#: Weight tensors at least this large are stored as int8 under ``precision="int8"``.
INT8_MIN_SIZE = 65536
SCALE_SUFFIX = ".int8_scale"


def _int8_candidate(name: str, tensor: torch.Tensor, exclude: tuple[str, ...]) -> bool:
    return (
        tensor.is_floating_point()
        and tensor.dim() >= 2
        and tensor.numel() >= INT8_MIN_SIZE
        and not name.startswith(exclude)
    )


def check_precision(precision: str) -> str:
    """``precision`` if it is one of :data:`PRECISIONS`; ValueError naming them otherwise."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    return precision


def compact_state(
    state: dict[str, torch.Tensor],
    precision: str,
    *,
    drop: Iterable[str] = (),
    int8_exclude: Iterable[str] = (),
) -> dict[str, torch.Tensor]:
    """Tensors to write for ``precision`` (see the module docstring).

    Parameters
    ----------
    state : dict of str to torch.Tensor
        A float32 state dict.
    precision : str
        ``"float32"`` (unchanged), ``"float16"`` or ``"int8"``.
    drop : iterable of str
        Names left out of compact files (e.g. training-only statistics); kept in float32 files.
    int8_exclude : iterable of str
        Name prefixes never stored as int8 (float16 instead).

    Returns
    -------
    dict of str to torch.Tensor
        Contiguous CPU tensors; each int8 weight ``[R, ...]`` comes with ``<name>.int8_scale``
        of shape ``[R, 1, ...]`` (float32).

    Raises
    ------
    ValueError
        Unknown precision.
    """
    check_precision(precision)
    drop, exclude = set(drop), tuple(int8_exclude)
    out: dict[str, torch.Tensor] = {}
    for name, tensor in state.items():
        t = tensor.detach().cpu()
        if precision == "float32":
            out[name] = t.contiguous()
        elif name in drop:
            continue
        elif precision == "int8" and _int8_candidate(name, t, exclude):
            dims = tuple(range(1, t.dim()))
            scale = (t.float().abs().amax(dim=dims, keepdim=True) / 127.0).clamp_min(1e-12)
            out[name] = torch.round(t / scale).clamp(-127, 127).to(torch.int8).contiguous()
            out[name + SCALE_SUFFIX] = scale.contiguous()
        elif t.is_floating_point():
            out[name] = t.to(torch.float16).contiguous()
        else:
            out[name] = t.contiguous()
    return out


def expand_state(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Float32 state dict of tensors written by :func:`compact_state` (any precision).

    int8 weights are multiplied by their scales and float16 tensors widened; dropped names stay
    missing (the caller restores them).
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
    return out


def round_module(module: torch.nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    """Load the stored values of ``tensors`` (from :func:`compact_state`) into ``module``.

    Names absent from ``tensors`` (dropped ones) keep their current values.
    """
    with torch.no_grad():
        module.load_state_dict(expand_state(tensors), strict=False)
