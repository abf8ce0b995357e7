"""Whistle contour extraction: spectral peaks tracked across frames (a silbido-style tracker).

Algorithm
---------
1. STFT of one channel: Hann frames of ``frame_s`` (8 ms) every ``hop_s`` (2.5 ms), no padding;
   frame ``k`` covers samples ``[k * hop, k * hop + n_fft)`` and is stamped at its centre.
2. Noise per frequency bin: the median over the last ``noise_chunks`` chunks of each chunk's
   (``noise_window_s``) median log power -- silbido's spectral means subtraction made robust to
   the whistles themselves. A cell's SNR is its log power minus that level.
3. Peaks: local maxima across frequency with SNR >= ``peak_snr_db`` in ``fmin_hz``-``fmax_hz``,
   refined by parabolic interpolation. Dropped: peaks in sub-bands (``broadband_hz``) more than
   ``broadband_fraction`` above threshold (clicks, snaps), peaks with ``comb_peaks`` or more
   peaks within +-``comb_hz`` (the spectral comb of burst pulses and buzzes), and peaks at 2x or
   3x (+-1 bin) a lower peak of the same frame that is not ``harmonic_snr_db`` weaker.
4. Tracking: a track predicts its next frequency from its slope over ``slope_frames`` frames;
   peaks go to tracks greedily by prediction error plus ``gap_cost_hz`` per frame the track
   missed (within ``max_jump_hz`` + ``jump_per_gap_hz`` per missed frame), which keeps crossing
   whistles on their slope-consistent continuations; unclaimed peaks of at least
   ``start_snr_db`` start tracks; a track ends after ``max_gap_s`` without a peak. This
   per-frame loop is compiled (:mod:`dolphin.detect.track_kernel`).
5. A finished track is trimmed to its first and last runs of ``min_run_frames`` peaks and kept
   when it lasts >= ``min_duration_s``, has peaks in >= ``min_fill`` of its frames, spans
   >= ``min_bandwidth_hz`` and has mean SNR >= ``min_mean_snr_db``. Once no active track
   overlaps it, it is dropped when ``harmonic_overlap`` of it lies (within ``harmonic_tol``) at
   2x or 3x another finished track, or at 1x a stronger one up to ``max_echo_s`` earlier or
   later (an echo or duplicate). Gaps inside a contour are filled by linear interpolation.

:func:`whistle_events` turns contours into whistle events, joining fragments and repeated loops.

Streaming
---------
:class:`WhistleTracker` holds the state (sample buffer, chunk medians, active and pending
tracks); :func:`track_whistles` is that tracker fed the whole signal in one block and flushed.
Frames are always processed a whole chunk at a time, so any block sizes give the same contours
as the offline function, bit for bit. Latency: one chunk plus ``max_gap_s``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft
import scipy.signal

from dolphin.annotations import WHISTLE, Contour, Event
from dolphin.audio.spectral import parabolic_offset
from dolphin.detect.order_stats import row_median
from dolphin.detect.track_kernel import AssociationRule, TrackState, associate


def _mono(block, channel: int) -> np.ndarray:
    """Samples of one channel of a block (array [N] or [C, N], or an audio Block), float32."""
    x = np.asarray(getattr(block, "new_samples", block), dtype=np.float32)
    if x.ndim == 2:
        x = x[channel]
    if x.ndim != 1:
        raise ValueError(f"block must be [N] or [C, N], got shape {x.shape}")
    return x


#: Overlapping contours closer than this (median, Hz) are pieces of one whistle.
_DUPLICATE_HZ = 1000.0
#: Contours this close in time (s) with overlapping ranges are pieces of one whistle; further
#: apart (up to ``max_loop_gap_s``) they must also share duration and shape to be its loops.
_FRAGMENT_GAP_S = 0.06


@dataclass
class WhistleTrackerConfig:
    """Settings of the whistle contour tracker (defaults tuned on synthetic 96 kHz scenes)."""

    fmin_hz: float = 2000.0  # lowest whistle fundamental searched; below it vessels and flow noise
    fmax_hz: float = 30000.0  # highest fundamental (spotted dolphins reach ~29 kHz); <= 0.45 x rate
    frame_s: float = 0.008  # STFT window (8 ms as silbido: ~125 Hz bins, sweeps barely smeared)
    hop_s: float = 0.0025  # frame advance; 2.5 ms follows fast sweeps and keeps tracking cheap
    noise_window_s: float = 0.5  # chunk over which the per-bin median noise level is taken
    noise_chunks: int = 5  # noise = median of 5 chunk medians (2.5 s): flat whistles can't bias it
    peak_snr_db: float = 9.0  # a spectral peak must stand this far above the bin's noise level
    broadband_hz: float = 4000.0  # sub-band width over which broadband (click) energy is judged
    broadband_fraction: float = 0.5  # sub-bands this full above threshold are clicks, not whistles
    comb_hz: float = 3000.0  # half-width of the window in which dense peaks form a pulse comb
    comb_peaks: int = 4  # this many peaks within +-comb_hz are a burst-pulse comb, not a whistle
    harmonic_tol: float = 0.02  # relative distance to 2x/3x a lower peak that marks a harmonic
    harmonic_snr_db: float = 3.0  # a harmonic's SNR exceeds its fundamental's by at most this
    start_snr_db: float = 12.0  # only peaks this strong start tracks; weaker ones only extend
    max_jump_hz: float = 400.0  # largest distance from the slope prediction, one frame ahead
    jump_per_gap_hz: float = 100.0  # extra tolerance per missed frame (prediction drifts)
    slope_frames: int = 5  # frames back over which a track's local slope is measured
    max_gap_s: float = 0.03  # a track survives this long without peaks (crossings, fades)
    min_duration_s: float = 0.1  # shorter tracks are noise or fragments
    min_bandwidth_hz: float = 200.0  # flat lines (vessel or instrument tonals) are not whistles
    min_mean_snr_db: float = 11.0  # weak tracks stitched from noise peaks are dropped
    min_run_frames: int = 3  # track ends are trimmed back to runs of this many consecutive peaks
    min_fill: float = 0.5  # share of a track's frames that must hold a peak (not interpolated)
    harmonic_overlap: float = 0.5  # share of a track at k x another's frequency to drop it
    max_echo_s: float = 0.02  # a weaker copy of a track delayed up to this much is an echo
    gap_cost_hz: float = 50.0  # association penalty per missed frame: recent tracks win peaks


@dataclass
class WhistleContour:
    """One extracted whistle contour.

    Attributes
    ----------
    contour : Contour
        Fundamental frequency (Hz) every hop from first to last peak (gaps interpolated).
    snr_db : np.ndarray, shape [N]
        SNR of each point in dB (NaN where the point was interpolated across a gap).
    score : float
        Confidence in [0, 1], a logistic function of the mean SNR and of the duration.
    """

    contour: Contour
    snr_db: np.ndarray
    score: float

    @property
    def start_s(self) -> float:
        """Time of the first point, in seconds."""
        return float(self.contour.times_s[0])

    @property
    def end_s(self) -> float:
        """Time of the last point, in seconds."""
        return float(self.contour.times_s[-1])

    @property
    def mean_snr_db(self) -> float:
        """Mean SNR of the observed points, in dB."""
        return float(np.nanmean(self.snr_db))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WhistleContour):
            return NotImplemented
        return (
            self.contour == other.contour
            and np.array_equal(self.snr_db, other.snr_db, equal_nan=True)
            and self.score == other.score
        )


class _Track:
    """A track's peaks: frame indices, frequencies (Hz) and SNRs (dB), in time order."""

    __slots__ = ("frames", "freqs", "snrs")

    def __init__(self) -> None:
        self.frames: list[int] = []
        self.freqs: list[float] = []
        self.snrs: list[float] = []


def _trim(track: _Track, min_run: int) -> None:
    """Cut a track's ends back to the first and last runs of ``min_run`` consecutive frames."""
    frames = track.frames
    runs = np.flatnonzero(np.diff(frames) != 1) + 1
    starts = np.concatenate([[0], runs])
    ends = np.concatenate([runs, [len(frames)]])
    good = np.flatnonzero(ends - starts >= min_run)
    if good.size == 0:
        track.frames, track.freqs, track.snrs = [], [], []
        return
    i, j = int(starts[good[0]]), int(ends[good[-1]])
    track.frames, track.freqs, track.snrs = frames[i:j], track.freqs[i:j], track.snrs[i:j]


class WhistleTracker:
    """Streaming whistle contour tracker with explicit state.

    Parameters
    ----------
    sample_rate : int
        Sample rate of the blocks, in Hz.
    config : WhistleTrackerConfig, optional
        Tracker settings; defaults when omitted.
    channel : int
        0-based channel tracked when blocks have several channels.

    Examples
    --------
    >>> tracker = WhistleTracker(sample_rate=96000)  # doctest: +SKIP
    >>> for block in reader:  # doctest: +SKIP
    ...     contours += tracker.process(block)
    >>> contours += tracker.flush()  # doctest: +SKIP
    """

    def __init__(
        self, *, sample_rate: int, config: WhistleTrackerConfig | None = None, channel: int = 0
    ) -> None:
        cfg = config or WhistleTrackerConfig()
        self.config, self.sample_rate, self.channel = cfg, int(sample_rate), int(channel)
        self.n_fft = max(16, int(round(cfg.frame_s * sample_rate)))
        self.hop = max(1, int(round(cfg.hop_s * sample_rate)))
        self.chunk_frames = max(8, int(round(cfg.noise_window_s / cfg.hop_s)))
        df = sample_rate / self.n_fft
        fmax = min(cfg.fmax_hz, 0.45 * sample_rate)
        self._b0 = max(1, int(np.ceil(cfg.fmin_hz / df)))
        self._b1 = min(self.n_fft // 2 - 1, int(np.floor(fmax / df)))
        if self._b1 - self._b0 < 2:
            raise ValueError(f"band {cfg.fmin_hz}-{fmax} Hz is too narrow for n_fft={self.n_fft}")
        self._df = df
        self._window = scipy.signal.get_window("hann", self.n_fft).astype(np.float32)
        self._max_gap = max(1, int(round(cfg.max_gap_s / cfg.hop_s)))
        self._rule = AssociationRule(
            max_gap=self._max_gap,
            max_jump_hz=cfg.max_jump_hz,
            jump_per_gap_hz=cfg.jump_per_gap_hz,
            gap_cost_hz=cfg.gap_cost_hz,
            start_snr_db=cfg.start_snr_db,
        )
        self._echo_lag = int(round(cfg.max_echo_s / cfg.hop_s))
        self._broadband_bins = max(4, int(round(cfg.broadband_hz / df)))
        self._comb_bins = max(1, int(round(cfg.comb_hz / df)))
        # Harmonic check: band bin i (from b0) lies at 2x / 3x bin fund[i]; bins from `first` on
        # have a fundamental inside the band (fund rises with i).
        n_bins = self._b1 - self._b0 + 1
        self._harmonics = []
        for k in (2, 3):
            fund = np.round((np.arange(n_bins) + self._b0) / k).astype(int) - self._b0
            first = int(np.argmax(fund >= 0)) if (fund >= 0).any() else n_bins
            self._harmonics.append((first, fund[first:]))
        self.reset()

    def reset(self) -> None:
        """Forget everything: the next sample is time 0 of a new signal."""
        self._buf = np.zeros(0, np.float32)
        self._buf_start = 0  # absolute index of self._buf[0]
        self._next_frame = 0  # first frame not yet processed
        self._medians: list[np.ndarray] = []  # per-chunk median log power of the band bins
        self._state = TrackState.empty(self.config.slope_frames + 1)  # active tracks, compiled
        self._tracks: dict[int, _Track] = {}  # the active tracks' points, by kernel id
        self._pending: list[_Track] = []  # finished, valid, waiting for the harmonic check
        self._released: list[_Track] = []  # recently emitted, kept for the harmonic check

    # --- public API ---------------------------------------------------------------------------

    def process(self, block: np.ndarray) -> list[WhistleContour]:
        """Feed the next samples; return the contours finished so far.

        Parameters
        ----------
        block : np.ndarray, shape [N] or [C, N], or dolphin.audio.Block
            Next samples (a :class:`~dolphin.audio.Block` contributes its ``new_samples``).

        Returns
        -------
        list of WhistleContour
            Contours that can no longer change, in order of completion.
        """
        x = _mono(block, self.channel)
        drop = self._next_frame * self.hop - self._buf_start  # samples no frame needs any more
        self._buf = np.concatenate([self._buf[drop:], x]) if self._buf.size else x
        self._buf_start += drop
        out: list[WhistleContour] = []
        while self._frames_available() >= self.chunk_frames:
            out += self._run_chunk(self.chunk_frames)
        if np.may_share_memory(self._buf, x):  # keep a copy of the tail, not a view of the block
            drop = self._next_frame * self.hop - self._buf_start
            self._buf, self._buf_start = self._buf[drop:].copy(), self._buf_start + drop
        return out

    def flush(self) -> list[WhistleContour]:
        """Process the remaining complete frames, end every track and reset the state.

        Returns
        -------
        list of WhistleContour
            The remaining contours.
        """
        out: list[WhistleContour] = []
        n = self._frames_available()
        if n > 0:
            out += self._run_chunk(n)
        for track in self._active:
            self._finish(track)
        # _finish may trim a track to nothing: none may stay active for _release to look at.
        self._state.n, self._tracks = 0, {}
        out += self._release(final=True)
        self.reset()
        return out

    @property
    def horizon_s(self) -> float:
        """Time (s) before which no contour returned from now on can start.

        Later contours come from pending or active tracks or from frames not yet processed,
        and trimming only moves a track's start later.
        """
        first = min(
            [self._next_frame]
            + [t.frames[0] for t in self._active]
            + [t.frames[0] for t in self._pending]
        )
        return (first * self.hop + self.n_fft / 2) / self.sample_rate

    # --- internals ----------------------------------------------------------------------------

    @property
    def _active(self) -> list[_Track]:
        """The active tracks, in the kernel's order."""
        return [self._tracks[i] for i in self._state.ids[: self._state.n].tolist()]

    def _frames_available(self) -> int:
        n_samples = self._buf_start + self._buf.size
        if n_samples < self.n_fft:
            return 0
        return (n_samples - self.n_fft) // self.hop + 1 - self._next_frame

    def _spectrum(self, n_frames: int) -> np.ndarray:
        """SNR in dB of the band bins (one guard bin each side), shape [n_frames, F + 2].

        Frame-major, as the FFT writes it: every later step reads whole frames contiguously.
        """
        i0 = self._next_frame * self.hop - self._buf_start
        frames = np.lib.stride_tricks.sliding_window_view(self._buf[i0:], self.n_fft)
        frames = frames[: (n_frames - 1) * self.hop + 1 : self.hop]
        spec = scipy.fft.rfft(frames * self._window, axis=-1)[:, self._b0 - 1 : self._b1 + 2]
        db = np.square(spec.real)  # in place from here: 10 log10(re^2 + im^2 + 1e-20)
        db += np.square(spec.imag)
        db += 1e-20
        db = np.log10(db, out=db)
        db *= 10.0
        self._medians.append(row_median(db[::2].T))  # every other frame is enough
        recent = self._medians[-self.config.noise_chunks :]
        self._medians = recent
        noise = recent[0] if len(recent) == 1 else np.median(np.stack(recent), axis=0)
        db -= noise
        return db

    def _peaks(self, snr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Frames and band bins of one chunk's whistle peaks (step 3), in frame-major order.

        Only the local maxima and the broadband sub-band counts need every cell; the peaks are
        a few per frame, so the comb and harmonic tests run on the list of peaks.
        """
        cfg = self.config
        centre = snr[:, 1:-1]
        above = centre >= cfg.peak_snr_db
        is_peak = above & (centre > snr[:, :-2]) & (centre >= snr[:, 2:])
        n_bins = centre.shape[1]
        frames, rows = np.divmod(np.flatnonzero(is_peak), n_bins)  # 7x faster than np.nonzero
        # Clicks fill whole sub-bands (the last one counted as if full width).
        width = self._broadband_bins
        count = np.add.reduceat(above, np.arange(0, n_bins, width), axis=1, dtype=np.intp)
        keep = ~(count[frames, rows // width] / width > cfg.broadband_fraction)
        frames, rows = frames[keep], rows[keep]
        # Pulse trains draw combs: this many peaks of the frame within +-comb_bins (itself
        # included). Keys sort like (frame, bin) and never reach a neighbouring frame's bins.
        comb = self._comb_bins
        key = frames * (n_bins + 2 * comb + 1) + rows
        near = np.searchsorted(key, key + comb, side="right") - np.searchsorted(key, key - comb)
        keep = near < cfg.comb_peaks
        frames, rows = frames[keep], rows[keep]
        # A peak at 2x or 3x a comparably strong lower peak (+-1 bin) is a harmonic.
        level = centre[frames, rows]
        strong = np.full((snr.shape[0], n_bins + 2), -np.inf, np.float32)
        strong[frames, rows + 1] = level  # column j + 1 holds band bin j
        keep = np.ones(frames.size, bool)
        for lo, fund in self._harmonics:
            sel = np.flatnonzero(rows >= lo)
            f, col = fund[rows[sel] - lo], frames[sel]
            near = np.maximum(np.maximum(strong[col, f], strong[col, f + 1]), strong[col, f + 2])
            keep[sel] &= near < level[sel] - cfg.harmonic_snr_db
        return frames[keep], rows[keep]

    def _run_chunk(self, n_frames: int) -> list[WhistleContour]:
        snr = self._spectrum(n_frames)
        first = self._next_frame
        self._next_frame += n_frames
        frames, rows = self._peaks(snr)
        a, b, c = snr[frames, rows], snr[frames, rows + 1], snr[frames, rows + 2]
        delta = parabolic_offset(a, b, c)
        freqs = (rows + self._b0 + delta) * self._df
        snrs = (b - 0.25 * (a - c) * delta).astype(np.float64)
        frames = frames + first
        may_start = b >= self.config.start_snr_db
        last = first + n_frames - 1
        owner, ended = associate(self._state, frames, freqs, snrs, may_start, last, self._rule)
        # Points go to their tracks' lists a track at a time (peaks sorted by owner, stable).
        claimed = np.flatnonzero(owner >= 0)
        claimed = claimed[np.argsort(owner[claimed], kind="stable")]
        ids = owner[claimed]
        cuts = np.flatnonzero(np.diff(ids)) + 1
        frames, freqs, snrs = (
            frames[claimed].tolist(),
            freqs[claimed].tolist(),
            snrs[claimed].tolist(),
        )
        for i, j in zip([0, *cuts.tolist()], [*cuts.tolist(), ids.size], strict=True):
            if i == j:
                continue
            track = self._tracks.get(int(ids[i]))
            if track is None:
                track = self._tracks[int(ids[i])] = _Track()
            track.frames += frames[i:j]
            track.freqs += freqs[i:j]
            track.snrs += snrs[i:j]
        for track_id in ended.tolist():
            self._finish(self._tracks.pop(track_id))
        return self._release(final=False)

    def _finish(self, track: _Track) -> None:
        """Trim an ended track and keep it (pending the harmonic check) if it is a whistle."""
        cfg = self.config
        min_span = cfg.min_duration_s * self.sample_rate / self.hop  # frames
        if track.frames[-1] - track.frames[0] < min_span:
            return  # cheap early exit for the many short noise tracks
        _trim(track, cfg.min_run_frames)
        if (
            track.frames
            and track.frames[-1] - track.frames[0] >= min_span
            and len(track.frames) >= cfg.min_fill * (track.frames[-1] - track.frames[0] + 1)
            and max(track.freqs) - min(track.freqs) >= cfg.min_bandwidth_hz
            and sum(track.snrs) / len(track.snrs) >= cfg.min_mean_snr_db
        ):
            self._pending.append(track)

    def _release(self, *, final: bool) -> list[WhistleContour]:
        """Emit pending tracks that no active track overlaps, minus harmonics and duplicates."""
        horizon = min((t.frames[0] for t in self._active), default=None)
        ready = [t for t in self._pending if final or horizon is None or t.frames[-1] < horizon]
        if not ready:
            return []
        others = self._pending + self._released
        out = []
        for track in ready:
            if not any(q is not track and self._is_harmonic(track, q) for q in others):
                out.append(self._to_contour(track))
                self._released.append(track)
        self._pending = [t for t in self._pending if all(t is not r for r in ready)]
        oldest = min((t.frames[0] for t in self._pending), default=None)
        self._released = [
            t for t in self._released if oldest is not None and t.frames[-1] >= oldest
        ]
        return out

    def _is_harmonic(self, track: _Track, other: _Track) -> bool:
        """True when most of ``track`` lies at 2x/3x ``other``, or on a weaker (delayed) copy."""
        lag = self._echo_lag
        if other.frames[0] > track.frames[-1] + lag or other.frames[-1] < track.frames[0] - lag:
            return False
        f1, frames = np.asarray(track.freqs), np.asarray(track.frames)
        tol = self.config.harmonic_tol * f1
        need = self.config.harmonic_overlap * f1.size
        weaker = np.mean(track.snrs) < np.mean(other.snrs)
        ratios = (1.0, 2.0, 3.0) if weaker else (2.0, 3.0)
        for shift in range(-lag, lag + 1):  # echoes arrive up to max_echo_s late
            f2 = np.interp(frames - shift, other.frames, other.freqs, left=np.nan, right=np.nan)
            for k in ratios:
                if np.count_nonzero(np.abs(f1 - k * f2) <= k * tol) >= need:
                    return True
        return False

    def _to_contour(self, track: _Track) -> WhistleContour:
        frames = np.arange(track.frames[0], track.frames[-1] + 1)
        freqs = np.interp(frames, track.frames, track.freqs)
        snr = np.full(frames.size, np.nan)
        snr[np.asarray(track.frames) - track.frames[0]] = track.snrs
        times = (frames * self.hop + self.n_fft / 2) / self.sample_rate
        mean_snr = float(np.mean(track.snrs))
        duration = (frames[-1] - frames[0]) * self.hop / self.sample_rate
        logit = (mean_snr - self.config.min_mean_snr_db - 3.0) / 3.0 + 4.0 * (duration - 0.15)
        return WhistleContour(Contour(times, freqs), snr, float(1.0 / (1.0 + np.exp(-logit))))


def track_whistles(
    x: np.ndarray,
    *,
    sample_rate: int,
    config: WhistleTrackerConfig | None = None,
    channel: int = 0,
) -> list[WhistleContour]:
    """Extract whistle contours from a recording (offline).

    Parameters
    ----------
    x : np.ndarray, shape [T] or [C, T]
        Signal, full scale 1.
    sample_rate : int
        Hz.
    config : WhistleTrackerConfig, optional
        Tracker settings (see the module docstring).
    channel : int
        0-based channel tracked when ``x`` has several.

    Returns
    -------
    list of WhistleContour
        Contours sorted by start time, identical to :class:`WhistleTracker` fed any blocks.
    """
    tracker = WhistleTracker(sample_rate=sample_rate, config=config, channel=channel)
    found = tracker.process(x) + tracker.flush()
    return sorted(found, key=lambda w: (w.start_s, float(w.contour.freqs_hz[0])))


def _same_whistle(a: WhistleContour, b: WhistleContour, max_gap_s: float) -> bool:
    """``b`` (starting after ``a`` starts) continues ``a``: a later loop or an overlapping piece."""
    ca, cb = a.contour, b.contour
    gap = b.start_s - a.end_s
    if gap >= 0:  # a fragment (short gap, continuing) or a repeated loop (same shape)
        if gap <= _FRAGMENT_GAP_S:  # jumps of up to 1 kHz + 150 kHz/s (fast sweeps) bridged
            return abs(cb.freqs_hz[0] - ca.freqs_hz[-1]) <= 1000.0 + 150e3 * gap
        if gap > max_gap_s or cb.freqs_hz.min() > ca.freqs_hz.max():
            return False
        if ca.freqs_hz.min() > cb.freqs_hz.max():
            return False
        da, db = ca.duration_s, cb.duration_s
        if max(da, db) > 1.4 * min(da, db):
            return False
        u = np.linspace(0.0, 1.0, 32)
        fa = np.interp(ca.times_s[0] + u * da, ca.times_s, ca.freqs_hz)
        fb = np.interp(cb.times_s[0] + u * db, cb.times_s, cb.freqs_hz)
        return bool(np.median(np.abs(fa - fb)) <= 0.1 * np.mean(fa))
    inside = cb.times_s <= ca.times_s[-1]  # overlapping in time: the same frequencies there
    f_a = np.interp(cb.times_s[inside], ca.times_s, ca.freqs_hz)
    return bool(np.median(np.abs(cb.freqs_hz[inside] - f_a)) <= _DUPLICATE_HZ)


def whistle_events(
    contours: list[WhistleContour],
    *,
    max_loop_gap_s: float = 0.3,
    margin_hz: float = 300.0,
    channel: int = 1,
) -> list[Event]:
    """Group contours into whistle events (the loops of a multi-loop whistle become one event).

    A contour joins an event when it starts after one of the event's contours ends, either
    within 60 ms near where that one ended (1 kHz + 150 kHz/s of gap: a fragment), or within
    ``max_loop_gap_s`` with overlapping frequency ranges, a similar duration (x1.4) and shape
    (median distance 10 %: a repeated loop); or when it overlaps one in time at a median
    distance of at most 1 kHz (a piece of it). Crossing whistles, which overlap at different
    frequencies, stay separate events.

    Parameters
    ----------
    contours : list of WhistleContour
        Tracker output.
    max_loop_gap_s : float
        Longest silent gap between the loops of one whistle, in seconds.
    margin_hz : float
        Added below and above the contour range to give the event band, in Hz (as the scenes).
    channel : int
        1-based channel written into the events.

    Returns
    -------
    list of Event
        ``label`` whistle, ``contour`` holding all loops, ``score`` the best loop's score,
        ``snr_db`` the mean point SNR and ``extra["Loops"]`` the number of contours joined.
    """
    groups: list[list[WhistleContour]] = []
    for w in sorted(contours, key=lambda w: w.start_s):
        for group in reversed(groups):
            if any(_same_whistle(m, w, max_loop_gap_s) for m in group):
                group.append(w)
                break
        else:
            groups.append([w])
    return [group_event(group, margin_hz=margin_hz, channel=channel) for group in groups]


def group_event(group: list[WhistleContour], *, margin_hz: float, channel: int) -> Event:
    """The whistle event of a group of contours (see :func:`whistle_events`)."""
    times = np.concatenate([w.contour.times_s for w in group])
    order = np.argsort(times, kind="stable")
    times, keep = np.unique(times[order], return_index=True)  # overlapping fragments
    freqs = np.concatenate([w.contour.freqs_hz for w in group])[order][keep]
    snr = np.concatenate([w.snr_db for w in group])[order][keep]
    return Event(
        start_s=float(times[0]),
        end_s=float(times[-1]),
        low_hz=max(float(freqs.min()) - margin_hz, 0.0),
        high_hz=float(freqs.max()) + margin_hz,
        label=WHISTLE,
        channel=channel,
        score=max(w.score for w in group),
        snr_db=float(np.nanmean(snr)),
        contour=Contour(times, freqs),
        extra={"Loops": str(len(group))},
    )
