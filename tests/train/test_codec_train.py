"""Codec training: a debug run composes from the real config, trains, exports and resumes exactly."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from dolphin.codec import Codec
from dolphin.config import compose
from dolphin.errors import ConfigError
from dolphin.train.app import run_task
from dolphin.train.codec_data import CodecCrops, CodecDataConfig, StepBatches
from dolphin.train.loop import TrainConfig, learning_rate

SMALL = [
    "codec=tiny",
    "train=debug",
    "progress=false",
    "codec_train.data.crop_s=0.1",
    "codec_train.data.scene_s=1.0",
    "codec_train.data.crops_per_scene=2",
    "codec_train.val_crops=2",
    "codec_train.loss.adversarial_start_step=2",  # steps 3-4 also train the discriminator
    "codec_train.loss.disc_channels=4",
    "codec_train.loss.disc_scales=2",
]


def _train(run_dir, *extra: str):
    return run_task(compose([*SMALL, f"train.run_dir={run_dir}", *extra]))


def _weights(folder) -> dict[str, torch.Tensor]:
    return Codec.load(folder).state_dict()


def test_debug_run_exports_a_loadable_codec_and_logs(tmp_path) -> None:
    out = _train(tmp_path / "run")
    codec = Codec.load(out)
    assert codec.sample_rate == 48000
    codes = codec.encode(torch.zeros(1, 1, 4800))
    assert codes.shape == (1, 4, 10)
    with (tmp_path / "run" / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4]
    assert all(float(r["mel"]) > 0 for r in rows)
    assert rows[-1]["d_loss"] != ""  # the adversarial phase ran
    with (tmp_path / "run" / "val.csv").open() as handle:
        assert [int(r["step"]) for r in csv.DictReader(handle)] == [2, 4]


def test_resume_after_a_kill_continues_exactly(tmp_path) -> None:
    straight = _train(tmp_path / "a")
    _train(tmp_path / "b", "train.steps=2")  # "killed" after step 2 (checkpoint at 2)
    resumed = _train(tmp_path / "b")  # same command again: resumes from step 2
    a, b = _weights(straight), _weights(resumed)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    with (tmp_path / "b" / "metrics.csv").open() as handle:
        assert [int(r["step"]) for r in csv.DictReader(handle)] == [1, 2, 3, 4]


def test_bad_training_keys_fail_naming_the_key() -> None:
    with pytest.raises(ConfigError, match="stepz"):
        compose(["train.stepz=3"])
    with pytest.raises(ConfigError, match="crop_s"):
        run_task(compose(["codec_train.data.crop_s=-1", "train=debug"]))


def test_crops_are_a_function_of_index_and_seed() -> None:
    cfg = CodecDataConfig(crop_s=0.05, scene_s=0.5, crops_per_scene=2)
    a = CodecCrops(cfg, sample_rate=48000, seed=1)
    b = CodecCrops(cfg, sample_rate=48000, seed=1)
    assert torch.equal(a[5], b[5]) and torch.equal(a[4], b[4])  # order of access is irrelevant
    assert a[5].shape == (1, 2400) and torch.isfinite(a[5]).all()
    assert not torch.equal(a[5], CodecCrops(cfg, sample_rate=48000, seed=2)[5])
    batches = iter(StepBatches(3, start_step=2, rank=1, world_size=2))
    assert next(batches) == [15, 16, 17]  # block 2 * 2 + 1 = 5


def test_learning_rate_warms_up_then_decays() -> None:
    cfg = TrainConfig(steps=100, warmup_steps=10, lr=1.0, min_lr_ratio=0.1)
    lrs = [learning_rate(cfg, s) for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(x >= y for x, y in zip(lrs[10:], lrs[11:], strict=False))
    assert lrs[-1] == pytest.approx(0.1, abs=0.01)


def test_two_process_ddp_run_on_cpu(tmp_path) -> None:
    """torchrun with two gloo ranks trains the same debug run and exports one model."""
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:  # a free port for the rendezvous
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        f"--master_port={port}",
        "-m",
        "dolphin.train.app",
        *SMALL,
        f"train.run_dir={tmp_path / 'ddp'}",
        f"hydra.run.dir={tmp_path / 'hydra'}",
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    assert Codec.load(tmp_path / "ddp" / "model").n_q == 4
    with (tmp_path / "ddp" / "metrics.csv").open() as handle:
        assert [int(r["step"]) for r in csv.DictReader(handle)] == [1, 2, 3, 4]


def test_hydra_app_single_run_keeps_the_composed_run_dir(tmp_path: Path) -> None:
    """A plain run (no -m) writes to train.run_dir as composed, so a rerun resumes there."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "dolphin.train.app", *SMALL, "train.steps=1"]
    cmd.append(f"hydra.run.dir={tmp_path / 'hydra'}")
    done = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "outputs" / "train" / "codec" / "model").is_dir()
    assert not (tmp_path / "hydra" / "model").exists()


def test_whistle_share_gives_whistle_only_scenes() -> None:
    data = CodecCrops(CodecDataConfig(whistle_share=0.5, scene_s=1.0), sample_rate=48000)
    groups = [g for g in range(40) if data.is_whistle_group(g)]
    assert 10 < len(groups) < 30  # about half, fixed by the seed
    config = data.scene_config(groups[0])
    assert config.click_train_rate_per_min == 0 and config.burst_pulse_rate_per_min == 0
    assert config.buzz_rate_per_min == 0 and config.snr_db_min == 15.0
    assert data.scene_config(next(g for g in range(40) if g not in groups)).buzz_rate_per_min > 0
    with pytest.raises(ConfigError, match="whistle_share"):
        CodecDataConfig(whistle_share=1.5)


def test_bandlimit_share_low_passes_some_scenes() -> None:
    cfg = CodecDataConfig(bandlimit_share=0.5, scene_s=0.5, crop_s=0.25, crops_per_scene=1)
    data = CodecCrops(cfg, sample_rate=96000)
    cutoffs = [data.cutoff_hz(g) for g in range(40)]
    limited = [g for g, c in enumerate(cutoffs) if c is not None]
    assert 10 < len(limited) < 30 and all(8000 <= cutoffs[g] <= 40000 for g in limited)
    for group in (limited[0], next(g for g, c in enumerate(cutoffs) if c is None)):
        crop = data[group].numpy()[0]
        power = np.abs(np.fft.rfft(crop)) ** 2
        freqs = np.fft.rfftfreq(crop.size, 1 / 96000)
        above = power[freqs > (cutoffs[group] or 48000) * 1.02].sum() / power.sum()
        if cutoffs[group] is None:
            assert power[freqs > 40000].sum() > 0
        else:
            assert above < 1e-4  # nothing left above the cutoff (-40 dB: crop-edge leakage)
    with pytest.raises(ConfigError, match="bandlimit_share"):
        CodecDataConfig(bandlimit_share=-0.1)
    with pytest.raises(ConfigError, match="bandlimit_hz_min"):
        CodecDataConfig(bandlimit_hz_min=0.0)


def test_noise_slope_is_drawn_per_scene_within_its_range() -> None:
    cfg = CodecDataConfig(noise_slope_min=1.0, noise_slope_max=3.5, scene_s=0.5, crop_s=0.25)
    data = CodecCrops(cfg, sample_rate=48000)
    slopes = [data.scene_config(g).noise_slope for g in range(20)]
    assert all(1.0 <= s <= 3.5 for s in slopes) and np.ptp(slopes) > 1.0
    assert slopes == [CodecCrops(cfg, sample_rate=48000).noise_slope(g) for g in range(20)]
    assert CodecCrops(CodecDataConfig(), sample_rate=48000).scene_config(3).noise_slope == 1.7
    with pytest.raises(ConfigError, match="noise_slope_min"):
        CodecDataConfig(noise_slope_min=3.0, noise_slope_max=2.0)


def test_decoder_only_fine_tune_keeps_every_code(tmp_path) -> None:
    start = Codec.load(_train(tmp_path / "start", "train.steps=2"))
    out = _train(
        tmp_path / "tuned",
        f"train.init_from={tmp_path / 'start' / 'model'}",
        "codec_train.decoder_only=true",
        "train.lr=1e-2",
    )
    tuned = Codec.load(out)
    before, after = start.state_dict(), tuned.state_dict()
    for key in before:
        frozen = key.startswith(("encoder.", "quantizer."))
        assert torch.equal(before[key], after[key]) == frozen, key
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((1, 1, 9600)).astype(np.float32))
    assert torch.equal(start.encode(0.1 * x), tuned.encode(0.1 * x))
    with pytest.raises(ConfigError, match="init_from"):
        _train(tmp_path / "bad", "codec_train.decoder_only=true")
