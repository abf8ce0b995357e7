"""The mimic distance: how far a whistle is from being an imitation of another, in semitones.

DTW of pitch shapes (:mod:`dolphin.detect.dtw`) that ignores a frequency scaling up to
``freq_tolerance`` (20 %) and a time stretch up to ``stretch_tolerance`` (:func:`tolerant_dtw`),
and that also compares a whistle with parts of the reference (:func:`partial_crops`, the crops in
:data:`CROPS`), since a partial imitation counts: :func:`mimic_distances` is the smallest, over
the crops, of the DTW distance plus ``partial_penalty`` x the share of the reference left out.
:class:`CroppedReferences` holds the crops of a fixed reference set shaped once, for a matcher
that compares every whistle it hears with the same references.

The vocabulary design (:mod:`dolphin.chat.design`) and the mimic matcher
(:mod:`dolphin.chat.matcher`) use this very distance.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dolphin.annotations import Contour
from dolphin.detect.dtw import ContourShapes, DTWConfig, contour_shapes, cross_dtw

#: Crops of an entry a partial imitation is compared with: (start, end) fractions of its length.
CROPS = ((0.0, 1.0), (0.0, 0.8), (0.2, 1.0), (0.1, 0.9), (0.0, 0.65), (0.35, 1.0), (0.15, 0.8))


def tolerant_dtw(
    *, freq_tolerance: float = 0.2, stretch_tolerance: float = 0.3, band: float = 0.15
) -> DTWConfig:
    """DTW settings that ignore a frequency scaling and a time stretch up to the given bounds.

    Parameters
    ----------
    freq_tolerance : float
        Relative frequency scaling that costs nothing (0.2: a contour 20 % lower or 25 % higher
        matches as well as the original), beyond it 1 semitone of distance per semitone.
    stretch_tolerance : float
        Relative duration change that costs nothing.
    band : float
        Sakoe-Chiba half-width, fraction of the contour (uneven time warping).

    Returns
    -------
    DTWConfig
    """
    if not 0 <= freq_tolerance < 1:
        from dolphin.chat.vocab import VocabularyError

        raise VocabularyError(f"freq_tolerance must be in [0, 1), got {freq_tolerance}")
    return DTWConfig(
        band=band,
        free_shift_semitones=float(-12.0 * np.log2(1.0 - freq_tolerance)),
        free_stretch=stretch_tolerance,
    )


def pulse_shape_dtw(band: float = 0.15) -> DTWConfig:
    """DTW of pitch shape only (any transposition and stretch free): how pulsed renditions,
    whose rate and tempo are the animal's choice, are compared with entries."""
    return DTWConfig(band=band, shift_weight=0.0, stretch_weight=0.0)


def partial_crops(contour: Contour, crops=CROPS) -> list[Contour]:
    """Parts of a contour, one per (start, end) fraction of its duration in ``crops``."""
    t, f = contour.times_s, contour.freqs_hz
    out = []
    for a, b in crops:
        t0, t1 = t[0] + a * (t[-1] - t[0]), t[0] + b * (t[-1] - t[0])
        inside = (t > t0) & (t < t1)
        tt = np.concatenate([[t0], t[inside], [t1]])
        out.append(Contour(tt, np.interp(tt, t, f)))
    return out


def mimic_distances(
    queries: Sequence[Contour],
    references: Sequence[Contour],
    *,
    dtw: DTWConfig,
    partial_penalty: float = 1.0,
    crops=CROPS,
) -> np.ndarray:
    """Distance of each query to each reference, allowing partial imitations.

    The distance to a reference is the smallest, over its crops (:data:`CROPS`), of the DTW
    distance to the crop plus ``partial_penalty`` x the share of the reference left out.

    Returns
    -------
    np.ndarray, shape [Q, R], float64
        Semitones.
    """
    n_crops = len(crops)
    parts = [c for r in references for c in partial_crops(r, crops)]
    missing = np.tile([1.0 - (b - a) for a, b in crops], len(references))
    d = cross_dtw(list(queries), parts, config=dtw) + partial_penalty * missing[None, :]
    return d.reshape(len(queries), len(references), n_crops).min(axis=2)


def symmetric_distances(
    queries: Sequence[Contour], refs: Sequence[Contour], dtw: DTWConfig
) -> np.ndarray:
    """min(d(q, r), d(r, q)): either whistle may be the (partial) imitation of the other.

    When ``queries`` is ``refs`` (all pairs of one set) the distances are computed once.
    """
    forward = mimic_distances(queries, refs, dtw=dtw)
    backward = forward if queries is refs else mimic_distances(refs, queries, dtw=dtw)
    return np.minimum(forward, backward.T)


class CroppedReferences:
    """The crops of a fixed set of reference contours, shaped once for repeated queries.

    Parameters
    ----------
    references : sequence of Contour
        R reference whistles (vocabulary entries, or natural whistles).
    dtw : DTWConfig
        Distance settings.
    partial_penalty : float
        Semitones per share of a reference left out by a crop.
    crops : sequence of (float, float)
        (start, end) fractions of each reference compared with.
    """

    def __init__(
        self,
        references: Sequence[Contour],
        *,
        dtw: DTWConfig,
        partial_penalty: float = 1.0,
        crops=CROPS,
    ) -> None:
        self.references = list(references)
        self.n_references, self.n_crops, self.dtw = len(references), len(crops), dtw
        parts = [c for r in references for c in partial_crops(r, crops)]
        self.shapes: ContourShapes = contour_shapes(parts, config=dtw)
        self.penalty = partial_penalty * np.tile([1.0 - (b - a) for a, b in crops], len(references))

    def __len__(self) -> int:
        return self.n_references

    def distances(self, queries: Sequence[Contour]) -> np.ndarray:
        """Distance of each query to each reference (the smallest over its crops).

        Parameters
        ----------
        queries : sequence of Contour
            Q whistles.

        Returns
        -------
        np.ndarray, shape [Q, R], float64
            Semitones.

        Raises
        ------
        ValueError
            A query too short to compare (:func:`dolphin.detect.dtw.contour_shapes`).
        """
        if not self.n_references:
            return np.zeros((len(queries), 0))
        d = cross_dtw(list(queries), self.shapes, config=self.dtw) + self.penalty[None, :]
        return d.reshape(len(queries), self.n_references, self.n_crops).min(axis=2)


def catalogue_contours(catalogue) -> tuple[list[Contour], list[str]]:
    """A signature catalogue's exemplar whistles with their animals' names (``catalogue:<animal>``)."""
    if catalogue is None:
        return [], []
    pairs = [(c, f"catalogue:{a}") for a in catalogue.animals() for c in catalogue[a].whistles]
    return [c for c, _ in pairs], [name for _, name in pairs]


def natural_references(catalogue=None) -> tuple[list[Contour], list[str]]:
    """The shipped SIGWI natural references, 1,500 contours, plus a catalogue's whistles, named.

    Designing against 1,500 natural whistles instead of 150 left 1 in 3,000 unseen real SIGWI
    whistles within 0.8 semitones of a 6-entry vocabulary instead of 12 (measured with 1,000
    candidates; :func:`dolphin.synth.sigwi.build_sigwi_references`).
    """
    from dolphin.synth.sigwi import load_sigwi_references

    real = load_sigwi_references()
    extra, extra_names = catalogue_contours(catalogue)
    return [r.contour for r in real] + extra, [f"sigwi:{r.id}" for r in real] + extra_names
