"""Digital silence kept out of the detectors' noise memory.

A stretch of exact zeros (a muted interface, an unplugged hydrophone, a file padded with zeros,
zero blocks standing in for lost ones) has a log power of about -200 dB. The whistle tracker's
noise level per bin is the median of its last 2.5 s of chunk medians
(:mod:`dolphin.detect.contours`), so once zeros fill more than half of that memory the noise
level collapses to the floor, every bin stands ~150 dB "above noise", whole sub-bands are taken
for clicks, and whistles are missed until real audio has filled half the memory again (up to
1.25 s after the zeros end, ``tests/chat/test_silence.py``).

:class:`SilenceGate` feeds the detectors at most ``max_zeros_s`` of every run of exact zeros and
cuts out the rest: the detectors see the audio before the run, a short silence (which still ends
every track and chain) and the audio after it, with the noise memory of the audio before. Each
cut is remembered as a *splice* (detector sample, samples cut so far), so that detector times
map back to stream times (:meth:`SilenceGate.to_stream_s`). Short dropouts are passed unchanged,
and the gate is block-size invariant (runs are counted across blocks).
"""

from __future__ import annotations

import numpy as np


class SilenceGate:
    """Cuts long runs of exact zeros from a stream (see the module docstring).

    Parameters
    ----------
    sample_rate : int
        Hz.
    max_zeros_s : float
        Longest run of zeros passed on, seconds (0: no zeros at all; inf: the gate is off).
    """

    def __init__(self, *, sample_rate: int, max_zeros_s: float) -> None:
        if max_zeros_s < 0:
            raise ValueError(f"max_zeros_s must be >= 0 seconds, got {max_zeros_s}")
        self.sample_rate = int(sample_rate)
        self.max_zeros = np.inf if np.isinf(max_zeros_s) else int(round(max_zeros_s * sample_rate))
        self.reset()

    def reset(self) -> None:
        """Forget everything: the next sample is sample 0 of both streams."""
        self.run = 0  # zeros at the end of what was seen so far
        self.n_in = 0  # stream samples seen
        self.n_out = 0  # samples passed on to the detectors
        self._at = [0]  # detector sample at which each splice takes effect
        self._cut = [0]  # stream samples cut before it (cumulative)

    @property
    def cut_samples(self) -> int:
        """Stream samples cut so far."""
        return self._cut[-1]

    def process(self, x: np.ndarray) -> np.ndarray:
        """The next stream samples with the zeros beyond ``max_zeros_s`` of each run cut out.

        Parameters
        ----------
        x : np.ndarray, shape [T]
            Next samples of one channel.

        Returns
        -------
        np.ndarray, shape [T'], T' <= T
            What the detectors get (``x`` itself when nothing is cut).
        """
        n = x.size
        self.n_in += n
        if n == 0:
            return x
        zero = x == 0
        if not zero.any():
            self.run = 0
            self.n_out += n
            return x
        idx = np.arange(n)
        last_nonzero = np.maximum.accumulate(np.where(zero, -1, idx))
        # 1-based position of each zero in its run (runs continue from the previous block)
        pos = np.where(last_nonzero >= 0, idx - last_nonzero, self.run + idx + 1)
        drop = zero & (pos > self.max_zeros)
        self.run = int(pos[-1]) if zero[-1] else 0
        if not drop.any():
            self.n_out += n
            return x
        keep = ~drop
        # each run of dropped samples is one splice at the detector sample that follows it
        edges = np.flatnonzero(np.diff(np.concatenate([[False], drop, [False]]).astype(np.int8)))
        kept_before = np.concatenate([[0], np.cumsum(keep)])
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            at = self.n_out + int(kept_before[a])
            if at == self._at[-1]:  # the run continues a cut that nothing was passed after
                self._cut[-1] += b - a
            else:
                self._at.append(at)
                self._cut.append(self._cut[-1] + (b - a))
        out = x[keep]
        self.n_out += out.size
        return out

    def to_stream_s(self, times_s: np.ndarray | float) -> np.ndarray | float:
        """Detector times to stream times.

        Parameters
        ----------
        times_s : float or np.ndarray, shape [N]
            Seconds on the detectors' clock.

        Returns
        -------
        float or np.ndarray, shape [N]
            Seconds on the stream's clock.
        """
        if self._cut[-1] == 0:
            return times_s
        t = np.asarray(times_s, dtype=np.float64)
        k = np.searchsorted(np.asarray(self._at) / self.sample_rate, t, side="right") - 1
        out = t + np.asarray(self._cut)[np.maximum(k, 0)] / self.sample_rate
        return float(out) if out.ndim == 0 else out

    def prune(self, before_s: float) -> None:
        """Forget splices that no detector time from ``before_s`` on can need.

        Parameters
        ----------
        before_s : float
            Detector seconds; later calls of :meth:`to_stream_s` ask for times >= this only.
        """
        at = np.asarray(self._at) / self.sample_rate
        k = int(np.searchsorted(at, before_s, side="right")) - 1
        if k > 0:
            self._at, self._cut = self._at[k:], self._cut[k:]
