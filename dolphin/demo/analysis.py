"""Detection and whistle types, as ``dolphin detect`` and ``dolphin whistles cluster --sigid``.

:func:`detect_events` runs the streaming detection chain over the recording's file, rechecks it
with the shipped event classifier and writes a Raven selection table (plus the contour sidecar);
with a synthetic scene it also scores the detections against the labels, per class.
:func:`whistle_types` clusters the tracked whistle contours into types (shift-tolerant DTW +
HDBSCAN) and flags signature types by the SIGID bout rule.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dolphin.annotations import EVENT_CLASSES, NOISE, Contour, Event
from dolphin.demo.recording import DemoRecording
from dolphin.detect.evaluate import ClassScores
from dolphin.detect.pipeline import Detections, DetectorConfig

#: Event classes reported (the classifier's noise class is never written as an event).
REPORTED_CLASSES = tuple(c for c in EVENT_CLASSES if c != NOISE)


@dataclass
class DetectionSummary:
    """What detection found.

    Attributes
    ----------
    found : Detections
        Events (sorted by start, seconds) and whistle contours.
    table : Path
        The Raven selection table written.
    classifier : str
        Classifier used (``"default"``, a folder) or ``"none"``.
    counts : dict of str to int
        Detected events per class.
    scores : dict of str to ClassScores or None
        Per-class precision / recall / F1 against the scene labels (synthetic scenes only).
    """

    found: Detections
    table: Path
    classifier: str
    counts: dict[str, int]
    scores: dict[str, ClassScores] | None = None


@dataclass
class WhistleType:
    """One whistle contour type.

    Attributes
    ----------
    label : int
        Type number (0, 1, ...).
    members : list of int
        Indices into :attr:`TypeSummary.contours`.
    exemplar : int
        Index of the type's medoid contour.
    signature : bool
        True when the SIGID bout rule holds.
    evidence : str
        SIGID's one-line reasoning.
    truth : str
        Synthetic scenes: the true types of its members (``"sig-ind1 x4"``); else "".
    """

    label: int
    members: list[int]
    exemplar: int
    signature: bool
    evidence: str
    truth: str = ""


@dataclass
class TypeSummary:
    """Whistle types found among the tracked contours.

    Attributes
    ----------
    contours : list of Contour
        Contours clustered (recording seconds, Hz).
    labels : np.ndarray, shape [N], int
        Type of each contour, -1 for none.
    types : list of WhistleType
        The types, by label.
    note : str
        Why nothing was clustered, when nothing was.
    """

    contours: list[Contour] = field(default_factory=list)
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    types: list[WhistleType] = field(default_factory=list)
    note: str = ""

    @property
    def signature_types(self) -> list[int]:
        """Labels of the types SIGID takes for signature whistles."""
        return [t.label for t in self.types if t.signature]


def load_classifier_or_none(choice: str):
    """The event classifier chosen as ``dolphin detect --classifier`` does.

    Parameters
    ----------
    choice : str
        ``"default"`` (the shipped one when it ships, else none), another shipped name, a model
        folder, or ``"none"``.

    Returns
    -------
    (EventClassifier or None, str)
        The model and the name it is reported under.
    """
    from dolphin.hub import select_classifier

    model, _ = select_classifier(None if choice == "default" else choice)
    return model, choice if model is not None else "none"


def detect_events(
    recording: DemoRecording,
    config: DetectorConfig,
    folder: str | Path,
    *,
    classifier: str = "default",
    progress: bool = False,
) -> DetectionSummary:
    """Detect and tag events in the recording and write a Raven selection table.

    Parameters
    ----------
    recording : DemoRecording
        Its file is read block by block (``config.block_s`` seconds); ``recording.channel``.
    config : DetectorConfig
        Detection chain settings.
    folder : str or Path
        Where ``detections.Table.1.selections.txt`` (and ``detections.contours.jsonl``) go.
    classifier : str
        See :func:`load_classifier_or_none`.
    progress : bool
        Progress bar in seconds of audio.

    Returns
    -------
    DetectionSummary
    """
    from dolphin.detect.batch import detect_recording
    from dolphin.detect.evaluate import score_events
    from dolphin.detect.outputs import OutputPaths

    model, name = load_classifier_or_none(classifier)
    if model is not None and recording.sample_rate < model.config.min_sample_rate:
        # detect_recording skips the stage below the classifier's rate: say so in the report
        name = f"none ({name} needs >= {model.config.min_sample_rate} Hz)"
    paths = OutputPaths.for_table(Path(folder) / "detections.Table.1.selections.txt")
    cfg = dataclasses.replace(config, channel=recording.channel)
    found = detect_recording(recording.path, paths, cfg, classifier=model, progress=progress)
    counts = {c: sum(e.label == c for e in found.events) for c in REPORTED_CLASSES}
    scores = None
    if recording.truth is not None:
        truth = [e for e in recording.truth if e.channel == recording.channel + 1]
        scores = score_events(found.events, truth, labels=REPORTED_CLASSES)
    return DetectionSummary(found, paths.table, name, counts, scores)


def _truth_type(contour: Contour, truth: list[Event]) -> str | None:
    """The labelled whistle type overlapping a contour most in time, or None."""
    best, best_overlap = None, 0.0
    start, end = contour.times_s[0], contour.times_s[-1]
    for e in truth:
        overlap = min(end, e.end_s) - max(start, e.start_s)
        if e.label == "whistle" and overlap > best_overlap:
            best, best_overlap = e, overlap
    if best is None:
        return None
    return str(best.whistle_type or ("sigwi" if "SIGWI ID" in best.extra else "?"))


def whistle_types(
    contours: list[Contour],
    *,
    min_cluster_size: int = 3,
    truth: list[Event] | None = None,
) -> TypeSummary:
    """Cluster whistle contours into types and apply the SIGID bout rule.

    Parameters
    ----------
    contours : list of Contour
        Tracked contours, times in recording seconds (one time axis for SIGID's intervals).
    min_cluster_size : int
        Smallest type, contours.
    truth : list of Event, optional
        Labelled events of a synthetic scene, to name each type's true make-up.

    Returns
    -------
    TypeSummary
    """
    from collections import Counter

    from dolphin.detect.clustering import ClusterConfig, cluster_contours
    from dolphin.detect.sigid import identify_signature_types

    contours = [c for c in contours if len(c) >= 2]
    if len(contours) <= min_cluster_size:
        return TypeSummary(
            contours,
            np.full(len(contours), -1, dtype=int),
            note=f"{len(contours)} whistle contour(s): too few to cluster (need more than "
            f"{min_cluster_size})",
        )
    config = ClusterConfig(min_cluster_size=min_cluster_size, min_samples=min(3, min_cluster_size))
    found = cluster_contours(contours, config=config)
    starts = np.array([c.times_s[0] for c in contours])
    ends = np.array([c.times_s[-1] for c in contours])
    sigid = identify_signature_types(starts, found.labels.tolist(), end_s=ends)
    types = []
    for k in range(found.n_types):
        members = found.members(k).tolist()
        evidence = sigid.evidence(k)
        made_of = ""
        if truth is not None:
            names = Counter(_truth_type(contours[i], truth) or "none" for i in members)
            made_of = ", ".join(f"{name} x{n}" for name, n in names.most_common())
        types.append(
            WhistleType(
                k,
                members,
                int(found.exemplars[k]),
                evidence.is_signature,
                evidence.describe(),
                made_of,
            )
        )
    note = "" if types else f"{len(contours)} whistle contours, no type of {min_cluster_size}+"
    return TypeSummary(contours, found.labels, types, note)
