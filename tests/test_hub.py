"""Shipped weights: listing, resolving names and folders, loading, and clear errors."""

from __future__ import annotations

import pytest
import torch

from dolphin import hub
from dolphin.codec import Codec, build_debug_codec
from dolphin.errors import DolphinError


@pytest.fixture
def weights_root(tmp_path, monkeypatch):
    """An empty shipped-weights root the hub reads instead of ``dolphin/weights``."""
    root = tmp_path / "weights"
    root.mkdir()
    monkeypatch.setattr(hub, "WEIGHTS_ROOT", root)
    return root


def ship(root, name: str = "default", card: str | None = "# Codec\nA tiny test codec.\n") -> Codec:
    codec = build_debug_codec()
    folder = codec.save(root / "codec" / name)
    if card is not None:
        (folder / hub.MODEL_CARD).write_text(card)
    return codec


def test_default_missing_says_not_shipped(weights_root) -> None:
    with pytest.raises(hub.ModelNotFoundError, match="default codec weights are not shipped"):
        Codec.from_pretrained()
    assert hub.available_models() == []


def test_from_pretrained_default_loads_shipped_codec(weights_root) -> None:
    codec = ship(weights_root)
    loaded = Codec.from_pretrained("default")
    assert loaded.identity_hash() == codec.identity_hash()
    assert not loaded.training
    audio = 0.1 * torch.randn(1, 1, 4800, generator=torch.Generator().manual_seed(0))
    assert torch.equal(loaded.encode(audio), codec.encode(audio))
    [info] = hub.available_models("codec")
    assert (info.kind, info.name, info.summary) == ("codec", "default", "A tiny test codec.")
    assert hub.model_card("codec", "default").startswith("# Codec")


def test_folder_path_is_loaded(weights_root, tmp_path) -> None:
    codec = build_debug_codec()
    codec.save(tmp_path / "run" / "final")
    assert Codec.from_pretrained(tmp_path / "run" / "final").identity_hash() == (
        codec.identity_hash()
    )
    assert Codec.from_pretrained(str(tmp_path / "run" / "final")).n_q == codec.n_q
    assert hub.model_card("codec", tmp_path / "run" / "final") is None


def test_unknown_name_lists_shipped_models(weights_root) -> None:
    ship(weights_root, "small", card=None)
    with pytest.raises(hub.ModelNotFoundError, match=r"no shipped codec named 'big'.*small"):
        hub.model_dir("codec", "big")
    assert [m.name for m in hub.available_models()] == ["small"]


def test_incomplete_folder_names_missing_file(weights_root, tmp_path) -> None:
    (weights_root / "codec" / "default").mkdir(parents=True)
    (weights_root / "codec" / "default" / "config.json").write_text("{}")
    with pytest.raises(DolphinError, match="missing model.safetensors"):
        Codec.from_pretrained()
    assert hub.available_models() == []  # incomplete folders are not listed
    with pytest.raises(hub.ModelNotFoundError, match="no such codec folder"):
        hub.model_dir("codec", tmp_path / "nowhere")
    with pytest.raises(hub.ModelNotFoundError, match="unknown model kind 'vocoder'"):
        hub.model_dir("vocoder", "default")


def test_real_weights_root_is_package_data() -> None:
    assert hub.WEIGHTS_ROOT.parent.name == "dolphin"
    for info in hub.available_models():  # whatever ships must load
        assert hub.model_dir(info.kind, info.name) == info.path
