"""Training checkpoints as safetensors + JSON: no pickle, atomic, resumable bit for bit.

A checkpoint is a folder ``step_00001234/`` holding

* ``tensors.safetensors``: module weights and buffers (``model.<name>.<key>``), optimizer
  state tensors (``optim.<name>.<param index>.<key>``) and RNG states (``rng.<name>``);
* ``state.json``: the step, optimizer hyper-parameters, Python's ``random`` state and any
  JSON-ready extra state the trainer adds (loss-balancer averages, best validation score).

It is written to a temporary folder and renamed, so a kill during saving leaves the previous
checkpoint intact; :func:`find_latest_checkpoint` only returns complete folders.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dolphin.errors import DolphinError

TENSORS_NAME = "tensors.safetensors"
STATE_NAME = "state.json"
PREFIX = "step_"
FORMAT = "dolphin-checkpoint-1"


class CheckpointError(DolphinError):
    """A checkpoint folder is incomplete, corrupt or does not fit the model it is loaded into."""


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` restored."""

    path: Path  # the checkpoint folder
    step: int  # optimisation steps completed when it was written
    extra: dict[str, Any] = field(default_factory=dict)  # the trainer's JSON state


def _rng_tensors() -> dict[str, torch.Tensor]:
    states = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            states[f"rng.cuda.{i}"] = state
    return states


def _optimizer_split(name: str, optimizer: torch.optim.Optimizer) -> tuple[dict, dict]:
    """Split an optimizer state dict into tensors and a JSON-ready remainder."""
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, entry in state["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{name}.{index}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{index}.{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def save_checkpoint(
    directory: str | Path,
    step: int,
    *,
    modules: dict[str, nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    extra: dict[str, Any] | None = None,
    keep: int = 3,
) -> Path:
    """Write ``directory/step_<step>/`` atomically and prune old checkpoints.

    Parameters
    ----------
    directory : str or Path
        The run's checkpoint folder.
    step : int
        Optimisation steps completed.
    modules, optimizers : dict
        Named modules (weights and buffers) and optimizers to save.
    extra : dict, optional
        JSON-ready trainer state.
    keep : int
        Newest checkpoints to keep (older complete ones are deleted).

    Returns
    -------
    Path
        The new checkpoint folder.
    """
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = _rng_tensors()
    optim_json = {}
    for name, module in modules.items():
        for key, value in module.state_dict().items():
            tensors[f"model.{name}.{key}"] = value.detach().cpu().contiguous()
    for name, optimizer in optimizers.items():
        opt_tensors, optim_json[name] = _optimizer_split(name, optimizer)
        tensors.update(opt_tensors)
    state = {
        "format": FORMAT,
        "step": int(step),
        "optimizers": optim_json,
        "python_random": _to_json(random.getstate()),
        "extra": extra or {},
    }
    final = directory / f"{PREFIX}{step:08d}"
    tmp = directory / f".tmp_{PREFIX}{step:08d}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save_file(tensors, str(tmp / TENSORS_NAME), metadata={"format": FORMAT})
    (tmp / STATE_NAME).write_text(json.dumps(state, indent=1) + "\n")
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    for old in _complete_checkpoints(directory)[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return final


def _to_json(value: Any) -> Any:
    return [_to_json(v) for v in value] if isinstance(value, (tuple, list)) else value


def _to_tuple(value: Any) -> Any:
    return tuple(_to_tuple(v) for v in value) if isinstance(value, list) else value


def _complete_checkpoints(directory: Path) -> list[Path]:
    found = [
        p
        for p in directory.glob(f"{PREFIX}*")
        if p.is_dir() and (p / TENSORS_NAME).is_file() and (p / STATE_NAME).is_file()
    ]
    return sorted(found, key=lambda p: p.name)


def find_latest_checkpoint(directory: str | Path) -> Path | None:
    """Newest complete checkpoint folder in ``directory`` (``None`` when there is none)."""
    directory = Path(directory)
    if not directory.is_dir():
        return None
    found = _complete_checkpoints(directory)
    return found[-1] if found else None


def load_checkpoint(
    path: str | Path,
    *,
    modules: dict[str, nn.Module],
    optimizers: dict[str, torch.optim.Optimizer] | None = None,
    restore_rng: bool = True,
) -> Checkpoint:
    """Restore modules, optimizers and RNG states from a checkpoint folder, in place.

    Parameters
    ----------
    path : str or Path
        A folder written by :func:`save_checkpoint`.
    modules, optimizers : dict
        The same names as when saving; the modules must have the same architecture.
    restore_rng : bool
        Also restore torch, CUDA and Python ``random`` states (exact continuation).

    Returns
    -------
    Checkpoint

    Raises
    ------
    CheckpointError
        Files are missing or corrupt, or a module or optimizer does not match.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    try:
        state = json.loads((path / STATE_NAME).read_text())
        tensors = load_file(str(path / TENSORS_NAME))
    except (OSError, ValueError, SafetensorError) as err:
        raise CheckpointError(f"{path}: unreadable checkpoint ({err})") from err
    if state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: format {state.get('format')!r}, expected {FORMAT!r}")
    for name, module in modules.items():
        prefix = f"model.{name}."
        weights = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        try:
            module.load_state_dict(weights)
        except RuntimeError as err:
            raise CheckpointError(f"{path}: module {name!r} does not match: {err}") from err
    for name, optimizer in (optimizers or {}).items():
        saved = state["optimizers"].get(name)
        if saved is None:
            raise CheckpointError(f"{path}: no state for optimizer {name!r}")
        per_param: dict[int, dict[str, Any]] = {}
        prefix = f"optim.{name}."
        for key, value in tensors.items():
            if key.startswith(prefix):
                index, field_name = key[len(prefix) :].split(".", 1)
                per_param.setdefault(int(index), {})[field_name] = value
        for key, value in saved["scalars"].items():
            index, field_name = key.split(".", 1)
            per_param.setdefault(int(index), {})[field_name] = value
        try:
            optimizer.load_state_dict({"state": per_param, "param_groups": saved["param_groups"]})
        except (ValueError, KeyError) as err:
            raise CheckpointError(f"{path}: optimizer {name!r} does not match: {err}") from err
    if restore_rng:
        torch.set_rng_state(tensors["rng.torch"])
        cuda_states = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
        if cuda_states and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(cuda_states)
        random.setstate(_to_tuple(state["python_random"]))
    return Checkpoint(path=path, step=int(state["step"]), extra=state.get("extra", {}))
