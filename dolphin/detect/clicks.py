"""Click detection: band-pass, whitening, Teager-Kaiser energy, adaptive threshold, features.

Algorithm
---------
1. Causal Butterworth band-pass (order ``filter_order``) from ``low_hz`` to ``high_hz``; at low
   sample rates the band shrinks to fit: ``low <= 0.25 x rate``, ``high <= 0.48 x rate``.
2. Whitening: a linear-prediction error filter of order ``whiten_order``, refitted every chunk
   (``chunk_s``, 10 ms) on the two chunks before it (clipped at 3 robust standard deviations),
   removes the noise colour and tonal sounds in the band (whistles, their harmonics, vessels);
   clicks are not predictable and stay.
3. Teager-Kaiser energy ``psi[n] = r[n]^2 - r[n-1] r[n+1]`` of the residual, summed over
   ``smooth_s`` (about a click's length).
4. Threshold per chunk: a click's envelope exceeds the chunk median by ``threshold_db`` (dB)
   times the spread ``median - percentile(noise_percentile)``. Spread rather than level: a tone
   lifts the level, not the spread, and dense burst pulses barely move either.
5. A click is the envelope maximum within +-``min_separation_s``; one that is ``echo_db`` weaker
   than a click in the preceding ``echo_window_s`` is taken for its echo and dropped.
6. Features from ``feature_window_s`` of raw signal centred on the click (Hann window, FFT
   zero-padded to 4x, within the detection band): peak and centroid frequency, -3 and -10 dB
   bandwidths around the peak and the -10 dB band edges; duration is the -10 dB width of the
   band-limited analytic envelope (4x interpolated); amplitude is the band-passed peak in dB
   re full scale; SNR is the threshold statistic of step 4 in dB.

Streaming
---------
:class:`ClickDetector` filters every sample as it comes, whitens and searches whole chunks once
their look-ahead (a chunk) has arrived; :func:`detect_clicks` is the detector fed the whole
signal at once and flushed. Every quantity depends only on absolute chunk positions, so block
sizes never change the result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft
import scipy.ndimage
import scipy.signal

from dolphin.audio.dsp import design_filter
from dolphin.detect.dsp_kernels import prediction_error, teager_envelope
from dolphin.detect.order_stats import row_median, row_percentiles


@dataclass
class ClickDetectorConfig:
    """Settings of the click detector (defaults tuned on synthetic 96 kHz scenes)."""

    low_hz: float = 20000.0  # band-pass low edge: above most whistle energy and ocean noise
    high_hz: float | None = None  # band-pass high edge; None (and at most) 0.48 x the sample rate
    filter_order: int = 4  # Butterworth order of each band edge
    whiten_order: int = 10  # linear-prediction order of the whitening filter (0 = none)
    smooth_s: float = 50e-6  # Teager-Kaiser energy summed over this span (a click's length)
    chunk_s: float = 0.01  # noise-level and whitening unit (10 ms)
    noise_percentile: float = (
        20.0  # spread = median - this percentile (dense pulses barely move it)
    )
    threshold_db: float = 13.0  # envelope excess over the median, in units of its spread, dB
    min_separation_s: float = 0.25e-3  # clicks are local maxima over +- this (burst IPI >= 0.5 ms)
    echo_window_s: float = 0.015  # surface and bottom echoes arrive up to 15 ms after a click
    echo_db: float = 5.0  # a click this much weaker than a recent one is taken for its echo
    feature_window_s: float = 0.4e-3  # raw signal around a click used for its features


@dataclass
class Click:
    """One detected click.

    Attributes
    ----------
    time_s : float
        Time of the envelope maximum, seconds from the first sample.
    peak_hz, centroid_hz : float
        Frequency of the spectral maximum and spectral centroid within the detection band, Hz.
    bandwidth_3db_hz, bandwidth_10db_hz : float
        Width of the contiguous band around the peak within 3 and 10 dB of it, Hz.
    low_hz, high_hz : float
        Edges of the -10 dB band, Hz.
    duration_s : float
        -10 dB width of the band-limited envelope, seconds.
    amplitude_db : float
        Band-passed peak amplitude, dB re full scale (0 dB = 1.0).
    snr_db : float
        Teager-Kaiser envelope peak over the local noise level, dB.
    """

    time_s: float
    peak_hz: float
    centroid_hz: float
    bandwidth_3db_hz: float
    bandwidth_10db_hz: float
    low_hz: float
    high_hz: float
    duration_s: float
    amplitude_db: float
    snr_db: float


def _mono(block, channel: int) -> np.ndarray:
    """Samples of one channel of a block (array [N] or [C, N], or an audio Block), float.

    Float input keeps its dtype: :meth:`ClickDetector.process` turns it into float64 a slice
    at a time, which spares a float64 copy of a whole long block.
    """
    x = np.asarray(getattr(block, "new_samples", block))
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    if x.ndim == 2:
        x = x[channel]
    if x.ndim != 1:
        raise ValueError(f"block must be [N] or [C, N], got shape {x.shape}")
    return x


def _band_edges(mask: np.ndarray, peak: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last index of the run of True around ``peak`` in each row of ``mask``."""
    rows, n = np.arange(mask.shape[0]), mask.shape[1]
    idx = np.arange(n)
    last_false = np.maximum.accumulate(np.where(~mask, idx, -1), axis=1)
    next_false = np.minimum.accumulate(np.where(~mask, idx, n)[:, ::-1], axis=1)[:, ::-1]
    return last_false[rows, peak] + 1, next_false[rows, peak] - 1


def _levinson(r: np.ndarray) -> np.ndarray:
    """Prediction-error filters ``[1, a1..ap]`` from autocorrelations ``r`` [M, p + 1] (rows).

    Rows with no energy give ``[1, 0, ..., 0]``; a 1e-3 white-noise floor keeps them stable.
    """
    m, p1 = r.shape
    r = r.astype(np.float64).copy()
    r[:, 0] = r[:, 0] * (1 + 1e-3) + 1e-300
    a = np.zeros((m, p1))
    a[:, 0] = 1.0
    err = r[:, 0].copy()
    for i in range(1, p1):
        acc = np.sum(a[:, :i] * r[:, i:0:-1], axis=1)
        k = -acc / err
        a[:, 1 : i + 1] = a[:, 1 : i + 1] + k[:, None] * a[:, i - 1 :: -1][:, :i]
        err = err * (1 - k * k)
    return a


class ClickDetector:
    """Streaming click detector with explicit state.

    Parameters
    ----------
    sample_rate : int
        Sample rate of the blocks, Hz.
    config : ClickDetectorConfig, optional
        Detector settings; defaults when omitted.
    channel : int
        0-based channel used when blocks have several.
    """

    def __init__(
        self, *, sample_rate: int, config: ClickDetectorConfig | None = None, channel: int = 0
    ) -> None:
        cfg = config or ClickDetectorConfig()
        self.config, self.sample_rate, self.channel = cfg, int(sample_rate), int(channel)
        sr = self.sample_rate
        self.low_hz = min(cfg.low_hz, 0.25 * sr)
        self.high_hz = min(cfg.high_hz or np.inf, 0.48 * sr)
        if self.high_hz <= self.low_hz:
            raise ValueError(f"empty click band {self.low_hz}-{self.high_hz} Hz")
        # float32 band-pass: twice as fast as float64, and whitening runs in float32 anyway
        self._sos = design_filter(
            sample_rate=sr, low_hz=self.low_hz, high_hz=self.high_hz, order=cfg.filter_order
        ).astype(np.float32)
        self.chunk = max(16, int(round(cfg.chunk_s * sr)))
        self._half = max(0, int(round(cfg.smooth_s * sr)) // 2)
        self._sep = max(1, int(round(cfg.min_separation_s * sr)))
        self._win = max(8, 2 * int(round(cfg.feature_window_s * sr / 2)))
        if max(self._sep, self._win // 2, self._half + 1) >= self.chunk:
            raise ValueError("chunk_s must exceed the separation, smoothing and feature spans")
        self._echo = int(round(cfg.echo_window_s * sr))
        self._order = int(cfg.whiten_order)
        n_fft = 4 * self._win
        self._freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
        self._band = (self._freqs >= self.low_hz) & (self._freqs <= self.high_hz)
        self._hann = np.hanning(self._win + 2)[1:-1]
        self.reset()

    def reset(self) -> None:
        """Forget everything: the next sample is time 0 of a new signal."""
        self._x = np.zeros(0)  # raw samples from absolute index self._x0
        self._y = np.zeros(0, np.float32)  # band-passed samples from self._x0
        self._e = np.zeros(0, np.float32)  # envelope from self._x0
        self._r = np.zeros(0, np.float32)  # whitened (prediction-error) samples from self._x0
        self._acf: dict[int, np.ndarray] = {}  # autocorrelation sums of recent chunks
        self._x0 = 0
        self._zi = np.zeros((self._sos.shape[0], 2), np.float32)
        self._next_chunk = 0  # first chunk not yet searched
        self._recent: list[tuple[int, float]] = []  # (index, amplitude dB) of recent clicks

    # --- public API ---------------------------------------------------------------------------

    def process(self, block: np.ndarray) -> list[Click]:
        """Feed the next samples; return the clicks found in the chunks now complete.

        Parameters
        ----------
        block : np.ndarray, shape [N] or [C, N], or dolphin.audio.Block
            Next samples.

        Returns
        -------
        list of Click
            In time order.
        """
        x = _mono(block, self.channel)
        out: list[Click] = []
        step = 200 * self.chunk  # bounded work arrays, whatever the block length
        for i in range(0, x.size, step):
            self._x = np.concatenate([self._x, x[i : i + step]], dtype=np.float64)
            out += self._advance(final=False)
        return out

    def flush(self) -> list[Click]:
        """Search the rest of the signal (zeros assumed after its end) and reset the state.

        Returns
        -------
        list of Click
        """
        out = self._advance(final=True)
        self.reset()
        return out

    # --- internals ----------------------------------------------------------------------------

    def _advance(self, *, final: bool) -> list[Click]:
        c, x0, h = self.chunk, self._x0, self._half + 1
        n_total = x0 + self._x.size
        # 1. band-pass every new sample (a causal IIR gives the same output for any split)
        fresh = self._x[self._y.size :]
        if fresh.size:
            y, self._zi = scipy.signal.sosfilt(self._sos, fresh.astype(np.float32), zi=self._zi)
            self._y = np.concatenate([self._y, y])
        # 2. whiten: each chunk's prediction-error filter comes from the two chunks before it
        self._r = np.concatenate([self._r, self._whiten(final)])
        # 3. envelope wherever its look-ahead has arrived (zeros after the end of the signal)
        upto = self._r.size if final else self._r.size - h
        if upto > self._e.size:
            self._e = np.concatenate([self._e, self._envelope(self._e.size, upto)])
        # 4. search the chunks whose envelope reaches min_separation past their end
        first = self._next_chunk
        if final:
            last = -(-n_total // c)
        else:
            last = max((x0 + self._e.size - self._sep) // c, first)
        out = self._search(first * c, min(last * c, n_total)) if last > first else []
        self._next_chunk = last
        # 5. drop samples no later step needs
        keep_from = self._next_chunk * c - (self._sep + self._win + h + self._order + 1)
        drop = min(max(keep_from // c * c - x0, 0), self._e.size // c * c)
        if drop > 0:
            self._x, self._y, self._e = self._x[drop:], self._y[drop:], self._e[drop:]
            self._r = self._r[drop:]
            self._x0 += drop
        return out

    def _whiten(self, final: bool) -> np.ndarray:
        """Prediction-error residual of the band-passed signal for the chunks now complete.

        The linear-prediction filter of chunk j is fitted (autocorrelation method, Levinson
        recursion) on chunks j - 2 and j - 1, clipped at 3 robust standard deviations so that
        loud transients do not shape it; tonal sounds (whistles and harmonics in the
        band) and the colour of the noise are removed while the unpredictable clicks stay.
        """
        c, p, x0 = self.chunk, self._order, self._x0
        i0 = self._r.size  # always a chunk boundary before the end
        n = self._y.size - i0 if final else (self._y.size - i0) // c * c
        if n <= 0:
            return np.zeros(0, np.float32)
        if p == 0:
            return self._y[i0 : i0 + n].astype(np.float32)
        m_full, m_all = n // c, -(-n // c)
        seg = np.zeros(p + m_all * c, np.float32)  # float32: twice as fast, ample precision
        lo = max(i0 - p, 0)
        if i0 - p < 0 and x0 > 0:
            raise RuntimeError("whitening look-back was discarded")  # step 5 keeps enough
        seg[p - (i0 - lo) : p + n] = self._y[lo : i0 + n]
        first = (x0 + i0) // c
        zero = np.zeros(p + 1)
        acf = np.zeros((m_all + 2, p + 1))  # chunks first - 2 ... first + m_all - 1
        acf[0], acf[1] = self._acf.get(first - 2, zero), self._acf.get(first - 1, zero)
        if m_full:  # autocorrelation of the complete chunks, clipped at 3 sigma so that
            # loud clicks and snaps do not shape the filter (it must whiten noise and tones)
            rows = np.lib.stride_tricks.sliding_window_view(seg[: p + m_full * c], c + p)[::c]
            limit = 3 * 1.4826 * row_median(np.abs(rows[:, p::4]))[:, None]
            rows = np.maximum(rows, -limit)  # np.clip, in two passes that run faster
            np.minimum(rows, limit, out=rows)
            for k in range(p + 1):  # einsum: one pass, no product array (4x faster)
                acf[2 : 2 + m_full, k] = np.einsum(
                    "ij,ij->i", rows[:, p:], rows[:, p - k : p - k + c]
                )
        self._acf = {first + m_full - 2 + i: acf[m_full + i].copy() for i in range(2)}
        r = acf[:m_all] + acf[1 : m_all + 1]
        coef = _levinson(r)  # [m_all, p + 1], coef[:, 0] == 1
        coef = coef.astype(np.float32)
        return prediction_error(seg, coef, p, c)[:n]

    def _envelope(self, i0: int, i1: int) -> np.ndarray:
        """Smoothed Teager-Kaiser energy for buffer indices [i0, i1)."""
        h = self._half + 1
        lo, hi = i0 - h, i1 + h
        if lo < 0 and self._x0 > 0:
            raise RuntimeError("envelope look-back was discarded")  # step 4 keeps enough
        seg = self._r[max(lo, 0) : min(hi, self._r.size)]
        pad = (np.zeros(max(-lo, 0), np.float32), np.zeros(max(hi - self._r.size, 0), np.float32))
        seg = np.concatenate([pad[0], seg, pad[1]])
        return teager_envelope(seg, 2 * self._half + 1)

    def _search(self, start: int, stop: int) -> list[Click]:
        """Clicks with their maximum in absolute samples [start, stop) (whole chunks)."""
        cfg, x0, sep, c = self.config, self._x0, self._sep, self.chunk
        env = self._e[start - x0 : stop - x0]
        m = -(-env.size // c)
        # Percentiles per chunk (every other sample: the envelope is smooth); the last chunk
        # may be partial at the end of the signal. Rows sort in float32 (as fast again) and
        # interpolate in float64, as numpy on the float64 envelope would.
        low, mid = np.zeros(m), np.zeros(m)
        n_full = env.size // c
        q = (cfg.noise_percentile, 50.0)
        full = env[: n_full * c].reshape(n_full, c)
        if n_full:
            rows = np.sort(full[:, ::2], axis=1).astype(np.float64)
            low[:n_full], mid[:n_full] = row_percentiles(rows, q, presorted=True)
        if m > n_full:
            low[-1], mid[-1] = np.percentile(env[n_full * c :: 2], q)
        # Spread, not level: a tone in the band lifts the level, barely the spread.
        spread = np.maximum(mid - low, 1e-30)
        factor = 10 ** (cfg.threshold_db / 10)
        # A float32 bound a little below each chunk's threshold finds every candidate in one
        # cheap pass; the exact float64 test then runs on those few samples only.
        bound = ((mid + factor * spread) * (1 - 1e-6)).astype(np.float32)
        cand = np.flatnonzero((full >= bound[:n_full, None]).reshape(-1))
        if m > n_full:
            tail = np.flatnonzero(env[n_full * c :] >= bound[-1]) + n_full * c
            cand = np.concatenate([cand, tail])
        chunk = cand // c
        excess = (env[cand].astype(np.float64) - mid[chunk]) / spread[chunk]
        cand, excess = cand[excess >= factor], excess[excess >= factor]
        if cand.size == 0:
            return []
        lo = start - sep - x0
        padded = self._e[max(lo, 0) : min(stop + sep - x0, self._e.size)]
        edge = (np.full(max(-lo, 0), -1.0), np.full(sep * 2, -1.0))  # float32 like the envelope
        padded = np.concatenate([edge[0], padded, edge[1]], dtype=np.float32)
        windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * sep + 1)
        local = env[cand] >= windows[cand].max(axis=1)
        cand, excess = cand[local], excess[local]
        local = windows[cand, :sep].max(axis=1) < env[cand]  # plateau: the earlier one
        cand, excess = cand[local], excess[local]
        # Band-passed peak within +-sep (indices clipped to the buffer repeat in-window samples).
        near = np.clip((cand + start - x0)[:, None] + np.arange(-sep, sep + 1), 0, self._y.size - 1)
        peaks = np.abs(self._y[near]).max(axis=1) if cand.size else np.zeros(0)
        amps = (20 * np.log10(np.maximum(peaks, 1e-12))).tolist()
        snrs = (10 * np.log10(excess)).tolist()
        picked = []
        for i, amp, snr in zip(cand.tolist(), amps, snrs, strict=True):
            n = start + i
            self._recent = [(m, a) for m, a in self._recent if n - m <= self._echo]
            if any(a >= amp + cfg.echo_db for _, a in self._recent):
                continue  # an echo of a recent, stronger click
            self._recent.append((n, amp))
            picked.append((n, amp, snr))
        return self._features(picked) if picked else []

    def _features(self, picked: list[tuple[int, float, float]]) -> list[Click]:
        sr, w, x0 = self.sample_rate, self._win, self._x0
        idx = np.array([p[0] for p in picked])
        # Raw samples centred on each click; zeros outside the buffer.
        at = (idx - w // 2 - x0)[:, None] + np.arange(w)
        inside = (at >= 0) & (at < self._x.size)
        segs = np.where(inside, self._x[np.clip(at, 0, self._x.size - 1)], 0.0)
        n_fft = 4 * w
        spec = scipy.fft.rfft(segs * self._hann, n=n_fft, axis=1)
        power = np.where(self._band, spec.real**2 + spec.imag**2, 0.0)
        rows = np.arange(idx.size)
        peak = np.argmax(power, axis=1)
        pmax = power[rows, peak]
        f = self._freqs
        centroid = np.sum(power * f, axis=1) / np.maximum(power.sum(axis=1), 1e-300)
        l3, r3 = _band_edges(power >= pmax[:, None] / 2, peak)
        l10, r10 = _band_edges(power >= pmax[:, None] / 10, peak)
        # Band-limited analytic envelope of the unwindowed segment, 4x interpolated.
        raw = scipy.fft.fft(segs, axis=1)
        fr = np.abs(np.fft.fftfreq(w, 1.0 / sr))
        keep = (fr >= self.low_hz) & (fr <= self.high_hz) & (np.fft.fftfreq(w) > 0)
        analytic = np.zeros((idx.size, n_fft), complex)
        pos = np.flatnonzero(keep)
        analytic[:, pos] = 2 * raw[:, pos]
        env = np.abs(scipy.fft.ifft(analytic, axis=1))
        centre = np.argmax(env[:, n_fft // 2 - 8 : n_fft // 2 + 9], axis=1) + n_fft // 2 - 8
        emax = env[rows, centre]
        le, re = _band_edges(env >= emax[:, None] / np.sqrt(10), centre)
        df = f[1] - f[0]
        # Whole columns to Python floats at once: the same values as element by element.
        columns = zip(
            f[peak].tolist(),
            centroid.tolist(),
            ((r3 - l3 + 1) * df).tolist(),
            ((r10 - l10 + 1) * df).tolist(),
            f[l10].tolist(),
            f[r10].tolist(),
            ((re - le + 1) / (4 * sr)).tolist(),
            strict=True,
        )
        return [
            Click(
                time_s=float(n / sr),
                peak_hz=peak_hz,
                centroid_hz=centroid_hz,
                bandwidth_3db_hz=bw3,
                bandwidth_10db_hz=bw10,
                low_hz=low_hz,
                high_hz=high_hz,
                duration_s=duration_s,
                amplitude_db=float(amp),
                snr_db=float(snr),
            )
            for (n, amp, snr), (
                peak_hz,
                centroid_hz,
                bw3,
                bw10,
                low_hz,
                high_hz,
                duration_s,
            ) in zip(picked, columns, strict=True)
        ]


def detect_clicks(
    x: np.ndarray,
    *,
    sample_rate: int,
    config: ClickDetectorConfig | None = None,
    channel: int = 0,
) -> list[Click]:
    """Detect echolocation clicks and burst-pulse pulses in a recording (offline).

    Parameters
    ----------
    x : np.ndarray, shape [T] or [C, T]
        Signal, full scale 1.
    sample_rate : int
        Hz.
    config : ClickDetectorConfig, optional
        Detector settings (see the module docstring).
    channel : int
        0-based channel used when ``x`` has several.

    Returns
    -------
    list of Click
        In time order; identical to :class:`ClickDetector` fed the signal in any blocks.
    """
    detector = ClickDetector(sample_rate=sample_rate, config=config, channel=channel)
    return detector.process(x) + detector.flush()
