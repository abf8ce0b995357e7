"""Second detection stage: the event classifier keeps, relabels, rejects and adds events.

The signal-processing detectors (:mod:`dolphin.detect.pipeline`) propose candidate events with
times, band and a label; the CNN of :mod:`dolphin.detect.classifier` gives class probabilities
every 4 ms. With the rules of :class:`~dolphin.detect.classifier.DecisionConfig`:

* an SP **whistle** is kept when its mean whistle probability over its span reaches
  ``keep_whistle``, otherwise rejected as noise (its contour goes with it);
* an SP **pulsed** event (burst pulse, click train, buzz) takes the pulsed class of highest mean
  probability, or is rejected when that is below ``keep_pulsed``; with ``sp_rate_label`` the
  SP label stands between burst pulse and buzz (the SP stage tells them apart by the trend of
  intervals it measured click by click; for a CNN that resolves intervals poorly);
* runs of frames whose largest pulsed probability exceeds ``on_threshold`` (extended while it
  stays above ``off_threshold``, gaps up to ``merge_gap_s`` closed, at least
  ``min_duration_s`` long) are pulsed sounds: a run holding no kept SP pulsed event becomes a
  new event (the SP stage missed it; band ``pulse_fmin_hz`` to Nyquist or ``pulse_fmax_hz``),
  a run holding several becomes one event spanning them all (SP fragments of one sound), a
  run holding one leaves its times alone (SP times are finer) unless the run reaches more than
  ``extend_s`` past an end: then that end moves to the run's (at low SNR the SP stage finds
  only the loudest stretch of a train).

A kept or relabelled event's ``score`` becomes the CNN's mean probability of its class and the
SP score moves to ``extra["SP Score"]``; added events carry ``extra["Source"] = "classifier"``.
Events of other labels pass unchanged.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from dolphin.annotations import BURST_PULSE, BUZZ, WHISTLE, Event
from dolphin.detect.classifier import CLASSES, ClassifierConfig, EventClassifier, FrameProbs
from dolphin.detect.grouping import CONTOUR_ID
from dolphin.detect.pipeline import Detections


def _runs(active: np.ndarray, strong: np.ndarray, gap: int, min_len: int) -> list[tuple[int, int]]:
    """``[lo, hi)`` runs of ``active`` frames holding a ``strong`` one, gaps <= ``gap`` closed."""
    edges = np.flatnonzero(np.diff(np.r_[0, active.astype(np.int8), 0]))
    runs: list[list[int]] = []
    for lo, hi in zip(edges[::2], edges[1::2], strict=True):
        if runs and lo - runs[-1][1] <= gap:
            runs[-1][1] = hi
        else:
            runs.append([int(lo), int(hi)])
    return [(lo, hi) for lo, hi in runs if hi - lo >= min_len and strong[lo:hi].any()]


def _judge(events: list[Event], probs: FrameProbs, config: ClassifierConfig) -> tuple[list, list]:
    """SP events -> (kept whistles and other labels, kept and relabelled pulsed events)."""
    dec, kept, pulsed = config.decision, [], []
    for e in events:
        if e.label not in CLASSES:
            kept.append(e)
            continue
        mean = probs.mean(e.start_s, e.end_s)
        extra = dict(e.extra) | ({"SP Score": f"{e.score:.3f}"} if e.score is not None else {})
        if e.label == WHISTLE:
            if mean[0] >= dec.keep_whistle:
                kept.append(replace(e, score=float(mean[0]), extra=extra))
            continue
        k = 1 + int(np.argmax(mean[1:]))
        if mean[k] >= dec.keep_pulsed:
            label = CLASSES[k]
            if dec.sp_rate_label and {label, e.label} <= {BURST_PULSE, BUZZ}:
                label = e.label  # the SP stage measured the interval trend click by click
            pulsed.append(replace(e, label=label, score=float(mean[k]), extra=extra))
    return kept, pulsed


def refine_events(
    events: list[Event],
    probs: FrameProbs,
    config: ClassifierConfig,
    *,
    sample_rate: int,
    channel: int = 1,
) -> list[Event]:
    """Keep, relabel or reject SP events and add the pulsed events they missed.

    Parameters
    ----------
    events : list of Event
        SP detections of one channel.
    probs : FrameProbs
        The classifier's probabilities over the same recording and channel.
    config : ClassifierConfig
        ``decision`` holds the rules (module docstring); ``features`` the band of added events.
    sample_rate : int
        Hz (caps the band of added events at Nyquist).
    channel : int
        1-based channel given to added events.

    Returns
    -------
    list of Event
        Sorted by start time.
    """
    dec, p = config.decision, probs.probs
    kept, pulsed = _judge(events, probs, config)
    if dec.add_missed and p.shape[1]:
        level = p[1:].max(axis=0)
        gap = int(round(dec.merge_gap_s / probs.hop_s))
        min_len = max(1, int(round(dec.min_duration_s / probs.hop_s)))
        half = probs.hop_s / 2
        high = min(config.features.pulse_fmax_hz, sample_rate / 2)
        low = min(config.features.pulse_fmin_hz, high)
        added = []
        for lo, hi in _runs(level >= dec.off_threshold, level >= dec.on_threshold, gap, min_len):
            t0 = probs.start_s + lo * probs.hop_s - half
            t1 = probs.start_s + (hi - 1) * probs.hop_s + half
            inside = [e for e in pulsed if e.start_s < t1 and e.end_s > t0]
            if len(inside) == 1:
                e = inside[0]  # the SP event keeps its (finer) times unless it lost much
                a = t0 if e.start_s - t0 > dec.extend_s else e.start_s
                b = t1 if t1 - e.end_s > dec.extend_s else e.end_s
                pulsed = [f if f is not e else replace(e, start_s=a, end_s=b) for f in pulsed]
                continue
            if inside:  # SP fragments of one sound: one event over them all
                t0 = min(t0, *(e.start_s for e in inside))
                t1 = max(t1, *(e.end_s for e in inside))
                pulsed = [e for e in pulsed if not any(e is f for f in inside)]
            mean = p[:, lo:hi].mean(axis=1)
            k = 1 + int(np.argmax(mean[1:]))
            added.append(
                Event(t0, max(t1, t0), low, high, CLASSES[k], channel=channel,
                      score=float(mean[k]), extra={"Source": "classifier"})
            )  # fmt: skip
        pulsed += added
    return sorted(kept + pulsed, key=lambda e: (e.start_s, e.end_s, e.label))


def refine_detections(
    found: Detections, probs: FrameProbs, config: ClassifierConfig, *, channel: int = 1
) -> Detections:
    """:func:`refine_events` on a :class:`Detections`, dropping rejected whistles' contours."""
    events = refine_events(
        found.events, probs, config, sample_rate=found.sample_rate, channel=channel
    )
    ids = {e.extra.get(CONTOUR_ID) for e in events if e.label == WHISTLE}
    contours = [c for c in found.contours if str(c.contour_id) in ids]
    return Detections(events, contours, found.sample_rate, found.duration_s)


def file_probabilities(
    path: str | Path, classifier: EventClassifier, *, channel: int = 0, block_s: float = 10.0
) -> FrameProbs:
    """Classifier probabilities over one channel of an audio file, read block by block.

    Parameters
    ----------
    path : str or Path
        Audio file of any length (memory ~ one block plus one classifier chunk).
    classifier : EventClassifier
        The model.
    channel : int
        0-based channel.
    block_s : float
        Seconds read per block.

    Returns
    -------
    FrameProbs
        Equal to ``classifier.frame_probabilities`` on the whole channel.
    """
    from dolphin.audio.io import audio_info
    from dolphin.audio.stream import BlockReader

    sample_rate = audio_info(path).sample_rate
    frames = max(1, int(round(block_s * sample_rate)))
    with BlockReader(path, block_frames=frames, channels=[channel]) as reader:
        blocks = (block.new_samples[0] for block in reader)
        return classifier.stream_probabilities(blocks, sample_rate=sample_rate)
