"""Classifier training: a debug run composes from the real config, trains, exports and resumes."""

from __future__ import annotations

import csv

import pytest
import torch

from dolphin.config import compose, load_config
from dolphin.detect.classifier import EventClassifier
from dolphin.errors import ConfigError
from dolphin.train.app import run_task
from dolphin.train.classifier import ClassifierCrops, ClassifierTrainConfig

SMALL = [
    "task=classifier",
    "train=debug",
    "progress=false",
    "classifier.conv_channels=[4]",
    "classifier.freq_pools=[8]",
    "classifier.hidden=8",
    "classifier.dilations=[1,2]",
    "classifier_train.scene_s=1.0",
    "classifier_train.crop_s=0.5",
    "classifier_train.crops_per_scene=2",
    "classifier_train.n_scenes=2",
    "classifier_train.sample_rates=[96000]",
    "classifier_train.val_scenes=1",
]


def _train(run_dir, *extra: str):
    return run_task(compose([*SMALL, f"train.run_dir={run_dir}", *extra]))


def test_debug_run_exports_logs_and_resumes_exactly(tmp_path) -> None:
    out = _train(tmp_path / "a")
    model = EventClassifier.load(out)
    assert model.config.hidden == 8 and not model.training
    assert model(torch.zeros(1, 1, 80, 50)).shape == (1, 4, 25)
    with (tmp_path / "a" / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4]
    assert all(float(r["loss"]) > 0 for r in rows)
    with (tmp_path / "a" / "val.csv").open() as handle:
        val = list(csv.DictReader(handle))
    assert [int(r["step"]) for r in val] == [2, 4] and "val_f1_whistle" in val[0]
    assert (tmp_path / "a" / "best" / "model.safetensors").is_file()
    _train(tmp_path / "b", "train.steps=2")  # "killed" after step 2 (checkpoint at 2)
    resumed = EventClassifier.load(_train(tmp_path / "b")).state_dict()  # same command again
    straight = model.state_dict()
    assert straight.keys() == resumed.keys()
    for key in straight:
        assert torch.equal(straight[key], resumed[key]), key
    with (tmp_path / "b" / "metrics.csv").open() as handle:
        assert [int(r["step"]) for r in csv.DictReader(handle)] == [1, 2, 3, 4]


def test_crops_are_a_function_of_index_and_seed() -> None:
    cfg = load_config(SMALL)
    task, model = cfg.classifier_train, cfg.classifier
    a, b = ClassifierCrops(task, model, seed=1), ClassifierCrops(task, model, seed=1)
    xa, ya = a[3]
    b[0]  # order of access is irrelevant
    xb, yb = b[3]
    assert torch.equal(xa, xb) and torch.equal(ya, yb)
    assert xa.shape == (1, 80, 250) and ya.shape == (4, 125)
    assert not torch.equal(xa, ClassifierCrops(task, model, seed=2)[3][0])


def test_bad_classifier_keys_fail_naming_the_key() -> None:
    with pytest.raises(ConfigError, match="hiddn"):
        compose(["classifier.hiddn=3"])
    with pytest.raises(ConfigError, match="crop_s"):
        ClassifierTrainConfig(crop_s=10.0, scene_s=1.0)
