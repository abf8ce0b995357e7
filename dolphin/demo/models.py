"""The demo's model steps: codec round trip and LM continuation, skipped while no model ships.

Each step loads its model the way the CLI does (``Codec.from_pretrained`` /
``SoundLM.from_pretrained``: a shipped name such as ``"default"`` or a saved folder). When the
shipped default does not exist yet the step is *skipped*, with a line saying so, instead of
failing the demo; a folder given explicitly that holds no model is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dolphin.demo.recording import DemoRecording
from dolphin.detect.pipeline import DetectorConfig

if TYPE_CHECKING:
    from dolphin.codec.model import Codec

#: Outcome of a step that ran.
DONE = "done"
#: Outcome of a step that did not run (no model, or turned off).
SKIPPED = "skipped"


@dataclass
class StepResult:
    """What a model step did.

    Attributes
    ----------
    name : str
        ``"codec"`` or ``"LM"``.
    status : str
        :data:`DONE` or :data:`SKIPPED`.
    message : str
        One line for the console and the report (``"skipped: no default codec ships yet"``).
    details : dict of str to str
        Measured values, ready to print (bitrate, SI-SNR, ...).
    audio_path : Path or None
        Audio the step wrote (decoded or continued recording).
    """

    name: str
    status: str
    message: str
    details: dict[str, str] = field(default_factory=dict)
    audio_path: Path | None = None

    @property
    def line(self) -> str:
        """``"<name>: <message>"``."""
        return f"{self.name}: {self.message}"


def _skip(name: str, message: str) -> StepResult:
    return StepResult(name, SKIPPED, f"skipped: {message}")


def _is_shipped_name(choice: str) -> bool:
    """A plain name (``"default"``), not a path: its absence means "does not ship yet"."""
    return bool(choice) and not any(c in choice for c in "/\\") and choice[0] not in ".~"


def _contour_text(error_hz: float, recall: float) -> str:
    if np.isnan(recall):
        return "no whistle tracked in the original"
    if np.isnan(error_hz):
        return "no original contour tracked again in the decoded audio"
    return f"{error_hz:.0f} Hz, {100 * recall:.0f} % of contours kept"


def _at_rate(x: np.ndarray, sample_rate: int, target: int) -> np.ndarray:
    from dolphin.audio.dsp import resample

    return x if sample_rate == target else resample(x, orig_sr=sample_rate, target_sr=target)


def load_codec_or_none(choice: str) -> tuple[Codec | None, str]:
    """The codec named by ``choice``, or None with the reason it is skipped.

    Parameters
    ----------
    choice : str
        ``"none"``, a shipped name (``"default"``) or a saved codec folder.

    Returns
    -------
    (Codec or None, str)
        The codec in eval mode, or None and the skip reason.

    Raises
    ------
    dolphin.hub.ModelNotFoundError
        ``choice`` names a folder (not a shipped name) that holds no codec.
    """
    from dolphin import hub
    from dolphin.codec.model import Codec

    if choice.lower() == "none":
        return None, "turned off (demo.codec=none)"
    try:
        return Codec.from_pretrained(choice), ""
    except hub.ModelNotFoundError:
        if _is_shipped_name(choice):
            return None, f"no {choice} codec ships yet"
        raise


def codec_step(
    recording: DemoRecording,
    codec: Codec | None,
    *,
    skip_reason: str,
    clip_s: float,
    folder: str | Path,
    detect: DetectorConfig | None = None,
) -> StepResult:
    """Encode the first ``clip_s`` seconds, decode them and measure the reconstruction.

    Parameters
    ----------
    recording : DemoRecording
        Its ``head`` is used, resampled to the codec's rate when needed.
    codec : Codec or None
        None skips the step with ``skip_reason``.
    skip_reason : str
        Why there is no codec.
    clip_s : float
        Seconds encoded.
    folder : str or Path
        Where ``codec_decoded.wav`` goes.
    detect : DetectorConfig, optional
        Whistle tracker settings of the contour error.

    Returns
    -------
    StepResult
        Bitrate (bit/s at the codec's rate), SI-SNR (dB), spectral distance (dB), contour error
        (Hz), and the decoded file.
    """
    import torch

    from dolphin.audio.io import write_audio
    from dolphin.demo.quality import reconstruction_quality

    if codec is None:
        return _skip("codec", skip_reason)
    sr = codec.sample_rate
    clip = recording.head[: int(round(clip_s * recording.sample_rate))]
    x = _at_rate(clip, recording.sample_rate, sr).astype(np.float32)
    codes = codec.encode(torch.from_numpy(x)[None, None], sample_rate=sr)
    decoded = codec.decode(codes, n_samples=x.size)[0, 0].cpu().numpy()
    path = write_audio(Path(folder) / "codec_decoded.wav", decoded, sr, clip=True)
    q = reconstruction_quality(x, decoded, sample_rate=sr, detect=detect)
    details = {
        "audio encoded": f"{x.size / sr:.1f} s at {sr} Hz",
        "tokens": f"{codes.shape[1]} codebooks x {codes.shape[2]} frames",
        "bitrate": f"{codec.bitrate_bps / 1000:.2f} kbit/s",
        "SI-SNR": f"{q.si_snr_db:.1f} dB",
        "spectral distance": f"{q.spectral_distance_db:.1f} dB",
        "whistle contour error": _contour_text(q.contour_error_hz, q.contour_recall),
    }
    message = (
        f"{details['bitrate']}, SI-SNR {details['SI-SNR']}, spectral distance "
        f"{details['spectral distance']}, contour error {details['whistle contour error']}"
    )
    return StepResult("codec", DONE, message, details, Path(path))


def lm_step(
    recording: DemoRecording,
    choice: str,
    codec: Codec | None,
    *,
    prompt_s: float,
    continue_s: float,
    folder: str | Path,
    seed: int = 0,
) -> StepResult:
    """Continue the recording with the sound-token LM (prompt -> tokens -> LM -> audio).

    Parameters
    ----------
    recording : DemoRecording
        The last ``prompt_s`` seconds of its ``head`` are the prompt.
    choice : str
        ``"none"``, a shipped LM name (``"default"``) or a saved LM folder.
    codec : Codec or None
        The demo's codec; the LM's own (``codec/`` beside its folder) is preferred.
    prompt_s, continue_s : float
        Prompt and continuation lengths, seconds.
    folder : str or Path
        Where ``lm_continuation.wav`` goes.
    seed : int
        Sampling seed.

    Returns
    -------
    StepResult

    Raises
    ------
    dolphin.hub.ModelNotFoundError
        ``choice`` names a folder that holds no LM.
    dolphin.lm.LMCodecMismatchError
        The codec is not the LM's.
    """
    import torch

    from dolphin import hub
    from dolphin.audio.io import write_audio
    from dolphin.codec.model import Codec
    from dolphin.detect.contours import track_whistles
    from dolphin.lm.generate import continue_audio
    from dolphin.lm.model import SoundLM, lm_dir
    from dolphin.lm.stream import score_codes

    if choice.lower() == "none":
        return _skip("LM", "turned off (demo.lm=none)")
    try:
        lm = SoundLM.from_pretrained(choice)
    except hub.ModelNotFoundError:
        if _is_shipped_name(choice):
            return _skip("LM", f"no {choice} LM ships yet")
        raise
    beside = lm_dir(choice).resolve().parent / "codec"
    if (beside / "config.json").is_file():
        codec = Codec.from_pretrained(str(beside))
    if codec is None:
        return _skip("LM", "an LM ships but no codec to make its tokens")
    sr = codec.sample_rate
    head = _at_rate(recording.head, recording.sample_rate, sr).astype(np.float32)
    prompt = head[-int(round(prompt_s * sr)) :]
    out = continue_audio(codec, lm, torch.from_numpy(prompt)[None, None], continue_s, seed=seed)
    audio: Any = out.audio[0].cpu().numpy()
    path = write_audio(Path(folder) / "lm_continuation.wav", audio, sr, clip=True)
    kept_s = out.n_prompt_frames / codec.frame_rate
    prompt_bits = score_codes(lm, out.codes[..., : out.n_prompt_frames]).bits_per_token
    whistles = track_whistles(out.new_audio[0, 0].cpu().numpy(), sample_rate=sr)
    details = {
        "prompt": f"{kept_s:.2f} s ({out.n_prompt_frames} frames)",
        "continuation": f"{continue_s:.2f} s ({out.codes.shape[-1] - out.n_prompt_frames} frames)",
        "parameters": f"{sum(p.numel() for p in lm.parameters()) / 1e6:.1f} M",
        "prompt surprise": f"{prompt_bits:.2f} bits per token ({lm.n_codebooks} codebooks)",
        "whistle contours tracked in the continuation": str(len(whistles)),
    }
    message = f"{kept_s:.2f} s prompt continued by {continue_s:.2f} s, written to {Path(path).name}"
    return StepResult("LM", DONE, message, details, Path(path))
