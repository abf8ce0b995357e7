"""The sound-token LM's configuration: :class:`LMConfig` and the size presets.

Every field is a primitive so the dataclass registers as a Hydra structured config
(``conf/lm/*.yaml`` mirrors :data:`PRESETS`). ``n_codebooks``, ``codebook_size``, ``codec_hash``
and ``frame_rate_hz`` describe the codec whose tokens the LM models; they are 0 / empty in the
YAML files and filled in from the codec when training starts (:meth:`LMConfig.bind`), so a saved
LM always names its codec and refuses another one. ``context_frames`` is filled in the same way
from the training window (``lm_train.data.window_frames``): the model never saw positions beyond
it, so :func:`dolphin.lm.score_codes` and :class:`dolphin.lm.NextFramePredictor` keep their
windows to it (a 256-frame model scored 5.76 bits/token in windows of 2,045 frames and 5.74 in
windows of 256 overlapping by half).

Presets (parameters with the default 8 x 1024 codec):

=============  ======  ======  =====  ======  =============================================
preset         hidden  layers  heads  params  use
=============  ======  ======  =====  ======  =============================================
tiny           32      2       2      ~0.1 M  tests, notebooks
small          320     6       5      ~14 M   shipped default (~11 M with 4 codebooks)
base           768     12      12     ~100 M  one GPU, hours
dolphingemma   1024    24      8      ~400 M  the DolphinGemma size; several GPUs
=============  ======  ======  =====  ======  =============================================
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from dolphin.errors import ConfigError, unknown_keys
from dolphin.lm.patterns import PATTERNS


@dataclass
class LMConfig:
    """Hyper-parameters of :class:`dolphin.lm.model.SoundLM` (mirrors ``conf/lm/*.yaml``)."""

    name: str = "small"  # preset the values came from (informational, shown in model cards)
    # --- the token stream (bound to a codec)
    n_codebooks: int = 0  # K; 0 = take it from the codec when training starts
    codebook_size: int = 0  # N codes per codebook; 0 = from the codec
    codec_hash: str = ""  # identity_hash of the codec whose tokens this LM models ("" = unbound)
    frame_rate_hz: float = 0.0  # codec frames per second (0 = unbound); turns frames into seconds
    pattern: str = "delay"  # codebook interleaving: delay (one step per frame), flatten, parallel
    # --- the Gemma 3 backbone
    hidden_size: int = 320  # width of the residual stream
    num_layers: int = 6  # decoder layers
    num_heads: int = 5  # query heads
    num_kv_heads: int = 1  # key/value heads (grouped-query attention: fewer = smaller KV cache)
    head_dim: int = 64  # width of one attention head
    intermediate_size: int = 1280  # hidden width of the gated MLP (4x hidden)
    max_positions: int = 2048  # longest step sequence; 2048 steps = 20 s at 100 frames/s (delay)
    sliding_window: int = 256  # span of local-attention layers, steps (2.56 s at 100 frames/s)
    global_every: int = 3  # every n-th layer attends to the whole context, the rest locally
    dropout: float = 0.0  # embedding and attention dropout (more for small data sets)
    # --- set by training
    context_frames: int = 0  # training window in frames, kept to when used (0 = all that fit)

    def __post_init__(self) -> None:
        for name in (
            "hidden_size",
            "num_layers",
            "num_heads",
            "num_kv_heads",
            "head_dim",
            "intermediate_size",
            "max_positions",
            "sliding_window",
            "global_every",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"lm.{name} must be a positive integer, got {value!r}")
        for name in ("n_codebooks", "codebook_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"lm.{name} must be an integer >= 0 (0 = from the codec)")
        if self.codebook_size == 1:
            raise ConfigError("lm.codebook_size must be >= 2 (or 0 = from the codec)")
        if self.pattern not in PATTERNS:
            raise ConfigError(
                f"lm.pattern must be one of {', '.join(PATTERNS)}, got {self.pattern!r}"
            )
        if self.num_heads % self.num_kv_heads:
            raise ConfigError(
                f"lm.num_heads ({self.num_heads}) must be a multiple of lm.num_kv_heads "
                f"({self.num_kv_heads})"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"lm.dropout must be in [0, 1), got {self.dropout}")
        if not isinstance(self.context_frames, int) or self.context_frames < 0:
            raise ConfigError(
                f"lm.context_frames must be an integer >= 0 (0 = all that fit max_positions), "
                f"got {self.context_frames!r}"
            )
        if self.frame_rate_hz < 0:
            raise ConfigError(f"lm.frame_rate_hz must be >= 0, got {self.frame_rate_hz}")

    @property
    def is_bound(self) -> bool:
        """True when the token stream (K and N) is known."""
        return self.n_codebooks > 0 and self.codebook_size > 0

    @property
    def pad_id(self) -> int:
        """Token of empty pattern positions (``N``)."""
        return self.codebook_size

    @property
    def bos_id(self) -> int:
        """Token of the start step (``N + 1``)."""
        return self.codebook_size + 1

    @property
    def n_input_tokens(self) -> int:
        """Rows of each codebook's input embedding: codes, pad and BOS."""
        return self.codebook_size + 2

    def bind(
        self, *, n_codebooks: int, codebook_size: int, codec_hash: str, frame_rate_hz: float
    ) -> LMConfig:
        """This config tied to a codec's token stream.

        Raises
        ------
        ConfigError
            ``n_codebooks`` or ``codebook_size`` were set explicitly and differ from the codec's.
        """
        for name, value in (("n_codebooks", n_codebooks), ("codebook_size", codebook_size)):
            mine = getattr(self, name)
            if mine and mine != value:
                raise ConfigError(
                    f"lm.{name}={mine} but the codec has {value}; leave it 0 to take the codec's"
                )
        return replace(
            self,
            n_codebooks=int(n_codebooks),
            codebook_size=int(codebook_size),
            codec_hash=str(codec_hash),
            frame_rate_hz=float(frame_rate_hz),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain ``dict`` of the fields (JSON-ready)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LMConfig:
        """Build a config from a mapping, refusing unknown keys (e.g. a saved ``config.json``)."""
        unknown = unknown_keys(cls, data)
        if unknown:
            raise ConfigError(f"unknown lm config key(s): {', '.join(unknown)}")
        return cls(**dict(data))


#: Size presets; ``conf/lm/<name>.yaml`` holds the same values.
PRESETS: dict[str, dict[str, Any]] = {
    "tiny": dict(
        hidden_size=32,
        num_layers=2,
        num_heads=2,
        num_kv_heads=1,
        head_dim=16,
        intermediate_size=64,
        max_positions=512,
        sliding_window=16,
        global_every=2,
    ),
    "small": dict(  # narrow enough to train on a CPU in hours and to ship as int8 (~11 MB)
        hidden_size=320,
        num_layers=6,
        num_heads=5,
        num_kv_heads=1,
        head_dim=64,
        intermediate_size=1280,
        max_positions=2048,
        sliding_window=256,
        global_every=3,
    ),
    "base": dict(
        hidden_size=768,
        num_layers=12,
        num_heads=12,
        num_kv_heads=4,
        head_dim=64,
        intermediate_size=2560,
        max_positions=4096,
        sliding_window=512,
        global_every=6,
    ),
    "dolphingemma": dict(
        hidden_size=1024,
        num_layers=24,
        num_heads=8,
        num_kv_heads=4,
        head_dim=128,
        intermediate_size=4096,
        max_positions=8192,
        sliding_window=1024,
        global_every=6,
    ),
}


def lm_preset(name: str, **overrides: Any) -> LMConfig:
    """The preset called ``name`` (:data:`PRESETS`) with ``overrides`` applied.

    Parameters
    ----------
    name : str
        ``tiny``, ``small``, ``base`` or ``dolphingemma``.
    **overrides
        Field values replacing the preset's (``n_codebooks=4, codebook_size=64`` binds it).

    Returns
    -------
    LMConfig
    """
    if name not in PRESETS:
        raise ConfigError(f"unknown lm preset {name!r}; presets: {', '.join(PRESETS)}")
    return LMConfig(**{"name": name, **PRESETS[name], **overrides})
