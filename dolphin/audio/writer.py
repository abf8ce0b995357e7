"""A block-wise audio writer for files far larger than memory.

:class:`AudioWriter` is the streaming counterpart of :class:`dolphin.audio.stream.BlockReader`:
blocks ``[C, N]`` are appended to a temporary file beside the target, which is flushed, fsynced
and renamed onto the target on :meth:`AudioWriter.close`. Readers therefore never see a half
written file under the final name.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

import numpy as np
import soundfile as sf

from dolphin.audio.io import prepare_samples
from dolphin.errors import AudioFileError

_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".w64": "W64", ".rf64": "RF64"}


class AudioWriter:
    """Append ``[C, N]`` float blocks to an audio file, then publish it atomically.

    Parameters
    ----------
    path : str or Path
        Final file name; its suffix chooses the format unless ``format`` is given.
    sample_rate : int
        Sample rate in Hz.
    n_channels : int
        Channels per block.
    subtype : str
        soundfile subtype, ``"PCM_24"`` by default.
    clip : bool
        Clip blocks to [-1, 1] for PCM subtypes instead of refusing samples beyond full scale.
    format : str, optional
        soundfile format (``"WAV"``, ``"RF64"``, ``"W64"``, ``"FLAC"``).

    Examples
    --------
    >>> with AudioWriter("long.w64", sample_rate=96000, n_channels=1) as writer:  # doctest: +SKIP
    ...     for block in blocks:
    ...         writer.write(block)
    """

    def __init__(
        self,
        path: str | Path,
        *,
        sample_rate: int,
        n_channels: int,
        subtype: str = "PCM_24",
        format: str | None = None,
        clip: bool = False,
    ) -> None:
        self.path = Path(path)
        self.n_channels = int(n_channels)
        self.subtype = subtype
        self.clip = clip
        self.n_frames = 0
        fmt = format or _FORMATS.get(self.path.suffix.lower())
        if fmt is None:
            raise AudioFileError(
                self.path, f"cannot tell the audio format from '{self.path.suffix}'"
            )
        self._partial = self.path.with_name(f".{self.path.name}.partial")
        try:
            self._file = sf.SoundFile(
                self._partial,
                "w",
                samplerate=int(sample_rate),
                channels=self.n_channels,
                subtype=subtype,
                format=fmt,
            )
        except (sf.LibsndfileError, RuntimeError, ValueError) as err:
            raise AudioFileError(self.path, f"cannot open for writing: {err}") from err

    def write(self, block: np.ndarray) -> None:
        """Append one block.

        Parameters
        ----------
        block : np.ndarray, shape [C, N] (or [N] for one channel)
            Samples in [-1, 1]; NaN or infinite values, and values beyond full scale for PCM
            unless ``clip``, are refused with :class:`AudioFileError` (nothing is written).
        """
        block = np.atleast_2d(np.asarray(block, dtype=np.float32))
        if block.shape[0] != self.n_channels:
            raise AudioFileError(
                self.path, f"block has {block.shape[0]} channels, file has {self.n_channels}"
            )
        frames = prepare_samples(self.path, block, self.subtype, self.clip)
        self._file.write(frames)
        self.n_frames += frames.shape[0]

    def close(self) -> Path:
        """Flush, fsync and rename the file onto its final name; returns that name."""
        if self._file.closed:
            return self.path
        self._file.flush()
        self._file.close()
        with open(self._partial, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(self._partial, self.path)
        return self.path

    def discard(self) -> None:
        """Close and delete the unfinished file, leaving any older file at ``path`` untouched."""
        if not self._file.closed:
            self._file.close()
        self._partial.unlink(missing_ok=True)

    def __enter__(self) -> AudioWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()
