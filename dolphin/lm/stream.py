"""Scoring codes with the LM, offline and frame by frame as they arrive (real-time use).

:func:`score_codes` gives the surprise ``-log2 p`` of every code of a recording in one forward.
:class:`NextFramePredictor` gives the same numbers while frames ``[K]`` arrive one at a time,
with the KV cache (one forward per frame with the delay pattern)::

    predictor = NextFramePredictor(lm)
    with predictor.streaming():
        for frame in frames:                  # [K] codes of each new codec frame
            out = predictor.push(frame)
            out.next_probs()                  # [B, K, N] distribution of the next step
            for done in out.scores:           # frames whose surprise is now complete
                print(done.frame, done.total_bits)
        rest = predictor.flush()              # end of stream: the last frames' surprise

Latency: with the delay pattern codebook ``k`` of frame ``t`` is predicted at step ``t + k``,
so frame ``t``'s surprise is complete once frame ``t + K - 1`` has arrived (``K - 1`` frames,
70 ms for 8 codebooks at 100 frames/s); ``flush`` scores the last ``K - 1`` frames treating
the stream as ended. Streamed scores equal :func:`score_codes` of the same frames (to float
rounding) as long as the stream fits the LM context. A longer stream restarts its context from
the last ``context_frames / 2`` frames whenever it fills up (one prefill), so the model keeps
seeing a recent past; :func:`score_codes` scores long recordings in windows that overlap by half
for the same reason. Both keep to the window the LM was trained on (:func:`context_frames`).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

from dolphin.lm.generate import check_window, context_frames, max_frames
from dolphin.lm.model import LMInputError, SoundLM

LN2 = math.log(2.0)


@dataclass
class TokenScores:
    """Surprise of each code of a recording."""

    bits: torch.Tensor  # [B, K, T] -log2 p of each code (0 where the code is missing)
    valid: torch.Tensor  # [B, K, T] bool: the code was present and scored

    @property
    def bits_per_frame(self) -> torch.Tensor:
        """``[B, T]`` bits of each frame (summed over codebooks)."""
        return self.bits.sum(dim=1)

    @property
    def bits_per_token(self) -> float:
        """Mean bits per scored code."""
        return float(self.bits.sum()) / max(1, int(self.valid.sum()))

    @property
    def bits_by_codebook(self) -> list[float]:
        """Mean bits per code of each codebook, ``K`` values."""
        counts = self.valid.sum(dim=(0, 2)).clamp(min=1)
        return (self.bits.sum(dim=(0, 2)) / counts).tolist()


@torch.inference_mode()
def score_codes(
    lm: SoundLM, codes: torch.Tensor, *, window: int | None = None, overlap: int | None = None
) -> TokenScores:
    """Bits of every code under the LM (offline, one forward per window).

    Parameters
    ----------
    lm : SoundLM
        The model (eval mode).
    codes : Tensor
        ``[B, K, T]`` codes; ``-1`` = missing (not scored).
    window : int, optional
        Frames per forward (default :func:`context_frames`: the LM's training window).
    overlap : int, optional
        Frames of past each window keeps from the one before (default ``window // 2``): every
        frame after the first window is scored with at least ``overlap`` frames of past, as the
        streaming :class:`NextFramePredictor` does. A window ending before the recording does
        leaves its last ``pattern.lag_frames`` frames to the next one, whose codes it would
        score without the later frames' (scores then equal one forward over the whole recording
        whenever it fits in ``window``, frame by frame).

    Returns
    -------
    TokenScores

    Raises
    ------
    LMInputError
        Bad codes, or ``window`` / ``overlap`` out of range.
    """
    lm.check_codes(codes)
    window = check_window(lm, window)
    most = window - lm.pattern.lag_frames - 1  # most overlap that still moves on
    overlap = min(window // 2, max(most, 0)) if overlap is None else int(overlap)
    if not 0 <= overlap <= most:
        raise LMInputError(
            f"overlap must be 0-{most} frames for a {window}-frame window, got {overlap}"
        )
    device = next(lm.parameters()).device
    codes = codes.to(device)
    n = codes.shape[-1]
    bits = torch.zeros(codes.shape, device=device)
    valid = torch.zeros(codes.shape, dtype=torch.bool, device=device)
    done = 0  # frames scored so far
    while done < n:
        start = max(0, done - overlap)
        end = min(start + window, n)
        stop = end if end == n else end - lm.pattern.lag_frames
        b, v = _score_window(lm, codes[..., start:end])
        bits[..., done:stop] = b[..., done - start : stop - start]
        valid[..., done:stop] = v[..., done - start : stop - start]
        done = stop
    return TokenScores(bits=bits, valid=valid)


def _score_window(lm: SoundLM, codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    pattern = lm.pattern
    seq = pattern.build(codes, pad_id=lm.config.pad_id)
    logits = lm(lm.input_steps(seq.tokens)).logits.float()  # [B, K, S, N]
    index = pattern.step_index(codes.shape[-1], codes.device).expand(codes.shape[0], -1, -1)
    picked = logits.gather(2, index[..., None].expand(-1, -1, -1, logits.shape[-1]))
    logp = picked.log_softmax(dim=-1).gather(3, codes.clamp(min=0)[..., None])[..., 0]
    valid = codes >= 0
    return (-logp / LN2).masked_fill(~valid, 0.0), valid


@dataclass
class FrameSurprise:
    """Surprise of one frame, complete once all its codes were predicted."""

    frame: int  # 0-based index of the frame in the stream
    bits: torch.Tensor  # [B, K] -log2 p of each of its codes

    @property
    def total_bits(self) -> torch.Tensor:
        """``[B]`` bits of the whole frame."""
        return self.bits.sum(dim=-1)


@dataclass
class StreamPrediction:
    """What :meth:`NextFramePredictor.push` returns."""

    n_frames: int  # frames received so far
    next_logits: torch.Tensor  # [B, K, N] logits of the next pattern step
    next_frames: list[int | None]  # frame each row of next_logits predicts (None: no code)
    scores: list[FrameSurprise] = field(default_factory=list)  # frames completed by this push

    def next_probs(self, temperature: float = 1.0) -> torch.Tensor:
        """``[B, K, N]`` probabilities of the next step (row ``k``: codebook ``k`` of frame
        ``next_frames[k]``; with the delay pattern row 0 is the next frame's first codebook)."""
        return (self.next_logits.float() / temperature).softmax(dim=-1)


@dataclass
class PredictorState:
    """Explicit state of one stream (what ``with predictor.streaming()`` holds)."""

    frames: torch.Tensor  # [B, K, n] frames still needed (from frame `dropped` on)
    dropped: int = 0  # frames dropped from the front of `frames` (before the context)
    cache: Any = None  # KV cache of the current context
    origin: int = 0  # first frame of the current context
    fed: int = 0  # input positions fed into the current context (BOS included)
    scored: int = 0  # absolute steps scored so far
    pending: torch.Tensor | None = None  # [B, K, N] logits of step `scored`, not yet scored
    partial: dict[int, list] = field(default_factory=dict)  # frame -> [bits [B, K], codes seen]

    @property
    def n_frames(self) -> int:
        """Frames received since the stream started."""
        return self.dropped + self.frames.shape[-1]


_context = context_frames  # NextFramePredictor's argument of the same name hides it


class NextFramePredictor:
    """Next-step distributions and per-frame surprise of a stream of codec frames.

    Parameters
    ----------
    lm : SoundLM
        The model (put in eval mode).
    context_frames : int, optional
        Frames the context may hold before it restarts from its second half (default: the
        LM's training window, :func:`context_frames`, within what fits ``max_positions``).
    """

    def __init__(self, lm: SoundLM, *, context_frames: int | None = None) -> None:
        self.lm = lm
        self.pattern = lm.pattern
        fit = max_frames(lm) - self.pattern.lag_frames - 1
        self.context_frames = min(context_frames or _context(lm), fit)
        if self.context_frames < 4 * (self.pattern.lag_frames + 1):
            raise LMInputError(f"context of {self.context_frames} frames is too short to stream")
        self._state: PredictorState | None = None

    def new_stream(self) -> PredictorState:
        """Fresh explicit state."""
        device = next(self.lm.parameters()).device
        k = self.lm.n_codebooks
        frames = torch.zeros(1, k, 0, dtype=torch.long, device=device)
        return PredictorState(frames=frames, cache=self.lm.new_cache())

    @contextlib.contextmanager
    def streaming(self) -> Iterator[PredictorState]:
        """Context in which :meth:`push` and :meth:`flush` carry state (also yielded)."""
        previous, self._state = self._state, self.new_stream()
        try:
            yield self._state
        finally:
            self._state = previous

    def _get(self, state: PredictorState | None) -> PredictorState:
        state = state or self._state
        if state is None:
            raise RuntimeError("no stream: use `with predictor.streaming():` or pass state=")
        return state

    @torch.inference_mode()
    def push(
        self, frames: torch.Tensor, *, state: PredictorState | None = None
    ) -> StreamPrediction:
        """Feed new frames: ``[K]``, ``[B, K]`` or ``[B, K, n]`` codes.

        Returns
        -------
        StreamPrediction
            The next step's logits and the frames whose surprise became complete.
        """
        st = self._get(state)
        k = self.lm.n_codebooks
        frames = frames.to(st.frames.device).long()
        frames = frames.reshape(1, k, 1) if frames.dim() == 1 else frames
        frames = frames[..., None] if frames.dim() == 2 else frames
        if frames.dim() != 3 or frames.shape[1] != k or frames.shape[-1] == 0:
            raise LMInputError(f"frames must be [K={k}], [B, K] or [B, K, n>0] codes")
        if frames.min() < 0 or frames.max() >= self.lm.codebook_size:
            raise LMInputError(f"codes must lie in [0, {self.lm.codebook_size})")
        if st.n_frames == 0:
            st.frames = st.frames.expand(frames.shape[0], -1, -1)
        if frames.shape[0] != st.frames.shape[0]:
            raise LMInputError(
                f"batch of {frames.shape[0]} frames, stream has {st.frames.shape[0]}"
            )
        scores: list[FrameSurprise] = []
        piece = max(1, self.context_frames // 4)  # a restart always fits a piece this long
        for i in range(0, frames.shape[-1], piece):
            st.frames = torch.cat([st.frames, frames[..., i : i + piece]], dim=-1)
            upto = self.pattern.steps_ready(st.n_frames)
            logits, done = self._advance(st, upto + 1, score_until=upto)
            scores.extend(done)
        next_frames = [self.pattern.frame_at(upto, i) for i in range(k)]
        return StreamPrediction(
            n_frames=st.n_frames, next_logits=logits, next_frames=next_frames, scores=scores
        )

    @torch.inference_mode()
    def flush(self, *, state: PredictorState | None = None) -> list[FrameSurprise]:
        """End of stream: score the remaining codes as if the recording ended; resets the state."""
        st = self._get(state)
        end = self.pattern.n_steps(st.n_frames)
        scores = self._advance(st, end, score_until=end)[1] if end > st.scored else []
        st.__dict__.update(self.new_stream().__dict__)
        return scores

    def _advance(
        self, st: PredictorState, n_steps: int, *, score_until: int
    ) -> tuple[torch.Tensor | None, list[FrameSurprise]]:
        """Compute logits of absolute steps ``< n_steps`` and score steps ``< score_until``."""
        p = self.pattern
        if n_steps - p.steps_ready(st.origin) > p.steps_ready(self.context_frames) + 1:
            self._restart(st)
        base = p.steps_ready(st.origin)  # absolute step of context position 0
        own = st.frames[..., st.origin - st.dropped :]
        window = p.build(own, pad_id=self.lm.config.pad_id).tokens
        bos = torch.full_like(window[..., :1], self.lm.config.bos_id)
        inputs = torch.cat([bos, window[..., : n_steps - base - 1]], dim=-1)[..., st.fed :]
        first_step = base + st.fed
        logits = self.lm(inputs, cache=st.cache).logits if inputs.shape[-1] else None
        st.fed += inputs.shape[-1]
        scores: list[FrameSurprise] = []
        for s in range(st.scored, score_until):
            step_logits = st.pending if s < first_step else logits[:, :, s - first_step]
            scores.extend(self._score_step(st, s, step_logits))
        st.scored = max(st.scored, score_until)
        st.pending = None
        if st.scored < n_steps:
            st.pending = logits[:, :, st.scored - first_step]
        return st.pending, scores

    def _restart(self, st: PredictorState) -> None:
        """Start a new context from recent frames (all codes not yet scored stay inside it)."""
        p = self.pattern
        keep = self.context_frames // 2
        first_unscored = max(0, (st.scored - (p.n_codebooks - 1) * p.delay) // p.stride)
        st.origin = max(st.origin, min(st.n_frames - keep, first_unscored))
        st.frames = st.frames[..., st.origin - st.dropped :]
        st.dropped = st.origin
        st.cache, st.fed, st.pending = self.lm.new_cache(), 0, None

    def _score_step(
        self, st: PredictorState, step: int, logits: torch.Tensor
    ) -> list[FrameSurprise]:
        logp = logits.float().log_softmax(dim=-1)  # [B, K, N]
        done = []
        for k in range(self.lm.n_codebooks):
            frame = self.pattern.frame_at(step, k)
            if frame is None or frame >= st.n_frames:
                continue
            entry = st.partial.setdefault(frame, [torch.zeros_like(logp[..., 0]), 0])
            code = st.frames[:, k, frame - st.dropped]
            entry[0][:, k] = -logp[:, k].gather(1, code[:, None])[:, 0] / LN2
            entry[1] += 1
            if entry[1] == self.lm.n_codebooks:
                done.append(FrameSurprise(frame=frame, bits=st.partial.pop(frame)[0]))
        return done
