"""Checkpoints: safetensors + JSON round trip, atomic folders, pruning, clear errors."""

from __future__ import annotations

import random

import pytest
import torch

from dolphin.train.checkpoint import (
    CheckpointError,
    find_latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)


def _model_and_optimizer(seed: int) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, betas=(0.8, 0.99))
    model(torch.randn(5, 4)).square().mean().backward()
    optimizer.step()
    return model, optimizer


def test_round_trip_restores_weights_optimizer_and_rng(tmp_path) -> None:
    model, optimizer = _model_and_optimizer(0)
    random.seed(3)
    torch.manual_seed(4)
    path = save_checkpoint(
        tmp_path, 7, modules={"m": model}, optimizers={"m": optimizer}, extra={"best": 1.5}
    )
    expected_torch, expected_py = torch.rand(3), random.random()

    other, other_opt = _model_and_optimizer(1)
    ckpt = load_checkpoint(path, modules={"m": other}, optimizers={"m": other_opt})
    assert ckpt.step == 7 and ckpt.extra == {"best": 1.5}
    for key, value in model.state_dict().items():
        assert torch.equal(value, other.state_dict()[key]), key
    assert torch.equal(torch.rand(3), expected_torch)
    assert random.random() == expected_py
    saved, loaded = optimizer.state_dict(), other_opt.state_dict()
    for index, entry in saved["state"].items():
        for key, value in entry.items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(loaded["state"][index][key]))
    assert loaded["param_groups"][0]["lr"] == pytest.approx(1e-2)


def test_latest_prunes_and_ignores_incomplete(tmp_path) -> None:
    model, optimizer = _model_and_optimizer(0)
    for step in (1, 2, 3, 4):
        save_checkpoint(tmp_path, step, modules={"m": model}, optimizers={}, keep=2)
    (tmp_path / "step_00000009").mkdir()  # a kill in the middle of an older writer's rename
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["step_00000003", "step_00000004", "step_00000009"]
    assert find_latest_checkpoint(tmp_path).name == "step_00000004"
    assert find_latest_checkpoint(tmp_path / "missing") is None


def test_mismatched_module_and_corrupt_files_are_refused(tmp_path) -> None:
    model, optimizer = _model_and_optimizer(0)
    path = save_checkpoint(tmp_path, 1, modules={"m": model}, optimizers={"m": optimizer})
    with pytest.raises(CheckpointError, match="module 'm' does not match"):
        load_checkpoint(path, modules={"m": torch.nn.Linear(3, 3)})
    (path / "tensors.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match="unreadable checkpoint"):
        load_checkpoint(path, modules={"m": model})
