"""Hydrophone audio: file I/O, block-wise streaming and pure DSP.

* :mod:`dolphin.audio.io`: :func:`read_audio`, :func:`write_audio` (atomic), :func:`audio_info`,
  the only code that reads or writes audio files; :mod:`dolphin.audio.names` parses recorder start
  times from file names (:func:`parse_start_time`).
* :mod:`dolphin.audio.stream`: :class:`BlockReader` for files far larger than memory.
* :mod:`dolphin.audio.writer`: :class:`AudioWriter`, block-wise atomic writing of long files.
* :mod:`dolphin.audio.dsp`: resampling, Butterworth filters (offline and streaming) and a blind
  SNR estimate; :mod:`dolphin.audio.spectral`: power spectrograms, dB scaling and PCEN.
* :mod:`dolphin.audio.plot`: spectrogram figures with events and contours; import it explicitly
  (``from dolphin.audio.plot import plot_spectrogram``) so that matplotlib is loaded only when
  needed.

Arrays are float32 with channels first, ``[C, T]``.
"""

from dolphin.audio.dsp import (
    StreamingFilter,
    bandpass,
    design_filter,
    estimate_snr_db,
    highpass,
    lowpass,
    resample,
)
from dolphin.audio.io import Audio, AudioInfo, audio_info, read_audio, write_audio
from dolphin.audio.names import parse_start_time
from dolphin.audio.spectral import Spectrogram, pcen, power_spectrogram, power_to_db
from dolphin.audio.stream import Block, BlockReader, iter_blocks
from dolphin.audio.writer import AudioWriter

__all__ = [
    "Audio",
    "AudioInfo",
    "AudioWriter",
    "Block",
    "BlockReader",
    "Spectrogram",
    "StreamingFilter",
    "audio_info",
    "bandpass",
    "design_filter",
    "estimate_snr_db",
    "highpass",
    "iter_blocks",
    "lowpass",
    "parse_start_time",
    "pcen",
    "power_spectrogram",
    "power_to_db",
    "read_audio",
    "resample",
    "write_audio",
]
