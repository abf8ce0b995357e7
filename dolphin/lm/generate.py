"""Sampling from the sound-token LM: our own KV-cached loop, one forward per pattern step.

:func:`generate` lays the prompt codes out with the LM's pattern, runs the prompt steps through
the model in one forward (prefill), then samples one step at a time, feeding only the new step
back while the KV cache holds the past; with the delay pattern that is one forward per frame.
``use_cache=False`` re-runs the whole sequence at every step (slow; the reference the cached
loop is tested against). Sampling draws from a ``torch.Generator`` seeded with ``seed``, so a
seeded call repeats exactly. The model sees one window of frames at a time (its training
window, :func:`context_frames`); longer generations move on in windows that keep the last half
window as context, so a continuation can be any length.

:func:`continue_audio` is the whole chain: audio -> codec tokens -> LM -> tokens -> audio.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from dolphin.lm.model import LMInputError, SoundLM

if TYPE_CHECKING:
    from dolphin.codec.model import Codec


@dataclass
class GenerationResult:
    """Codes produced by :func:`generate`."""

    codes: torch.Tensor  # [B, K, T_prompt + T_new] int64: the prompt, then the new frames
    n_prompt_frames: int  # frames that came from the prompt
    n_forwards: int  # model calls made (prefill counts one)
    elapsed_s: float  # wall time of the loop, seconds

    @property
    def new_codes(self) -> torch.Tensor:
        """The generated frames only, ``[B, K, T_new]``."""
        return self.codes[..., self.n_prompt_frames :]


@dataclass
class Continuation:
    """Output of :func:`continue_audio`."""

    audio: torch.Tensor  # [1, 1, T]: the (codec-resynthesised) prompt followed by the new audio
    sample_rate: int  # Hz
    codes: torch.Tensor  # [1, K, frames] prompt and generated codes
    n_prompt_frames: int  # frames of the prompt kept (its end: at most the LM's context window)
    prompt_samples: int  # samples of `audio` that belong to the kept prompt

    @property
    def new_audio(self) -> torch.Tensor:
        """Only the generated audio, ``[1, 1, T_new]``."""
        return self.audio[..., self.prompt_samples :]


def sample_logits(
    logits: torch.Tensor,
    *,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Draw one token per row of ``logits`` ``[..., N]``.

    Parameters
    ----------
    logits : Tensor
        ``[..., N]`` unnormalised log-probabilities.
    temperature : float
        Divides the logits; 0 picks the most likely token (greedy).
    top_k : int
        Keep only the ``top_k`` most likely tokens (0 = all).
    top_p : float
        Keep the smallest set of most likely tokens whose probability reaches ``top_p``
        (nucleus sampling; 1 = all).
    generator : torch.Generator, optional
        Source of randomness (on the logits' device).

    Returns
    -------
    Tensor
        ``[...]`` int64 tokens.
    """
    if temperature < 0 or top_k < 0 or not 0.0 < top_p <= 1.0:
        raise ValueError(
            f"need temperature >= 0, top_k >= 0 and 0 < top_p <= 1, got {temperature}, "
            f"{top_k}, {top_p}"
        )
    shape = logits.shape[:-1]
    logits = logits.float().reshape(-1, logits.shape[-1])
    if temperature == 0:
        return logits.argmax(dim=-1).view(shape)
    logits = logits / temperature
    if 0 < top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        drop = cumulative - sorted_logits.softmax(dim=-1) >= top_p  # mass before this token
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(1, order, sorted_logits)
    probs = logits.softmax(dim=-1)
    return torch.multinomial(probs, 1, generator=generator).view(shape)


def max_frames(lm: SoundLM) -> int:
    """Most frames whose pattern steps fit in the LM's ``max_positions``."""
    pattern, limit = lm.pattern, lm.config.max_positions
    last = (pattern.n_codebooks - 1) * pattern.delay
    return max(0, (limit - 1 - last) // pattern.stride + 1)


def context_frames(lm: SoundLM) -> int:
    """Frames of context the LM is used with: its training window (``lm.config.context_frames``)
    when known, else as many as fit its ``max_positions`` (:func:`max_frames`).
    """
    fit = max(1, max_frames(lm))
    return min(lm.config.context_frames or fit, fit)


def check_window(lm: SoundLM, window: int | None) -> int:
    """Frames the LM sees at once: ``window``, or :func:`context_frames` when it is None.

    Raises
    ------
    LMInputError
        ``window`` is outside 1 to :func:`max_frames` (what fits ``lm.max_positions``).
    """
    fit = max(1, max_frames(lm))
    window = context_frames(lm) if window is None else int(window)
    if not 1 <= window <= fit:
        raise LMInputError(
            f"window must be 1-{fit} frames (the LM's context: lm.max_positions="
            f"{lm.config.max_positions} steps), got {window}"
        )
    return window


@torch.inference_mode()
def generate(
    lm: SoundLM,
    n_frames: int,
    *,
    prompt: torch.Tensor | None = None,
    batch_size: int = 1,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    seed: int | None = None,
    use_cache: bool = True,
    window: int | None = None,
    overlap: int | None = None,
) -> GenerationResult:
    """Sample ``n_frames`` new frames of codes, optionally continuing a prompt.

    The LM sees at most ``window`` frames at once. A generation that does not fit moves on in
    windows: each new window starts from the last ``overlap`` frames known (prompt or sampled)
    and samples the rest, so a continuation can be any length and never puts the model at
    positions it was not trained on. The first window keeps as much of the prompt as leaves
    room for its new frames (at least ``overlap``, where the prompt has them).

    Parameters
    ----------
    lm : SoundLM
        The model (put it in eval mode; dropout would make runs differ).
    n_frames : int
        Frames to generate.
    prompt : Tensor, optional
        ``[B, K, T_prompt]`` codes to continue (``batch_size`` is then ``B``); any length.
    batch_size : int
        Sequences to sample when there is no prompt.
    temperature, top_k, top_p : float, int, float
        Sampling settings (:func:`sample_logits`); temperature 0 is greedy.
    seed : int, optional
        Seeds the sampling; the same seed gives the same codes.
    use_cache : bool
        KV-cached loop (one step per forward); False re-runs the whole sequence every step.
    window : int, optional
        Frames the LM sees at once (default :func:`context_frames`: its training window).
    overlap : int, optional
        Frames of context a new window keeps (default ``window // 2``).

    Returns
    -------
    GenerationResult
        ``codes`` holds the whole prompt, then the new frames.

    Raises
    ------
    LMInputError
        The prompt has the wrong shape or values, or ``window`` / ``overlap`` are out of range.
    """
    k, device = lm.n_codebooks, next(lm.parameters()).device
    if prompt is None:
        prompt = torch.zeros(batch_size, k, 0, dtype=torch.long, device=device)
    lm.check_codes(prompt)
    if (prompt < 0).any():
        raise LMInputError("prompt codes must all be present (no -1)")
    if n_frames < 0:
        raise LMInputError(f"n_frames must be >= 0, got {n_frames}")
    window = check_window(lm, window)
    overlap = window // 2 if overlap is None else int(overlap)
    if not 0 <= overlap < window:
        raise LMInputError(f"overlap must be 0-{window - 1} frames, got {overlap}")
    generator = torch.Generator(device=device)
    generator.manual_seed(int(seed) if seed is not None else int(torch.randint(2**62, ())))
    sampling = dict(temperature=temperature, top_k=top_k, top_p=top_p, generator=generator)
    codes, done, n_forwards = prompt.to(device).long(), 0, 0
    tick = time.perf_counter()
    while done < n_frames:
        known = codes.shape[-1]
        new = min(n_frames - done, window - min(known, overlap))
        past = codes[..., known - min(known, window - new) :]
        block, calls = _sample_window(lm, past, new, use_cache=use_cache, **sampling)
        codes = torch.cat([codes, block], dim=-1)
        done, n_forwards = done + new, n_forwards + calls
    return GenerationResult(
        codes=codes,
        n_prompt_frames=prompt.shape[-1],
        n_forwards=n_forwards,
        elapsed_s=time.perf_counter() - tick,
    )


def _sample_window(
    lm: SoundLM,
    prompt: torch.Tensor,
    n_frames: int,
    *,
    use_cache: bool,
    generator: torch.Generator,
    **sampling: float,
) -> tuple[torch.Tensor, int]:
    """``n_frames`` new frames ``[B, K, n_frames]`` after ``prompt`` in one window, and the
    number of forwards it took."""
    k, device = lm.n_codebooks, prompt.device
    n_prompt, total = prompt.shape[-1], prompt.shape[-1] + n_frames
    pattern = lm.pattern
    codes = torch.full((prompt.shape[0], k, total), -1, dtype=torch.long, device=device)
    codes[..., :n_prompt] = prompt
    seq = pattern.build(codes, pad_id=lm.config.pad_id)
    todo = pattern.build(torch.zeros_like(codes), pad_id=lm.config.pad_id).valid & ~seq.valid
    tokens, n_steps = seq.tokens, pattern.n_steps(total)
    first = pattern.steps_ready(n_prompt)

    def step_input(end: int) -> torch.Tensor:  # input positions 0..end-1
        return lm.input_steps(tokens[..., :end]) if end else tokens[..., :0]

    cache = lm.new_cache() if use_cache else None
    logits = lm(step_input(first + 1), cache=cache).logits[:, :, -1]
    n_forwards = 1
    for s in range(first, n_steps):
        drawn = sample_logits(logits, generator=generator, **sampling)
        tokens[..., s] = torch.where(todo[..., s], drawn, tokens[..., s])
        if s + 1 < n_steps:
            if use_cache:
                logits = lm(tokens[..., s : s + 1], cache=cache).logits[:, :, -1]
            else:
                logits = lm(step_input(s + 2)).logits[:, :, -1]
            n_forwards += 1
    return pattern.revert(tokens, total)[..., n_prompt:], n_forwards


def continue_audio(
    codec: Codec,
    lm: SoundLM,
    prompt_audio: torch.Tensor,
    seconds: float,
    *,
    sample_rate: int | None = None,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    seed: int | None = None,
) -> Continuation:
    """Continue a recording: audio -> codec tokens -> LM -> tokens -> audio.

    Parameters
    ----------
    codec : Codec
        The codec the LM was trained on (checked by identity hash).
    lm : SoundLM
        The LM (eval mode).
    prompt_audio : Tensor
        ``[1, 1, T]`` or ``[T]`` float at the codec's rate.
    seconds : float
        Length of the continuation.
    sample_rate : int, optional
        Rate of ``prompt_audio`` in Hz; checked against the codec's when given.
    temperature, top_k, top_p, seed
        Sampling settings (:func:`generate`).

    Returns
    -------
    Continuation
        The prompt is cut to its last window of frames (:func:`context_frames`): the LM does
        not see further back. Continuations longer than the window move on in windows
        (:func:`generate`).

    Raises
    ------
    LMCodecMismatchError
        The codec is not the LM's.
    LMInputError
        ``seconds`` is negative.
    """
    lm.check_codec(codec)
    if seconds < 0:
        raise LMInputError(f"seconds must be >= 0, got {seconds}")
    audio = prompt_audio if prompt_audio.dim() == 3 else prompt_audio.reshape(1, 1, -1)
    device = next(lm.parameters()).device
    prompt = codec.encode(audio.float(), sample_rate=sample_rate, n_q=lm.n_codebooks)
    kept = prompt[..., -context_frames(lm) :].to(device)
    n_new = int(round(seconds * codec.frame_rate))
    result = generate(
        lm, n_new, prompt=kept, temperature=temperature, top_k=top_k, top_p=top_p, seed=seed
    )
    out = codec.decode(result.codes.cpu().to(next(codec.parameters()).device))
    return Continuation(
        audio=out,
        sample_rate=codec.sample_rate,
        codes=result.codes,
        n_prompt_frames=kept.shape[-1],
        prompt_samples=kept.shape[-1] * codec.hop_length,
    )
