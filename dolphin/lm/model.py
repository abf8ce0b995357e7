"""The sound-token language model: codebook embeddings + a Gemma 3 backbone + codebook heads.

:class:`SoundLM` reads a step sequence ``[B, K, S]`` (codes laid out by a
:mod:`~dolphin.lm.patterns` pattern, pad ``N``, BOS ``N + 1``). A step's input vector is the sum
of its ``K`` codebook embeddings (scaled by ``sqrt(hidden)`` as Gemma scales its word
embeddings); the backbone is ``transformers``' ``Gemma3TextModel`` built from a config (random
init, never downloaded): RMSNorm, grouped-query attention with QK-norm, RoPE, gated GELU MLP,
local sliding-window layers with a global layer every ``global_every``. ``K`` linear heads give
logits ``[B, K, S, N]``; output position ``i`` predicts step ``i`` from steps ``< i``.

Usage::

    lm = SoundLM(lm_preset("small", n_codebooks=8, codebook_size=1024))
    loss = lm.compute_loss(codes)                 # codes [B, K, T] (-1 = missing)
    out = lm(tokens, cache=lm.new_cache())        # incremental decoding with the KV cache
    lm.save_pretrained("runs/lm/model"); SoundLM.from_pretrained("runs/lm/model")
"""

from __future__ import annotations

import inspect
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from dolphin.errors import DolphinError
from dolphin.lm.config import LMConfig
from dolphin.lm.patterns import Pattern, get_pattern

if TYPE_CHECKING:
    from dolphin.codec.model import Codec
    from dolphin.codec.tokens import TokenFile

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
FORMAT = "dolphin-lm/1"
IGNORE_INDEX = -100


class LMInputError(DolphinError, ValueError):
    """Tokens given to the LM have the wrong shape or values, or do not fit its context."""


class LMCodecMismatchError(DolphinError, ValueError):
    """Tokens or a codec do not match the codec the LM was trained on."""


@dataclass
class LMOutput:
    """Output of :meth:`SoundLM.forward`."""

    logits: torch.Tensor  # [B, K, S, N]: position i predicts step i
    cache: Any = None  # the transformers KV cache, updated in place (None when not used)


@dataclass
class LMLoss:
    """Cross-entropy of a batch over its real (not padded) codes."""

    loss: torch.Tensor  # scalar: mean nats per code (differentiable)
    nats_per_codebook: torch.Tensor  # [K] summed nats of each codebook (detached)
    tokens_per_codebook: torch.Tensor  # [K] codes counted in each codebook

    @property
    def bits_per_token(self) -> float:
        """Mean bits per code over all codebooks."""
        total = float(self.tokens_per_codebook.sum())
        return float(self.nats_per_codebook.sum()) / max(total, 1.0) / math.log(2)

    @property
    def bits_by_codebook(self) -> list[float]:
        """Mean bits per code of each codebook."""
        counts = self.tokens_per_codebook.clamp(min=1).double()
        return (self.nats_per_codebook.double() / counts / math.log(2)).tolist()


def gemma_config(config: LMConfig) -> Any:
    """The ``transformers.Gemma3TextConfig`` of the backbone (no vocabulary: we embed codes)."""
    from transformers import Gemma3TextConfig

    layer_types = [
        "full_attention" if (i + 1) % config.global_every == 0 else "sliding_attention"
        for i in range(config.num_layers)
    ]
    gemma = Gemma3TextConfig(
        vocab_size=1,  # its word embedding is removed; SoundLM embeds the K codebooks itself
        hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size,
        num_hidden_layers=config.num_layers,
        num_attention_heads=config.num_heads,
        num_key_value_heads=config.num_kv_heads,
        head_dim=config.head_dim,
        query_pre_attn_scalar=config.head_dim,
        max_position_embeddings=config.max_positions,
        sliding_window=config.sliding_window,
        layer_types=layer_types,
        attention_dropout=config.dropout,
        pad_token_id=0,
        bos_token_id=None,
        eos_token_id=None,
        use_cache=True,
        tie_word_embeddings=False,
    )
    gemma._attn_implementation = "sdpa"
    return gemma


class SoundLM(nn.Module):
    """Autoregressive LM over codec tokens with a Gemma 3 backbone.

    Parameters
    ----------
    config : LMConfig
        Sizes and the token stream; ``n_codebooks`` and ``codebook_size`` must be set
        (:meth:`LMConfig.bind` or :func:`~dolphin.lm.config.lm_preset` overrides).
    """

    def __init__(self, config: LMConfig) -> None:
        super().__init__()
        from transformers import Gemma3TextModel

        if not config.is_bound:
            raise LMInputError(
                "LMConfig needs n_codebooks and codebook_size (bind it to a codec first)"
            )
        self.config = config
        k, n, h = config.n_codebooks, config.codebook_size, config.hidden_size
        self.embed = nn.Embedding(k * config.n_input_tokens, h)
        nn.init.normal_(self.embed.weight, std=0.02)
        offsets = torch.arange(k) * config.n_input_tokens
        self.register_buffer("offsets", offsets[None, :, None], persistent=False)
        self.embed_scale = math.sqrt(h)  # Gemma's word-embedding scale
        self.dropout = nn.Dropout(config.dropout)
        self.backbone = Gemma3TextModel(gemma_config(config))
        self.backbone.embed_tokens = None  # unused; would also idle under DDP
        self.heads = nn.Linear(h, k * n, bias=False)
        nn.init.normal_(self.heads.weight, std=0.02)
        params = inspect.signature(type(self.backbone).forward).parameters
        self._cache_kw = "cache" if "cache" in params else "past_key_values"

    # ---------------------------------------------------------------- properties
    @property
    def pattern(self) -> Pattern:
        """The codebook interleaving pattern."""
        return get_pattern(self.config.pattern, self.config.n_codebooks)

    @property
    def n_codebooks(self) -> int:
        """``K``."""
        return self.config.n_codebooks

    @property
    def codebook_size(self) -> int:
        """``N``."""
        return self.config.codebook_size

    @property
    def num_parameters(self) -> int:
        """Trainable parameters."""
        return sum(p.numel() for p in self.parameters())

    def new_cache(self) -> Any:
        """An empty KV cache (sliding layers keep only their window)."""
        from transformers import DynamicCache

        return DynamicCache(config=self.backbone.config)

    # ---------------------------------------------------------------- forward
    def _check_tokens(self, tokens: torch.Tensor) -> None:
        if tokens.dim() != 3 or tokens.shape[1] != self.n_codebooks:
            raise LMInputError(
                f"tokens must be [B, K={self.n_codebooks}, S], got {list(tokens.shape)}"
            )
        if tokens.is_floating_point():
            raise LMInputError(f"tokens must be integers, got {tokens.dtype}")

    def forward(self, tokens: torch.Tensor, *, cache: Any = None) -> LMOutput:
        """Logits of the next step at every input position.

        Parameters
        ----------
        tokens : Tensor
            ``[B, K, S]`` input steps in ``[0, N + 2)`` (BOS first, then the pattern steps).
        cache : transformers Cache, optional
            KV cache from :meth:`new_cache`; ``tokens`` then continue the cached steps and the
            cache is extended in place.

        Returns
        -------
        LMOutput
            ``logits`` ``[B, K, S, N]``.
        """
        self._check_tokens(tokens)
        b, k, s = tokens.shape
        x = self.embed(tokens + self.offsets).sum(dim=1) * self.embed_scale  # [B, S, H]
        kwargs = {"inputs_embeds": self.dropout(x), "use_cache": cache is not None}
        if cache is not None:
            kwargs[self._cache_kw] = cache
        hidden = self.backbone(**kwargs).last_hidden_state  # [B, S, H]
        logits = self.heads(hidden).view(b, s, k, self.codebook_size).transpose(1, 2)
        return LMOutput(logits=logits, cache=cache)

    def input_steps(self, steps: torch.Tensor) -> torch.Tensor:
        """Model input for a step sequence: BOS, then ``steps`` shifted right by one.

        ``[B, K, S]`` -> ``[B, K, S]`` (the last step is only ever a target).
        """
        bos = torch.full_like(steps[..., :1], self.config.bos_id)
        return torch.cat([bos, steps[..., :-1]], dim=-1)

    def compute_loss(self, codes: torch.Tensor, *, forward: nn.Module | None = None) -> LMLoss:
        """Per-codebook cross-entropy of codes under the model, padding ignored.

        Parameters
        ----------
        codes : Tensor
            ``[B, K, T]`` integers in ``[0, N)``; ``-1`` marks missing codes (not scored).
        forward : nn.Module, optional
            What computes the logits: this model (default) or its DDP wrapper, whose forward
            must run for gradients to be synchronised.

        Returns
        -------
        LMLoss
        """
        self.check_codes(codes)
        seq = self.pattern.build(codes, pad_id=self.config.pad_id)
        logits = (forward or self)(self.input_steps(seq.tokens)).logits  # [B, K, S, N]
        targets = seq.tokens.masked_fill(~seq.valid, IGNORE_INDEX)
        nats = F.cross_entropy(
            logits.float().flatten(0, 2),
            targets.flatten(),
            ignore_index=IGNORE_INDEX,
            reduction="none",
        ).view_as(targets)
        per_codebook = nats.sum(dim=(0, 2))
        counts = seq.valid.sum(dim=(0, 2))
        loss = per_codebook.sum() / counts.sum().clamp(min=1)
        return LMLoss(
            loss=loss, nats_per_codebook=per_codebook.detach(), tokens_per_codebook=counts
        )

    def check_codes(self, codes: torch.Tensor) -> None:
        """Refuse codes that are not ``[B, K, T]`` integers in ``[0, N)`` or ``-1``.

        Raises
        ------
        LMInputError
        """
        self._check_tokens(codes)
        if codes.numel() and (codes.min() < -1 or codes.max() >= self.codebook_size):
            raise LMInputError(f"codes must lie in [0, {self.codebook_size}) (or -1 = missing)")

    # ---------------------------------------------------------------- codec binding
    def check_codec(self, codec: Codec) -> None:
        """Refuse a codec other than the one whose tokens the LM models.

        The LM may model only the first ``n_codebooks`` of the codec's ``K`` codebooks (the
        codec's quantizer dropout makes any prefix decodable); encode with
        ``n_q=lm.n_codebooks``.

        Raises
        ------
        LMCodecMismatchError
            Different identity hash or codebook size, or fewer codebooks than the LM models.
        """
        cfg, their_hash = self.config, codec.identity_hash()
        mine = f"codec {cfg.codec_hash or '(unknown)'} with {cfg.n_codebooks} x {cfg.codebook_size}"
        theirs = f"{their_hash} with {codec.n_q} x {codec.config.codebook_size}"
        if (
            codec.n_q < cfg.n_codebooks
            or codec.config.codebook_size != cfg.codebook_size
            or (cfg.codec_hash and their_hash != cfg.codec_hash)
        ):
            raise LMCodecMismatchError(
                f"this LM models tokens of {mine} codes; the codec given is {theirs}. Use the "
                "codec the LM was trained with (its run folder holds it under codec/)"
            )

    def check_token_file(self, tokens: TokenFile) -> None:
        """Refuse a token file made by another codec or with another number of codebooks.

        Raises
        ------
        LMCodecMismatchError
        """
        cfg = self.config
        if tokens.n_q != cfg.n_codebooks or (
            cfg.codec_hash and tokens.codec_hash != cfg.codec_hash
        ):
            raise LMCodecMismatchError(
                f"token file made by codec {tokens.codec_hash} with {tokens.n_q} codebooks; this "
                f"LM models codec {cfg.codec_hash or '(unknown)'} with {cfg.n_codebooks} codebooks"
            )

    # ---------------------------------------------------------------- persistence
    def save_pretrained(self, directory: str | Path, *, precision: str = "float32") -> Path:
        """Write ``config.json`` and ``model.safetensors`` (no pickle); returns the folder.

        Parameters
        ----------
        directory : str or Path
            Folder to write (created).
        precision : str
            ``"float32"``, or ``"float16"`` / ``"int8"`` for a compact file to ship
            (:mod:`dolphin.compact`); this LM is first rounded to the stored values.
        """
        from safetensors.torch import save_file

        from dolphin.compact import compact_state, round_module

        directory = Path(directory)
        tensors = compact_state(self.state_dict(), precision)
        if precision != "float32":
            round_module(self, tensors)
        directory.mkdir(parents=True, exist_ok=True)
        meta = {"format": FORMAT, "codec_hash": self.config.codec_hash, "precision": precision}
        tmp = directory / f".{WEIGHTS_NAME}.partial"
        save_file(tensors, str(tmp), metadata=meta)
        os.replace(tmp, directory / WEIGHTS_NAME)
        text = json.dumps({**meta, "config": self.config.to_dict()}, indent=2) + "\n"
        (directory / CONFIG_NAME).write_text(text)
        return directory

    @classmethod
    def from_pretrained(
        cls, name_or_path: str | Path = "default", *, map_location: str = "cpu"
    ) -> SoundLM:
        """Load a shipped LM by name (``dolphin/weights/lm/<name>/``) or a saved LM folder.

        Raises
        ------
        dolphin.hub.ModelNotFoundError
            No shipped LM of that name, or the folder lacks ``config.json`` / ``model.safetensors``.
        """
        from safetensors.torch import load_file

        from dolphin.compact import expand_state

        directory = lm_dir(name_or_path)
        data = json.loads((directory / CONFIG_NAME).read_text())
        if data.get("format") != FORMAT:
            raise DolphinError(f"{directory}: format {data.get('format')!r}, expected {FORMAT!r}")
        lm = cls(LMConfig.from_dict(data["config"]))
        try:
            state = expand_state(load_file(str(directory / WEIGHTS_NAME), device=map_location))
            lm.load_state_dict(state)
        except RuntimeError as err:
            raise DolphinError(f"{directory}: weights do not fit its config.json: {err}") from err
        return lm.to(map_location).eval()


def lm_dir(name_or_path: str | Path = "default") -> Path:
    """Folder of a shipped LM (a plain name) or of a saved LM (a path), checked for its files
    (:func:`dolphin.hub.model_dir` for kind ``"lm"``).

    Raises
    ------
    dolphin.hub.ModelNotFoundError
        Nothing of that name is shipped and no such folder holds an LM.
    """
    from dolphin import hub

    return hub.model_dir("lm", name_or_path)
