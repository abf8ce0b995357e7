"""Count-based baselines for the sound-token LM: unigram and interpolated Kneser-Ney n-grams.

Each codebook is modelled on its own: a code is predicted from the previous ``order - 1`` codes
of the same codebook (the start of a recording is padded with a begin symbol). The LM must beat
these to have learnt anything beyond code frequencies and short repetitions.

* :class:`UnigramModel`: code frequencies with add-``k`` smoothing,
  ``p(w) = (c(w) + k) / (n + k N)``.
* :class:`KneserNeyModel`: interpolated Kneser-Ney with absolute discount ``D``
  (Chen & Goodman 1998): the highest order uses counts, lower orders continuation counts
  (how many distinct contexts a code follows), and the recursion ends in the uniform
  distribution, so every code has non-zero probability and each distribution sums to one.

:class:`CodebookNGrams` fits one model per codebook on code arrays ``[K, T]`` and reports bits
per code (:class:`NGramScore`).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

BEGIN = -1  # context symbol before the first code of a recording


class UnigramModel:
    """Add-``k`` smoothed code frequencies.

    Parameters
    ----------
    vocab_size : int
        ``N`` codes.
    add_k : float
        Pseudo-count of every code.
    """

    def __init__(self, vocab_size: int, *, add_k: float = 0.5) -> None:
        self.vocab_size, self.add_k = int(vocab_size), float(add_k)
        self.counts = np.zeros(self.vocab_size, dtype=np.float64)

    def fit(self, sequences: Iterable[Sequence[int]]) -> UnigramModel:
        """Count codes of ``sequences`` (each ``[T]`` ints in ``[0, N)``); returns self."""
        for seq in sequences:
            self.counts += np.bincount(np.asarray(seq, dtype=np.int64), minlength=self.vocab_size)
        return self

    def log2_probs(self, sequence: Sequence[int]) -> np.ndarray:
        """``[T]`` log2 probability of each code."""
        total = self.counts.sum() + self.add_k * self.vocab_size
        probs = (self.counts + self.add_k) / total
        return np.log2(probs[np.asarray(sequence, dtype=np.int64)])


class KneserNeyModel:
    """Interpolated Kneser-Ney n-gram over one code stream.

    Parameters
    ----------
    vocab_size : int
        ``N`` codes.
    order : int
        ``n``: a code is predicted from the previous ``n - 1`` codes.
    discount : float
        Absolute discount ``D`` in ``(0, 1]`` (0.75 is the usual choice).
    """

    def __init__(self, vocab_size: int, *, order: int = 3, discount: float = 0.75) -> None:
        if order < 1 or not 0.0 < discount <= 1.0:
            raise ValueError(f"need order >= 1 and 0 < discount <= 1, got {order}, {discount}")
        self.vocab_size, self.order, self.discount = int(vocab_size), int(order), float(discount)
        # level m (1..order): context tuple (length m - 1) -> Counter of next codes
        self.tables: list[dict[tuple[int, ...], Counter]] = [
            defaultdict(Counter) for _ in range(self.order + 1)
        ]
        self._totals: list[dict[tuple[int, ...], tuple[float, int]]] = []

    def fit(self, sequences: Iterable[Sequence[int]]) -> KneserNeyModel:
        """Collect counts from ``sequences`` (each ``[T]`` ints in ``[0, N)``); returns self."""
        n = self.order
        top = self.tables[n]
        for seq in sequences:
            padded = [BEGIN] * (n - 1) + [int(c) for c in seq]
            for i in range(n - 1, len(padded)):
                top[tuple(padded[i - n + 1 : i])][padded[i]] += 1
        # Continuation counts: level m counts the distinct codes preceding (context, w) at m + 1.
        for m in range(n - 1, 0, -1):
            lower = self.tables[m]
            for context, nexts in self.tables[m + 1].items():
                for w in nexts:
                    lower[context[1:]][w] += 1
        self._totals = [
            {ctx: (float(sum(c.values())), len(c)) for ctx, c in table.items()}
            for table in self.tables
        ]
        return self

    def prob(self, context: tuple[int, ...], code: int) -> float:
        """``p(code | context)``; ``context`` holds the previous ``order - 1`` codes."""
        p = 1.0 / self.vocab_size
        for m in range(1, self.order + 1):
            ctx = context[len(context) - (m - 1) :] if m > 1 else ()
            total, types = self._totals[m].get(ctx, (0.0, 0))
            if total == 0:
                continue  # unseen context: keep the lower-order estimate
            count = self.tables[m][ctx].get(code, 0)
            p = max(count - self.discount, 0.0) / total + self.discount * types / total * p
        return p

    def log2_probs(self, sequence: Sequence[int]) -> np.ndarray:
        """``[T]`` log2 probability of each code given its preceding codes."""
        n = self.order
        padded = [BEGIN] * (n - 1) + [int(c) for c in sequence]
        out = np.empty(len(padded) - (n - 1), dtype=np.float64)
        for i in range(n - 1, len(padded)):
            out[i - n + 1] = math.log2(self.prob(tuple(padded[i - n + 1 : i]), padded[i]))
        return out


@dataclass
class NGramScore:
    """Bits per code of a baseline on held-out codes."""

    bits_per_token: float  # mean over all codes and codebooks
    bits_by_codebook: list[float]  # mean per codebook, K values
    n_tokens: int  # codes scored


class CodebookNGrams:
    """One baseline model per codebook.

    Parameters
    ----------
    n_codebooks : int
        ``K``.
    vocab_size : int
        ``N`` codes per codebook.
    order : int
        1 = add-``k`` unigram, >= 2 = interpolated Kneser-Ney of that order.
    discount, add_k : float
        Smoothing of the Kneser-Ney and unigram models.
    """

    def __init__(
        self,
        n_codebooks: int,
        vocab_size: int,
        *,
        order: int = 3,
        discount: float = 0.75,
        add_k: float = 0.5,
    ) -> None:
        self.n_codebooks, self.order = int(n_codebooks), int(order)
        self.models = [
            UnigramModel(vocab_size, add_k=add_k)
            if order == 1
            else KneserNeyModel(vocab_size, order=order, discount=discount)
            for _ in range(self.n_codebooks)
        ]

    def _rows(self, codes: np.ndarray, k: int) -> np.ndarray:
        codes = np.asarray(codes)
        if codes.ndim != 2 or codes.shape[0] != self.n_codebooks:
            raise ValueError(f"codes must be [K={self.n_codebooks}, T], got {list(codes.shape)}")
        return codes[k]

    def fit(self, recordings: Iterable[np.ndarray]) -> CodebookNGrams:
        """Fit on code arrays ``[K, T]`` (one per recording); returns self."""
        recordings = [np.asarray(r) for r in recordings]
        for k, model in enumerate(self.models):
            model.fit(self._rows(r, k) for r in recordings)
        return self

    def score(self, recordings: Iterable[np.ndarray]) -> NGramScore:
        """Bits per code on held-out code arrays ``[K, T]``."""
        bits = [0.0] * self.n_codebooks
        counts = [0] * self.n_codebooks
        for rec in recordings:
            for k, model in enumerate(self.models):
                row = self._rows(rec, k)
                bits[k] -= float(model.log2_probs(row).sum())
                counts[k] += len(row)
        total = sum(counts)
        return NGramScore(
            bits_per_token=sum(bits) / max(total, 1),
            bits_by_codebook=[b / max(c, 1) for b, c in zip(bits, counts, strict=True)],
            n_tokens=total,
        )
