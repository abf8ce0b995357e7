"""SoundLM: shapes, loss masking, overfitting, save/load, codec binding, presets."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from dolphin.codec import build_debug_codec
from dolphin.codec.tokens import load_tokens, save_tokens
from dolphin.config import conf_dir
from dolphin.errors import ConfigError
from dolphin.lm import LMCodecMismatchError, LMConfig, LMInputError, SoundLM, generate, lm_preset
from dolphin.lm.config import PRESETS

from .conftest import K, N, make_codes, tiny_lm


def test_forward_gives_logits_per_codebook_and_step(lm: SoundLM) -> None:
    tokens = torch.randint(0, N + 2, (2, K, 7))
    assert lm(tokens).logits.shape == (2, K, 7, N)
    with pytest.raises(LMInputError, match="K=4"):
        lm(tokens[:, :3])


def test_loss_ignores_pattern_padding_and_missing_codes(lm: SoundLM) -> None:
    codes = make_codes(batch=2, frames=10)
    full = lm.compute_loss(codes)
    assert full.tokens_per_codebook.tolist() == [20] * K  # the delay corners are not counted
    codes[0, 2, 3:] = -1
    part = lm.compute_loss(codes)
    assert part.tokens_per_codebook[2] == 13
    assert 3.0 < full.bits_per_token < 5.0  # untrained: about log2(16) = 4 bits


def test_tiny_model_overfits_a_short_sequence() -> None:
    lm = tiny_lm().train()
    codes = make_codes(frames=12, seed=3)
    opt = torch.optim.Adam(lm.parameters(), lr=2e-2)
    for _ in range(40):
        loss = lm.compute_loss(codes)
        opt.zero_grad()
        loss.loss.backward()
        opt.step()
    assert loss.bits_per_token < 0.2
    out = generate(lm.eval(), 12, temperature=0.0)
    assert torch.equal(out.codes, codes)  # greedy decoding recites the memorised sequence


def test_save_and_load_give_identical_outputs(tmp_path: Path) -> None:
    lm = tiny_lm(seed=5, codec_hash="abc123def456", frame_rate_hz=100.0)
    folder = lm.save_pretrained(tmp_path / "lm")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    again = SoundLM.from_pretrained(folder)
    assert again.config == lm.config
    tokens = torch.randint(0, N + 2, (1, K, 9))
    assert torch.equal(again(tokens).logits, lm(tokens).logits)


def test_missing_model_folder_is_named_in_the_error(tmp_path: Path) -> None:
    from dolphin.hub import ModelNotFoundError

    with pytest.raises(ModelNotFoundError, match="not a saved lm"):
        SoundLM.from_pretrained(tmp_path)
    with pytest.raises(ModelNotFoundError, match="no shipped lm named"):
        SoundLM.from_pretrained("no-such-lm")


def test_compact_save_rounds_once_and_loads_back_identical(tmp_path: Path, monkeypatch) -> None:
    import dolphin.compact as compact

    monkeypatch.setattr(compact, "INT8_MIN_SIZE", 512)  # the tiny LM's matrices are small
    lm = tiny_lm(seed=5, codec_hash="abc123def456", frame_rate_hz=100.0)
    tokens = torch.randint(0, N + 2, (1, K, 9))
    before = lm(tokens).logits
    full = lm.save_pretrained(tmp_path / "full") / "model.safetensors"
    small = lm.save_pretrained(tmp_path / "small", precision="int8") / "model.safetensors"
    assert small.stat().st_size < 0.45 * full.stat().st_size
    again = SoundLM.from_pretrained(tmp_path / "small")
    assert torch.equal(again(tokens).logits, lm(tokens).logits)  # lm was rounded on saving
    assert (lm(tokens).logits - before).abs().max() < 0.1  # rounding moves logits a little


def test_mismatched_codec_and_token_files_are_refused(tmp_path: Path) -> None:
    codec = build_debug_codec()  # 4 x 64 codes
    k, n = codec.n_q, codec.config.codebook_size
    bound = SoundLM(
        lm_preset("tiny", n_codebooks=k, codebook_size=n, codec_hash=codec.identity_hash())
    )
    bound.check_codec(codec)
    other = SoundLM(lm_preset("tiny", n_codebooks=k, codebook_size=n, codec_hash="0123456789ab"))
    with pytest.raises(LMCodecMismatchError, match="0123456789ab"):
        other.check_codec(codec)
    with pytest.raises(LMCodecMismatchError):
        SoundLM(lm_preset("tiny", n_codebooks=k, codebook_size=32)).check_codec(codec)
    # An LM of the first codebooks works with the deeper codec; one of more codebooks does not.
    SoundLM(lm_preset("tiny", n_codebooks=k - 2, codebook_size=n)).check_codec(codec)
    with pytest.raises(LMCodecMismatchError, match="with 4 x 64"):
        SoundLM(lm_preset("tiny", n_codebooks=k + 1, codebook_size=n)).check_codec(codec)
    codes = make_codes(frames=5, k=k, n=n)[0]
    meta = dict(sample_rate=48000, hop_length=480, n_q=k, n_samples=2400)
    save_tokens(tmp_path / "ok.tokens", codes, codec_hash=codec.identity_hash(), **meta)
    save_tokens(tmp_path / "bad.tokens", codes, codec_hash="ffffffffffff", **meta)
    bound.check_token_file(load_tokens(tmp_path / "ok.tokens"))
    with pytest.raises(LMCodecMismatchError, match="ffffffffffff"):
        bound.check_token_file(load_tokens(tmp_path / "bad.tokens"))


def test_unbound_config_and_bad_values_are_refused() -> None:
    with pytest.raises(LMInputError, match="bind it to a codec"):
        SoundLM(LMConfig())
    with pytest.raises(ConfigError, match="num_kv_heads"):
        LMConfig(num_heads=6, num_kv_heads=4)
    with pytest.raises(ConfigError, match="context_frames must be an integer >= 0"):
        LMConfig(context_frames=-1)
    with pytest.raises(ConfigError, match="codec has 8"):
        LMConfig(n_codebooks=4).bind(
            n_codebooks=8, codebook_size=1024, codec_hash="x", frame_rate_hz=100
        )


def test_preset_sizes_and_yaml_files_agree() -> None:
    assert LMConfig() == lm_preset("small")  # the dataclass defaults are the shipped preset
    sizes = {}
    for name, values in PRESETS.items():
        on_disk = yaml.safe_load((conf_dir() / "lm" / f"{name}.yaml").read_text())
        assert {k: on_disk[k] for k in values} == values, name
        assert LMConfig(**on_disk) == lm_preset(name)
        with torch.device("meta"):  # count parameters without allocating them
            sizes[name] = SoundLM(lm_preset(name, n_codebooks=8, codebook_size=1024)).num_parameters
    assert 10e6 <= sizes["small"] <= 30e6
    assert 80e6 <= sizes["base"] <= 130e6
    assert 330e6 <= sizes["dolphingemma"] <= 470e6
