"""Settings of the mimic matcher (:class:`MatcherConfig`, ``conf/chat/default.yaml`` ``matcher``).

What each field does is told in :mod:`dolphin.chat.matcher`; :func:`low_latency_detector` is the
detect stage tuned for CHAT.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dolphin.chat.distance import pulse_shape_dtw, tolerant_dtw
from dolphin.detect.contours import WhistleTrackerConfig
from dolphin.detect.dtw import DTWConfig
from dolphin.detect.pipeline import DetectorConfig
from dolphin.detect.pulses import ClickTrainConfig
from dolphin.errors import ConfigError


def low_latency_detector() -> DetectorConfig:
    """The detect stage tuned for CHAT (see the module docstring).

    Tracker chunks of 20 ms instead of 0.5 s (x125 = the same 2.5 s noise memory) and tracks
    ended after 20 ms without a peak instead of 30 ms, so a whistle is released ~50 ms after it
    ends (p95 ~70 ms in 20 ms blocks, ``benchmarks/chat.py``); a click-train ICI tolerance of
    30 % instead of 15 %, so trains whose rate sweeps along a contour are followed.
    """
    return DetectorConfig(
        whistles=WhistleTrackerConfig(noise_window_s=0.02, noise_chunks=125, max_gap_s=0.02),
        trains=ClickTrainConfig(ici_tolerance=0.3),
    )


@dataclass
class MatcherConfig:
    """Settings of the mimic matcher (``conf/chat/default.yaml``, ``matcher``)."""

    threshold: float = 0.8  # largest whistle distance accepted, semitones (benchmarks/chat.py)
    min_margin: float = 0.15  # the best entry must beat the next one by this, semitones
    natural_margin: float = 0.1  # ... and the nearest known natural whistle by this (whistles)
    natural_references: bool = True  # compare with known natural whistles (1,500 shipped SIGWI)
    freq_tolerance: float = 0.2  # frequency scaling that costs nothing (>= 20 %: animals transpose)
    stretch_tolerance: float = 0.3  # duration change that costs nothing (imitations are looser)
    warp_band: float = 0.15  # DTW band, share of the contour: uneven tempo inside a whistle
    partial_penalty: float = 1.0  # semitones per share of an entry left out by a partial copy
    min_duration_s: float = 0.2  # shorter whistles carry too little shape and are not judged
    pulsed: bool = True  # also judge click trains and burst pulses (pulse-rate contours)
    pulse_threshold: float = 0.6  # largest pulsed distance accepted, semitones
    pulse_min_clicks: int = 20  # fewer trace too little contour; shrimp runs reach ~15 (3 h noise)
    pulse_min_regular: float = 0.8  # share of intervals near the local median (shrimp are random)
    burst_rate_divisor: float = 20.0  # whistle Hz per pulse/s of a burst-pulse rendition
    click_rate_divisor: float = 400.0  # ... of a click-train rendition
    mute_margin_s: float = 0.1  # after our own emission, echoes and reverberation still arrive
    max_zeros_s: float = 0.1  # longer runs of exact zeros are cut (they empty the noise memory)
    group_whistles: bool = False  # join fragments and loops first (+60-300 ms latency)
    detect: DetectorConfig = field(default_factory=low_latency_detector)  # detection chain

    def __post_init__(self) -> None:
        def bad(name: str, rule: str) -> ConfigError:
            return ConfigError(f"MatcherConfig.{name} {rule}, got {getattr(self, name)!r}")

        for name in ("threshold", "pulse_threshold", "burst_rate_divisor", "click_rate_divisor"):
            if not getattr(self, name) > 0:
                raise bad(name, "must be > 0")
        if not 0.2 <= self.freq_tolerance < 1:
            raise bad("freq_tolerance", "must be in [0.2, 1) (imitations transpose by 20 %)")
        for name in (
            "min_margin",
            "stretch_tolerance",
            "partial_penalty",
            "mute_margin_s",
            "max_zeros_s",
        ):
            if getattr(self, name) < 0:
                raise bad(name, "must be >= 0")
        if not 0 < self.warp_band <= 1:
            raise bad("warp_band", "must be in (0, 1]")
        if not self.min_duration_s > 0:
            raise bad("min_duration_s", "must be > 0")
        if self.pulse_min_clicks < 5:
            raise bad("pulse_min_clicks", "must be >= 5")
        if not 0 <= self.pulse_min_regular <= 1:
            raise bad("pulse_min_regular", "must be in [0, 1]")

    def whistle_dtw(self) -> DTWConfig:
        """DTW settings of whistle matching."""
        return tolerant_dtw(
            freq_tolerance=self.freq_tolerance,
            stretch_tolerance=self.stretch_tolerance,
            band=self.warp_band,
        )

    def pulse_dtw(self) -> DTWConfig:
        """DTW settings of pulsed renditions: pitch shape only, any scaling and stretch free."""
        return pulse_shape_dtw(self.warp_band)
