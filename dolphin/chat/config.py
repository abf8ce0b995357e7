"""CHAT settings: the vocabulary, the mimic matcher and the field session (``conf/chat/``).

:class:`ChatConfig` composes :class:`~dolphin.chat.vocab.VocabConfig` and
:class:`~dolphin.chat.matcher.MatcherConfig` with the settings of a live session (audio devices,
block length, recording, emission level and calibration, the researcher's feedback). It is the
``chat`` group of :class:`dolphin.config.DolphinConfig`; ``conf/chat/default.yaml`` mirrors it,
so a misspelt key fails at start-up naming the key. :func:`dolphin.chat.live.build_session` is
the one place that turns it into devices, a matcher, an emitter and feedback.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dolphin.chat.feedback import FEEDBACK_KINDS
from dolphin.chat.matcher import MatcherConfig
from dolphin.chat.vocab import VocabConfig
from dolphin.errors import ConfigError

#: Containers a session may record to (soundfile names).
AUDIO_FORMATS = ("FLAC", "WAV", "RF64", "W64")
#: How a session tells the operator what it heard (``print``: a plain line, no audio).
FEEDBACK_MODES = FEEDBACK_KINDS


@dataclass
class ChatConfig:
    """Everything ``dolphin chat`` needs."""

    vocab: VocabConfig = field(default_factory=VocabConfig)  # vocabulary design and file
    matcher: MatcherConfig = field(default_factory=MatcherConfig)  # mimic recognition
    sample_rate: int = 96000  # Hz of the live stream: whistles and their 2nd harmonic fit
    input_device: str = ""  # hydrophone interface (name or index; "" = system default)
    output_device: str = ""  # underwater speaker interface ("" = system default)
    input_channel: int = 0  # 0-based channel of the hydrophone (also the channel scans read)
    block_s: float = 0.02  # seconds per audio block: the decision latency grows with it
    session_dir: str = "sessions"  # where sessions write audio and event logs
    rotate_s: float = 600.0  # a new recording file every 10 min: a crash loses at most that
    audio_format: str = "FLAC"  # lossless and about half the size of WAV
    feedback: str = "speech"  # how the operator hears detections: speech, beep, print or none
    cue_device: str = ""  # researcher's headphones for cues and speech ("" = bell / default out)
    emit_level_dbfs: float = (
        -20.0
    )  # emission RMS, dB re full scale (at the hydrophone if calibrated)
    calibration: str = ""  # loopback calibration JSON (field_tools/calibrate.py); "" = none
    mute_tail_s: float = 0.2  # matcher deaf this long after an emission: echoes, loopback delay
    max_queue_s: float = 10.0  # input audio queued before blocks are dropped and logged (overrun)

    def __post_init__(self) -> None:
        def bad(name: str, rule: str) -> ConfigError:
            return ConfigError(f"ChatConfig.{name} {rule}, got {getattr(self, name)!r}")

        if not 32000 <= self.sample_rate <= 512000:
            raise bad("sample_rate", "must be 32000-512000 Hz (the detectors' range)")
        if self.input_channel < 0:
            raise bad("input_channel", "must be >= 0 (0-based)")
        if not 0 < self.block_s <= 1.0:
            raise bad("block_s", "must be in (0, 1] seconds")
        if not self.rotate_s > 0:
            raise bad("rotate_s", "must be > 0 seconds")
        if self.audio_format not in AUDIO_FORMATS:
            raise bad("audio_format", f"must be one of {', '.join(AUDIO_FORMATS)}")
        if self.feedback not in FEEDBACK_MODES:
            raise bad("feedback", f"must be one of {', '.join(FEEDBACK_MODES)}")
        if not -120.0 <= self.emit_level_dbfs < 0.0:
            raise bad("emit_level_dbfs", "must be in [-120, 0) dB re full scale")
        if not 0 <= self.mute_tail_s <= 10.0:
            raise bad("mute_tail_s", "must be in [0, 10] seconds")
        if not self.max_queue_s >= 2 * self.block_s:
            raise bad("max_queue_s", f"must hold at least 2 blocks (>= {2 * self.block_s} s)")
