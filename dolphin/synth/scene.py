"""Labelled synthetic scenes: background noise plus whistles and pulsed sounds mixed at set SNRs.

Conventions
-----------
Bands. A whistle's band is its fundamental contour's minimum and maximum frequency widened by
:data:`WHISTLE_MARGIN_HZ` on each side; harmonics do not count (they lie above the band, except
where a contour spans more than an octave). A pulsed event's band (click train, burst pulse,
buzz) is the -10 dB band of its click's power spectrum as rendered, i.e. after band-limiting
below Nyquist (see :mod:`dolphin.synth.sounds`).

Times. An event runs from its first sample to the end of its last echo (echoes add at most
15 ms). A whistle's contour holds its direct path only, in scene time, all loops in one contour.
A pulsed event runs from 0.2 ms before its first pulse to 0.2 ms after its last pulse's last
echo.

SNR. ``snr_db = 10 log10(P_event / P_noise)``, where both are mean powers inside the event's
band (an FFT brick-wall band-pass of the span, tapered outside it; see
:func:`dolphin.synth.snr.band_power`) and ``P_noise`` is the background's power over the event's
whole time span on channel 1. For a whistle ``P_event`` is taken over the whole span as well
(loop gaps included). For a pulsed event ``P_event`` is taken over 0.4 ms windows
(``PULSE_WINDOW_S``) centred on its pulses, so the SNR describes each pulse, not the sparse
train (a 10 dB click is 10 dB above the noise in the 0.4 ms around it;
:attr:`Scene.pulse_times_s` gives the pulse times). The mixer scales each event so that this
holds exactly for its stem against the background; in the mixture the
measured value differs only by the event-noise cross term.

Overlap. Two whistles never overlap in time (with a 50 ms guard) when the label band of one meets
the label band or a harmonic band of the other; two pulsed events never overlap in time (clicks
are broadband). A whistle may overlap a pulsed event when ``overlap_tonal_pulsed`` is set, as in
real groups; otherwise it may not. Events that find no free place after 20 tries are dropped and
counted in :attr:`Scene.dropped`.

Identities. The individuals and whistle types come from ``population_seed``, so every file of a
dataset shares them; events and noise come from ``seed``. Signature whistles come in bouts of 2-6
renditions of the emitter's signature type, 1-10 s apart (end of one to start of the next).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from dolphin.annotations import BURST_PULSE, BUZZ, CLICK_TRAIN, WHISTLE, Event
from dolphin.errors import ConfigError
from dolphin.synth import background, sounds
from dolphin.synth.contours import Individual, WhistleType, make_population, render_rendition
from dolphin.synth.sigwi import load_sigwi_contours
from dolphin.synth.snr import PULSE_WINDOW_S, band_passed, window_mask

#: Margin added on each side of a whistle's fundamental range to give its label band, in Hz.
WHISTLE_MARGIN_HZ = 300.0
SUBTYPES = ("PCM_16", "PCM_24", "PCM_32", "FLOAT")


@dataclass
class SceneConfig:
    """Settings of the synthetic scene generator (a Hydra structured config)."""

    sample_rate: int = 96000  # Hz; field recorders use 96-192 kHz, 16-500 kHz accepted
    duration_s: float = 60.0  # length of one scene (one file), seconds
    n_channels: int = 1  # hydrophones; channels 2+ get each event with a small delay and gain
    seed: int = 0  # seed of events and noise; dataset file i derives its seed from it
    population_seed: int = 0  # seed of individuals and whistle types, shared by all files
    n_individuals: int = 4  # animals present, each with its own signature whistle
    n_shared_types: int = 4  # non-signature whistle types any individual may produce
    signature_bout_rate_per_min: float = 1.0  # bouts of 2-6 signature whistles 1-10 s apart
    whistle_rate_per_min: float = 4.0  # non-signature whistles of the shared types
    sigwi_whistle_rate_per_min: float = 4.0  # whistles rendered from real SIGWI contours
    burst_pulse_rate_per_min: float = 2.0  # burst-pulse sounds (IPI 0.5-10 ms)
    click_train_rate_per_min: float = 3.0  # echolocation click trains (ICI 20-200 ms)
    buzz_rate_per_min: float = 1.0  # terminal buzzes (ICI falling from ~10 to ~2 ms)
    snr_db_min: float = 0.0  # each event's SNR is uniform in [min, max], dB (module docstring)
    snr_db_max: float = 30.0  # upper end of the SNR range, dB
    noise_rms: float = 0.01  # broadband RMS of the ocean noise, full scale 1 (-40 dBFS)
    noise_slope: float = 1.7  # ocean-noise PSD falls as f^-slope above 500 Hz (1.7 ~ Wenz wind)
    shrimp_rate_hz: float = 5.0  # mean snapping-shrimp snaps per second (0 = none)
    shrimp_level_db: float = 20.0  # median snap peak relative to the noise RMS, dB
    vessel_prob: float = 0.3  # chance that a vessel passes during a scene
    vessel_level_db: float = 6.0  # vessel RMS at closest approach relative to the noise RMS, dB
    echo: bool = True  # give each event a surface (inverted) and a bottom echo
    overlap_tonal_pulsed: bool = True  # whistles may overlap pulsed sounds, as in real groups
    max_tdoa_s: float = 0.001  # largest delay of an event between channels (~1.5 m spacing), s
    headroom_db: float = 1.0  # the whole scene is scaled down if its peak is closer to 0 dBFS
    subtype: str = "PCM_24"  # WAV sample format of written files
    start_utc: str = "2025-07-01T00:00:00Z"  # synthetic start time of file 0 (in file names)

    def __post_init__(self) -> None:
        def bad(name: str, rule: str) -> ConfigError:
            return ConfigError(f"SceneConfig.{name} {rule}, got {getattr(self, name)!r}")

        if not isinstance(self.sample_rate, int) or not 16000 <= self.sample_rate <= 500000:
            raise bad("sample_rate", "must be an integer between 16000 and 500000 Hz")
        for name in ("duration_s", "noise_rms"):
            if not getattr(self, name) > 0:
                raise bad(name, "must be > 0")
        for name in ("n_channels", "n_individuals"):
            if getattr(self, name) < 1:
                raise bad(name, "must be >= 1")
        rates = [name for name in self.__dataclass_fields__ if name.endswith("_per_min")]
        for name in [*rates, "n_shared_types", "shrimp_rate_hz", "max_tdoa_s", "headroom_db"]:
            if getattr(self, name) < 0:
                raise bad(name, "must be >= 0")
        if self.snr_db_min > self.snr_db_max:
            raise bad("snr_db_min", f"must be <= snr_db_max ({self.snr_db_max})")
        if not 0.0 <= self.vessel_prob <= 1.0:
            raise bad("vessel_prob", "must be in [0, 1]")
        if self.subtype not in SUBTYPES:
            raise bad("subtype", f"must be one of {SUBTYPES}")
        try:
            datetime.strptime(self.start_utc, "%Y-%m-%dT%H:%M:%SZ")
        except (TypeError, ValueError):
            raise bad("start_utc", "must look like 2025-07-01T00:00:00Z") from None


@dataclass
class Scene:
    """A rendered, labelled scene.

    Attributes
    ----------
    samples : np.ndarray, shape [C, T], float32
        The mixture.
    sample_rate : int
        Hz.
    events : list of Event
        Labels sorted by start time (channel 1; see the module docstring for conventions).
    noise : np.ndarray, shape [C, T], float32
        The background alone, with the same gain as ``samples``.
    pulse_times_s : list of np.ndarray or None
        Per event (same order), pulse centre times in scene seconds for pulsed events.
    gain : float
        Linear gain applied to the whole scene to keep the headroom (1.0 when none was needed).
    seed : int
        Seed of events and noise.
    dropped : dict of str to int
        Events per class that found no free place.
    individuals : list of Individual
        The population the whistles come from.
    """

    samples: np.ndarray
    sample_rate: int
    events: list[Event]
    noise: np.ndarray
    pulse_times_s: list[np.ndarray | None]
    gain: float
    seed: int
    dropped: dict[str, int] = field(default_factory=dict)
    individuals: list[Individual] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return self.samples.shape[-1] / self.sample_rate


def derive_seed(seed: int, index: int) -> int:
    """Seed of file ``index`` of a dataset whose config seed is ``seed`` (independent streams)."""
    state = np.random.SeedSequence(entropy=int(seed), spawn_key=(int(index),)).generate_state(2)
    return int(state[0]) << 32 | int(state[1])


@dataclass
class _Source:
    """An event before mixing: its direct-path stem and labels (times relative to the stem)."""

    label: str
    stem: np.ndarray  # [L] float32 with echoes
    start: int  # label start, samples into the stem
    stop: int  # label end, samples into the stem
    low_hz: float
    high_hz: float
    pulses: np.ndarray | None = None  # pulse centres, samples into the stem
    event: Event | None = None
    offset: int = 0  # placement in the scene, samples
    bands: list[tuple[float, float]] = field(default_factory=list)  # label band, then harmonics


def _with_echoes(stem: np.ndarray, sr: int, rng: np.random.Generator, echo: bool) -> np.ndarray:
    if not echo:
        return stem
    # Surface echo: inverted, 0.3-3 ms later; bottom echo: weaker, 3-15 ms later.
    delays = [rng.uniform(0.3e-3, 3e-3), rng.uniform(3e-3, 15e-3)]
    gains = [-rng.uniform(0.3, 0.7), rng.uniform(0.1, 0.3)]
    return background.add_echoes(stem, sample_rate=sr, delays_s=delays, gains=gains)


def _whistle_source(contour, kind: WhistleType, individual: str | None, cfg, rng, extra):
    sr = cfg.sample_rate
    harmonics = (1.0, rng.uniform(0.1, 0.5), rng.uniform(0.02, 0.2))
    stem = sounds.render_whistle(
        contour, sample_rate=sr, harmonics=harmonics, am_depth=rng.uniform(0, 0.4), rng=rng
    )
    full = _with_echoes(stem, sr, rng, cfg.echo)
    low = max(float(contour.freqs_hz.min()) - WHISTLE_MARGIN_HZ, 0.0)
    high = min(float(contour.freqs_hz.max()) + WHISTLE_MARGIN_HZ, sr / 2)
    event = Event(
        0.0,
        0.0,
        low,
        high,
        WHISTLE,
        individual=individual,
        whistle_type=kind.type_id,
        signature=kind.signature,
        contour=contour,
        extra=extra,
    )
    bands = [(k * low, k * high) for k in range(1, len(harmonics) + 1) if k * low < sr / 2]
    return _Source(WHISTLE, full, 0, full.size, low, high, event=event, bands=bands)


def _draw_click(cfg, rng) -> sounds.Click | None:
    """Click parameters that leave a usable part of the click below Nyquist (or None)."""
    for _ in range(20):
        centre = rng.uniform(30e3, 110e3)
        duration = rng.uniform(max(8e-6, 1.0 / centre), min(72e-6, 3.0 / centre))
        click = sounds.render_click(
            sample_rate=cfg.sample_rate, centre_hz=centre, duration_s=duration
        )
        if click.in_band_db > -20.0:
            return click
    return None


def _pulse_source(label: str, cfg, rng, individual: str) -> _Source | None:
    click = _draw_click(cfg, rng)
    if click is None:
        return None
    kw = dict(
        sample_rate=cfg.sample_rate,
        rng=rng,
        centre_hz=click.centre_hz,
        click_duration_s=click.duration_s,
    )
    if label == CLICK_TRAIN:
        train = sounds.render_click_train(duration_s=rng.uniform(0.5, 4.0), **kw)
    elif label == BURST_PULSE:
        train = sounds.render_burst_pulse(duration_s=rng.uniform(0.1, 1.0), **kw)
    else:
        kw.update(ici_start_s=rng.uniform(6e-3, 10e-3), ici_end_s=rng.uniform(2e-3, 4e-3))
        train = sounds.render_buzz(duration_s=rng.uniform(0.2, 1.0), **kw)
    sr = cfg.sample_rate
    full = _with_echoes(train.samples, sr, rng, cfg.echo)
    pulses = np.round(train.pulse_times_s * sr).astype(int)
    half = int(round(PULSE_WINDOW_S * sr / 2))
    start = max(pulses[0] - half, 0)
    stop = min(pulses[-1] + half + (full.size - train.samples.size), full.size)
    event = Event(0.0, 0.0, click.low_hz, click.high_hz, label, individual=individual)
    # Clicks are broadband: for the overlap rule a pulsed event occupies the whole spectrum.
    bands = [(0.0, sr / 2)]
    return _Source(label, full, start, stop, click.low_hz, click.high_hz, pulses, event, 0, bands)


class _Timeline:
    """Occupied time spans and bands (first band = label band, then harmonics) per family."""

    def __init__(self, cfg: SceneConfig) -> None:
        self.boxes: list[tuple[str, float, float, list[tuple[float, float]]]] = []
        self.cfg = cfg

    def free(self, family: str, t0: float, t1: float, bands: list[tuple[float, float]]) -> bool:
        def meet(a: tuple[float, float], b: tuple[float, float]) -> bool:
            return a[0] < b[1] and b[0] < a[1]

        for fam, a, b, other in self.boxes:
            if not (t0 < b + 0.05 and a < t1 + 0.05):
                continue
            if fam == family:  # a label band may not meet the other's label or harmonic bands
                if any(meet(bands[0], o) for o in other) or any(meet(x, other[0]) for x in bands):
                    return False
            elif not self.cfg.overlap_tonal_pulsed:
                if any(meet(x, o) for x in bands for o in other):
                    return False
        return True

    def place(self, src: _Source, offset_s: float) -> bool:
        """Try to put ``src`` at ``offset_s``; returns False when the box is occupied."""
        sr, cfg = self.cfg.sample_rate, self.cfg
        offset = int(round(offset_s * sr))
        if offset < 0 or offset + src.stem.size > int(round(cfg.duration_s * sr)):
            return False
        fam = "tonal" if src.label == WHISTLE else "pulsed"
        t0, t1 = (offset + src.start) / sr, (offset + src.stop) / sr
        if not self.free(fam, t0, t1, src.bands):
            return False
        self.boxes.append((fam, t0, t1, src.bands))
        src.offset = offset
        return True


def _schedule(cfg: SceneConfig, rng, individuals, dropped) -> list[_Source]:
    """Draw every event, render its stem and find it a place on the timeline."""
    sr, dur, minutes = cfg.sample_rate, cfg.duration_s, cfg.duration_s / 60.0
    timeline, placed = _Timeline(cfg), []
    ceiling = 0.40 * sr / 1.07

    def put(src: _Source | None, label: str) -> bool:
        """Place ``src`` at one of 20 random times, or count it as dropped."""
        if src is not None:
            for _ in range(20):
                if timeline.place(src, rng.uniform(0, max(dur - src.stem.size / sr, 0))):
                    placed.append(src)
                    return True
        dropped[label] = dropped.get(label, 0) + 1
        return False

    for bout in range(rng.poisson(cfg.signature_bout_rate_per_min * minutes)):
        ind = individuals[int(rng.integers(len(individuals)))]
        kind = ind.signature_type
        srcs, gaps, length = [], [], 0.0
        for _ in range(int(rng.integers(2, 7))):
            contour = render_rendition(kind, rng=rng)
            extra = {"Loops": str(_n_loops(contour)), "Bout": str(bout + 1)}
            src = _whistle_source(contour, kind, ind.individual_id, cfg, rng, extra)
            gap = rng.uniform(1.0, 10.0) if srcs else 0.0
            if length + gap + src.stem.size / sr > dur:
                break  # the rest of the bout would not fit in the scene at all
            srcs.append(src)
            gaps.append(gap)
            length += gap + src.stem.size / sr
        if not srcs:
            dropped[WHISTLE] = dropped.get(WHISTLE, 0) + 1
            continue
        # Renditions follow each other 1-10 s apart; when one finds its place taken, other gaps
        # are tried, and if none works the bout ends there (the rest counted as dropped).
        at = rng.uniform(0, max(dur - length, 0))
        for k, (src, gap) in enumerate(zip(srcs, gaps, strict=True)):
            if k == 0:  # where the whole bout fits, 20 tries
                tries = [at, *rng.uniform(0, max(dur - length, 0), 19)]
            else:
                tries = [at + gap, *(at + rng.uniform(1.0, 10.0, 10))]
            if not any(timeline.place(src, t) for t in tries):
                dropped[WHISTLE] = dropped.get(WHISTLE, 0) + len(srcs) - k
                break
            placed.append(src)
            at = (src.offset + src.stem.size) / sr  # the next gap counts from here
    pulsed_rates = {
        CLICK_TRAIN: cfg.click_train_rate_per_min,
        BURST_PULSE: cfg.burst_pulse_rate_per_min,
        BUZZ: cfg.buzz_rate_per_min,
    }
    for label, rate in pulsed_rates.items():
        for _ in range(rng.poisson(rate * minutes)):
            ind = individuals[int(rng.integers(len(individuals)))]
            put(_pulse_source(label, cfg, rng, ind.individual_id), label)
    for _ in range(rng.poisson(cfg.whistle_rate_per_min * minutes)):
        ind = individuals[int(rng.integers(len(individuals)))]
        if not ind.shared_types:
            break
        kind = ind.shared_types[int(rng.integers(len(ind.shared_types)))]
        contour = render_rendition(kind, rng=rng)
        extra = {"Loops": str(_n_loops(contour))}
        put(_whistle_source(contour, kind, ind.individual_id, cfg, rng, extra), WHISTLE)
    pool = [r for r in load_sigwi_contours() if r.contour.freqs_hz.max() <= ceiling]
    for _ in range(rng.poisson(cfg.sigwi_whistle_rate_per_min * minutes) if pool else 0):
        real = pool[int(rng.integers(len(pool)))]
        tid = f"sigwi-c{real.category}" if real.category else f"sigwi-{real.id}"
        kind = WhistleType(tid, real.contour)
        contour = render_rendition(kind, rng=rng, n_loops=1)
        extra = {"Loops": "1", "SIGWI ID": str(real.id)}
        put(_whistle_source(contour, kind, None, cfg, rng, extra), WHISTLE)
    return placed


def _n_loops(contour) -> int:
    return int(np.sum(np.diff(contour.times_s) > 0.02)) + 1


def _background(cfg: SceneConfig, rng: np.random.Generator, n: int) -> np.ndarray:
    sr = cfg.sample_rate
    vessel = rng.random() < cfg.vessel_prob
    out = np.zeros((cfg.n_channels, n), np.float32)
    for ch in range(cfg.n_channels):
        out[ch] = background.ocean_noise(
            n_samples=n, sample_rate=sr, rng=rng, rms=cfg.noise_rms, spectral_slope=cfg.noise_slope
        )
        if cfg.shrimp_rate_hz > 0:
            level = cfg.noise_rms * 10 ** (cfg.shrimp_level_db / 20)
            out[ch] += background.snapping_shrimp(
                n_samples=n, sample_rate=sr, rng=rng, rate_hz=cfg.shrimp_rate_hz, amplitude=level
            )
        if vessel:
            level = cfg.noise_rms * 10 ** (cfg.vessel_level_db / 20)
            out[ch] += background.vessel_noise(n_samples=n, sample_rate=sr, rng=rng, rms=level)
    return out


def make_scene(config: SceneConfig, *, seed: int | None = None) -> Scene:
    """Render one labelled scene.

    Parameters
    ----------
    config : SceneConfig
        Generator settings.
    seed : int, optional
        Seed of events and noise; ``config.seed`` when omitted. The population always comes from
        ``config.population_seed``.

    Returns
    -------
    Scene
        Bitwise identical for identical config and seed.
    """
    cfg, sr = config, config.sample_rate
    seed = cfg.seed if seed is None else int(seed)
    noise_ss, event_ss, channel_ss = np.random.SeedSequence(seed).spawn(3)
    pop_rng = np.random.Generator(np.random.PCG64(cfg.population_seed))
    # Renditions scale frequencies by up to ~7 %; keep every fundamental below 0.40 x the rate.
    fmax = min(28000.0, 0.40 * sr / 1.07)
    individuals = make_population(
        cfg.n_individuals,
        rng=pop_rng,
        n_shared_types=cfg.n_shared_types,
        fmin_hz=min(3000.0, fmax / 2),
        fmax_hz=fmax,
    )
    n = int(round(cfg.duration_s * sr))
    noise = _background(cfg, np.random.Generator(np.random.PCG64(noise_ss)), n)
    rng = np.random.Generator(np.random.PCG64(event_ss))
    dropped: dict[str, int] = {}
    sources = _schedule(cfg, rng, individuals, dropped)
    ch_rng = np.random.Generator(np.random.PCG64(channel_ss))
    mix = noise.astype(np.float64)
    for src in sources:
        _mix_source(src, mix, noise[0], cfg, rng, ch_rng)
    peak = float(np.max(np.abs(mix))) if mix.size else 0.0
    target = 10 ** (-cfg.headroom_db / 20)
    gain = target / peak if peak > target else 1.0
    order = sorted(range(len(sources)), key=lambda i: (sources[i].event.start_s, i))
    pulse_times = [
        None if sources[i].pulses is None else (sources[i].pulses + sources[i].offset) / sr
        for i in order
    ]
    return Scene(
        samples=(mix * gain).astype(np.float32),
        sample_rate=sr,
        events=[sources[i].event for i in order],
        noise=(noise * gain).astype(np.float32) if gain != 1.0 else noise,
        pulse_times_s=pulse_times,
        gain=gain,
        seed=seed,
        dropped=dropped,
        individuals=individuals,
    )


def _mix_source(src: _Source, mix: np.ndarray, noise0: np.ndarray, cfg, rng, ch_rng) -> None:
    """Scale ``src`` to its SNR against channel 1's background and add it to every channel."""
    sr, event = cfg.sample_rate, src.event
    a, b = src.offset + src.start, src.offset + src.stop
    band = dict(sample_rate=sr, low_hz=src.low_hz, high_hz=src.high_hz)
    p_noise = float(np.mean(band_passed(noise0, i0=a, i1=b, **band) ** 2))
    y = band_passed(src.stem, i0=src.start, i1=src.stop, **band)
    if src.pulses is None:
        p_event = float(np.mean(y**2))
    else:
        half = int(round(PULSE_WINDOW_S * sr / 2))
        p_event = float(np.mean(y[window_mask(y.size, src.pulses - src.start, half)] ** 2))
    snr_db = float(rng.uniform(cfg.snr_db_min, cfg.snr_db_max))
    gain = np.sqrt(10 ** (snr_db / 10) * p_noise / max(p_event, 1e-30))
    event.start_s, event.end_s, event.snr_db = a / sr, b / sr, snr_db
    if event.contour is not None:
        event.contour = event.contour.shifted(src.offset / sr)
    for ch in range(mix.shape[0]):
        shift, g = 0, gain
        if ch > 0:
            shift = int(round(ch_rng.uniform(-cfg.max_tdoa_s, cfg.max_tdoa_s) * sr))
            g = gain * ch_rng.uniform(0.5, 1.0)
        lo = max(src.offset + shift, 0)
        hi = min(src.offset + shift + src.stem.size, mix.shape[1])
        mix[ch, lo:hi] += g * src.stem[lo - src.offset - shift : hi - src.offset - shift]
