"""Benchmark: codec quality on held-out synthetic scenes and real recordings, beside Opus.

For every clip and every number of codebooks ``n_q`` tested it encodes once, decodes the first
``n_q`` codebooks and measures, against the original:

* bitrate: ``n_q * log2(codebook_size) * frame_rate`` (bps);
* SI-SNR (dB, scale-invariant signal-to-noise ratio, higher is better);
* multi-resolution spectral distance: mean absolute difference of the log-magnitude STFT
  (Hann, hop n_fft / 4, window-normalised magnitude floored at -100 dBFS), in dB, averaged over
  windows of about 2.5, 5, 10, 20 and 40 ms (n_fft a power of two); lower is better;
* whistle contour error: :func:`dolphin.detect.track_whistles` contours on the audio, matched
  to reference contours (the synthetic ground truth in the scene labels, or the contours tracked
  on the original for real recordings) as silbido does (mean deviation <= 350 Hz); median
  absolute frequency error in Hz and in % of the reference frequency, pooled over all matched
  points, and the recall of reference tonals (:func:`dolphin.detect.score_contours`). The
  ``original`` row is the tracker on the unprocessed audio: the floor the codec cannot beat
  (trivially 0 for real recordings, whose reference it is);
* click peak-frequency error: :func:`dolphin.detect.detect_clicks` on the original (for scenes,
  only clicks within 0.3 ms of a labelled pulse) matched within 0.25 ms to clicks found in the
  reconstruction; median absolute error of ``peak_hz`` in Hz and in %, and the matched share.

Opus comparison: the original is resampled to 48 kHz (band-limited to 24 kHz), encoded and
decoded with ffmpeg/libopus at the codec's bitrate (libopus' minimum is 500 bps; the bitrate it
actually spent, from the packet sizes, is reported), and compared with the same 48 kHz reference
as the codec's output resampled to 48 kHz (``codec@48k``). ``codec`` rows are the full band at
the codec's own rate. At 48 kHz the click detector's band starts at 9.6 kHz instead of 20 kHz.

Synthetic scenes use seeds from 10 000 on (keep codec training below them), every event at one
SNR per level. A ``recording_like`` level renders what real recordings look like and the
default scenes do not: a steep background (PSD slope 3 instead of 1.7, three times louder)
low-passed at 22.05 kHz (a 44.1 kHz recording resampled), events at 10 dB; its reference
contours and clicks are the ones found on the original, as for real recordings. A ``calls``
level lays pulsed calls (a gliding stack of harmonics of a 250-2500 Hz repetition rate, as orcas
and pilot whales make) and short whistles of 2-16 kHz over a background, one per second at
10-30 dB (:mod:`dolphin.train.codec_calls`), references again found on the original. Real
recordings are the ``.wav``/``.flac`` files under ``--real-dir`` (odontocete clips, see its
README), a few per source folder, cropped and resampled to the codec's rate;
without that folder they are skipped. Their tracked contours are mostly orca-call fragments
(2-7 kHz, 0.1-0.3 s) near the tracker's limits, so the one real dolphin whistle among them (the
PAMGuard example, :data:`REAL_WHISTLE`) is also measured on its own: in its span and band, on
the frames where its peak stands >= 20 dB above the band's median in the original, the median
difference of the frame-wise peak frequency (parabolic interpolation between 125 Hz bins; Hz
and %) and the share of frames within 350 Hz, for the codec at full band and at 48 kHz and for
Opus. Results go to
``benchmarks/results/codec.json``.

    python benchmarks/codec.py [--model default|PATH] [--quick] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import shutil
import subprocess
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from dolphin.annotations import Contour
from dolphin.audio.dsp import resample
from dolphin.audio.io import read_audio
from dolphin.audio.spectral import parabolic_offset, power_spectrogram
from dolphin.codec import Codec
from dolphin.codec.metrics import WINDOWS_S, si_snr_db, spectral_distance_db
from dolphin.detect.clicks import Click, ClickDetectorConfig, detect_clicks
from dolphin.detect.contours import track_whistles
from dolphin.detect.evaluate import score_contours
from dolphin.errors import DolphinError
from dolphin.hub import load_codec
from dolphin.synth.scene import SceneConfig, make_scene

OPUS_RATE = 48000  # Hz: Opus works at 48 kHz at most
SEED0 = 10_000  # first held-out scene seed
MAX_DEVIATION_HZ = 350.0  # silbido's contour match criterion
CLICK_MATCH_S = 0.25e-3  # a click in the reconstruction within this of the original's
PULSE_MATCH_S = 0.3e-3  # an original click within this of a labelled pulse is a scene click
RATES = dict(  # events per minute, raised so that even --quick scenes hold whistles and clicks
    signature_bout_rate_per_min=2.0,
    whistle_rate_per_min=15.0,
    sigwi_whistle_rate_per_min=15.0,
    burst_pulse_rate_per_min=6.0,
    click_train_rate_per_min=12.0,
    buzz_rate_per_min=6.0,
)
SYSTEMS = ("original", "codec", "original@48k", "codec@48k", "opus@48k")


# --- metrics ------------------------------------------------------------------------------------


def _concat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0)


def _median(parts: list[np.ndarray], scale: float = 1.0) -> float | None:
    """Median of the pooled values times ``scale``; None when there are none."""
    pooled = _concat(parts)
    return float(scale * np.median(pooled)) if pooled.size else None


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def contour_errors(detected: list[Contour], truth: list[Contour]) -> tuple[np.ndarray, np.ndarray]:
    """Absolute (Hz) and relative errors of detected points against their best-matching tonal."""
    abs_err, rel_err = [], []
    for d in detected:
        best = None
        for g in truth:
            inside = (d.times_s >= g.times_s[0]) & (d.times_s <= g.times_s[-1])
            if not inside.any():
                continue
            f_ref = np.interp(d.times_s[inside], g.times_s, g.freqs_hz)
            err = np.abs(d.freqs_hz[inside] - f_ref)
            if err.mean() <= MAX_DEVIATION_HZ and (best is None or err.mean() < best[0].mean()):
                best = (err, f_ref)
        if best is not None:
            abs_err.append(best[0])
            rel_err.append(best[0] / best[1])
    return _concat(abs_err), _concat(rel_err)


def whistle_stats(x: np.ndarray, sample_rate: int, truth: list[Contour]) -> dict:
    """Tracker contours on ``x`` scored against reference contours (raw errors kept)."""
    found = [w.contour for w in track_whistles(x, sample_rate=sample_rate)]
    abs_err, rel_err = contour_errors(found, truth)
    scores = score_contours(found, truth) if truth else None
    return {
        "whistle_abs_hz": abs_err,
        "whistle_rel": rel_err,
        "n_found": scores.n_found if scores else 0,
        "n_scored": scores.n_scored if scores else 0,
    }


def find_clicks(x: np.ndarray, sample_rate: int) -> list[Click]:
    """Clicks with the detector's band starting at min(20 kHz, 0.2 x the rate)."""
    config = ClickDetectorConfig(low_hz=min(20000.0, 0.2 * sample_rate))
    return detect_clicks(x, sample_rate=sample_rate, config=config)


def labelled_clicks(clicks: list[Click], pulse_times_s: np.ndarray) -> list[Click]:
    """The clicks within :data:`PULSE_MATCH_S` of a labelled pulse (not shrimp or noise)."""
    if pulse_times_s.size == 0:
        return []
    return [c for c in clicks if np.abs(pulse_times_s - c.time_s).min() <= PULSE_MATCH_S]


def click_stats(reference: list[Click], x: np.ndarray, sample_rate: int) -> dict:
    """Peak-frequency errors of clicks in ``x`` matched in time to ``reference`` clicks."""
    found = find_clicks(x, sample_rate)
    times = np.array([c.time_s for c in found])
    abs_err, rel_err = [], []
    for c in reference:
        if times.size:
            i = int(np.argmin(np.abs(times - c.time_s)))
            if abs(times[i] - c.time_s) <= CLICK_MATCH_S:
                abs_err.append(abs(found[i].peak_hz - c.peak_hz))
                rel_err.append(abs_err[-1] / c.peak_hz)
    return {
        "click_abs_hz": np.array(abs_err),
        "click_rel": np.array(rel_err),
        "n_ref": len(reference),
    }


# --- systems ------------------------------------------------------------------------------------


def opus_round_trip(x: np.ndarray, bitrate_bps: float, workdir: Path) -> tuple[np.ndarray, float]:
    """Encode and decode 48 kHz mono ``x`` with libopus; returns (audio, bits spent per second)."""
    raw, coded = workdir / "in.f32", workdir / "coded.opus"
    raw.write_bytes(x.astype("<f4").tobytes())
    rate = str(int(max(500, round(bitrate_bps))))
    base = ["ffmpeg", "-v", "error", "-y"]
    fmt = ["-f", "f32le", "-ar", str(OPUS_RATE), "-ac", "1"]
    subprocess.run(
        [*base, *fmt, "-i", str(raw), "-c:a", "libopus", "-b:a", rate, str(coded)], check=True
    )
    decoded = subprocess.run([*base, "-i", str(coded), *fmt, "-"], check=True, capture_output=True)
    sizes = subprocess.run(
        [
            *("ffprobe", "-v", "error", "-select_streams", "a:0"),
            *("-show_entries", "packet=size", "-of", "default=nw=1:nk=1", str(coded)),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    y = np.frombuffer(decoded.stdout, "<f4").astype(np.float32)
    y = np.pad(y, (0, max(0, len(x) - len(y))))[: len(x)]
    return y, 8 * sum(int(s) for s in sizes) / (len(x) / OPUS_RATE)


def evaluate_clip(
    codec: Codec,
    x: np.ndarray,
    n_qs: list[int],
    workdir: Path,
    *,
    truth: list[Contour] | None = None,
    pulse_times_s: np.ndarray | None = None,
) -> dict:
    """Metrics of every system on one clip ``x`` ``[T]`` at the codec's rate: {(system, n_q): stats}."""
    sr = codec.sample_rate
    x48 = x if sr == OPUS_RATE else resample(x, orig_sr=sr, target_sr=OPUS_RATE)
    refs = {}
    for rate, ref in ((sr, x), (OPUS_RATE, x48)):
        contours = truth
        if contours is None:  # real audio: the original's contours are the reference
            contours = [w.contour for w in track_whistles(ref, sample_rate=rate)]
        clicks = find_clicks(ref, rate)
        if pulse_times_s is not None:  # scenes: only clicks of labelled pulses (no shrimp)
            clicks = labelled_clicks(clicks, pulse_times_s)
        refs[rate] = (ref, contours, clicks)

    def stats(rate: int, y: np.ndarray) -> dict:
        ref, contours, clicks = refs[rate]
        signal = {}
        if y is not ref:  # the original is the reference: its SI-SNR would be infinite
            signal = {
                "si_snr_db": si_snr_db(ref, y),
                "spectral_distance_db": spectral_distance_db(ref, y, sample_rate=rate),
            }
        return {
            **signal,
            **whistle_stats(y, rate, contours),
            **click_stats(clicks, y, rate),
        }

    out = {("original", 0): stats(sr, x), ("original@48k", 0): stats(OPUS_RATE, x48)}
    codes = codec.encode(torch.from_numpy(x)[None, None])
    for n_q in n_qs:
        y = codec.decode(codes[:, :n_q], n_samples=len(x))[0, 0].numpy().astype(np.float32)
        y48 = y if sr == OPUS_RATE else resample(y, orig_sr=sr, target_sr=OPUS_RATE)
        out[("codec", n_q)] = stats(sr, y)
        out[("codec@48k", n_q)] = stats(OPUS_RATE, y48)
        bitrate = n_q * math.log2(codec.config.codebook_size) * codec.frame_rate
        opus, spent = opus_round_trip(x48, bitrate, workdir)
        out[("opus@48k", n_q)] = {**stats(OPUS_RATE, opus), "bitrate_bps": spent}
    return out


def summarise(clips: list[dict], codec: Codec) -> dict:
    """Pool clip results per (system, n_q): means of SI-SNR / distance, medians of errors."""
    pooled: dict = defaultdict(lambda: defaultdict(list))
    for clip in clips:
        for key, s in clip.items():
            for name, value in s.items():
                pooled[key][name].append(value)
    rows = {}
    for (system, n_q), p in sorted(
        pooled.items(), key=lambda kv: (SYSTEMS.index(kv[0][0]), kv[0][1])
    ):
        n_clicks = sum(p["n_ref"])
        nominal = n_q * math.log2(codec.config.codebook_size) * codec.frame_rate
        rows[f"{system}/{n_q}" if n_q else system] = {
            "system": system,
            "n_q": n_q or None,
            "bitrate_bps": _mean(p["bitrate_bps"]) if "bitrate_bps" in p else (nominal or None),
            "si_snr_db": _mean(p["si_snr_db"]),
            "spectral_distance_db": _mean(p["spectral_distance_db"]),
            "whistle_error_hz": _median(p["whistle_abs_hz"]),
            "whistle_error_pct": _median(p["whistle_rel"], 100.0),
            "whistle_points": int(sum(map(len, p["whistle_abs_hz"]))),
            "whistle_recall": _ratio(sum(p["n_found"]), sum(p["n_scored"])),
            "click_error_hz": _median(p["click_abs_hz"]),
            "click_error_pct": _median(p["click_rel"], 100.0),
            "click_matched": _ratio(sum(map(len, p["click_abs_hz"])), n_clicks),
            "n_clicks": n_clicks,
        }
    return rows


def print_table(title: str, rows: dict) -> None:
    """One line per (system, n_q)."""
    print(f"\n{title}")
    print(
        f"{'system':<13} {'n_q':>3} {'bps':>6} {'SI-SNR':>7} {'spec':>6} {'whis Hz':>8} "
        f"{'whis %':>7} {'recall':>6} {'click Hz':>8} {'click %':>7} {'match':>6}"
    )
    for r in rows.values():
        print(
            f"{r['system']:<13} {_fmt(r['n_q'], 'd'):>3} {_fmt(r['bitrate_bps'], '.0f'):>6} "
            f"{_fmt(r['si_snr_db'], '.1f'):>7} {_fmt(r['spectral_distance_db'], '.2f'):>6} "
            f"{_fmt(r['whistle_error_hz'], '.0f'):>8} {_fmt(r['whistle_error_pct'], '.2f'):>7} "
            f"{_fmt(r['whistle_recall'], '.2f'):>6} {_fmt(r['click_error_hz'], '.0f'):>8} "
            f"{_fmt(r['click_error_pct'], '.2f'):>7} {_fmt(r['click_matched'], '.2f'):>6}"
        )


# --- data ---------------------------------------------------------------------------------------


#: Low-pass of the recording-like scenes: a 44.1 kHz recording resampled up.
LIKE_CUTOFF_HZ = 22050.0


def recording_like(sample_rate: int, duration_s: float, seed: int) -> np.ndarray:
    """A scene ``[T]`` with a real recording's background: slope 3 (more low-frequency energy),
    noise RMS 0.03, low-passed at :data:`LIKE_CUTOFF_HZ`; every event at 10 dB."""
    from dolphin.train.codec_data import lowpass

    cfg = SceneConfig(
        sample_rate=sample_rate,
        duration_s=duration_s,
        snr_db_min=10.0,
        snr_db_max=10.0,
        noise_slope=3.0,
        noise_rms=0.03,
        **RATES,
    )
    return lowpass(make_scene(cfg, seed=seed).samples[0], LIKE_CUTOFF_HZ, sample_rate)


#: Extra calls per second and their band SNR range (dB) in the ``calls`` scenes.
CALL_RATE_PER_S, CALL_SNR_DB = 1.0, (10.0, 30.0)


def calls_scene(sample_rate: int, duration_s: float, seed: int) -> np.ndarray:
    """A scene ``[T]`` of background only (ocean noise, shrimp, maybe a vessel) with pulsed calls
    and short, low whistles laid over it (:func:`dolphin.train.codec_calls.add_calls`)."""
    from dolphin.train.codec_calls import add_calls

    quiet = {name: 0.0 for name in RATES}
    cfg = SceneConfig(sample_rate=sample_rate, duration_s=duration_s, **quiet)
    rng = np.random.default_rng(seed)
    x, _ = add_calls(
        make_scene(cfg, seed=seed).samples[0],
        sample_rate=sample_rate,
        rng=rng,
        n_calls=int(round(CALL_RATE_PER_S * duration_s)),
        snr_db=CALL_SNR_DB,
    )
    return x


def find_real(root: Path, max_files: int, min_s: float = 0.5) -> list[Path]:
    """Audio files under ``root``, round robin over its source folders.

    Within a folder, names mentioning dolphins, whistles or clicks come first, then higher
    sample rates; folders whose best file ranks higher are visited first. Files shorter than
    ``min_s`` seconds or unreadable are left out.
    """
    from dolphin.audio.io import audio_info

    groups: dict[str, list[tuple]] = defaultdict(list)
    for p in sorted(root.rglob("*")):
        if p.suffix.lower() not in (".wav", ".flac") or "no_calls" in p.parts:
            continue
        try:
            info = audio_info(p)
        except DolphinError:
            continue
        if info.duration_s >= min_s:
            named = any(w in p.name.lower() for w in ("dolphin", "whistle", "click"))
            groups[p.relative_to(root).parts[0]].append((not named, -info.sample_rate, str(p)))
    queues = sorted((sorted(files), name) for name, files in groups.items())
    picked: list[Path] = []
    while len(picked) < max_files and any(files for files, _ in queues):
        for files, _ in queues:
            if files and len(picked) < max_files:
                picked.append(Path(files.pop(0)[2]))
    return picked


def load_real(path: Path, sample_rate: int, max_s: float) -> np.ndarray:
    """First ``max_s`` seconds of channel 0, resampled to ``sample_rate``, ``[T]`` float32."""
    from dolphin.audio.io import audio_info

    info = audio_info(path)
    n = min(info.n_frames, int(max_s * info.sample_rate))
    x = read_audio(path, channels=0, n_frames=n).samples[0]
    if info.sample_rate != sample_rate:
        x = resample(x, orig_sr=info.sample_rate, target_sr=sample_rate)
    return x.astype(np.float32)


#: The real dolphin whistle: file under --real-dir, span (s), band (Hz), frame threshold (dB).
REAL_WHISTLE = (
    "pamguard/src/Resources/exampleSounds/dolphin_whistle.wav",
    (1.7, 2.45),
    (6500.0, 12000.0),
    20.0,
)


def peak_track(
    x: np.ndarray, sample_rate: int, span_s: tuple, band_hz: tuple
) -> tuple[np.ndarray, np.ndarray]:
    """Peak frequency (Hz, parabolic interpolation between bins) and peak-over-median level
    (dB) of every STFT frame of ``x`` in ``span_s`` within ``band_hz`` (8 ms Hann frames every
    2.5 ms), each ``[M]``."""
    spec = power_spectrogram(
        x,
        sample_rate=sample_rate,
        n_fft=int(0.008 * sample_rate),
        hop_length=int(0.0025 * sample_rate),
        center=False,
    )
    rows = (spec.freqs_hz >= band_hz[0]) & (spec.freqs_hz <= band_hz[1])
    cols = (spec.times_s >= span_s[0]) & (spec.times_s <= span_s[1])
    band = spec.power[rows][:, cols]
    level = 10 * np.log10(band.max(axis=0) / np.maximum(np.median(band, axis=0), 1e-30))
    # Parabolic interpolation of the log power around the peak bin (bins are 125 Hz wide).
    peak = band.argmax(axis=0)
    inner = np.clip(peak, 1, band.shape[0] - 2)
    frames = np.arange(band.shape[1])
    a, b, c = (np.log(band[inner + d, frames] + 1e-30) for d in (-1, 0, 1))
    delta = np.where(peak == inner, parabolic_offset(a, b, c), 0.0)
    freqs = spec.freqs_hz[rows]
    return freqs[peak] + delta * (freqs[1] - freqs[0]), level


def real_whistle(codec: Codec, x: np.ndarray, n_qs: list[int], workdir: Path) -> dict:
    """Peak-track error of the real whistle ``x`` ``[T]`` (codec rate) per system and n_q."""
    _, span_s, band_hz, min_db = REAL_WHISTLE
    sr = codec.sample_rate
    x48 = resample(x, orig_sr=sr, target_sr=OPUS_RATE)
    refs = {
        rate: peak_track(ref, rate, span_s, band_hz) for rate, ref in ((sr, x), (OPUS_RATE, x48))
    }

    def error(rate: int, y: np.ndarray) -> dict:
        ref, level = refs[rate]
        got, got_level = peak_track(y, rate, span_s, band_hz)
        keep = level >= min_db
        err = np.abs(got[keep] - ref[keep])
        return {
            "frames": int(keep.sum()),
            "error_hz": float(np.median(err)),
            "error_pct": float(100 * np.median(err / ref[keep])),
            "within_350hz": float(np.mean(err <= 350)),
            "peak_over_median_db": float(np.median(got_level[keep])),
        }

    out = {}
    codes = codec.encode(torch.from_numpy(x)[None, None])
    for n_q in n_qs:
        y = codec.decode(codes[:, :n_q], n_samples=len(x))[0, 0].numpy().astype(np.float32)
        out[f"codec/{n_q}"] = error(sr, y)
        out[f"codec@48k/{n_q}"] = error(OPUS_RATE, resample(y, orig_sr=sr, target_sr=OPUS_RATE))
        bitrate = n_q * math.log2(codec.config.codebook_size) * codec.frame_rate
        y_opus, _ = opus_round_trip(x48, bitrate, workdir)
        out[f"opus@48k/{n_q}"] = error(OPUS_RATE, y_opus)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help="shipped name or saved codec folder")
    parser.add_argument("--quick", action="store_true", help="a few minutes on 2 CPU cores")
    parser.add_argument("--snrs", type=float, nargs="+", help="dB (default 0 10 20; quick 5 20)")
    parser.add_argument("--scenes", type=int, help="scenes per SNR (default 4; quick 2)")
    parser.add_argument("--duration", type=float, help="seconds per scene (default 20; quick 10)")
    parser.add_argument("--n-q", type=int, nargs="+", help="codebooks (default 1, K/4, K/2, K)")
    parser.add_argument("--real-dir", default="/work/shared/data/real")
    parser.add_argument("--max-real", type=int, help="real files (default 8; quick 3)")
    parser.add_argument("--real-seconds", type=float, help="crop (default 20; quick 6)")
    parser.add_argument("--out", default="benchmarks/results/codec.json")
    args = parser.parse_args()
    q = args.quick
    snrs = args.snrs or ([5.0, 20.0] if q else [0.0, 10.0, 20.0])
    n_scenes = args.scenes or (2 if q else 4)
    duration = args.duration or (10.0 if q else 20.0)
    max_real = args.max_real if args.max_real is not None else (3 if q else 8)
    real_s = args.real_seconds or (6.0 if q else 20.0)
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        raise SystemExit("ffmpeg and ffprobe are needed for the Opus comparison")

    t_start = time.perf_counter()
    try:
        codec = load_codec(args.model)
    except DolphinError as err:
        raise SystemExit(f"benchmarks/codec.py: {err}") from None
    K, sr = codec.n_q, codec.sample_rate
    n_qs = sorted(set(args.n_q or ([K // 2, K] if q else [1, K // 4, K // 2, K])) - {0})
    print(
        f"codec {args.model} ({codec.identity_hash()}): {sr} Hz, {K} x {codec.config.codebook_size}"
        f" codes, {codec.bitrate_bps:.0f} bps; n_q {n_qs}"
    )
    result = {
        "benchmark": "codec",
        "model": str(args.model),
        "codec_hash": codec.identity_hash(),
        "codec_config": codec.config.to_dict(),
        "settings": {
            "snrs_db": snrs,
            "scenes_per_snr": n_scenes,
            "scene_duration_s": duration,
            "seeds_from": SEED0,
            "scene_rates_per_min": RATES,
            "n_q": n_qs,
            "opus_rate_hz": OPUS_RATE,
            "spectral_windows_s": WINDOWS_S,
        },
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        },
        "synthetic": {},
        "real": {},
    }
    with tempfile.TemporaryDirectory() as tmp, torch.inference_mode():
        workdir = Path(tmp)
        for level, snr in enumerate(snrs):
            clips = []
            for i in range(n_scenes):
                cfg = SceneConfig(
                    sample_rate=sr, duration_s=duration, snr_db_min=snr, snr_db_max=snr, **RATES
                )
                scene = make_scene(cfg, seed=SEED0 + 100 * level + i)
                truth = [e.contour for e in scene.events if e.contour is not None]
                pulses = [p for p in scene.pulse_times_s if p is not None]
                clips.append(
                    evaluate_clip(
                        codec,
                        scene.samples[0],
                        n_qs,
                        workdir,
                        truth=truth,
                        pulse_times_s=_concat(pulses),
                    )
                )
            rows = summarise(clips, codec)
            result["synthetic"][f"snr_{snr:g}db"] = rows
            print_table(f"synthetic scenes, SNR {snr:g} dB ({n_scenes} x {duration:g} s)", rows)
        clips = [
            evaluate_clip(codec, recording_like(sr, duration, SEED0 + 900 + i), n_qs, workdir)
            for i in range(n_scenes)
        ]
        rows = summarise(clips, codec)
        result["recording_like"] = rows
        title = (
            f"recording-like scenes: slope 3, low-passed at {LIKE_CUTOFF_HZ / 1000:g} kHz, 10 dB"
        )
        print_table(f"{title} ({n_scenes} x {duration:g} s)", rows)
        clips = [
            evaluate_clip(codec, calls_scene(sr, duration, SEED0 + 950 + i), n_qs, workdir)
            for i in range(n_scenes)
        ]
        rows = summarise(clips, codec)
        result["calls"] = rows
        title = "calls: pulsed calls and short, low whistles over background, 10-30 dB"
        print_table(f"{title} ({n_scenes} x {duration:g} s)", rows)

        root = Path(args.real_dir)
        files = find_real(root, max_real) if root.is_dir() and max_real > 0 else []
        if not files:
            reason = f"no .wav/.flac files under {root}" if root.is_dir() else f"no folder {root}"
            print(f"\nreal recordings: skipped ({reason})")
            result["real"] = {"skipped": reason}
        else:
            clips, names = [], []
            for path in files:
                x = load_real(path, sr, real_s)
                if len(x) < sr // 2:
                    print(f"note: {path.name}: shorter than 0.5 s, skipped")
                    continue
                clips.append(evaluate_clip(codec, x, n_qs, workdir))
                names.append(str(path.relative_to(root)))
            rows = summarise(clips, codec)
            result["real"] = {"files": names, "seconds_each_max": real_s, "rows": rows}
            print_table(f"real recordings ({len(names)} clips <= {real_s:g} s)", rows)
        path = root / REAL_WHISTLE[0]
        if path.is_file():
            whistle = real_whistle(codec, load_real(path, sr, 6.0), n_qs, workdir)
            result["real_whistle"] = {"file": REAL_WHISTLE[0], "rows": whistle}
            print(f"\nreal dolphin whistle ({REAL_WHISTLE[0]}): peak-track error")
            for name, r in whistle.items():
                print(
                    f"{name:<14} {r['error_hz']:6.0f} Hz {r['error_pct']:5.2f} %  "
                    f"within 350 Hz {r['within_350hz']:.2f}  ({r['frames']} frames)"
                )
    result["seconds"] = time.perf_counter() - t_start
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\n{result['seconds']:.0f} s; wrote {out}")


if __name__ == "__main__":
    main()
