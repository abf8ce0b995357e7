"""A plain template matcher: the baseline the mimic matcher is benchmarked against.

:class:`TemplateMatcher` works offline on a whole recording, as a first attempt at a mimic detector
would: the peak-frequency contour of each loud segment (per STFT frame of 8 ms, hop 2.5 ms: the
strongest bin of 2-30 kHz, kept when it stands ``min_snr_db`` over that bin's median level; gaps
up to 30 ms bridged; segments of 0.2 s or more judged) compared with every entry by plain DTW in
semitones, without the matcher's tolerances (no mean removal, so no transposition tolerance, and
no free stretch). It sees whistles only; pulsed renditions go unnoticed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.signal

from dolphin.annotations import Contour
from dolphin.chat.vocab import Vocabulary
from dolphin.detect.dtw import DTWConfig, cross_dtw


@dataclass
class TemplateDetection:
    """One loud segment judged by the baseline.

    Attributes
    ----------
    label : str or None
        Entry accepted; None when the nearest one is farther than the threshold.
    accepted : bool
        True when ``label`` is set.
    distance : float
        DTW distance to the nearest entry, semitones.
    start_s, end_s : float
        Span of the segment's contour, seconds from the start of the recording.
    kind : str
        Always ``"whistle"``.
    """

    label: str | None
    accepted: bool
    distance: float
    start_s: float
    end_s: float
    kind: str = "whistle"


class TemplateMatcher:
    """Peak-frequency contours of loud segments, plain DTW against the entries (offline).

    Parameters
    ----------
    vocab : Vocabulary
        The entries.
    sample_rate : int
        Hz of the recordings given to :meth:`detect`.
    threshold : float
        Largest accepted distance, semitones.
    min_snr_db : float
        Level of a frame's peak over its bin's median level for the frame to count as loud, dB.
    """

    def __init__(
        self,
        vocab: Vocabulary,
        sample_rate: int,
        *,
        threshold: float = 1.0,
        min_snr_db: float = 12.0,
    ) -> None:
        self.vocab, self.sample_rate = vocab, int(sample_rate)
        self.threshold, self.min_snr_db = float(threshold), float(min_snr_db)
        self.dtw = DTWConfig(normalise_shift=False, free_stretch=0.0, band=0.1)
        self.n_fft = int(0.008 * sample_rate)
        self.hop = int(0.0025 * sample_rate)
        self._refs = [e.contour for e in vocab.entries]

    def detect(self, x: np.ndarray) -> list[TemplateDetection]:
        """Judge every loud segment of a recording.

        Parameters
        ----------
        x : np.ndarray, shape [T]
            One channel, full scale 1.

        Returns
        -------
        list of TemplateDetection
            In time order, accepted or not.
        """
        x = np.asarray(x)
        if x.ndim != 1:
            raise ValueError(f"x must be one channel [T], got shape {x.shape}")
        if x.size < self.n_fft:
            return []
        f, t, z = scipy.signal.stft(
            x,
            fs=self.sample_rate,
            nperseg=self.n_fft,
            noverlap=self.n_fft - self.hop,
            boundary=None,
        )
        band = (f >= 2000) & (f <= 30000)
        db = 10 * np.log10(np.abs(z[band]) ** 2 + 1e-20)
        snr = db - np.median(db, axis=1, keepdims=True)
        peak = np.argmax(snr, axis=0)
        loud = snr[peak, np.arange(snr.shape[1])] >= self.min_snr_db
        freqs = f[band][peak]
        gap = int(round(0.03 / (self.hop / self.sample_rate)))
        out, k, n = [], 0, loud.size
        while k < n:
            if not loud[k]:
                k += 1
                continue
            j, last = k, k
            while j < n and j - last <= gap:
                if loud[j]:
                    last = j
                j += 1
            idx = np.flatnonzero(loud[k : last + 1]) + k
            if t[last] - t[k] >= 0.2 and idx.size >= 4:
                out.append(self._judge(Contour(t[idx], freqs[idx])))
            k = last + 1
        return out

    def _judge(self, contour: Contour) -> TemplateDetection:
        d = cross_dtw([contour], self._refs, config=self.dtw)[0]
        k = int(np.argmin(d))
        ok = bool(d[k] <= self.threshold)
        return TemplateDetection(
            label=self.vocab.entries[k].label if ok else None,
            accepted=ok,
            distance=float(d[k]),
            start_s=float(contour.times_s[0]),
            end_s=float(contour.times_s[-1]),
        )
