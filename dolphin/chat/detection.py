"""What the mimic matcher reports: one judged sound (:class:`MimicDetection`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dolphin.annotations import Contour

#: Kinds of sound the matcher judges.
KINDS = ("whistle", "click_train", "burst_pulse")


@dataclass
class MimicDetection:
    """One judged sound.

    Attributes
    ----------
    label : str or None
        The vocabulary entry imitated; None when rejected.
    confidence : float
        In [0, 1]: ``2 ** -(distance / threshold) ** 2`` (0.5 at the threshold).
    distance : float
        Distance to the nearest entry, semitones.
    kind : str
        ``whistle``, ``click_train`` or ``burst_pulse``.
    start_s, end_s : float
        Span of the sound, stream seconds.
    detected_at_s : float
        Stream time at which it was decided (end of the block that completed it), seconds.
    latency_s : float
        ``detected_at_s - end_s``, seconds.
    contour : Contour
        The whistle contour, or the pulse-rate contour in whistle Hz (stream seconds).
    accepted : bool
        True when the sound is taken for an imitation of ``label``.
    nearest_label : str or None
        The nearest entry, accepted or not.
    margin : float
        Distance of the second-nearest entry minus ``distance``, semitones (inf for one entry).
    natural_distance : float
        Distance to the nearest known natural whistle, semitones (inf when not compared:
        pulsed sounds, or a matcher without natural references).
    """

    label: str | None
    confidence: float
    distance: float
    kind: str
    start_s: float
    end_s: float
    detected_at_s: float
    latency_s: float
    contour: Contour
    accepted: bool
    nearest_label: str | None = None
    margin: float = float("inf")
    natural_distance: float = float("inf")

    def to_dict(self) -> dict:
        """JSON-ready form (one event-log line)."""
        return {
            "type": "mimic",
            "label": self.label,
            "accepted": self.accepted,
            "confidence": round(self.confidence, 4),
            "distance": round(self.distance, 4),
            "nearest_label": self.nearest_label,
            "margin": round(self.margin, 4) if np.isfinite(self.margin) else None,
            "natural_distance": (
                round(self.natural_distance, 4) if np.isfinite(self.natural_distance) else None
            ),
            "kind": self.kind,
            "start_s": round(self.start_s, 5),
            "end_s": round(self.end_s, 5),
            "detected_at_s": round(self.detected_at_s, 5),
            "latency_s": round(self.latency_s, 5),
            "contour": {
                "time": np.round(self.contour.times_s, 5).tolist(),
                "frequency": np.round(self.contour.freqs_hz, 1).tolist(),
            },
        }
