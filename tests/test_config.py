"""The Hydra config tree composes, validates keys and maps onto the dataclasses."""

from __future__ import annotations

from pathlib import Path

import pytest

from dolphin.config import DolphinConfig, compose, conf_dir, load_config
from dolphin.errors import ConfigError
from dolphin.synth.scene import SceneConfig


def test_default_config_composes_to_dataclasses():
    cfg = load_config()
    assert isinstance(cfg, DolphinConfig)
    assert isinstance(cfg.synth, SceneConfig)
    assert cfg.synth.sample_rate == 96000


@pytest.mark.parametrize(
    "experiment", sorted(p.stem for p in (conf_dir() / "experiment").glob("*.yaml"))
)
def test_every_experiment_composes(experiment):
    cfg = load_config([f"experiment={experiment}"])
    assert isinstance(cfg, DolphinConfig)


def test_every_synth_option_composes():
    for path in sorted((conf_dir() / "synth").glob("*.yaml")):
        cfg = load_config([f"synth={path.stem}"])
        assert isinstance(cfg.synth, SceneConfig)


@pytest.mark.parametrize(
    "option",
    sorted(
        f"{group.name}={path.stem}"
        for group in conf_dir().iterdir()
        if group.is_dir() and group.name != "experiment"
        for path in group.glob("*.yaml")
    ),
)
def test_every_group_option_composes_and_validates(option):
    cfg = load_config([option])  # to_object runs every dataclass's own validation
    assert isinstance(cfg, DolphinConfig)


def test_tiny_experiment_shrinks_the_run():
    cfg = load_config(["experiment=tiny"])
    assert cfg.synth.duration_s <= 5 and not cfg.progress


def test_misspelt_key_fails_with_its_name():
    with pytest.raises(ConfigError, match="duraton_s"):
        compose(["synth.duraton_s=5"])


def test_wrong_type_fails_with_its_name():
    with pytest.raises(ConfigError, match="sample_rate"):
        compose(["synth.sample_rate=fast"])


def test_unknown_group_option_fails():
    with pytest.raises(ConfigError, match="nonexistent"):
        compose(["experiment=nonexistent"])


def test_invalid_value_is_rejected_by_the_dataclass():
    with pytest.raises(ConfigError, match="duration_s"):
        load_config(["synth.duration_s=-1"])


def test_misspelt_key_in_a_yaml_file_fails(tmp_path: Path, monkeypatch):
    import shutil

    import dolphin.config as config_module

    copy = tmp_path / "conf"
    shutil.copytree(conf_dir(), copy)
    (copy / "experiment" / "typo.yaml").write_text(
        "# @package _global_\nsynth:\n  sampel_rate: 1\n"
    )
    monkeypatch.setattr(config_module, "conf_dir", lambda: copy)
    with pytest.raises(ConfigError, match="sampel_rate"):
        compose(["experiment=typo"])
