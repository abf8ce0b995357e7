"""Codebook interleaving patterns: how ``K`` parallel code streams become one step sequence.

A codec frame holds ``K`` codes (one per RVQ codebook). The LM reads and predicts one *step* at a
time; a step holds at most one code per codebook, and each codebook ``k`` of frame ``t`` sits at
step ``s = t * stride + k * delay``:

* ``delay`` (MusicGen): ``stride=1, delay=1``. Codebook ``k`` is shifted by ``k`` frames, so
  one forward per frame predicts codebook 0 of frame ``t`` together with codebook 1 of frame
  ``t - 1``, ... and codebook ``k`` of a frame is predicted after codebooks ``< k`` of the same
  frame were read. ``T + K - 1`` steps.
* ``flatten``: ``stride=K, delay=1``. One code per step, codebooks in order: exact
  autoregression over all codes, ``K`` forwards per frame. ``T * K`` steps.
* ``parallel``: ``stride=1, delay=0``. All codebooks of a frame at once (they are predicted
  independently given the past). ``T`` steps.

Positions of a step that hold no code (the corners of the delay pattern, the other codebooks of
a flattened step, frames missing from a short recording) carry the *pad* token, id ``N`` (the
codebook size); the sequence starts with a *BOS* step of id ``N + 1`` in every codebook. The
loss ignores padded positions. Codes given as ``-1`` count as missing. :meth:`Pattern.build`
and :meth:`Pattern.revert` are exact inverses.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dolphin.errors import ConfigError

#: Pattern names and their (stride per frame in codebooks, delay per codebook); see above.
PATTERNS = {"delay": (1, 1), "flatten": (0, 1), "parallel": (1, 0)}
MISSING = -1  # a code that is not there (padding of short recordings, not yet generated)


@dataclass
class PatternSequence:
    """Codes laid out as steps, with the mask of positions that hold a real code."""

    tokens: torch.Tensor  # [B, K, S] int64 in [0, N]: codes, and N (pad) where `valid` is False
    valid: torch.Tensor  # [B, K, S] bool: a real code sits at this position


@dataclass(frozen=True)
class Pattern:
    """Where codebook ``k`` of frame ``t`` sits: step ``t * stride + k * delay``.

    Parameters
    ----------
    name : str
        One of :data:`PATTERNS` (``delay``, ``flatten``, ``parallel``).
    n_codebooks : int
        ``K``.
    """

    name: str
    n_codebooks: int

    def __post_init__(self) -> None:
        if self.name not in PATTERNS:
            raise ConfigError(f"lm.pattern must be one of {', '.join(PATTERNS)}, got {self.name!r}")
        if self.n_codebooks < 1:
            raise ConfigError(f"a pattern needs n_codebooks >= 1, got {self.n_codebooks}")

    @property
    def stride(self) -> int:
        """Steps per frame."""
        stride = PATTERNS[self.name][0]
        return stride if stride > 0 else self.n_codebooks

    @property
    def delay(self) -> int:
        """Steps between codebook ``k`` and ``k + 1`` of one frame."""
        return PATTERNS[self.name][1]

    @property
    def lag_frames(self) -> int:
        """Frames after frame ``t`` that must arrive before all of ``t`` is predicted (delay: K-1)."""
        return (self.n_codebooks - 1) * self.delay // self.stride

    def n_steps(self, n_frames: int) -> int:
        """Steps holding ``n_frames`` frames (0 for none)."""
        if n_frames <= 0:
            return 0
        return (n_frames - 1) * self.stride + (self.n_codebooks - 1) * self.delay + 1

    def steps_ready(self, n_frames: int) -> int:
        """Leading steps fully known once ``n_frames`` frames of an unbounded stream arrived.

        Step ``s`` is complete when it holds no code of a frame ``>= n_frames``; the first step
        holding frame ``n_frames`` is ``n_frames * stride`` (codebook 0).
        """
        return max(0, n_frames) * self.stride

    def step_index(self, n_frames: int, device: torch.device | None = None) -> torch.Tensor:
        """Step of every (codebook, frame): ``[K, T]`` int64."""
        t = torch.arange(n_frames, device=device)[None] * self.stride
        k = torch.arange(self.n_codebooks, device=device)[:, None] * self.delay
        return t + k

    def frame_at(self, step: int, codebook: int) -> int | None:
        """Frame whose codebook ``codebook`` sits at ``step`` (None when that position is empty)."""
        offset = step - codebook * self.delay
        if offset < 0 or offset % self.stride:
            return None
        return offset // self.stride

    def _check(self, tensor: torch.Tensor, what: str) -> None:
        if tensor.dim() != 3 or tensor.shape[1] != self.n_codebooks:
            raise ValueError(
                f"{what} must be [B, K={self.n_codebooks}, T], got {list(tensor.shape)}"
            )
        if tensor.is_floating_point():
            raise ValueError(f"{what} must be integers, got {tensor.dtype}")

    def build(self, codes: torch.Tensor, *, pad_id: int) -> PatternSequence:
        """Lay codes ``[B, K, T]`` out as steps ``[B, K, n_steps(T)]``.

        Parameters
        ----------
        codes : Tensor
            ``[B, K, T]`` integers in ``[0, N)``; ``-1`` marks a missing code.
        pad_id : int
            Token of empty positions (the codebook size ``N``).

        Returns
        -------
        PatternSequence
        """
        self._check(codes, "codes")
        b, k, t = codes.shape
        s = self.n_steps(t)
        tokens = torch.full((b, k, s), pad_id, dtype=torch.long, device=codes.device)
        valid = torch.zeros((b, k, s), dtype=torch.bool, device=codes.device)
        if t:
            index = self.step_index(t, codes.device).expand(b, k, t)
            present = codes >= 0
            tokens.scatter_(2, index, torch.where(present, codes.long(), pad_id))
            valid.scatter_(2, index, present)
        return PatternSequence(tokens=tokens, valid=valid)

    def revert(self, tokens: torch.Tensor, n_frames: int | None = None) -> torch.Tensor:
        """Gather codes ``[B, K, T]`` back from steps ``[B, K, S]`` (inverse of :meth:`build`).

        Parameters
        ----------
        tokens : Tensor
            ``[B, K, S]`` step tokens.
        n_frames : int, optional
            ``T``; by default the most frames that fit in ``S`` steps.

        Returns
        -------
        Tensor
            ``[B, K, T]`` int64; pad positions come back as they were stored.
        """
        self._check(tokens, "tokens")
        s = tokens.shape[-1]
        if n_frames is None:
            last = (self.n_codebooks - 1) * self.delay
            n_frames = (s - 1 - last) // self.stride + 1 if s > last else 0
        if self.n_steps(n_frames) > s:
            raise ValueError(f"{s} steps hold fewer than {n_frames} frames")
        index = self.step_index(n_frames, tokens.device).expand(tokens.shape[0], -1, -1)
        return tokens.gather(2, index)


def get_pattern(name: str, n_codebooks: int) -> Pattern:
    """The pattern called ``name`` for ``n_codebooks`` codebooks (see the module docstring)."""
    return Pattern(name=name, n_codebooks=n_codebooks)
