"""Cluster whistle contours into whistle contour types: DTW distances plus HDBSCAN.

This follows the SIGWI pipeline (Lehnhoff et al.): a pairwise DTW distance matrix between
contours (:mod:`dolphin.detect.dtw`) is clustered by HDBSCAN with ``metric="precomputed"``.
HDBSCAN suits whistle repertoires: the number of types is unknown, types differ in how tightly
their renditions agree, and many contours (variable, non-stereotyped whistles) belong to no type
and come out as noise.

One type alone
--------------
HDBSCAN without ``allow_single_cluster`` never returns the root of its cluster tree, so when
only one type has enough members (a bout of one animal's signature whistles, say) it finds no
type at all; with ``allow_single_cluster`` on every data set it would rather merge real types
into one. So HDBSCAN runs as usual, and only when that finds no type does it run once more
with ``allow_single_cluster`` and ``single_type_epsilon`` (an absolute DTW scale, semitones):
renditions of one type, a fraction of a semitone apart, become that type; unrelated contours,
several semitones apart, stay noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.cluster import HDBSCAN

from dolphin.annotations import Contour
from dolphin.detect.dtw import ContourShapes, DTWConfig, pairwise_dtw

#: Label of contours that belong to no type.
NOISE = -1


@dataclass(frozen=True)
class ClusterConfig:
    """Settings of HDBSCAN over DTW distances."""

    min_cluster_size: int = 4  # smallest type, contours (SIGID needs 4 in a bout anyway)
    min_samples: int | None = 3  # neighbours defining core density; None: min_cluster_size
    cluster_selection_epsilon: float = 0.0  # semitones; merge types closer than this
    cluster_selection_method: str = "eom"  # "eom": stable broad types, "leaf": many tight ones
    min_probability: float = 0.1  # weaker HDBSCAN members (strays at a type's edge) become noise
    single_type_epsilon: float = 0.5  # semitones; with no type found, one this tight is kept
    dtw: DTWConfig = field(default_factory=DTWConfig)  # the contour distance

    def __post_init__(self) -> None:
        if self.min_cluster_size < 2:
            raise ValueError(f"min_cluster_size must be >= 2, got {self.min_cluster_size}")
        if self.min_samples is not None and self.min_samples < 1:
            raise ValueError(f"min_samples must be >= 1, got {self.min_samples}")
        if self.single_type_epsilon < 0:
            raise ValueError(f"single_type_epsilon must be >= 0, got {self.single_type_epsilon}")
        if not 0.0 <= self.min_probability <= 1.0:
            raise ValueError(f"min_probability must be in [0, 1], got {self.min_probability}")
        if self.cluster_selection_method not in ("eom", "leaf"):
            raise ValueError(
                f"cluster_selection_method must be 'eom' or 'leaf', "
                f"got {self.cluster_selection_method!r}"
            )


@dataclass
class ContourTypes:
    """Whistle contour types found among N contours.

    Attributes
    ----------
    labels : np.ndarray, shape [N], int
        Type of each contour, 0 .. n_types - 1, or :data:`NOISE` (-1) for none.
    probabilities : np.ndarray, shape [N]
        HDBSCAN membership strength in [0, 1] (0 for noise).
    exemplars : np.ndarray, shape [n_types], int
        Index of each type's medoid (the member with the smallest summed distance to the others).
    distances : np.ndarray, shape [N, N]
        The DTW distance matrix clustered, semitones.
    """

    labels: np.ndarray
    probabilities: np.ndarray
    exemplars: np.ndarray
    distances: np.ndarray

    @property
    def n_types(self) -> int:
        """Number of types found."""
        return int(self.exemplars.size)

    @property
    def noise(self) -> np.ndarray:
        """Boolean mask [N] of contours assigned to no type."""
        return self.labels == NOISE

    @property
    def n_noise(self) -> int:
        """Number of contours assigned to no type."""
        return int(self.noise.sum())

    def members(self, type_index: int) -> np.ndarray:
        """Indices of the contours of one type, shape [n_members]."""
        if not 0 <= type_index < self.n_types:
            raise IndexError(f"type {type_index} out of range (0..{self.n_types - 1})")
        return np.flatnonzero(self.labels == type_index)


def cluster_distances(
    distances: np.ndarray, *, config: ClusterConfig | None = None
) -> ContourTypes:
    """Cluster a precomputed distance matrix with HDBSCAN.

    Parameters
    ----------
    distances : np.ndarray, shape [N, N]
        Symmetric non-negative distances with a zero diagonal (any units).
    config : ClusterConfig, optional
        HDBSCAN settings (its ``dtw`` field is not used here).

    Returns
    -------
    ContourTypes
        Types numbered by the index of their first member, so labels are stable.
    """
    config = config or ClusterConfig()
    d = np.asarray(distances, dtype=np.float64)
    if d.ndim != 2 or d.shape[0] != d.shape[1]:
        raise ValueError(f"distances must be a square [N, N] matrix, got shape {d.shape}")
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise ValueError("distances must be finite and non-negative")
    n = d.shape[0]
    if n < config.min_cluster_size:  # HDBSCAN needs at least min_cluster_size points
        labels, probabilities = np.full(n, NOISE), np.zeros(n)
    else:
        labels, probabilities = _hdbscan(d, config, single=False)
        if np.all(labels == NOISE) and config.single_type_epsilon > 0:
            labels, probabilities = _hdbscan(d, config, single=True)  # one type alone
    labels = _renumber(labels)
    exemplars = np.array(
        [_medoid(d, np.flatnonzero(labels == k)) for k in range(labels.max() + 1)], dtype=int
    )
    return ContourTypes(labels, probabilities, exemplars, d)


def cluster_contours(
    contours: Sequence[Contour] | ContourShapes, *, config: ClusterConfig | None = None
) -> ContourTypes:
    """Group contours into whistle contour types by DTW distance and HDBSCAN.

    Parameters
    ----------
    contours : sequence of Contour or ContourShapes
        N whistle contours (see :func:`dolphin.detect.dtw.contour_shapes` for the rules).
    config : ClusterConfig, optional
        HDBSCAN and DTW settings.

    Returns
    -------
    ContourTypes
        Labels, membership strengths, medoids and the distance matrix.
    """
    config = config or ClusterConfig()
    return cluster_distances(pairwise_dtw(contours, config=config.dtw), config=config)


def _hdbscan(
    d: np.ndarray, config: ClusterConfig, *, single: bool
) -> tuple[np.ndarray, np.ndarray]:
    """HDBSCAN labels and membership strengths; ``single``: the one-type run (module docstring)."""
    epsilon = config.cluster_selection_epsilon
    model = HDBSCAN(
        metric="precomputed",
        min_cluster_size=config.min_cluster_size,
        min_samples=min(config.min_samples or config.min_cluster_size, d.shape[0] - 1),
        cluster_selection_epsilon=max(epsilon, config.single_type_epsilon) if single else epsilon,
        cluster_selection_method=config.cluster_selection_method,
        allow_single_cluster=single,
        copy=True,
    ).fit(d)
    labels, probabilities = model.labels_.astype(int), model.probabilities_.astype(float)
    labels[probabilities < config.min_probability] = NOISE
    probabilities[labels == NOISE] = 0.0
    return labels, probabilities


def _renumber(labels: np.ndarray) -> np.ndarray:
    """Relabel types 0, 1, ... in order of their first member; noise stays -1."""
    out = np.full(labels.shape, NOISE)
    mapping: dict[int, int] = {}
    for i, label in enumerate(labels):
        if label != NOISE:
            out[i] = mapping.setdefault(int(label), len(mapping))
    return out


def _medoid(distances: np.ndarray, members: np.ndarray) -> int:
    """Index of the member with the smallest summed distance to the other members."""
    sub = distances[np.ix_(members, members)]
    return int(members[np.argmin(sub.sum(axis=1))])
