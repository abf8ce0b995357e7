"""SIGID: tell signature whistle types from other whistle types by how they are repeated.

Bottlenose dolphins produce their signature whistle in bouts: renditions of the same contour type
repeated a few seconds apart. Janik et al. (2013, "Identifying signature whistles from recordings
of groups of unrestrained bottlenose dolphins", Marine Mammal Science 29:109-122) turned this
into the SIGID rule used here:

* a *bout* is a run of renditions of one type, each starting 1-10 s after the previous one ended
  (the inter-whistle interval, IWI);
* a type is a signature whistle type when at least one bout holds 4 or more renditions and at
  least 75 % of all its renditions lie 1-10 s from another rendition of the same type.

Non-signature types, produced now and then in a mixed stream, rarely meet both conditions. The
rule needs whistles already grouped into types (:mod:`dolphin.detect.clustering`), and their times.
Recordings are separate time axes: pass ``groups`` so that whistles of different recordings never
count as neighbours.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class SigidConfig:
    """Thresholds of the SIGID bout rule (Janik et al. 2013)."""

    min_interval_s: float = 1.0  # shortest inter-whistle interval inside a bout, seconds
    max_interval_s: float = 10.0  # longest inter-whistle interval inside a bout, seconds
    min_bout_renditions: int = 4  # renditions needed in one bout
    min_fraction: float = 0.75  # share of renditions within the interval of another one

    def __post_init__(self) -> None:
        if not 0 <= self.min_interval_s < self.max_interval_s:
            raise ValueError(
                f"need 0 <= min_interval_s < max_interval_s, got "
                f"{self.min_interval_s} and {self.max_interval_s}"
            )
        if self.min_bout_renditions < 2:
            raise ValueError(f"min_bout_renditions must be >= 2, got {self.min_bout_renditions}")
        if not 0.0 <= self.min_fraction <= 1.0:
            raise ValueError(f"min_fraction must be in [0, 1], got {self.min_fraction}")


@dataclass
class Bout:
    """Consecutive renditions of one type with every inter-whistle interval in range.

    Attributes
    ----------
    indices : np.ndarray, shape [n], int
        Input indices of the renditions, in time order.
    start_s, end_s : float
        Start of the first and end of the last rendition, seconds.
    group : Hashable
        Recording the bout lies in (None when no groups were given).
    """

    indices: np.ndarray
    start_s: float
    end_s: float
    group: Hashable = None

    @property
    def n_renditions(self) -> int:
        """Renditions in the bout."""
        return int(self.indices.size)


@dataclass
class TypeEvidence:
    """What SIGID found for one whistle type.

    Attributes
    ----------
    type_label : Hashable
        The type as labelled in the input.
    n_renditions : int
        Renditions of the type.
    n_near : int
        Renditions 1-10 s (``min_interval_s`` - ``max_interval_s``) from another rendition.
    longest_bout : int
        Renditions in the longest bout.
    bouts : list of Bout
        Every bout of 2 or more renditions, in time order within each group.
    is_signature : bool
        True when both SIGID conditions hold.
    """

    type_label: Hashable
    n_renditions: int
    n_near: int
    longest_bout: int
    bouts: list[Bout] = field(default_factory=list)
    is_signature: bool = False

    @property
    def fraction_near(self) -> float:
        """Share of renditions within the bout interval of another rendition, 0-1."""
        return self.n_near / self.n_renditions if self.n_renditions else 0.0

    def describe(self) -> str:
        """One line stating the verdict and the numbers behind it."""
        verdict = "signature" if self.is_signature else "not signature"
        return (
            f"type {self.type_label}: {verdict} ({self.n_renditions} renditions, "
            f"longest bout {self.longest_bout}, {100 * self.fraction_near:.0f} % near another)"
        )


@dataclass
class SigidResult:
    """SIGID verdicts for every type.

    Attributes
    ----------
    types : list of TypeEvidence
        One entry per type label, in order of first appearance.
    config : SigidConfig
        Thresholds applied.
    """

    types: list[TypeEvidence]
    config: SigidConfig

    @property
    def signature_types(self) -> list[Hashable]:
        """Labels of the types that pass the rule."""
        return [t.type_label for t in self.types if t.is_signature]

    def evidence(self, type_label: Hashable) -> TypeEvidence:
        """The evidence for one type label."""
        for t in self.types:
            if t.type_label == type_label:
                return t
        raise KeyError(f"no whistle type {type_label!r} among the input labels")


def identify_signature_types(
    start_s: Sequence[float] | np.ndarray,
    labels: Sequence[Hashable],
    *,
    end_s: Sequence[float] | np.ndarray | None = None,
    groups: Sequence[Hashable] | None = None,
    ignore: Sequence[Hashable] = (-1, None),
    config: SigidConfig | None = None,
) -> SigidResult:
    """Apply the SIGID bout rule to typed whistles.

    Parameters
    ----------
    start_s : array-like, shape [N]
        Start time of each whistle, seconds (on the time axis of its group).
    labels : sequence, length N
        Whistle type of each whistle (ints from :func:`~dolphin.detect.clustering.cluster_contours`,
        or strings).
    end_s : array-like, shape [N], optional
        End time of each whistle, seconds. Intervals run from the end of one whistle to the start
        of the next; without end times they run start to start.
    groups : sequence, length N, optional
        Recording of each whistle; whistles of different groups are never neighbours.
    ignore : sequence
        Labels that are not types (noise); their whistles are skipped.
    config : SigidConfig, optional
        Thresholds.

    Returns
    -------
    SigidResult
        Per-type evidence and verdicts.
    """
    config = config or SigidConfig()
    start = np.asarray(start_s, dtype=np.float64)
    end = start if end_s is None else np.asarray(end_s, dtype=np.float64)
    n = start.size
    if start.ndim != 1 or end.shape != start.shape or len(labels) != n:
        raise ValueError(
            f"start_s, end_s and labels must have one entry per whistle, got {start.shape}, "
            f"{end.shape} and {len(labels)}"
        )
    if np.any(end < start) or not np.all(np.isfinite(start)) or not np.all(np.isfinite(end)):
        raise ValueError("whistle times must be finite with end_s >= start_s")
    group_of = list(groups) if groups is not None else [None] * n
    if len(group_of) != n:
        raise ValueError(f"groups must have {n} entries, got {len(group_of)}")
    skip = set(ignore)
    order: dict[Hashable, list[int]] = {}
    for i, label in enumerate(labels):
        if label not in skip:
            order.setdefault(label, []).append(i)
    results = [
        _evidence(label, np.array(idx), start, end, group_of, config)
        for label, idx in order.items()
    ]
    return SigidResult(results, config)


def _evidence(label, idx, start, end, group_of, config: SigidConfig) -> TypeEvidence:
    """SIGID evidence for the renditions ``idx`` of one type."""
    lo, hi = config.min_interval_s, config.max_interval_s
    n_near, bouts = 0, []
    by_group: dict[Hashable, list[int]] = {}
    for i in idx:
        by_group.setdefault(group_of[i], []).append(int(i))
    for group, members in by_group.items():
        m = np.array(sorted(members, key=lambda i: (start[i], end[i])))
        # gap[a, b]: silence from the end of a to the start of b (b after a in time order)
        gap = start[m][None, :] - end[m][:, None]
        later = np.triu(np.ones((m.size, m.size), dtype=bool), k=1)
        near = later & (gap >= lo) & (gap <= hi)
        n_near += int((near.any(axis=1) | near.any(axis=0)).sum())
        consecutive = np.diag(gap, k=1) if m.size > 1 else np.zeros(0)
        ok = (consecutive >= lo) & (consecutive <= hi)
        first = 0
        for k in range(m.size):  # runs of in-range consecutive intervals form bouts
            if k == m.size - 1 or not ok[k]:
                if k > first:
                    run = m[first : k + 1]
                    bouts.append(Bout(run, float(start[run[0]]), float(end[run[-1]]), group))
                first = k + 1
    longest = max((b.n_renditions for b in bouts), default=1 if idx.size else 0)
    evidence = TypeEvidence(label, int(idx.size), n_near, longest, bouts)
    evidence.is_signature = bool(
        longest >= config.min_bout_renditions and evidence.fraction_near >= config.min_fraction
    )
    return evidence
