"""Training audio for the codec: random crops of dense synthetic scenes and of recordings.

Every crop is a pure function of its global index and the seed, so data order survives a
resume exactly and does not depend on how many worker processes generate it. Crops come in
groups of ``crops_per_scene`` from one generated scene (a worker renders a scene once and cuts
several crops from it), biased towards the scene's labelled events so that few crops are only
noise. Scenes contain parametric whistles, SIGWI-rendered real contours, clicks, click trains,
burst pulses, buzzes, ocean noise, shrimp and vessels (:mod:`dolphin.synth.scene`), with event
rates scaled up, optionally with unlabelled pulsed calls and short whistles on top
(:mod:`dolphin.train.codec_calls`). A folder of recordings can be mixed in at a chosen share.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from dolphin.errors import ConfigError
from dolphin.synth.scene import SceneConfig, make_scene

#: Population seeds used by training scenes start here, away from the default population 0
#: that the benchmarks' held-out scenes use.
TRAIN_POPULATION_BASE = 1000
AUDIO_SUFFIXES = (".wav", ".flac", ".w64")


@dataclass
class CodecDataConfig:
    """Where codec training crops come from (mirrors ``codec_train.data`` in the config)."""

    crop_s: float = 0.5  # length of one training crop, seconds
    scene_s: float = 4.0  # length of each generated scene, seconds
    crops_per_scene: int = 8  # crops cut from one scene (amortises synthesis)
    event_rate_scale: float = 6.0  # multiply every event rate of the scene generator
    n_populations: int = 64  # distinct synthetic populations (whistle types) cycled through
    event_bias: float = 0.8  # share of crops placed over a labelled event
    gain_db: float = 12.0  # random gain uniform in +/- this many dB (level robustness)
    snr_db_min: float = 0.0  # event SNR range of the scenes, dB
    snr_db_max: float = 40.0  # upper end of the SNR range, dB
    # Whistle-only scenes (no clicks, pulses or buzzes) at a high SNR: tonal peaks that stand out
    # from the noise, so the codec learns to carry whistles before the busy scenes.
    whistle_share: float = 0.0  # share of synthetic crop groups from whistle-only scenes
    whistle_snr_db_min: float = 15.0  # their SNR range, dB
    whistle_snr_db_max: float = 40.0
    # Band-limited scenes, as recordings made at 44.1-64 kHz and resampled up look: without them
    # the codec fills the empty upper band with spurious tones (peaks 6-12 % right, not 65 %).
    bandlimit_share: float = 0.0  # share of scenes low-passed at a random cutoff
    bandlimit_hz_min: float = 8000.0  # cutoff drawn log-uniformly between these, Hz
    bandlimit_hz_max: float = 40000.0
    # Background colour: real recordings often carry far more low-frequency energy (flow,
    # surf, vessels) than the generator's Wenz wind slope; each scene draws its slope here.
    noise_slope_min: float = 1.7  # PSD slope of the scene noise above 500 Hz (f ** -slope)
    noise_slope_max: float = 1.7  # drawn uniformly between min and max per scene
    # Unlabelled extra calls (pulsed calls, short and low whistles; dolphin.train.codec_calls)
    # that the scene generator does not make but real recordings hold.
    call_rate_per_s: float = 0.0  # mean extra calls per second of scene (Poisson)
    call_snr_db_min: float = 0.0  # their band SNR range, dB
    call_snr_db_max: float = 30.0
    folder: str = ""  # recordings (WAV/FLAC/W64, any rate, resampled); empty = synthetic only
    folder_share: float = 0.0  # share of crop groups drawn from the folder when it is set

    def __post_init__(self) -> None:
        if not self.crop_s > 0 or self.scene_s < self.crop_s:
            raise ConfigError(
                f"codec_train.data: need 0 < crop_s <= scene_s, got {self.crop_s}, {self.scene_s}"
            )
        if self.crops_per_scene < 1 or self.n_populations < 1:
            raise ConfigError("codec_train.data.crops_per_scene and n_populations must be >= 1")
        if not 0 < self.bandlimit_hz_min <= self.bandlimit_hz_max:
            raise ConfigError("codec_train.data: need 0 < bandlimit_hz_min <= bandlimit_hz_max")
        if not 0 <= self.noise_slope_min <= self.noise_slope_max:
            raise ConfigError("codec_train.data: need 0 <= noise_slope_min <= noise_slope_max")
        if self.call_rate_per_s < 0 or self.call_snr_db_min > self.call_snr_db_max:
            raise ConfigError(
                "codec_train.data: need call_rate_per_s >= 0 and call_snr_db_min <= call_snr_db_max"
            )
        for name in ("folder_share", "event_bias", "whistle_share", "bandlimit_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"codec_train.data.{name} must be in [0, 1]")
        if self.folder_share > 0 and not self.folder:
            raise ConfigError("codec_train.data.folder_share > 0 needs codec_train.data.folder")


def lowpass(x: np.ndarray, cutoff_hz: float, sample_rate: int) -> np.ndarray:
    """``x`` ``[T]`` with nothing above ``cutoff_hz`` (FFT mask, 5 % raised-cosine transition
    below the cutoff), as a recording made at ``2 x cutoff`` and resampled up looks."""
    spectrum = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(x.size, 1.0 / sample_rate)
    edge = 0.95 * cutoff_hz
    ramp = np.clip((freqs - edge) / (cutoff_hz - edge), 0.0, 1.0)
    spectrum *= 0.5 * (1.0 + np.cos(np.pi * ramp))
    return np.fft.irfft(spectrum, n=x.size).astype(x.dtype)


def _rng(*keys: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(k) for k in keys])))


def list_recordings(folder: str | Path) -> list[Path]:
    """Audio files under ``folder`` (recursive, sorted).

    Raises
    ------
    ConfigError
        The folder does not exist or holds no WAV/FLAC/W64 file.
    """
    root = Path(folder)
    if not root.is_dir():
        raise ConfigError(f"codec_train.data.folder: {root} is not a folder")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise ConfigError(f"codec_train.data.folder: no .wav/.flac/.w64 files under {root}")
    return files


class CodecCrops(torch.utils.data.Dataset):
    """Map-style dataset: index ``i`` -> crop ``[1, crop_samples]`` float32.

    Parameters
    ----------
    config : CodecDataConfig
        Crop and source settings.
    sample_rate : int
        The codec's rate in Hz; scenes are rendered and recordings resampled to it.
    seed : int
        Run seed; crop ``i`` depends only on ``(seed, i)``.
    """

    def __init__(self, config: CodecDataConfig, *, sample_rate: int, seed: int = 0) -> None:
        self.config, self.sample_rate, self.seed = config, int(sample_rate), int(seed)
        self.crop_samples = int(round(config.crop_s * sample_rate))
        self.files = list_recordings(config.folder) if config.folder else []
        self._lengths: list[tuple[int, int]] | None = None  # (frames, rate) per file, lazily
        self._cache: tuple[int, np.ndarray, list[tuple[float, float]]] | None = None

    def __len__(self) -> int:
        return 2**62  # effectively infinite; samplers pick the indices

    def is_whistle_group(self, group: int) -> bool:
        """True when crop group ``group`` comes from a whistle-only scene."""
        return bool(_rng(self.seed, group, 3).random() < self.config.whistle_share)

    def scene_config(self, group: int) -> SceneConfig:
        """Generator settings of crop group ``group`` (dense events, training populations)."""
        c, base = self.config, SceneConfig()
        scale = c.event_rate_scale
        whistles_only = self.is_whistle_group(group)
        pulsed = 0.0 if whistles_only else scale  # whistle-only scenes have no pulsed sounds
        snr_min, snr_max = (
            (c.whistle_snr_db_min, c.whistle_snr_db_max)
            if whistles_only
            else (c.snr_db_min, c.snr_db_max)
        )
        return replace(
            base,
            sample_rate=self.sample_rate,
            duration_s=c.scene_s,
            population_seed=TRAIN_POPULATION_BASE + group % c.n_populations,
            signature_bout_rate_per_min=base.signature_bout_rate_per_min * scale,
            whistle_rate_per_min=base.whistle_rate_per_min * scale,
            sigwi_whistle_rate_per_min=base.sigwi_whistle_rate_per_min * scale,
            burst_pulse_rate_per_min=base.burst_pulse_rate_per_min * pulsed,
            click_train_rate_per_min=base.click_train_rate_per_min * pulsed,
            buzz_rate_per_min=base.buzz_rate_per_min * pulsed,
            snr_db_min=snr_min,
            snr_db_max=snr_max,
            noise_slope=self.noise_slope(group),
        )

    def noise_slope(self, group: int) -> float:
        """Background PSD slope of crop group ``group``'s scene (``noise_slope_min``-``max``)."""
        c = self.config
        if c.noise_slope_min == c.noise_slope_max:
            return float(c.noise_slope_min)
        return float(_rng(self.seed, group, 5).uniform(c.noise_slope_min, c.noise_slope_max))

    def cutoff_hz(self, group: int) -> float | None:
        """Low-pass cutoff (Hz) of crop group ``group``'s scene, None when it keeps the full band."""
        c, rng = self.config, _rng(self.seed, group, 4)
        if not rng.random() < c.bandlimit_share:
            return None
        cutoff = np.exp(rng.uniform(np.log(c.bandlimit_hz_min), np.log(c.bandlimit_hz_max)))
        return float(cutoff) if cutoff < 0.5 * self.sample_rate else None

    def _scene(self, group: int) -> tuple[np.ndarray, list[tuple[float, float]]]:
        if self._cache is None or self._cache[0] != group:
            seed = int(_rng(self.seed, group, 1).integers(2**31))
            scene = make_scene(self.scene_config(group), seed=seed)
            spans = [(e.start_s, e.end_s) for e in scene.events]
            samples, cutoff = scene.samples[0], self.cutoff_hz(group)
            if self.config.call_rate_per_s > 0:
                samples, calls = self._calls(group, samples)
                spans += calls
            if cutoff is not None:
                samples = lowpass(samples, cutoff, self.sample_rate)
            self._cache = (group, samples, spans)
        return self._cache[1], self._cache[2]

    def _calls(self, group: int, samples: np.ndarray) -> tuple[np.ndarray, list]:
        """Scene ``samples`` ``[T]`` of group ``group`` with its extra calls, and their spans."""
        from dolphin.train.codec_calls import add_calls

        c, rng = self.config, _rng(self.seed, group, 6)
        return add_calls(
            samples,
            sample_rate=self.sample_rate,
            rng=rng,
            n_calls=int(rng.poisson(c.call_rate_per_s * c.scene_s)),
            snr_db=(c.call_snr_db_min, c.call_snr_db_max),
        )

    def _from_scene(self, group: int, rng: np.random.Generator) -> np.ndarray:
        samples, spans = self._scene(group)
        n, sr, last = self.crop_samples, self.sample_rate, samples.shape[0] - self.crop_samples
        if spans and rng.random() < self.config.event_bias:
            start_s, end_s = spans[int(rng.integers(len(spans)))]
            lo = max(0, int(start_s * sr) - n + sr // 100)  # overlap the event by >= 10 ms
            hi = min(last, int(end_s * sr) - sr // 100)
            start = int(rng.integers(lo, max(lo, hi) + 1))
        else:
            start = int(rng.integers(0, last + 1))
        return samples[min(start, last) : min(start, last) + n]

    def _from_folder(self, group: int, rng: np.random.Generator) -> np.ndarray:
        from dolphin.audio.dsp import resample
        from dolphin.audio.io import audio_info, read_audio

        if self._lengths is None:
            self._lengths = []
            for path in self.files:
                info = audio_info(path)
                self._lengths.append((info.n_frames, info.sample_rate))
        weights = np.array([frames / rate for frames, rate in self._lengths], dtype=np.float64)
        index = int(rng.choice(len(self.files), p=weights / weights.sum()))
        frames, rate = self._lengths[index]
        need = int(np.ceil(self.crop_samples * rate / self.sample_rate)) + 64
        start = int(rng.integers(0, max(0, frames - need) + 1))
        audio = read_audio(self.files[index], channels=0, start_frame=start, n_frames=need)
        x = audio.samples[0].astype(np.float64)
        if rate != self.sample_rate:
            x = resample(x, orig_sr=rate, target_sr=self.sample_rate)
        x = x[: self.crop_samples]
        return np.pad(x, (0, self.crop_samples - x.shape[0]))

    def __getitem__(self, index: int) -> torch.Tensor:
        c = self.config
        group, within = divmod(int(index), c.crops_per_scene)
        group_rng = _rng(self.seed, group, 0)
        from_folder = bool(self.files) and group_rng.random() < c.folder_share
        rng = _rng(self.seed, group, 2, within)
        crop = self._from_folder(group, rng) if from_folder else self._from_scene(group, rng)
        gain = 10.0 ** (rng.uniform(-c.gain_db, c.gain_db) / 20.0)
        crop = np.asarray(crop, dtype=np.float64) * gain
        peak = float(np.max(np.abs(crop))) if crop.size else 0.0
        if peak > 0.99:  # keep the gain augmentation from clipping
            crop *= 0.99 / peak
        return torch.from_numpy(crop.astype(np.float32))[None]


class StepBatches(torch.utils.data.Sampler):
    """Batch sampler: global step ``s`` on rank ``r`` of ``W`` gets indices of block ``s*W + r``.

    Parameters
    ----------
    batch_size : int
        Crops per step and process.
    start_step : int
        First step to produce (the resume point).
    rank, world_size : int
        This process's place in a DDP group.
    offset : int
        Added to every index (separates validation from training data).
    """

    def __init__(
        self,
        batch_size: int,
        *,
        start_step: int = 0,
        rank: int = 0,
        world_size: int = 1,
        offset: int = 0,
    ) -> None:
        self.batch_size, self.start_step = batch_size, start_step
        self.rank, self.world_size, self.offset = rank, world_size, offset

    def __iter__(self) -> Iterator[list[int]]:
        step = self.start_step
        while True:
            first = self.offset + (step * self.world_size + self.rank) * self.batch_size
            yield list(range(first, first + self.batch_size))
            step += 1

    def __len__(self) -> int:  # pragma: no cover - infinite sampler
        return 2**62


def validation_batch(
    config: CodecDataConfig, *, sample_rate: int, n_crops: int = 16, seed: int = 0
) -> torch.Tensor:
    """Fixed held-out crops ``[n_crops, 1, crop_samples]`` (indices far from training ones)."""
    data = CodecCrops(config, sample_rate=sample_rate, seed=seed + 7919)
    offset = 2**50
    return torch.stack([data[offset + i] for i in range(n_crops)])
