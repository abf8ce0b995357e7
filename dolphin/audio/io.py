"""Reading and writing audio files: the only module in the package that touches audio on disk.

Everything goes through ``soundfile`` (libsndfile), which reads WAV (PCM 16/24/32 bit, 32/64-bit
float), WAVE_FORMAT_EXTENSIBLE, RF64 and Sony Wave64 (both for files over 4 GiB) and FLAC.
Samples come back as ``float32`` arrays with channels first, ``[C, T]``, scaled to [-1, 1) for PCM.

Every problem with a file raises :class:`dolphin.errors.AudioFileError` naming the file and the
problem. :func:`write_audio` never leaves a half-written file behind: it writes a temporary file
beside the target and renames it into place only once the data are on disk.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import soundfile as sf

from dolphin.audio.names import parse_start_time
from dolphin.errors import AudioFileError

#: Bits per sample of the soundfile subtypes with a fixed sample size.
BIT_DEPTHS = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32}
BIT_DEPTHS.update({"FLOAT": 32, "DOUBLE": 64})
#: Subtypes holding floating-point samples, the only ones that can hold NaN or infinity.
FLOAT_SUBTYPES = ("FLOAT", "DOUBLE")
#: Container format chosen from the file suffix when ``write_audio`` is given no ``format``.
SUFFIX_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".w64": "W64", ".rf64": "RF64"}
#: Subtype written when none is given: 24-bit PCM is lossless for every hydrophone ADC we use.
DEFAULT_SUBTYPE = "PCM_24"

# Leading bytes of the containers we read; a file starting with one of them that libsndfile
# cannot open has a damaged header, anything else is not audio at all.
_MAGIC = (b"RIFF", b"RIFX", b"RF64", b"BW64", b"riff", b"fLaC")


@dataclass(frozen=True)
class AudioInfo:
    """Metadata of an audio file, read from its header without reading samples.

    Attributes
    ----------
    path : Path
        The file.
    sample_rate : int
        Frames per second, in Hz.
    n_channels : int
        Number of channels.
    n_frames : int
        Number of frames (samples per channel).
    format : str
        Container as soundfile names it: ``"WAV"``, ``"WAVEX"``, ``"RF64"``, ``"W64"``, ``"FLAC"``.
    subtype : str
        Sample encoding as soundfile names it: ``"PCM_16"``, ``"PCM_24"``, ``"FLOAT"``, ...
    bit_depth : int or None
        Bits per sample; None for compressed or variable encodings.
    start_time : datetime or None
        Recording start (timezone-aware, UTC) parsed from the file name, see
        :func:`parse_start_time`.
    """

    path: Path
    sample_rate: int
    n_channels: int
    n_frames: int
    format: str
    subtype: str
    bit_depth: int | None
    start_time: datetime | None

    @property
    def duration_s(self) -> float:
        """Length of the file in seconds."""
        return self.n_frames / self.sample_rate


@dataclass
class Audio:
    """Samples read from a file (or about to be written to one).

    Attributes
    ----------
    samples : np.ndarray, shape [C, T], float32
        Samples, channels first.
    sample_rate : int
        Frames per second, in Hz.
    start_frame : int
        Index in the file of ``samples[:, 0]`` (0 unless a later part of the file was read).
    """

    samples: np.ndarray
    sample_rate: int
    start_frame: int = 0

    @property
    def n_channels(self) -> int:
        """Number of channels ``C``."""
        return int(self.samples.shape[0])

    @property
    def n_frames(self) -> int:
        """Number of frames ``T``."""
        return int(self.samples.shape[1])

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return self.n_frames / self.sample_rate

    @property
    def start_s(self) -> float:
        """Time of ``samples[:, 0]`` in seconds from the start of the file."""
        return self.start_frame / self.sample_rate


# --- reading ----------------------------------------------------------------------------------


def _open_sound_file(path: str | Path) -> sf.SoundFile:
    """Open ``path`` for reading, turning every failure into an :class:`AudioFileError`."""
    path = Path(path)
    if not path.exists():
        raise AudioFileError(path, "file does not exist")
    if path.is_dir():
        raise AudioFileError(path, "is a directory, not an audio file")
    if path.stat().st_size == 0:
        raise AudioFileError(path, "file is empty (0 bytes)")
    try:
        handle = sf.SoundFile(path)
    except (sf.SoundFileError, RuntimeError) as err:
        try:
            with open(path, "rb") as fh:
                head = fh.read(4)
        except OSError as os_err:  # unreadable: permissions, I/O error
            raise AudioFileError(path, f"cannot be read ({os_err})") from err
        if head.startswith(_MAGIC):
            problem = f"truncated or corrupt header ({err})"
        else:
            problem = f"not an audio file, format not recognised ({err})"
        raise AudioFileError(path, problem) from err
    if handle.frames <= 0:
        handle.close()
        raise AudioFileError(path, "file holds zero frames (header only or truncated)")
    return handle


def _channel_indices(
    path: Path, channels: int | Sequence[int] | None, n_channels: int
) -> list[int] | None:
    """Validated 0-based channel list, or None for all channels."""
    if channels is None:
        return None
    selected = [channels] if isinstance(channels, int | np.integer) else list(channels)
    if not selected:
        raise AudioFileError(path, "no channels selected")
    for channel in selected:
        if not 0 <= channel < n_channels:
            raise AudioFileError(
                path, f"channel index {channel} out of range for a {n_channels}-channel file"
            )
    return [int(channel) for channel in selected]


def _check_range(path: Path, start_frame: int, n_frames: int | None, total: int) -> int:
    """Validate a read window; return the number of frames to read (clipped to the file end)."""
    if start_frame < 0:
        raise AudioFileError(path, f"start_frame must be >= 0, got {start_frame}")
    if start_frame >= total:
        raise AudioFileError(
            path, f"start_frame {start_frame} is beyond the end of the file ({total} frames)"
        )
    if n_frames is not None and n_frames <= 0:
        raise AudioFileError(path, f"n_frames must be positive, got {n_frames}")
    available = total - start_frame
    return available if n_frames is None else min(n_frames, available)


def _check_samples_finite(path: Path, data: np.ndarray, first_frame: int) -> None:
    """Raise when ``data`` ([C, N]) holds NaN or infinity, naming the first bad frame."""
    bad = ~np.isfinite(data)
    if bad.any():
        channel, frame = np.argwhere(bad)[0]
        raise AudioFileError(
            path,
            f"holds NaN or infinite samples ({int(bad.sum())} of them; first at frame "
            f"{first_frame + int(frame)}, channel {int(channel)})",
        )


def _read_frames(handle: sf.SoundFile, n_frames: int, channels: list[int] | None) -> np.ndarray:
    """Read ``n_frames`` from the current position as float32 ``[C, N]``."""
    data = handle.read(n_frames, dtype="float32", always_2d=True)
    if channels is not None:
        data = data[:, channels]
    return np.ascontiguousarray(data.T)


def audio_info(path: str | Path) -> AudioInfo:
    """Read an audio file's metadata from its header.

    Parameters
    ----------
    path : str or Path
        Audio file (WAV, WAVEX, RF64, W64, FLAC).

    Returns
    -------
    AudioInfo
        Sample rate, channels, frames, container, encoding and the start time from the name.

    Raises
    ------
    AudioFileError
        When the file is missing, empty, not audio, has a damaged header or holds no frames.
    """
    path = Path(path)
    with _open_sound_file(path) as handle:
        return AudioInfo(
            path=path,
            sample_rate=int(handle.samplerate),
            n_channels=int(handle.channels),
            n_frames=int(handle.frames),
            format=handle.format,
            subtype=handle.subtype,
            bit_depth=BIT_DEPTHS.get(handle.subtype),
            start_time=parse_start_time(path.name),
        )


def read_audio(
    path: str | Path,
    *,
    channels: int | Sequence[int] | None = None,
    start_frame: int = 0,
    n_frames: int | None = None,
    check_finite: bool = True,
) -> Audio:
    """Read all or part of an audio file.

    Parameters
    ----------
    path : str or Path
        Audio file (WAV PCM 16/24/32 bit or 32/64-bit float, WAVEX, RF64, W64, FLAC).
    channels : int or sequence of int, optional
        0-based channel(s) to keep, in the given order; all channels by default. A single int
        still gives a ``[1, T]`` array.
    start_frame : int
        First frame to read.
    n_frames : int, optional
        Number of frames to read; to the end of the file by default. Fewer come back when the
        file ends first.
    check_finite : bool
        Refuse float files holding NaN or infinite samples (PCM files cannot hold them).

    Returns
    -------
    Audio
        ``samples`` float32 ``[C, T]``, ``sample_rate`` in Hz and ``start_frame``.

    Raises
    ------
    AudioFileError
        Missing, empty, truncated or non-audio file; no frames; channel out of range;
        ``start_frame`` beyond the end; NaN or infinite samples.
    """
    path = Path(path)
    with _open_sound_file(path) as handle:
        selected = _channel_indices(path, channels, handle.channels)
        count = _check_range(path, start_frame, n_frames, handle.frames)
        handle.seek(start_frame)
        samples = _read_frames(handle, count, selected)
        if check_finite and handle.subtype in FLOAT_SUBTYPES:
            _check_samples_finite(path, samples, start_frame)
        return Audio(samples=samples, sample_rate=int(handle.samplerate), start_frame=start_frame)


# --- writing ----------------------------------------------------------------------------------


def prepare_samples(path: Path, samples: np.ndarray, subtype: str, clip: bool) -> np.ndarray:
    """Validate samples before writing them; return them as soundfile's ``[T, C]`` layout.

    Parameters
    ----------
    path : Path
        The file being written, named in errors.
    samples : np.ndarray, shape [C, T] or [T]
        Floating-point samples.
    subtype : str
        soundfile subtype; PCM subtypes refuse samples beyond full scale unless ``clip``.
    clip : bool
        Clip to [-1, 1] instead of refusing.

    Returns
    -------
    np.ndarray, shape [T, C]
    """
    data = np.asarray(samples)
    if data.ndim == 1:
        data = data[np.newaxis]
    if data.ndim != 2:
        raise AudioFileError(path, f"samples must be [C, T] or [T], got shape {data.shape}")
    if not np.issubdtype(data.dtype, np.floating):
        raise AudioFileError(path, f"samples must be floating point, got {data.dtype}")
    if data.shape[0] == 0 or data.shape[1] == 0:
        raise AudioFileError(path, f"refusing to write an empty array of shape {data.shape}")
    if not np.isfinite(data).all():
        raise AudioFileError(path, "refusing to write NaN or infinite samples")
    if subtype not in FLOAT_SUBTYPES:
        peak = float(np.abs(data).max())
        if peak > 1.0:
            if not clip:
                raise AudioFileError(
                    path,
                    f"samples exceed full scale (peak {peak:.4g} > 1) for {subtype}; scale them, "
                    "pass clip=True, or write subtype='FLOAT'",
                )
            data = np.clip(data, -1.0, 1.0)
    return data.T


def _resolve_format(path: Path, format: str | None, subtype: str | None) -> tuple[str, str]:
    if format is None:
        format = SUFFIX_FORMATS.get(path.suffix.lower())
        if format is None:
            raise AudioFileError(
                path, f"cannot tell the format from suffix {path.suffix!r}; pass format="
            )
    format = format.upper()
    subtype = (subtype or DEFAULT_SUBTYPE).upper()
    if not sf.check_format(format, subtype):
        raise AudioFileError(path, f"format {format} cannot hold subtype {subtype}")
    return format, subtype


def write_audio(
    path: str | Path,
    samples: np.ndarray,
    sample_rate: int,
    *,
    subtype: str | None = None,
    format: str | None = None,
    clip: bool = False,
) -> Path:
    """Write samples to an audio file, atomically.

    The data go to a hidden temporary file in the target's directory, which is flushed and
    fsync'ed and then renamed onto ``path`` with :func:`os.replace`. A reader therefore sees
    either the old file or the complete new one, and a failed write leaves the old file as it
    was and no temporary file behind.

    Parameters
    ----------
    path : str or Path
        Target file; its directory must exist.
    samples : np.ndarray, shape [C, T] or [T]
        Floating-point samples, full scale [-1, 1] for PCM subtypes.
    sample_rate : int
        Frames per second, in Hz.
    subtype : str, optional
        soundfile subtype: ``"PCM_16"``, ``"PCM_24"`` (default), ``"PCM_32"``, ``"FLOAT"``,
        ``"DOUBLE"``.
    format : str, optional
        Container: ``"WAV"``, ``"WAVEX"``, ``"RF64"``, ``"W64"``, ``"FLAC"``; by default from the
        suffix (``.wav``, ``.flac``, ``.w64``, ``.rf64``). Plain WAV stops at 4 GiB: pass
        ``format="RF64"`` (any suffix) for longer recordings.
    clip : bool
        PCM subtypes cannot hold values beyond full scale. By default such samples are refused
        (libsndfile would wrap them around); ``clip=True`` clips them to [-1, 1] instead.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    AudioFileError
        NaN or infinite samples, samples beyond full scale for PCM without ``clip``, a bad shape,
        an unknown format or subtype, or a failed write.
    """
    path = Path(path)
    format, subtype = _resolve_format(path, format, subtype)
    data = prepare_samples(path, samples, subtype, clip)
    if not isinstance(sample_rate, int | np.integer) or sample_rate <= 0:
        raise AudioFileError(path, f"sample_rate must be a positive int, got {sample_rate!r}")
    if not path.parent.is_dir():
        raise AudioFileError(path, "directory does not exist")

    # os.open with O_EXCL and mode 0o666 honours the umask, unlike tempfile.mkstemp (0o600).
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
        except OSError as err:
            raise AudioFileError(path, f"cannot create a temporary file ({err})") from err
    try:
        try:
            with sf.SoundFile(
                fd,
                "w",
                samplerate=int(sample_rate),
                channels=data.shape[1],
                subtype=subtype,
                format=format,
                closefd=False,
            ) as handle:
                handle.write(data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        if isinstance(err, Exception):
            raise AudioFileError(path, f"writing failed ({err})") from err
        raise
    _fsync_directory(path.parent)
    return path


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable; not every platform can open a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
