"""Residual vector quantization with EMA codebooks (SoundStream / EnCodec style).

``K`` codebooks of ``N`` entries of dimension ``D``. Codebook ``k`` quantizes what codebooks
``0..k-1`` left over. Training behaviour:

* k-means initialisation of every codebook from the first training batch;
* codebooks follow exponential moving averages of their assigned vectors (no gradient);
* dead-code restarts: an entry whose EMA share of assignments falls below
  ``dead_code_ratio / N`` is replaced by a random current encoder output;
* quantizer dropout: with probability ``dropout`` a batch uses only ``n_q ~ U[1, K]`` codebooks,
  so any ``n_q`` works at inference;
* a commitment loss pulls the encoder output towards its codes, and the straight-through
  estimator passes the decoder's gradient to the encoder.

At inference (:meth:`ResidualVectorQuantizer.encode`) distances are computed with the exact
fixed-point arithmetic of :mod:`dolphin.codec.exact`, so a frame's code does not depend on the
other frames in the call. Under ``torch.distributed`` the EMA statistics are summed over
processes; the dropout draw, initialisations and restarts are broadcast from rank 0.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from dolphin.codec.exact import ExactCodebooks


@dataclass
class QuantizedResult:
    """Output of :meth:`ResidualVectorQuantizer.forward`."""

    quantized: torch.Tensor  # [B, D, T]; straight-through in training
    codes: torch.Tensor  # [B, n_q, T] int64
    commitment_loss: torch.Tensor  # scalar: mean over codebooks of ||residual - code||^2
    perplexity: torch.Tensor  # [n_q]: exp(entropy) of each codebook's use in this batch
    n_q: int  # codebooks used


def _distributed() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def kmeans(x: torch.Tensor, n_clusters: int, n_iters: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Plain k-means with random initial centroids drawn from ``x``.

    Parameters
    ----------
    x : Tensor
        ``[M, D]`` points; drawn with replacement when ``M < n_clusters``.
    n_clusters : int
        Number of centroids ``N``.
    n_iters : int
        Lloyd iterations.

    Returns
    -------
    centroids : Tensor
        ``[N, D]``.
    counts : Tensor
        ``[N]`` points assigned to each centroid after the last iteration.
    """
    n = x.shape[0]
    if n >= n_clusters:
        idx = torch.randperm(n, device=x.device)[:n_clusters]
    else:
        idx = torch.randint(0, n, (n_clusters,), device=x.device)
    centroids = x[idx].clone()
    counts = torch.zeros(n_clusters, device=x.device, dtype=x.dtype)
    for _ in range(n_iters):
        assign = torch.cdist(x, centroids).argmin(-1)
        counts = torch.bincount(assign, minlength=n_clusters).to(x.dtype)
        sums = torch.zeros_like(centroids).index_add_(0, assign, x)
        filled = counts > 0
        centroids[filled] = sums[filled] / counts[filled, None]
    return centroids, counts


class ResidualVectorQuantizer(nn.Module):
    """EMA residual vector quantizer.

    Parameters
    ----------
    dim : int
        ``D``, dimension of the vectors (and codebook entries).
    n_codebooks : int
        ``K``.
    codebook_size : int
        ``N``.
    decay : float
        EMA decay of the codebook statistics.
    kmeans_iters : int
        Iterations of the k-means initialisation.
    dead_code_ratio : float
        Restart threshold as a fraction of the uniform usage share ``1 / N``.
    dropout : float
        Probability that a training batch uses a random ``n_q`` in ``[1, K]``.
    frame_rate : float
        Frames per second, for :attr:`bitrate_bps`.
    """

    def __init__(
        self,
        *,
        dim: int,
        n_codebooks: int,
        codebook_size: int,
        decay: float = 0.99,
        kmeans_iters: int = 10,
        dead_code_ratio: float = 0.02,
        dropout: float = 1.0,
        frame_rate: float = 100.0,
    ) -> None:
        super().__init__()
        self.dim, self.n_codebooks, self.codebook_size = dim, n_codebooks, codebook_size
        self.decay, self.kmeans_iters = decay, kmeans_iters
        self.dead_code_ratio, self.dropout, self.frame_rate = dead_code_ratio, dropout, frame_rate
        self.eps = 1e-5
        #: True: the codebooks stay as they are in training mode (no k-means, EMA or restarts);
        #: quantizer dropout still applies. For fine-tuning the decoder with the codes unchanged.
        self.frozen = False
        self.register_buffer("embed", torch.randn(n_codebooks, codebook_size, dim))
        self.register_buffer("embed_avg", self.embed.clone())
        self.register_buffer("cluster_size", torch.ones(n_codebooks, codebook_size))
        self.register_buffer("initialized", torch.tensor(False))
        self._exact_key: tuple[int, int] | None = None
        self._exact: ExactCodebooks | None = None

    @property
    def bits_per_frame(self) -> float:
        """Bits per frame with all codebooks: ``K * log2(N)``."""
        return self.n_codebooks * math.log2(self.codebook_size)

    @property
    def bitrate_bps(self) -> float:
        """Bits per second with all codebooks: ``K * log2(N) * frame_rate``."""
        return self.bits_per_frame * self.frame_rate

    def _check_n_q(self, n_q: int | None) -> int:
        if n_q is None:
            return self.n_codebooks
        if not 1 <= int(n_q) <= self.n_codebooks:
            raise ValueError(f"n_q must be in [1, {self.n_codebooks}], got {n_q}")
        return int(n_q)

    def exact_codebooks(self) -> ExactCodebooks:
        """Grid-rounded codebooks for exact inference, cached until ``embed`` changes."""
        try:
            version = self.embed._version
        except RuntimeError:  # inference tensors have no version counter: no caching
            return ExactCodebooks.from_float(self.embed)
        key = (self.embed.data_ptr(), version)
        if self._exact is None or self._exact_key != key:
            self._exact = ExactCodebooks.from_float(self.embed)
            self._exact_key = key
        return self._exact

    def _load_from_state_dict(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        self._exact = None  # codebooks are about to change
        super()._load_from_state_dict(*args, **kwargs)

    @torch.no_grad()
    def encode_frames(self, x: torch.Tensor, n_q: int | None = None) -> torch.Tensor:
        """Codes of time-major latents with exact arithmetic (no statistics update).

        Latents and codebooks are rounded to a fixed-point grid on which every distance is
        exact in float64 (:class:`~dolphin.codec.exact.ExactCodebooks`), so a frame's code does
        not depend on which other frames share the call.

        Parameters
        ----------
        x : Tensor
            ``[B, T, D]``.
        n_q : int, optional
            Codebooks to use (default all ``K``).

        Returns
        -------
        Tensor
            ``[B, n_q, T]`` int64.
        """
        n_q = self._check_n_q(n_q)
        batch, n_frames = x.shape[0], x.shape[1]
        codes = self.exact_codebooks().encode(x.reshape(batch * n_frames, self.dim), n_q)
        return codes.reshape(n_q, batch, n_frames).transpose(0, 1)

    def encode(self, z: torch.Tensor, n_q: int | None = None) -> torch.Tensor:
        """Codes of latents ``z`` ``[B, D, T]`` -> ``[B, n_q, T]`` int64."""
        return self.encode_frames(z.transpose(1, 2), n_q)

    def decode_frames(self, codes: torch.Tensor) -> torch.Tensor:
        """Sum of the code vectors, time-major: ``[B, n_q, T]`` -> ``[B, T, D]``."""
        n_q = codes.shape[1]
        if not 1 <= n_q <= self.n_codebooks:
            raise ValueError(f"codes have {n_q} codebooks; this quantizer has {self.n_codebooks}")
        offsets = torch.arange(n_q, device=codes.device)[None, :, None] * self.codebook_size
        flat = self.embed[:n_q].reshape(n_q * self.codebook_size, self.dim)
        return F.embedding((codes.long() + offsets).transpose(1, 2), flat).sum(2)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Latents from codes: ``[B, n_q, T]`` -> ``[B, D, T]``."""
        return self.decode_frames(codes).transpose(1, 2)

    def forward(self, z: torch.Tensor, n_q: int | None = None) -> QuantizedResult:
        """Quantize ``z``; in training mode also update the codebooks (unless :attr:`frozen`).

        Parameters
        ----------
        z : Tensor
            Encoder output ``[B, D, T]``.
        n_q : int, optional
            Codebooks to use. Default: all of them, or in training with probability
            ``dropout`` a uniform draw from ``[1, K]`` (quantizer dropout).

        Returns
        -------
        QuantizedResult
        """
        x = z.transpose(1, 2).reshape(-1, self.dim)
        update = self.training and not self.frozen
        if update and not bool(self.initialized):
            self._kmeans_init(x.detach())
        if n_q is None and self.training and random.random() < self.dropout:
            n_q = random.randint(1, self.n_codebooks)
            if _distributed():  # every process must update (and all-reduce) the same codebooks
                choice = torch.tensor([n_q], device=z.device)
                torch.distributed.broadcast(choice, 0)
                n_q = int(choice)
        n_q = self._check_n_q(n_q)
        residual = x
        quantized = torch.zeros_like(x)
        losses, codes, perplexities = [], [], []
        for k in range(n_q):
            with torch.no_grad():
                sq = self.embed[k].square().sum(-1)
                idx = torch.addmm(sq, residual.detach(), self.embed[k].t(), alpha=-2.0).argmin(-1)
                counts = torch.bincount(idx, minlength=self.codebook_size).to(x.dtype)
            q = F.embedding(idx, self.embed[k]).detach()
            losses.append(F.mse_loss(residual, q))
            if update:
                self._ema_update(k, residual.detach(), idx, counts)
            probs = counts / counts.sum().clamp(min=1.0)
            perplexities.append(torch.exp(-(probs * torch.log(probs + 1e-10)).sum()))
            codes.append(idx)
            quantized = quantized + q
            residual = residual - q
        quantized = x + (quantized - x).detach()  # straight-through estimator
        batch, _, n_frames = z.shape
        return QuantizedResult(
            quantized=quantized.reshape(batch, n_frames, self.dim).transpose(1, 2),
            codes=torch.stack(codes, 0).reshape(n_q, batch, n_frames).transpose(0, 1),
            commitment_loss=torch.stack(losses).mean(),
            perplexity=torch.stack(perplexities),
            n_q=n_q,
        )

    @torch.no_grad()
    def _kmeans_init(self, x: torch.Tensor) -> None:
        """Initialise every codebook by k-means on the residuals of batch ``x`` ``[M, D]``."""
        residual = x
        for k in range(self.n_codebooks):
            centroids, counts = kmeans(residual, self.codebook_size, self.kmeans_iters)
            self.embed[k].copy_(centroids)
            self.cluster_size[k].copy_(counts)
            self.embed_avg[k].copy_(centroids * counts[:, None])
            idx = torch.cdist(residual, centroids).argmin(-1)
            residual = residual - centroids[idx]
        self.initialized.fill_(True)
        self._exact = None
        if _distributed():
            for buf in (self.embed, self.embed_avg, self.cluster_size):
                torch.distributed.broadcast(buf, 0)

    @torch.no_grad()
    def _ema_update(self, k: int, x: torch.Tensor, idx: torch.Tensor, counts: torch.Tensor) -> None:
        """EMA step of codebook ``k`` from vectors ``x`` ``[M, D]`` assigned to ``idx``."""
        sums = torch.zeros_like(self.embed[k]).index_add_(0, idx, x)
        counts = counts.clone()
        if _distributed():
            torch.distributed.all_reduce(counts)
            torch.distributed.all_reduce(sums)
        self.cluster_size[k].mul_(self.decay).add_(counts, alpha=1.0 - self.decay)
        self.embed_avg[k].mul_(self.decay).add_(sums, alpha=1.0 - self.decay)
        self._exact = None
        size = self.cluster_size[k]
        total = size.sum()
        smoothed = (size + self.eps) / (total + self.codebook_size * self.eps) * total
        self.embed[k].copy_(self.embed_avg[k] / smoothed[:, None])
        dead = size < self.dead_code_ratio * total / self.codebook_size
        n_dead = int(dead.sum())
        if n_dead:
            pick = torch.randint(0, x.shape[0], (n_dead,), device=x.device)
            share = total / self.codebook_size  # restarted entries start at the uniform share
            self.embed[k][dead] = x[pick]
            self.embed_avg[k][dead] = x[pick] * share
            self.cluster_size[k][dead] = share
            if _distributed():
                for buf in (self.embed, self.embed_avg, self.cluster_size):
                    torch.distributed.broadcast(buf, 0)
