"""The sound-token language model: a Gemma 3 backbone over codec tokens.

Usage::

    from dolphin.lm import SoundLM, lm_preset, generate, NextFramePredictor
    lm = SoundLM(lm_preset("tiny", n_codebooks=4, codebook_size=64)).eval()
    out = generate(lm, 100, temperature=0.9, top_k=50, seed=0)   # codes [1, 4, 100]
    with (predictor := NextFramePredictor(lm)).streaming():
        step = predictor.push(out.codes[0, :, 0])                 # next-step distribution

Modules: :mod:`~dolphin.lm.patterns` (delay / flatten / parallel layouts),
:mod:`~dolphin.lm.config` (:class:`LMConfig`, presets), :mod:`~dolphin.lm.model`
(:class:`SoundLM`), :mod:`~dolphin.lm.generate` (sampling, :func:`continue_audio`),
:mod:`~dolphin.lm.stream` (offline and streaming surprise), :mod:`~dolphin.lm.ngram`
(count baselines), :mod:`~dolphin.lm.data` (token datasets). ``transformers`` is imported only
when a model is built.
"""

from dolphin.lm.config import PRESETS, LMConfig, lm_preset
from dolphin.lm.generate import Continuation, GenerationResult, continue_audio, generate
from dolphin.lm.model import LMCodecMismatchError, LMInputError, LMLoss, SoundLM
from dolphin.lm.patterns import Pattern, get_pattern
from dolphin.lm.stream import NextFramePredictor, TokenScores, context_frames, score_codes

__all__ = [
    "PRESETS",
    "Continuation",
    "GenerationResult",
    "LMCodecMismatchError",
    "LMConfig",
    "LMInputError",
    "LMLoss",
    "NextFramePredictor",
    "Pattern",
    "SoundLM",
    "TokenScores",
    "context_frames",
    "continue_audio",
    "generate",
    "get_pattern",
    "lm_preset",
    "score_codes",
]
