"""Weight averaging of LMs along one training lineage ("model soup", checkpoint averaging).

Stages that continue one another (each started from the one before) lie close enough in weight
space that a weighted mean of their parameters is itself a good model, often better than any
of them: the shipped default LM is such an average (see its model card). Only LMs with the same
configuration (architecture, token layout and codec) can be averaged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

import torch

from dolphin.errors import DolphinError
from dolphin.lm.model import SoundLM


def average_lms(models: Sequence[str | Path], weights: Sequence[float] | None = None) -> SoundLM:
    """The weighted mean of the parameters of several saved LMs, as a float32 :class:`SoundLM`.

    Parameters
    ----------
    models : sequence of str or Path
        Shipped LM names or saved LM folders (any stored precision; int8 and float16 weights
        are expanded first). At least one.
    weights : sequence of float, optional
        One positive weight per model, normalised to sum to 1 (default: equal weights).

    Returns
    -------
    SoundLM
        In eval mode on the CPU; every floating-point tensor is
        ``sum_i w_i * tensor_i / sum_i w_i``, computed in float32.

    Raises
    ------
    DolphinError
        No models; a weight count that differs from the model count; a weight that is not a
        positive finite number; or models whose configurations differ (the error names the
        first differing field).
    """
    paths = list(models)
    if not paths:
        raise DolphinError("average_lms: no models given")
    raw = [1.0] * len(paths) if weights is None else [float(w) for w in weights]
    if len(raw) != len(paths):
        raise DolphinError(f"average_lms: {len(raw)} weights for {len(paths)} models")
    bad = [w for w in raw if not (math.isfinite(w) and w > 0)]
    if bad:
        raise DolphinError(f"average_lms: weights must be positive and finite, got {bad[0]}")
    total = sum(raw)
    first: SoundLM | None = None
    sums: dict[str, torch.Tensor] = {}
    for path, weight in zip(paths, raw, strict=True):
        lm = SoundLM.from_pretrained(path)
        if first is None:
            first = lm
        elif lm.config != first.config:
            name = next(
                f.name
                for f in fields(lm.config)
                if getattr(lm.config, f.name) != getattr(first.config, f.name)
            )
            raise DolphinError(
                f"average_lms: {path} differs from {paths[0]} in config field {name!r} "
                f"({getattr(lm.config, name)!r} vs {getattr(first.config, name)!r}); only LMs of "
                "one configuration can be averaged"
            )
        for key, value in lm.state_dict().items():
            if value.is_floating_point():
                share = value.float() * (weight / total)
                sums[key] = sums[key] + share if key in sums else share
    first.load_state_dict({**first.state_dict(), **sums})
    return first.eval()
