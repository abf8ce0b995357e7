"""Streaming surprise equals offline scoring; next-step distributions line up with frames."""

from __future__ import annotations

import math

import pytest
import torch

from dolphin.lm import LMInputError, NextFramePredictor, SoundLM, context_frames, score_codes
from dolphin.lm.generate import max_frames

from .conftest import K, N, make_codes, tiny_lm


def _stream_bits(
    predictor: NextFramePredictor, codes: torch.Tensor, chunks: list[int]
) -> torch.Tensor:
    got: dict[int, torch.Tensor] = {}
    with predictor.streaming():
        start = 0
        for size in chunks:
            out = predictor.push(codes[..., start : start + size])
            start += size
            for done in out.scores:
                got[done.frame] = done.bits
        for done in predictor.flush():
            got[done.frame] = done.bits
    assert sorted(got) == list(range(codes.shape[-1]))  # every frame scored exactly once
    return torch.stack([got[t] for t in range(codes.shape[-1])], dim=-1)


@pytest.mark.parametrize("pattern", ["delay", "flatten", "parallel"])
def test_streaming_scores_equal_offline_scores(pattern: str) -> None:
    lm = tiny_lm(pattern=pattern, seed=2)
    codes = make_codes(batch=2, frames=23, seed=4)
    offline = score_codes(lm, codes)
    one_by_one = _stream_bits(NextFramePredictor(lm), codes, [1] * 23)
    chunked = _stream_bits(NextFramePredictor(lm), codes, [1, 6, 1, 15])
    torch.testing.assert_close(one_by_one, offline.bits, atol=1e-4, rtol=0)
    torch.testing.assert_close(chunked, offline.bits, atol=1e-4, rtol=0)


def test_delay_stream_reports_frames_after_k_minus_1_more(lm: SoundLM) -> None:
    codes = make_codes(frames=8)
    predictor = NextFramePredictor(lm)
    state = predictor.new_stream()  # explicit state instead of the context manager
    done_at = {}
    for t in range(8):
        out = predictor.push(codes[0, :, t], state=state)
        assert out.next_frames == [t + 1 - k if t + 1 >= k else None for k in range(K)]
        assert out.next_probs().shape == (1, K, N)
        torch.testing.assert_close(out.next_probs().sum(-1), torch.ones(1, K))
        for frame in out.scores:
            done_at[frame.frame] = t
    assert done_at == {f: f + K - 1 for f in range(8 - K + 1)}
    assert [f.frame for f in predictor.flush(state=state)] == list(range(8 - K + 1, 8))


def test_long_recordings_are_scored_in_windows_that_overlap(lm: SoundLM) -> None:
    codes = make_codes(batch=2, frames=50, seed=5)
    whole = score_codes(lm, codes).bits  # 50 frames fit the tiny LM's context: one window
    assert context_frames(lm) == max_frames(lm) >= 50
    lag = lm.pattern.lag_frames  # a window leaves its last lag frames to the next
    assert lag == K - 1
    for overlap in (8, 0):
        split = score_codes(lm, codes, window=20, overlap=overlap).bits
        done, windows = 0, []
        while done < 50:
            start = max(0, done - overlap)
            end = min(start + 20, 50)
            windows.append((start, done, end if end == 50 else end - lag))
            done = windows[-1][-1]
        assert len(windows) == (5 if overlap else 3)
        for start, first, stop in windows:
            part = score_codes(lm, codes[..., start : start + 20]).bits  # one window
            torch.testing.assert_close(
                split[..., first:stop], part[..., first - start : stop - start]
            )
        torch.testing.assert_close(split[..., :17], whole[..., :17], atol=1e-5, rtol=0)
        assert not torch.allclose(split[..., 20:], whole[..., 20:])  # less past than whole
    for window, overlap in ((0, 0), (max_frames(lm) + 1, 0), (20, 17), (20, -1), (3, 0)):
        with pytest.raises(LMInputError, match="window|overlap"):
            score_codes(lm, codes, window=window, overlap=overlap)


def test_scoring_and_streaming_keep_to_the_training_window() -> None:
    lm = tiny_lm(context_frames=16)
    codes = make_codes(frames=40, seed=6)
    assert context_frames(lm) == 16 and NextFramePredictor(lm).context_frames == 16
    torch.testing.assert_close(
        score_codes(lm, codes).bits, score_codes(lm, codes, window=16, overlap=8).bits
    )


def test_long_stream_restarts_its_context_and_keeps_scoring(lm: SoundLM) -> None:
    codes = make_codes(frames=70, seed=9)
    predictor = NextFramePredictor(lm, context_frames=24)
    bits = _stream_bits(predictor, codes, [1] * 70)
    assert torch.isfinite(bits).all()
    offline = score_codes(lm, codes).bits
    torch.testing.assert_close(bits[..., :18], offline[..., :18], atol=1e-4, rtol=0)
    assert abs(float(bits.mean()) - math.log2(N)) < 1.0  # untrained model: near uniform


def test_push_refuses_bad_frames(lm: SoundLM) -> None:
    from dolphin.lm import LMInputError

    with NextFramePredictor(lm).streaming():
        pass
    predictor = NextFramePredictor(lm)
    with predictor.streaming():
        with pytest.raises(LMInputError, match="lie in"):
            predictor.push(torch.full((K,), N))
    with pytest.raises(RuntimeError, match="no stream"):
        predictor.push(torch.zeros(K, dtype=torch.long))
