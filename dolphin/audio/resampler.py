"""Block-wise resampling whose output equals :func:`dolphin.audio.dsp.resample` on the whole file.

Used wherever a long recording at one rate feeds a model at another, block by block (codec
encoding of hour-long files, real-time input at the device rate).
"""

from __future__ import annotations

from math import gcd

import numpy as np

from dolphin.audio.dsp import _RESAMPLE_HALF_TAPS, resample


class BlockResampler:
    """Resample a signal fed in blocks; the result equals :func:`dolphin.audio.dsp.resample`.

    Output sample ``m`` depends on the input within ``half_taps / up`` samples of time
    ``m * down / up``; each push emits the outputs whose inputs have all arrived, resampling a
    segment that starts at a multiple of ``down`` (so its outputs fall on the same grid as the
    whole file's) and reaches back far enough for the filter.

    Parameters
    ----------
    orig_sr, target_sr : int
        Sample rates in Hz.
    """

    def __init__(self, orig_sr: int, target_sr: int) -> None:
        common = gcd(int(orig_sr), int(target_sr))
        self.orig_sr, self.target_sr = int(orig_sr), int(target_sr)
        self.up, self.down = self.target_sr // common, self.orig_sr // common
        self.half = _RESAMPLE_HALF_TAPS * max(self.up, self.down)  # filter half-length, up-rate
        self.buffer = np.zeros(0, np.float32)
        self.buffer_start = 0  # input index of buffer[0]
        self.n_in = 0  # input samples received
        self.n_out = 0  # output samples emitted

    def push(self, x: np.ndarray) -> np.ndarray:
        """Add input samples ``[N]``; return the output samples now final ``[M]``."""
        self.buffer = np.concatenate([self.buffer, np.asarray(x, np.float32)])
        self.n_in += len(x)
        ready = ((self.n_in - 1) * self.up - self.half) // self.down + 1
        return self._emit(max(ready, self.n_out))

    def flush(self) -> np.ndarray:
        """End of input: the remaining ``ceil(n_in * up / down) - emitted`` samples."""
        return self._emit(-(-self.n_in * self.up // self.down))

    def _segment_start(self, m: int) -> int:
        first_input = -(-(m * self.down - self.half) // self.up)
        return max(0, first_input // self.down * self.down)

    def _emit(self, end: int) -> np.ndarray:
        if end <= self.n_out:
            return np.zeros(0, np.float32)
        start = self._segment_start(self.n_out)
        segment = self.buffer[start - self.buffer_start :]
        y = resample(segment, orig_sr=self.orig_sr, target_sr=self.target_sr)
        offset = self.n_out - start * self.up // self.down
        out = y[offset : offset + end - self.n_out]
        self.n_out = end
        keep = self._segment_start(self.n_out)
        self.buffer = self.buffer[keep - self.buffer_start :]
        self.buffer_start = keep
        return out
