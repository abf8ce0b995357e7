"""The demo's recording: a labelled synthetic scene written to disk, or the user's own file.

Either way the rest of the demo sees a :class:`DemoRecording`: a file on disk (detection streams
it block by block, whatever its length) plus the first seconds of one channel in memory for the
spectrogram and the codec, and the ground-truth events when the scene is synthetic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dolphin.annotations import Event
from dolphin.errors import AudioFileError
from dolphin.synth.scene import SceneConfig

#: Shortest recording the demo accepts, seconds (the detectors' noise memory is ~2.5 s).
MIN_INPUT_S = 1.0


@dataclass
class DemoRecording:
    """The audio the demo analyses.

    Attributes
    ----------
    path : Path
        The file (the written scene, or the user's recording).
    sample_rate : int
        Hz.
    duration_s : float
        Length of the whole file, seconds.
    channel : int
        0-based channel analysed.
    head : np.ndarray, shape [T], float32
        The first ``min(duration, max_s)`` seconds of that channel (plots, codec, LM).
    truth : list of Event or None
        Ground-truth events of a synthetic scene; None for a user's recording.
    description : str
        One line saying what it is.
    n_dropped : dict of str to int
        Synthetic events per class that found no free place in the scene.
    """

    path: Path
    sample_rate: int
    duration_s: float
    channel: int
    head: np.ndarray
    truth: list[Event] | None = None
    description: str = ""
    n_dropped: dict[str, int] = field(default_factory=dict)

    @property
    def synthetic(self) -> bool:
        """True when the ground truth is known (a synthetic scene)."""
        return self.truth is not None


def synthetic_recording(config: SceneConfig, folder: str | Path, *, max_s: float) -> DemoRecording:
    """Render a labelled scene (synthetic and real-SIGWI-contour whistles, pulses, noise).

    Parameters
    ----------
    config : SceneConfig
        Scene settings (``duration_s`` seconds at ``sample_rate`` Hz).
    folder : str or Path
        Where ``scene.wav`` and its ground-truth Raven table ``scene.truth.selections.txt`` go.
    max_s : float
        Seconds of channel 0 kept in memory, seconds.

    Returns
    -------
    DemoRecording
    """
    from dolphin.annotations import write_raven
    from dolphin.audio.io import write_audio
    from dolphin.synth.scene import make_scene

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    scene = make_scene(config)
    path = write_audio(
        folder / "scene.wav", scene.samples, scene.sample_rate, subtype=config.subtype
    )
    write_raven(folder / "scene.truth.selections.txt", scene.events)
    n_sigwi = sum("SIGWI ID" in e.extra for e in scene.events)
    head = scene.samples[0, : int(round(max_s * scene.sample_rate))].astype(np.float32)
    return DemoRecording(
        path=Path(path),
        sample_rate=scene.sample_rate,
        duration_s=scene.duration_s,
        channel=0,
        head=head,
        truth=list(scene.events),
        description=(
            f"synthetic scene, {scene.duration_s:.0f} s at {scene.sample_rate} Hz, seed "
            f"{scene.seed}: {len(scene.events)} labelled events"
            + (f" ({n_sigwi} from real SIGWI contours)" if n_sigwi else "")
        ),
        n_dropped=dict(scene.dropped),
    )


def input_recording(path: str | Path, *, channel: int = 0, max_s: float) -> DemoRecording:
    """Open a user's recording (any format and rate :mod:`dolphin.audio.io` reads).

    Parameters
    ----------
    path : str or Path
        WAV / WAVEX / RF64 / W64 / FLAC file.
    channel : int
        0-based channel analysed.
    max_s : float
        Seconds of that channel read into memory, seconds.

    Returns
    -------
    DemoRecording

    Raises
    ------
    AudioFileError
        The file is missing, empty, not audio, corrupt, shorter than :data:`MIN_INPUT_S`, or
        lacks ``channel``.
    """
    from dolphin.audio.io import audio_info, read_audio

    path = Path(path)
    info = audio_info(path)  # missing, empty, directory, unknown format: a clear AudioFileError
    if info.n_frames == 0 or info.duration_s < MIN_INPUT_S:
        raise AudioFileError(
            path, f"holds {info.duration_s:.3f} s of audio; the demo needs at least {MIN_INPUT_S} s"
        )
    if not 0 <= channel < info.n_channels:
        raise AudioFileError(
            path, f"channel {channel} requested (0-based), the file has {info.n_channels}"
        )
    n = min(info.n_frames, int(round(max_s * info.sample_rate)))
    try:
        audio = read_audio(path, channels=channel, n_frames=n)
    except AudioFileError:
        raise
    except (RuntimeError, ValueError, OSError) as err:  # truncated data, decoder errors
        raise AudioFileError(path, f"cannot be decoded ({err})") from err
    if audio.samples.shape[-1] == 0:
        raise AudioFileError(path, "no audio frames could be read (truncated file?)")
    return DemoRecording(
        path=path,
        sample_rate=info.sample_rate,
        duration_s=info.duration_s,
        channel=channel,
        head=audio.samples[0].astype(np.float32),
        truth=None,
        description=(
            f"{path.name}: {info.duration_s:.1f} s at {info.sample_rate} Hz, "
            f"{info.n_channels} channel(s), channel {channel} analysed"
        ),
    )
