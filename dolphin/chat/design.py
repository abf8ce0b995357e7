"""Vocabulary design: entries far from each other and from natural whistles, or from recordings.

:func:`design_vocabulary` draws many random contours (:func:`dolphin.synth.contours.random_contour`)
in a band and duration range and keeps ``n`` of them that lie far from each other and from
natural whistles, so that a dolphin's imitation of one entry is not confused with another entry,
and the animals' own (signature) whistles are not taken for imitations. "Far" is the mimic
distance of :mod:`dolphin.chat.distance`. The natural reference set is the shipped SIGWI contours
(:func:`~dolphin.chat.distance.natural_references`) plus, optionally, a signature catalogue.
:func:`vocabulary_report` measures a vocabulary's separation.

:func:`vocabulary_from_recordings` takes the entries from recordings instead (one whistle per
file, found by the detect stage).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from dolphin.annotations import Contour
from dolphin.chat.distance import (
    catalogue_contours,
    natural_references,
    pulse_shape_dtw,
    symmetric_distances,
    tolerant_dtw,
)
from dolphin.chat.vocab import VocabConfig, VocabEntry, VocabReport, Vocabulary, VocabularyError
from dolphin.detect.dtw import DTWConfig


def vocabulary_report(
    vocab: Vocabulary,
    *,
    natural: Sequence[Contour] | None = None,
    natural_names: Sequence[str] | None = None,
    dtw: DTWConfig | None = None,
) -> VocabReport:
    """Pairwise and natural-whistle distances of a vocabulary.

    Parameters
    ----------
    vocab : Vocabulary
    natural : sequence of Contour, optional
        Natural whistles; the shipped SIGWI contours when omitted.
    natural_names : sequence of str, optional
        Their names, for the report.
    dtw : DTWConfig, optional
        Distance settings; :func:`tolerant_dtw` defaults when omitted.

    Returns
    -------
    VocabReport
    """
    dtw = dtw or tolerant_dtw()
    if natural is None:
        natural, natural_names = natural_references()
    natural = list(natural)
    names = list(natural_names or [f"natural:{k}" for k in range(len(natural))])
    contours = [e.contour for e in vocab.entries]
    pair = symmetric_distances(contours, contours, dtw)
    np.fill_diagonal(pair, 0.0)
    off = pair[~np.eye(len(contours), dtype=bool)]
    nat = (
        symmetric_distances(contours, natural, dtw)
        if natural
        else np.full((len(contours), 0), np.inf)
    )
    best = np.argmin(nat, axis=1) if natural else np.zeros(len(contours), int)
    nat_d = nat[np.arange(len(contours)), best] if natural else np.full(len(contours), np.inf)
    return VocabReport(
        min_pairwise_semitones=float(off.min()) if off.size else float("inf"),
        min_natural_semitones=float(nat_d.min()),
        pairwise=np.round(pair, 4).tolist(),
        nearest_natural=[names[int(k)] if natural else "" for k in best],
        natural_semitones=np.round(nat_d, 4).tolist(),
        n_natural=len(natural),
    )


def _pick(pair: np.ndarray, natural: np.ndarray, n: int, rounds: int = 10) -> list[int]:
    """Indices of ``n`` candidates maximising min(pairwise distance, ``natural``).

    Greedy farthest-point picks (the first is the one farthest from natural whistles), then
    single swaps while one raises the set's score.

    Parameters
    ----------
    pair : np.ndarray, shape [C, C]
        Candidate-to-candidate distances, ``inf`` on the diagonal.
    natural : np.ndarray, shape [C]
        Each candidate's (weighted) distance to the nearest natural whistle.
    n : int
        Entries to pick.
    rounds : int
        Most passes of swaps.
    """
    chosen = [int(np.argmax(natural))]
    while len(chosen) < n:
        score = np.minimum(pair[:, chosen].min(axis=1), natural)
        score[chosen] = -np.inf
        chosen.append(int(np.argmax(score)))

    def set_score(idx: list[int]) -> float:
        return float(min(pair[np.ix_(idx, idx)].min(), natural[idx].min()))

    for _ in range(rounds):
        improved = False
        for slot in range(n):
            others = chosen[:slot] + chosen[slot + 1 :]
            floor = set_score(others) if len(others) > 1 else float(natural[others].min())
            score = np.minimum(np.minimum(pair[:, others].min(axis=1), natural), floor)
            score[others] = -np.inf
            best = int(np.argmax(score))
            if score[best] > set_score(chosen) + 1e-9:
                chosen[slot], improved = best, True
        if not improved:
            break
    return chosen


def design_vocabulary(
    n: int = 6,
    labels: Sequence[str] | None = None,
    *,
    catalogue=None,
    natural: Sequence[Contour] | None = None,
    config: VocabConfig | None = None,
    band_hz: tuple[float, float] | None = None,
    duration_s: tuple[float, float] | None = None,
    dtw: DTWConfig | None = None,
    seed: int | None = None,
) -> Vocabulary:
    """Pick ``n`` whistles far apart from each other and from natural whistles.

    Candidates are :func:`~dolphin.synth.contours.random_contour` draws (``config.shapes``) in
    ``config``'s band and duration range with a pitch range of at least ``min_range_semitones``
    and sweeps no faster than ``max_slope_hz_per_s``. The kept set maximises min(distance
    between entries, ``natural_weight`` x distance to natural whistles): greedy picks, then
    swaps. A weight above 1 trades a little distance to natural whistles for distance between
    entries: measured against the 1,500 SIGWI references with 1,000 candidates, 1.0 gave
    entries 1.03 semitones apart (imitation recall at 10 dB fell to 0.93), 1.35 gave 1.33 apart
    and 0.96 from the references, with as few unseen real SIGWI whistles near an entry (2 in
    3,000 within 0.8 semitones; 12 for the former design against 150 naturals). The distance
    between entries is the smaller of the whistle distance and the pitch-shape distance that
    pulsed renditions are judged by (transposition and stretch free); with the whistle distance
    alone two entries were 0.39 apart in shape and click-train imitations of one were taken for
    the other. With both: entries 1.59 apart, 0.85 from the references.

    Parameters
    ----------
    n : int
        Entries (2-12; 4-8 recommended).
    labels : sequence of str, optional
        One per entry; ``w1``, ``w2``, ... when omitted.
    catalogue : SignatureCatalogue, optional
        Known animals' signature whistles, avoided as well.
    natural : sequence of Contour, optional
        Natural whistles to avoid instead of the shipped SIGWI contours.
    config : VocabConfig, optional
        Band, durations, candidates and seed (its ``n`` is replaced by ``n``).
    band_hz : tuple of float, optional
        (low, high) frequency limits in Hz, overriding ``config`` (default 4-20 kHz).
    duration_s : tuple of float, optional
        (shortest, longest) duration in seconds, overriding ``config`` (default 0.5-1.5 s).
    dtw : DTWConfig, optional
        Distance settings; the matcher's default (:func:`tolerant_dtw`) when omitted.
    seed : int, optional
        Overrides ``config.seed``.

    Returns
    -------
    Vocabulary
        With its :class:`VocabReport` (minimum pairwise and natural distances, semitones).

    Raises
    ------
    VocabularyError
        Bad ``n``, labels that do not fit ``n``, or a band too narrow for the pitch range.
    """
    from dolphin.synth.contours import random_contour

    base = config or VocabConfig()
    fields = {**asdict(base), "n": n, "seed": base.seed if seed is None else seed}
    if band_hz is not None:
        fields["fmin_hz"], fields["fmax_hz"] = (float(f) for f in band_hz)
    if duration_s is not None:
        fields["min_duration_s"], fields["max_duration_s"] = (float(d) for d in duration_s)
    cfg = VocabConfig(**fields)
    labels = list(labels) if labels is not None else [f"w{k + 1}" for k in range(cfg.n)]
    if len(labels) != cfg.n:
        raise VocabularyError(f"got {len(labels)} labels for {cfg.n} entries: {labels}")
    span = 12.0 * np.log2(cfg.fmax_hz / cfg.fmin_hz)
    if span < cfg.min_range_semitones:
        raise VocabularyError(
            f"band {cfg.fmin_hz:.0f}-{cfg.fmax_hz:.0f} Hz spans {span:.1f} semitones, less than "
            f"min_range_semitones={cfg.min_range_semitones}"
        )
    dtw = dtw or tolerant_dtw()
    rng = np.random.default_rng(cfg.seed)
    candidates: list[Contour] = []
    for k in range(50 * cfg.n_candidates):
        if len(candidates) == cfg.n_candidates:
            break
        c = random_contour(
            rng=rng,
            shape=cfg.shapes[k % len(cfg.shapes)],
            duration_s=float(rng.uniform(cfg.min_duration_s, cfg.max_duration_s)),
            fmin_hz=cfg.fmin_hz,
            fmax_hz=cfg.fmax_hz,
        )
        slope = np.abs(np.diff(c.freqs_hz) / np.diff(c.times_s)).max()
        wide = 12.0 * np.log2(c.freqs_hz.max() / c.freqs_hz.min()) >= cfg.min_range_semitones
        if wide and slope <= cfg.max_slope_hz_per_s:
            candidates.append(c)
    if len(candidates) < cfg.n:
        raise VocabularyError("could not draw enough candidate whistles; widen the band")
    if natural is None:
        natural, names = natural_references(catalogue)
    else:
        extra, extra_names = catalogue_contours(catalogue)
        names = [f"natural:{k}" for k in range(len(natural))] + extra_names
        natural = list(natural) + extra
    nat = symmetric_distances(candidates, list(natural), dtw).min(axis=1) if len(natural) else None
    nat = nat if nat is not None else np.full(len(candidates), np.inf)
    pair = symmetric_distances(candidates, candidates, dtw)
    # Pulsed renditions are matched by pitch shape alone (any transposition and stretch), so
    # entries must also differ in shape: the whistle distance alone left two entries 0.39
    # semitones apart in shape, and their click-train imitations were confused.
    pair = np.minimum(pair, symmetric_distances(candidates, candidates, pulse_shape_dtw(dtw.band)))
    np.fill_diagonal(pair, np.inf)
    chosen = _pick(pair, cfg.natural_weight * np.where(np.isfinite(nat), nat, 1e9), cfg.n)
    entries = [VocabEntry(label, candidates[i]) for label, i in zip(labels, chosen, strict=True)]
    vocab = Vocabulary(entries)
    vocab.report = vocabulary_report(vocab, natural=natural, natural_names=names, dtw=dtw)
    return vocab


def vocabulary_from_recordings(
    paths: Sequence[str | Path], labels: Sequence[str], *, detect_config=None
) -> Vocabulary:
    """Build a vocabulary from recordings holding one whistle each.

    Each file goes through the detect stage (:func:`dolphin.detect.pipeline.detect_file`); the
    contour of its single whistle event (all loops) becomes the entry, times moved to start at 0.

    Parameters
    ----------
    paths : sequence of str or Path
        Audio files, one per entry.
    labels : sequence of str
        One label per file.
    detect_config : DetectorConfig, optional
        Detection settings; defaults when omitted.

    Returns
    -------
    Vocabulary
        With a report of the distances to the shipped SIGWI contours.

    Raises
    ------
    VocabularyError
        Labels and files differ in number, or a file holds no whistle or several.
    AudioFileError
        A file is missing or unreadable.
    """
    from dolphin.detect.pipeline import detect_file

    paths, labels = [Path(p) for p in paths], list(labels)
    if len(paths) != len(labels):
        raise VocabularyError(f"got {len(labels)} labels for {len(paths)} recordings")
    entries = []
    for path, label in zip(paths, labels, strict=True):
        found = detect_file(path, detect_config).contours
        if not found:
            raise VocabularyError(f"{path}: no whistle found; record one clear whistle per file")
        if len(found) > 1:
            spans = ", ".join(
                f"{c.contour.times_s[0]:.2f}-{c.contour.times_s[-1]:.2f} s" for c in found
            )
            raise VocabularyError(
                f"{path}: {len(found)} whistles found ({spans}); trim it to one whistle"
            )
        c = found[0].contour
        entries.append(VocabEntry(label, Contour(c.times_s - c.times_s[0], c.freqs_hz)))
    vocab = Vocabulary(entries)
    vocab.report = vocabulary_report(vocab)
    return vocab
