"""DTW + HDBSCAN whistle contour types: renditions of one type group together."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from dolphin.annotations import Contour
from dolphin.detect.clustering import NOISE, ClusterConfig, cluster_contours, cluster_distances
from dolphin.synth.contours import make_population, random_contour, render_rendition


def signature_renditions(
    n_types: int, n_each: int, *, seed: int, shift: float = 0.05, stretch: float = 0.2
) -> tuple[list[Contour], np.ndarray]:
    """Renditions of synthetic signature types with jitter, extra pitch shift and time stretch."""
    rng = np.random.default_rng(seed)
    population = make_population(n_types, rng=rng, n_shared_types=0)
    contours, truth = [], []
    for k, individual in enumerate(population):
        for _ in range(n_each):
            c = render_rendition(individual.signature_type, rng=rng)
            f = c.freqs_hz * np.exp(rng.uniform(-1, 1) * np.log1p(shift))
            t = 5.0 + c.times_s * np.exp(rng.uniform(-1, 1) * np.log1p(stretch))
            contours.append(Contour(t, f))
            truth.append(k)
    return contours, np.array(truth)


def test_renditions_of_a_type_cluster_together():
    contours, truth = signature_renditions(6, 8, seed=1)
    types = cluster_contours(contours)
    assert types.n_types == 6
    assert adjusted_rand_score(truth, types.labels) > 0.95
    for k in range(6):  # each true type is one cluster of its own
        found = set(types.labels[truth == k].tolist()) - {NOISE}
        assert len(found) == 1
    for k, exemplar in enumerate(types.exemplars):
        assert types.labels[exemplar] == k and exemplar in types.members(k)


def test_unstructured_contours_come_out_as_noise():
    contours, truth = signature_renditions(4, 8, seed=2)
    rng = np.random.default_rng(3)
    strays = [random_contour(rng=rng) for _ in range(6)]
    types = cluster_contours(contours + strays)
    assert types.n_types == 4
    assert types.noise[len(contours) :].sum() >= 4  # strays mostly unclustered
    assert adjusted_rand_score(truth, types.labels[: len(contours)]) > 0.9
    assert types.distances.shape == (38, 38)
    assert types.n_noise == int(types.noise.sum())


def test_labels_are_numbered_by_first_member():
    contours, _ = signature_renditions(3, 6, seed=4)
    order = np.random.default_rng(0).permutation(len(contours))
    labels = cluster_contours([contours[i] for i in order]).labels
    firsts = [int(np.flatnonzero(labels == k)[0]) for k in range(labels.max() + 1)]
    assert firsts == sorted(firsts)


def test_one_type_alone_is_found():
    # 13 near-identical renditions of one signature whistle: HDBSCAN alone finds no type.
    contours, _ = signature_renditions(1, 13, seed=5, shift=0.0, stretch=0.0)
    assert cluster_contours(contours, config=ClusterConfig(single_type_epsilon=0.0)).n_types == 0
    types = cluster_contours(contours)
    assert types.n_types == 1 and types.n_noise == 0
    assert types.labels[types.exemplars[0]] == 0


def test_one_type_among_strays_is_found_and_strays_stay_noise():
    contours, _ = signature_renditions(1, 13, seed=6)  # +-5 % shift, +-20 % stretch
    rng = np.random.default_rng(3)
    strays = [random_contour(rng=rng) for _ in range(6)]
    types = cluster_contours(contours + strays)
    assert types.n_types == 1
    assert (types.labels[:13] == 0).sum() >= 12 and types.noise[13:].all()


def test_unrelated_contours_do_not_become_one_type():
    for seed in range(100, 110):
        rng = np.random.default_rng(seed)
        strays = [random_contour(rng=rng) for _ in range(4 + seed % 10)]
        plain = cluster_contours(strays, config=ClusterConfig(single_type_epsilon=0.0))
        assert cluster_contours(strays).n_types == plain.n_types


def test_too_few_contours_are_all_noise():
    types = cluster_distances(np.zeros((3, 3)))
    assert types.n_types == 0 and types.noise.all() and types.exemplars.size == 0


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="square"):
        cluster_distances(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="non-negative"):
        cluster_distances(-np.ones((6, 6)))
    with pytest.raises(ValueError, match="min_cluster_size"):
        ClusterConfig(min_cluster_size=1)
    with pytest.raises(ValueError, match="single_type_epsilon"):
        ClusterConfig(single_type_epsilon=-1.0)
    with pytest.raises(ValueError, match="eom"):
        ClusterConfig(cluster_selection_method="kmeans")
    with pytest.raises(IndexError):
        cluster_distances(np.zeros((3, 3))).members(0)
