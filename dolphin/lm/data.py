"""Token data for the LM: recordings encoded once by a codec, cached, split, cut into windows.

:func:`prepare_token_files` encodes every recording of a folder (or a set of synthetic scenes
from :mod:`dolphin.synth.scene`) into token files (:mod:`dolphin.codec.tokens`) under
``<cache_dir>/<codec hash>/``; files already there with the right codec hash are reused, so an
interrupted or resumed run does not encode twice, and a different codec never reads stale codes.

:func:`split_recordings` holds out whole recordings (never crops of a training recording) for
validation. :class:`TokenWindows` draws random windows of ``window_frames`` frames; window ``i``
is a pure function of ``(seed, i)``, so data order survives a resume exactly. Recordings
shorter than a window are padded with ``-1`` (missing codes, not scored by the loss).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from dolphin.codec.tokens import TokenFileError, load_tokens
from dolphin.errors import ConfigError

if TYPE_CHECKING:
    from dolphin.codec.model import Codec

TOKEN_SUFFIX = ".tokens"
AUDIO_SUFFIXES = (".wav", ".flac", ".w64", ".rf64")
SYNTH_POPULATION_BASE = 1000  # training populations, away from the benchmarks' population 0


@dataclass
class LMDataConfig:
    """Where LM training tokens come from (mirrors ``lm_train.data``)."""

    folder: str = ""  # recordings (WAV/FLAC/W64/RF64, any rate); empty = synthetic scenes
    cache_dir: str = ""  # token cache; empty = <train.run_dir>/tokens
    channel: int = 0  # 0-based channel encoded from multi-channel recordings
    window_frames: int = 512  # frames per training window (5.12 s at 100 frames/s)
    val_share: float = 0.1  # share of recordings held out for validation (0 = none)
    min_frames: int = 8  # recordings shorter than this are skipped
    synthetic_scenes: int = 128  # synthetic recordings generated when folder is empty
    synthetic_first: int = 0  # index of the first synthetic scene (later stages: unseen scenes)
    synthetic_scene_s: float = 30.0  # length of each synthetic recording, seconds
    n_populations: int = 16  # synthetic populations (whistle repertoires) cycled through
    event_rate_scale: float = 3.0  # multiply the scene generator's event rates (denser sound)
    encode_workers: int = 1  # processes encoding the token cache, one CPU thread each

    def __post_init__(self) -> None:
        if self.window_frames < 2 or self.min_frames < 1:
            raise ConfigError("lm_train.data.window_frames must be >= 2 and min_frames >= 1")
        if not 0.0 <= self.val_share < 1.0:
            raise ConfigError(f"lm_train.data.val_share must be in [0, 1), got {self.val_share}")
        if self.synthetic_scenes < 1 or not self.synthetic_scene_s > 0:
            raise ConfigError("lm_train.data.synthetic_scenes and synthetic_scene_s must be > 0")
        if self.synthetic_first < 0:
            raise ConfigError(
                f"lm_train.data.synthetic_first must be >= 0, got {self.synthetic_first}"
            )
        if self.n_populations < 1 or self.channel < 0:
            raise ConfigError("lm_train.data.n_populations must be >= 1 and channel >= 0")
        if self.encode_workers < 1:
            raise ConfigError(
                f"lm_train.data.encode_workers must be >= 1, got {self.encode_workers}"
            )


def _rng(*keys: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(k) for k in keys])))


def _synthetic_settings(config: LMDataConfig, sample_rate: int) -> dict:
    # Not the number of scenes: scene i depends only on (seed, i), so a run with more scenes
    # reuses the files of a run with fewer.
    keys = ("synthetic_scene_s", "n_populations", "event_rate_scale")
    return {"sample_rate": sample_rate, **{k: asdict(config)[k] for k in keys}}


def _encode_scene(
    codec: Codec, config: LMDataConfig, index: int, dst: Path, seed: int, n_q: int
) -> None:
    from dolphin.codec.tokens import save_tokens
    from dolphin.synth.scene import SceneConfig, make_scene

    base, scale = SceneConfig(), config.event_rate_scale
    scene_cfg = replace(
        base,
        sample_rate=codec.sample_rate,
        duration_s=config.synthetic_scene_s,
        population_seed=SYNTH_POPULATION_BASE + index % config.n_populations,
        signature_bout_rate_per_min=base.signature_bout_rate_per_min * scale,
        whistle_rate_per_min=base.whistle_rate_per_min * scale,
        sigwi_whistle_rate_per_min=base.sigwi_whistle_rate_per_min * scale,
        burst_pulse_rate_per_min=base.burst_pulse_rate_per_min * scale,
        click_train_rate_per_min=base.click_train_rate_per_min * scale,
        buzz_rate_per_min=base.buzz_rate_per_min * scale,
    )
    scene_seed = int(_rng(seed, index, 11).integers(2**31))
    scene = make_scene(scene_cfg, seed=scene_seed)
    audio = torch.from_numpy(scene.samples[:1])[None]  # [1, 1, T]
    codes = codec.encode(audio, n_q=n_q)
    tmp = dst.with_name(f".{dst.name}.partial")
    save_tokens(
        tmp,
        codes[0],
        sample_rate=codec.sample_rate,
        hop_length=codec.hop_length,
        n_q=n_q,
        codec_hash=codec.identity_hash(),
        n_samples=audio.shape[-1],
        extra={"source": f"synthetic scene {index}", "scene_seed": scene_seed},
    )
    tmp.replace(dst)


def _is_cached(path: Path, codec_hash: str, n_q: int) -> bool:
    try:
        tokens = load_tokens(path)
    except TokenFileError:
        return False
    return tokens.codec_hash == codec_hash and tokens.n_q == n_q


def prepare_token_files(
    config: LMDataConfig,
    codec: Codec,
    cache_dir: str | Path,
    *,
    seed: int = 0,
    progress: bool = False,
    n_q: int | None = None,
) -> list[Path]:
    """Encode the recordings (or synthetic scenes) into cached token files.

    With ``config.encode_workers`` > 1 the files are encoded by that many spawned processes of
    one CPU thread each (the codec is copied to them); the files are the same as in one process.

    Parameters
    ----------
    config : LMDataConfig
        Data source settings.
    codec : Codec
        The codec (eval mode); its identity hash names the cache sub-folder.
    cache_dir : str or Path
        Root of the token cache.
    seed : int
        Seed of the synthetic scenes.
    progress : bool
        Show a progress bar.
    n_q : int, optional
        Codebooks kept (the first ``n_q``); all of the codec's when omitted. Cached files made
        with another ``n_q`` are encoded again.

    Returns
    -------
    list of Path
        Token files, sorted; files already cached for this codec are not encoded again.

    Raises
    ------
    ConfigError
        The folder does not exist or holds no audio file.
    """
    from tqdm import tqdm

    codec_hash = codec.identity_hash()
    n_q = codec.n_q if n_q is None else int(n_q)
    root = Path(cache_dir) / codec_hash
    if config.folder:
        source = Path(config.folder)
        if not source.is_dir():
            raise ConfigError(f"lm_train.data.folder: {source} is not a folder")
        audio = sorted(p for p in source.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
        if not audio:
            raise ConfigError(f"lm_train.data.folder: no audio files under {source}")
        jobs = [
            (p, root / "folder" / p.relative_to(source).with_suffix(TOKEN_SUFFIX)) for p in audio
        ]
    else:
        settings = _synthetic_settings(config, codec.sample_rate)
        tag = hashlib.sha256(json.dumps({**settings, "seed": seed}, sort_keys=True).encode())
        folder = root / f"synthetic-{tag.hexdigest()[:8]}"
        jobs = [
            (i, folder / f"scene_{i:05d}{TOKEN_SUFFIX}")
            for i in range(config.synthetic_first, config.synthetic_first + config.synthetic_scenes)
        ]
    todo = [(src, dst) for src, dst in jobs if not _is_cached(dst, codec_hash, n_q)]
    for _, dst in todo:
        dst.parent.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=len(todo), disable=not progress, desc="tokenising", leave=False)
    workers = min(config.encode_workers, len(todo))
    if workers <= 1:
        for src, dst in todo:
            _encode_job(codec, config, src, dst, seed, n_q)
            bar.update()
    else:  # worker processes (spawned: a forked torch may hang), one thread each
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=_init_worker, initargs=(codec, os.getpid())
        ) as pool:
            for _ in pool.map(_worker_job, [(config, s, d, seed, n_q) for s, d in todo]):
                bar.update()
    bar.close()
    return sorted(dst for _, dst in jobs)


def _encode_job(
    codec: Codec, config: LMDataConfig, src: int | Path, dst: Path, seed: int, n_q: int
) -> None:
    from dolphin.codec.files import encode_file

    if isinstance(src, Path):
        encode_file(codec, src, dst, n_q=n_q, channel=config.channel)
    else:
        _encode_scene(codec, config, src, dst, seed, n_q)


_WORKER_CODEC: Codec | None = None  # the codec of an encoding worker process


def _init_worker(codec: Codec, parent: int) -> None:
    global _WORKER_CODEC
    torch.set_num_threads(1)
    _WORKER_CODEC = codec.eval()
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int, poll_s: float = 1.0) -> None:
    # A killed parent (SIGKILL, SIGTERM) cannot stop its pool; a worker left behind would spin
    # on the broken queue. Token files are written under a temporary name, so none is left half.
    while os.getppid() == parent:
        time.sleep(poll_s)
    os._exit(1)


def _worker_job(job: tuple) -> None:
    assert _WORKER_CODEC is not None
    with torch.inference_mode():
        _encode_job(_WORKER_CODEC, *job)


def split_recordings(
    paths: list[Path], *, val_share: float, seed: int = 0
) -> tuple[list[Path], list[Path]]:
    """Hold out whole recordings: ``round(val_share * n)`` of them (at least one when > 0).

    Returns
    -------
    (train, val) : two lists of Path
        Disjoint; the choice depends only on the sorted names and ``seed``.

    Raises
    ------
    ConfigError
        ``val_share > 0`` with fewer than two recordings.
    """
    paths = sorted(paths)
    if val_share <= 0:
        return paths, []
    if len(paths) < 2:
        raise ConfigError(
            f"lm_train.data.val_share={val_share} needs >= 2 recordings to hold one out "
            f"(found {len(paths)}); add recordings or set val_share=0"
        )
    n_val = min(len(paths) - 1, max(1, round(val_share * len(paths))))
    order = _rng(seed, 5).permutation(len(paths))
    held = set(order[:n_val].tolist())
    return [p for i, p in enumerate(paths) if i not in held], [paths[i] for i in sorted(held)]


def load_codes(paths: list[Path], *, codec_hash: str, min_frames: int = 1) -> list[torch.Tensor]:
    """Codes ``[K, T]`` (int16 in memory) of token files made by the codec ``codec_hash``.

    Raises
    ------
    TokenFileError
        A file was made by another codec.
    """
    out = []
    for path in paths:
        tokens = load_tokens(path)
        if tokens.codec_hash != codec_hash:
            raise TokenFileError(
                f"{path}: made by codec {tokens.codec_hash}, expected {codec_hash}"
            )
        if tokens.codes.shape[-1] >= min_frames:
            out.append(tokens.codes.to(torch.int16 if tokens.codes.max() < 2**15 else torch.int32))
    return out


def _window(codes: torch.Tensor, start: int, length: int) -> torch.Tensor:
    part = codes[:, start : start + length].long()
    if part.shape[-1] < length:
        part = torch.nn.functional.pad(part, (0, length - part.shape[-1]), value=-1)
    return part


class TokenWindows(torch.utils.data.Dataset):
    """Map-style dataset: index ``i`` -> codes ``[K, window_frames]`` int64 (``-1`` = padding).

    Parameters
    ----------
    recordings : list of Tensor
        Codes ``[K, T]`` of each training recording.
    window_frames : int
        Frames per window.
    seed : int
        Window ``i`` depends only on ``(seed, i)``.
    """

    def __init__(
        self, recordings: list[torch.Tensor], *, window_frames: int, seed: int = 0
    ) -> None:
        if not recordings:
            raise ConfigError("no training recordings (all too short, or all held out)")
        self.recordings, self.window_frames, self.seed = recordings, int(window_frames), int(seed)
        lengths = np.array([r.shape[-1] for r in recordings], dtype=np.float64)
        self.weights = lengths / lengths.sum()

    def __len__(self) -> int:
        return 2**62  # effectively infinite; the batch sampler picks indices

    def __getitem__(self, index: int) -> torch.Tensor:
        rng = _rng(self.seed, int(index))
        which = int(rng.choice(len(self.recordings), p=self.weights))
        codes = self.recordings[which]
        start = int(rng.integers(0, max(0, codes.shape[-1] - self.window_frames) + 1))
        return _window(codes, start, self.window_frames)


def validation_windows(
    recordings: list[torch.Tensor], *, window_frames: int, max_windows: int
) -> torch.Tensor:
    """Fixed held-out windows ``[n, K, window_frames]``: consecutive windows, recordings in turn.

    Returns an empty ``[0, K, window_frames]`` tensor when there are no recordings.
    """
    starts = [list(range(0, max(1, r.shape[-1]), window_frames)) for r in recordings]
    picked: list[torch.Tensor] = []
    for round_ in range(max((len(s) for s in starts), default=0)):
        for codes, offsets in zip(recordings, starts, strict=True):
            if round_ < len(offsets) and len(picked) < max_windows:
                picked.append(_window(codes, offsets[round_], window_frames))
    if not picked:
        k = recordings[0].shape[0] if recordings else 1
        return torch.zeros(0, k, window_frames, dtype=torch.long)
    return torch.stack(picked)
