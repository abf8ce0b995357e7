"""Exact inference arithmetic: codes that do not depend on how the audio was chunked.

Float results of matrix products depend on summation order, and BLAS libraries choose the
order (blocking, SIMD width, threads) by matrix shape; an encoder that sees 3 frames in one call
and 5 in the next can round differently from one that sees all 8 at once, and an ``argmin``
over codebook distances can then flip (DAC's chunked-encoding bug). Instead of forcing the same
shapes everywhere, inference here makes every product and sum *exact*:

* activations are rounded to a fixed-point grid (multiples of ``2**-16``, clamped to
  ``+-256``) and carried in float64;
* each layer's weights are rounded to a grid chosen so that every product and every partial
  sum of its matrix product is an integer multiple of the product grid below ``2**52``, hence
  exactly representable in float64. An exact result is the same for any summation order,
  blocking, thread count or number of frames per call;
* the element-wise steps use only IEEE-754 operations that are correctly rounded (add,
  multiply, divide, square root) and rounding to the grid, which give the same bits in SIMD
  and scalar code;
* the one inexact operation, the FFT, is called one frame at a time, so it always sees the
  same shape.

So :meth:`Codec.encode` on a whole file and any chunked streaming encoding give bit-identical
codes by construction, with no block structure and no added latency. The grids are far finer
than the model's precision needs (2**-16 for activations), so exact inference matches the float32
training path to ~1e-5. On GPUs without fast float64 the encoder is slower; decoding is float32.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

ACT_FRAC = 16  # activations are multiples of 2**-16
ACT_MAX = 256.0  # ... clamped to [-256, 256]
_MANTISSA = 52  # every partial sum must stay below 2**52 product-grid units


def to_grid(x: torch.Tensor, frac: int = ACT_FRAC, bound: float = ACT_MAX) -> torch.Tensor:
    """Round ``x`` to multiples of ``2**-frac`` in ``[-bound, bound]`` (float64, exact)."""
    scale = 2.0**frac
    return torch.round(x.double().clamp(-bound, bound) * scale) / scale


def rational_elu(x: torch.Tensor) -> torch.Tensor:
    """ELU-like activation computed with one division: ``x`` if ``x >= 0`` else ``x / (1 - x)``.

    Smooth at 0 (slope 1) and saturating at -1 like ELU, but built from correctly rounded
    operations only, so exact inference gives the same bits wherever it runs.
    """
    neg = x.clamp(max=0.0)  # the unused branch must stay finite, or its gradient is 0 * inf
    return torch.where(x >= 0, x, neg / (1 - neg))


@dataclass
class ExactLinear:
    """A linear map with grid-rounded float64 weights whose products are exact.

    Build with :meth:`from_float`; call on activations already on the grid.
    """

    weight_t: torch.Tensor  # [in, out] float64 on the weight grid
    bias: torch.Tensor  # [out] float64 on the product grid (zeros when the layer has none)
    weight_frac: int  # weight grid 2**-weight_frac

    @classmethod
    def from_float(
        cls, weight: torch.Tensor, bias: torch.Tensor | None, *, residual: bool = False
    ) -> ExactLinear:
        """Round a float layer so that its products are exact in float64.

        Parameters
        ----------
        weight : Tensor
            ``[out, in]``.
        bias : Tensor, optional
            ``[out]``.
        residual : bool
            The call adds a residual input bounded by :data:`ACT_MAX`.

        Returns
        -------
        ExactLinear
        """
        w = weight.detach().double()
        n_in = w.shape[1]
        b = torch.zeros(w.shape[0], dtype=torch.float64, device=w.device)
        if bias is not None:
            b = bias.detach().double()
        w_max = max(float(w.abs().max()) if w.numel() else 0.0, 2.0**-30)
        bound = (
            n_in * ACT_MAX * w_max
            + (float(b.abs().max()) if b.numel() else 0.0)
            + residual * ACT_MAX
        )
        frac = min(30, math.floor(_MANTISSA - ACT_FRAC - math.log2(bound)) - 1)
        if frac < 8:
            raise ValueError(f"weights too large for exact inference (max |w| = {w_max:.3g})")
        w_grid = torch.round(w * 2.0**frac) / 2.0**frac
        b_grid = torch.round(b * 2.0 ** (frac + ACT_FRAC)) / 2.0 ** (frac + ACT_FRAC)
        return cls(weight_t=w_grid.t().contiguous(), bias=b_grid, weight_frac=frac)

    def __call__(self, x: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
        """``to_grid(x @ W.T + b [+ residual])`` for grid activations ``x`` ``[..., in]``."""
        shape = x.shape[:-1]
        flat = x.reshape(-1, x.shape[-1])
        base = (
            self.bias if residual is None else residual.reshape(-1, self.bias.shape[0]) + self.bias
        )
        out = torch.addmm(base, flat, self.weight_t) if flat.shape[0] else base[:0]
        return to_grid(out).reshape(*shape, -1)


class ExactEncoder:
    """Grid-rounded copy of an :class:`~dolphin.codec.blocks.Encoder` for exact inference.

    Parameters
    ----------
    encoder : Encoder
        The float encoder whose weights are copied (take a new copy after training steps).
    """

    def __init__(self, encoder: Any) -> None:
        self.spectrum = encoder.spectrum
        self.proj = ExactLinear.from_float(encoder.proj.weight, encoder.proj.bias)
        self.units = []
        for unit in encoder.units:
            conv = ExactLinear.from_float(unit.conv.weight, unit.conv.bias)
            out = ExactLinear.from_float(unit.out_weight, None, residual=True)
            self.units.append((unit.conv, conv, out))
        self.out = ExactLinear.from_float(encoder.out.weight, encoder.out.bias)

    def __call__(self, audio: torch.Tensor, cache: dict[str, Any]) -> torch.Tensor:
        """Latents of the whole hops in ``audio``.

        Parameters
        ----------
        audio : Tensor
            ``[B, 1, F * hop]``.
        cache : dict
            Streaming state (filled on the first call).

        Returns
        -------
        Tensor
            ``[B, F, D]`` float64 on the grid.
        """
        h = self.proj(to_grid(self.spectrum.forward_exact(audio, cache)))
        for conv_module, conv, out in self.units:
            a = to_grid(rational_elu(h))
            taps = conv_module.taps(a, cache)
            h = out(to_grid(rational_elu(conv(taps))), residual=h)
        return self.out(to_grid(rational_elu(h)))


@dataclass
class ExactCodebooks:
    """Grid-rounded codebooks and their exact squared norms."""

    entries: list[torch.Tensor]  # K x [N, D] float64 on the grid 2**-frac
    entries_t: list[torch.Tensor]  # K x [D, N]
    sq_norms: list[torch.Tensor]  # K x [N], exact
    frac: int  # grid of latents and entries

    @classmethod
    def from_float(cls, embed: torch.Tensor) -> ExactCodebooks:
        """Round ``embed`` ``[K, N, D]`` to a grid on which distances are exact in float64."""
        k, _, dim = embed.shape
        c_max = 2.0 ** math.ceil(math.log2(max(float(embed.abs().max()), 2.0**-20)))
        r_max = ACT_MAX + k * c_max  # bound of any residual
        # |sq| + |2 r.c| < 2^52 units of the product grid 2^(-2 frac)
        bits = math.log2(dim * c_max * c_max + 2 * dim * r_max * c_max)
        frac = min(ACT_FRAC, math.floor((_MANTISSA - bits) / 2))
        grid = to_grid(embed, frac, bound=c_max)
        entries = [grid[i] for i in range(k)]
        return cls(
            entries=entries,
            entries_t=[e.t().contiguous() for e in entries],
            sq_norms=[(e * e).sum(-1) for e in entries],
            frac=frac,
        )

    def encode(self, z: torch.Tensor, n_q: int) -> torch.Tensor:
        """Nearest-entry codes of grid latents ``z`` ``[M, D]`` -> ``[n_q, M]`` int64."""
        residual = to_grid(z, self.frac)
        codes = []
        for k in range(n_q):
            dist = torch.addmm(self.sq_norms[k], residual, self.entries_t[k], alpha=-2.0)
            idx = dist.argmin(-1)
            codes.append(idx)
            if k + 1 < n_q:
                residual = residual - self.entries[k].index_select(0, idx)
        return torch.stack(codes, 0)
