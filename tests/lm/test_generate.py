"""Generation: the KV-cached loop equals the uncached one, seeds repeat, prompts are kept."""

from __future__ import annotations

import pytest
import torch

from dolphin.codec import build_debug_codec
from dolphin.lm import LMInputError, SoundLM, continue_audio, generate, lm_preset
from dolphin.lm.generate import max_frames, sample_logits

from .conftest import K, N, make_codes, tiny_lm


@pytest.mark.parametrize("pattern", ["delay", "flatten"])
def test_cached_and_uncached_generation_agree(pattern: str) -> None:
    lm = tiny_lm(pattern=pattern, seed=1)
    prompt = make_codes(batch=2, frames=5)
    settings = dict(prompt=prompt, temperature=1.0, top_k=8, top_p=0.95, seed=7)
    cached = generate(lm, 20, **settings)
    slow = generate(lm, 20, use_cache=False, **settings)
    assert torch.equal(cached.codes, slow.codes)
    assert torch.equal(cached.codes[..., :5], prompt)
    assert cached.new_codes.shape == (2, K, 20)
    assert cached.n_forwards == lm.pattern.n_steps(25) - lm.pattern.steps_ready(5)


def test_seeded_generation_repeats_and_seeds_differ(lm: SoundLM) -> None:
    a = generate(lm, 30, seed=3, batch_size=2)
    b = generate(lm, 30, seed=3, batch_size=2)
    c = generate(lm, 30, seed=4, batch_size=2)
    assert torch.equal(a.codes, b.codes)
    assert not torch.equal(a.codes, c.codes)
    assert a.codes.min() >= 0 and a.codes.max() < N


def test_sampling_filters() -> None:
    logits = torch.tensor([[0.0, 3.0, 1.0, 2.0]]).repeat(50, 1)
    gen = torch.Generator().manual_seed(0)
    assert sample_logits(logits, temperature=0.0).eq(1).all()
    assert sample_logits(logits, top_k=1, generator=gen).eq(1).all()
    assert sample_logits(logits, top_p=0.1, generator=gen).eq(1).all()
    assert set(sample_logits(logits, top_k=2, generator=gen).tolist()) <= {1, 3}
    with pytest.raises(ValueError, match="top_p"):
        sample_logits(logits, top_p=0.0)


def test_generation_past_the_window_moves_on_in_windows() -> None:
    lm = tiny_lm(seed=2, max_positions=24)  # room for 21 frames of 4 delayed codebooks
    assert max_frames(lm) == 21
    prompt = make_codes(batch=2, frames=30, seed=1)  # longer than the whole context
    long = generate(lm, 50, prompt=prompt, seed=5, top_k=8)
    assert long.codes.shape == (2, K, 80) and torch.equal(long.codes[..., :30], prompt)
    assert long.new_codes.min() >= 0 and long.new_codes.max() < N
    slow = generate(lm, 50, prompt=prompt, seed=5, top_k=8, use_cache=False)
    assert torch.equal(long.codes, slow.codes)
    # windows of 12 frames keeping 6: only the prompt's last 6 frames are seen
    other = prompt.clone()
    other[..., :-6] = make_codes(batch=2, frames=24, seed=9)
    a = generate(lm, 25, prompt=prompt, seed=3, window=12, overlap=6)
    b = generate(lm, 25, prompt=other, seed=3, window=12, overlap=6)
    assert torch.equal(a.new_codes, b.new_codes) and not torch.equal(a.codes, b.codes)
    c = generate(lm, 25, prompt=prompt, seed=3, window=12, overlap=7)
    assert not torch.equal(a.new_codes, c.new_codes)  # a 7th frame of past was seen


def test_out_of_range_windows_are_refused(lm: SoundLM) -> None:
    with pytest.raises(LMInputError, match="window"):
        generate(lm, 4, window=max_frames(lm) + 1)
    with pytest.raises(LMInputError, match="overlap"):
        generate(lm, 4, window=8, overlap=8)
    with pytest.raises(LMInputError, match="n_frames"):
        generate(lm, -1)


def test_continue_audio_runs_the_codec_lm_codec_chain() -> None:
    codec = build_debug_codec()
    cfg = lm_preset("tiny", n_codebooks=codec.n_q, codebook_size=codec.config.codebook_size)
    torch.manual_seed(0)
    lm = SoundLM(
        cfg.bind(
            n_codebooks=codec.n_q,
            codebook_size=codec.config.codebook_size,
            codec_hash=codec.identity_hash(),
            frame_rate_hz=codec.frame_rate,
        )
    ).eval()
    prompt = 0.1 * torch.randn(1, 1, 4800)  # 0.1 s = 10 frames at 48 kHz, hop 480
    out = continue_audio(codec, lm, prompt, 0.2, seed=0, sample_rate=48000)
    assert out.n_prompt_frames == 10 and out.codes.shape == (1, codec.n_q, 30)
    assert out.audio.shape == (1, 1, 30 * 480)
    assert out.new_audio.shape == (1, 1, 20 * 480)
    assert torch.equal(out.codes[..., :10], codec.encode(prompt))
    lm.config.context_frames = 8  # trained on 8-frame windows: sees 8 frames of prompt at most
    out = continue_audio(codec, lm, prompt, 0.3, seed=0, sample_rate=48000)
    assert out.n_prompt_frames == 8 and out.codes.shape == (1, codec.n_q, 38)
    assert torch.equal(out.codes[..., :8], codec.encode(prompt)[..., 2:])
