"""LM training: a debug run composes from the real config, trains, exports and resumes exactly."""

from __future__ import annotations

import csv

import pytest
import torch

from dolphin.cli.main import main as cli
from dolphin.config import compose
from dolphin.lm import SoundLM
from dolphin.train.app import run_task


def _train(run_dir, cache, *extra: str):
    overrides = [
        "task=lm",
        "lm=tiny",
        "lm.dropout=0.1",  # resuming must also restore the dropout RNG
        "codec=tiny",
        "train=debug",
        "lm_train=debug",
        "progress=false",
        "lm_train.data.synthetic_scenes=3",
        "lm_train.data.synthetic_scene_s=1.0",
        "lm_train.data.val_share=0.34",
        "lm_train.data.window_frames=32",
        f"lm_train.data.cache_dir={cache}",
        f"train.run_dir={run_dir}",
        *extra,
    ]
    return run_task(compose(overrides))


def _continue_a_prompt(tmp_path, model, *extra: str) -> tuple[int, int]:
    """Exit code of ``dolphin lm continue`` on a 50 ms prompt by 0.1 s, and frames written."""
    from dolphin.audio.io import audio_info, write_audio

    prompt, out = tmp_path / "prompt.wav", tmp_path / "out.wav"
    write_audio(prompt, 0.05 * torch.randn(2400).numpy(), 48000)
    args = ["lm", "continue", str(prompt), str(out), "--seconds", "0.1", "--seed", "0"]
    code = cli([*args, "--model", str(model), *extra])
    return code, audio_info(out).n_frames if code == 0 else 0


def test_resume_continues_exactly_and_the_cli_uses_the_result(tmp_path, capsys) -> None:
    cache = tmp_path / "tokens"
    straight = _train(tmp_path / "a", cache)
    _train(tmp_path / "b", cache, "train.steps=2")  # "killed" after step 2 (checkpoint at 2)
    resumed = _train(tmp_path / "b", cache)  # same command again: resumes from step 2
    a, b = SoundLM.from_pretrained(straight), SoundLM.from_pretrained(resumed)
    assert a.config.codec_hash and a.config == b.config
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key]), key
    with (tmp_path / "b" / "metrics.csv").open() as handle:
        assert [int(r["step"]) for r in csv.DictReader(handle)] == [1, 2, 3, 4]
    with (tmp_path / "b" / "val.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["step"]) for r in rows] == [2, 4] and 4.0 < float(
        rows[-1]["val_bits_per_token"]
    ) < 7.0

    # the CLI finds the codec saved beside the model (run_dir/codec)
    token_file = sorted(cache.rglob("*.tokens"))[0]
    assert cli(["lm", "score", str(token_file), "--model", str(straight)]) == 0
    assert "bits per token" in capsys.readouterr().out
    args = ["lm", "score", str(token_file), "--model", str(straight), "--window", "16"]
    assert cli([*args, "--overlap", "8"]) == 0
    assert cli([*args, "--overlap", "16"]) == 2  # no room left for new frames
    assert "overlap must be 0-12 frames" in capsys.readouterr().err
    assert _continue_a_prompt(tmp_path, straight) == (0, 15 * 480)
    assert _continue_a_prompt(tmp_path, straight, "--codec", "no/such/codec")[0] == 2


def test_an_lm_of_the_first_codebooks_trains_in_bf16_scores_and_continues(tmp_path, capsys) -> None:
    from dolphin.codec.tokens import load_tokens
    from dolphin.errors import ConfigError

    cache = tmp_path / "tokens"
    model = _train(tmp_path / "a", cache, "lm_train.n_q=2", "train.steps=2", "train.precision=bf16")
    lm = SoundLM.from_pretrained(model)
    assert lm.n_codebooks == 2 and lm.config.context_frames == 32  # the training window
    longer = _train(
        tmp_path / "b", cache, "lm_train.n_q=2", "train.steps=1", f"train.init_from={model}",
        "lm_train.data.window_frames=48", "lm.dropout=0.0",
    )  # fmt: skip
    tuned = SoundLM.from_pretrained(longer).config
    assert tuned.context_frames == 48 and tuned.dropout == 0.0
    with pytest.raises(ConfigError, match="only the window and dropout may"):
        _train(tmp_path / "e", tmp_path / "t4", "train.steps=1", f"train.init_from={model}")
    token_file = sorted(cache.rglob("*.tokens"))[0]
    assert load_tokens(token_file).codes.shape[0] == 2
    assert _continue_a_prompt(tmp_path, model) == (0, 15 * 480)
    assert cli(["lm", "score", str(tmp_path / "prompt.wav"), "--model", str(model)]) == 0
    assert "2 codebooks" in capsys.readouterr().out
    with pytest.raises(ConfigError, match="n_q=9 but the codec has 4"):
        _train(tmp_path / "c", cache, "lm_train.n_q=9")
    with pytest.raises(ConfigError, match="train.precision must be auto, bf16 or fp32"):
        _train(tmp_path / "d", cache, "train.precision=fp8")


@pytest.mark.parametrize("launcher", ["joblib", "submitit_local"])
def test_a_multirun_sweep_runs_under_the_launcher_plugins(tmp_path, launcher) -> None:
    import json
    import subprocess
    import sys

    plugin = {"joblib": "hydra_joblib_launcher", "submitit_local": "hydra_submitit_launcher"}
    pytest.importorskip(f"hydra_plugins.{plugin[launcher]}")
    sweep = tmp_path / "sweep"
    args = [
        sys.executable, "-m", "dolphin.train.app", "-m", f"hydra/launcher={launcher}",
        "task=lm", "lm=tiny", "codec=tiny", "train=debug", "lm_train=debug", "progress=false",
        "train.steps=2", "lm_train.data.synthetic_scenes=3", "lm_train.data.synthetic_scene_s=0.5",
        "lm_train.data.window_frames=16", "train.lr=1e-3,3e-3", f"hydra.sweep.dir={sweep}",
    ]  # fmt: skip
    if launcher == "joblib":
        args.append("hydra.launcher.n_jobs=2")
    subprocess.run(args, check=True, capture_output=True, timeout=300)
    for job in ("0", "1"):
        summary = json.loads((sweep / job / "summary.json").read_text())
        assert summary["step"] == 2
    configs = [json.loads((sweep / j / "config.json").read_text()) for j in ("0", "1")]
    assert sorted(c["train"]["lr"] for c in configs) == [1e-3, 3e-3]
