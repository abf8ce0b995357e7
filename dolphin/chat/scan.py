"""Scan a recording for imitations: the live matcher run over a file as fast as it goes.

:func:`scan_file` reads one channel of a file block by block (``ChatConfig.block_s``, the live
block length, so latencies are those a live session would have had) and feeds the very same
streaming :class:`~dolphin.chat.matcher.MimicMatcher` a session uses. Every detection, accepted
or rejected, is appended to a JSONL event log as soon as it is decided, one object per line
(:meth:`~dolphin.chat.matcher.MimicDetection.to_dict` plus ``"file"``), and the file is flushed
after each line, so a log tailed during a long scan, or left by a killed one, is complete up to
its last line.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dolphin.chat.config import ChatConfig
from dolphin.chat.matcher import MimicDetection, MimicMatcher
from dolphin.chat.vocab import Vocabulary
from dolphin.errors import AudioFileError, ConfigError


@dataclass
class ScanResult:
    """What a scan found.

    Attributes
    ----------
    path : Path
        The recording.
    detections : list of MimicDetection
        Every judged sound, in order of decision.
    duration_s : float
        Audio scanned, seconds.
    wall_s : float
        Time the scan took, seconds.
    log_path : Path or None
        The JSONL event log written.
    """

    path: Path
    detections: list[MimicDetection] = field(default_factory=list)
    duration_s: float = 0.0
    wall_s: float = 0.0
    log_path: Path | None = None

    @property
    def accepted(self) -> list[MimicDetection]:
        """The detections taken for imitations."""
        return [d for d in self.detections if d.accepted]

    @property
    def speed(self) -> float:
        """Audio seconds scanned per wall-clock second."""
        return self.duration_s / self.wall_s if self.wall_s > 0 else float("inf")


def scan_file(
    path: str | Path,
    vocab: Vocabulary,
    config: ChatConfig | None = None,
    log_path: str | Path | None = None,
    *,
    on_block: Callable[[float, float], None] | None = None,
) -> ScanResult:
    """Run the streaming mimic matcher over a recording.

    Parameters
    ----------
    path : str or Path
        Audio file (WAV, RF64, W64, FLAC) at 32-512 kHz; ``config.input_channel`` is read.
    vocab : Vocabulary
        Entries to recognise.
    config : ChatConfig, optional
        ``matcher`` settings, ``block_s`` and ``input_channel``; defaults when omitted.
    log_path : str or Path, optional
        JSONL event log to write (replaced if it exists); none when omitted.
    on_block : callable, optional
        Called after every block with (seconds done, total seconds).

    Returns
    -------
    ScanResult

    Raises
    ------
    AudioFileError
        Missing or unreadable file, channel out of range, or a sample rate the detectors refuse.
    """
    from dolphin.audio.io import audio_info
    from dolphin.audio.stream import BlockReader

    cfg = config or ChatConfig()
    path = Path(path)
    info = audio_info(path)
    if cfg.input_channel >= info.n_channels:
        raise AudioFileError(
            path, f"channel {cfg.input_channel} requested, the file has {info.n_channels}"
        )
    try:
        matcher = MimicMatcher(vocab, cfg.matcher, sample_rate=info.sample_rate)
    except ConfigError as err:
        raise AudioFileError(path, str(err)) from err
    result = ScanResult(path=path, log_path=Path(log_path) if log_path is not None else None)
    block_frames = max(1, int(round(cfg.block_s * info.sample_rate)))
    state = matcher.new_stream()
    log = None
    if result.log_path is not None:
        result.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(result.log_path, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    start = time.perf_counter()
    try:

        def emit(found: list[MimicDetection]) -> None:
            result.detections.extend(found)
            if log is not None:
                for d in found:
                    log.write(json.dumps({**d.to_dict(), "file": str(path)}) + "\n")
                    log.flush()

        with BlockReader(path, block_frames=block_frames, channels=[cfg.input_channel]) as reader:
            for block in reader:
                emit(matcher.process(block.new_samples[0], state=state))
                if on_block is not None:
                    done = state.n_samples / info.sample_rate
                    on_block(done, info.n_frames / info.sample_rate)
        result.duration_s = state.n_samples / info.sample_rate
        emit(matcher.flush(state=state))
    finally:
        if log is not None:
            log.close()
    result.wall_s = time.perf_counter() - start
    return result
