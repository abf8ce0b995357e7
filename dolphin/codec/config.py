"""The codec's configuration: :class:`CodecConfig` and the tiny test configuration.

Every field is a primitive (int, float, bool) so the dataclass can be registered as a Hydra
structured config; ``__post_init__`` checks the values and raises
:class:`dolphin.errors.ConfigError` naming the offending field. The default is the 96 kHz,
100 frames/s, 8 x 1024 (8 kbps) codec; :func:`tiny_config` is a 48 kHz model of a few tens of
thousands of parameters for tests and notebooks.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from dolphin.errors import ConfigError, unknown_keys


@dataclass
class CodecConfig:
    """Hyper-parameters of :class:`dolphin.codec.model.Codec` (units in the comments)."""

    # --- signal and framing
    sample_rate: int = 96000  # Hz; the codec only accepts audio at this rate (48/96/192 kHz)
    hop_length: int = 960  # samples per token frame: 96000 / 960 = 100 frames/s (10 ms)
    window_hops: int = 2  # encoder STFT window = window_hops * hop_length; it ends at the frame end
    # --- encoder: causal convs over frames
    encoder_dim: int = 256  # channels of the encoder's frame-rate residual stack
    encoder_units: int = 3  # dilated residual units (dilations 1, 3, 9 frames with base 3)
    dilation_base: int = 3  # unit i looks back 2 * dilation_base**i frames (kernel 3)
    latent_dim: int = 32  # D: the per-frame vector the RVQ quantizes (80 bits/frame fit easily)
    # --- decoder: causal convs over frames, then over decoder frames, then an iSTFT
    decoder_dim: int = 256  # channels of the decoder's frame-rate residual stack
    decoder_units: int = 3  # dilated residual units at the token frame rate
    decoder_upsample: int = 4  # decoder frames per token frame (decoder hop = hop_length / 4)
    decoder_head_dim: int = 512  # hidden width of the per-frame MLP head; must reach ~n_bins
    decoder_window_hops: int = 4  # iSTFT window = 4 decoder hops (75 % overlap-add)
    max_log_magnitude: float = 3.0  # clamp of the predicted log-magnitude; keeps exp() finite
    initial_log_magnitude: float = -10.0  # head bias at init: below the usual noise floor
    # --- residual vector quantizer
    n_codebooks: int = 8  # K: RVQ depth; bitrate = K * log2(codebook_size) * frame rate
    codebook_size: int = 1024  # N: entries per codebook (10 bits per code)
    ema_decay: float = 0.99  # EMA decay of codebook statistics (higher = slower, steadier)
    kmeans_iters: int = 10  # k-means iterations of the codebook init on the first training batch
    dead_code_ratio: float = 0.02  # restart a code whose EMA usage share < ratio / codebook_size
    quantizer_dropout: float = 1.0  # probability that a training batch uses n_q ~ U[1, K]

    def __post_init__(self) -> None:
        for name in (
            "sample_rate",
            "hop_length",
            "window_hops",
            "encoder_dim",
            "latent_dim",
            "decoder_dim",
            "decoder_upsample",
            "decoder_head_dim",
            "n_codebooks",
            "kmeans_iters",
        ):
            _check_positive_int(self, name)
        for name in ("encoder_units", "decoder_units"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"codec.{name} must be an integer >= 0, got {value!r}")
        if self.dilation_base < 1:
            raise ConfigError(f"codec.dilation_base must be >= 1, got {self.dilation_base}")
        if self.hop_length > self.sample_rate:
            raise ConfigError(
                f"codec.hop_length ({self.hop_length} samples) is longer than one second at "
                f"codec.sample_rate={self.sample_rate} Hz"
            )
        if self.hop_length % self.decoder_upsample:
            raise ConfigError(
                f"codec.hop_length ({self.hop_length}) must be divisible by "
                f"codec.decoder_upsample ({self.decoder_upsample})"
            )
        if self.decoder_window_hops < 2:
            raise ConfigError(
                f"codec.decoder_window_hops must be >= 2 (overlap-add needs overlap), "
                f"got {self.decoder_window_hops}"
            )
        if not isinstance(self.codebook_size, int) or self.codebook_size < 2:
            raise ConfigError(
                f"codec.codebook_size must be an integer >= 2, got {self.codebook_size}"
            )
        if self.codebook_size > 2**31 - 1:
            raise ConfigError(f"codec.codebook_size is too large: {self.codebook_size}")
        if not 0.0 < self.ema_decay < 1.0:
            raise ConfigError(f"codec.ema_decay must be in (0, 1), got {self.ema_decay}")
        if not 0.0 <= self.dead_code_ratio < 1.0:
            raise ConfigError(
                f"codec.dead_code_ratio must be in [0, 1), got {self.dead_code_ratio}"
            )
        if not 0.0 <= self.quantizer_dropout <= 1.0:
            raise ConfigError(
                f"codec.quantizer_dropout must be in [0, 1], got {self.quantizer_dropout}"
            )
        for name in ("max_log_magnitude", "initial_log_magnitude"):
            if not math.isfinite(getattr(self, name)):
                raise ConfigError(f"codec.{name} must be finite, got {getattr(self, name)}")

    # --- derived quantities
    @property
    def n_fft(self) -> int:
        """Encoder analysis window in samples."""
        return self.window_hops * self.hop_length

    @property
    def decoder_hop(self) -> int:
        """Decoder (iSTFT) hop in samples."""
        return self.hop_length // self.decoder_upsample

    @property
    def decoder_n_fft(self) -> int:
        """Decoder (iSTFT) window in samples."""
        return self.decoder_window_hops * self.decoder_hop

    @property
    def frame_rate(self) -> float:
        """Token frames per second (Hz)."""
        return self.sample_rate / self.hop_length

    @property
    def bitrate_bps(self) -> float:
        """Bits per second with all codebooks: ``K * log2(N) * frame_rate``."""
        return self.n_codebooks * math.log2(self.codebook_size) * self.frame_rate

    # --- (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        """Plain ``dict`` of the fields (JSON-ready)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CodecConfig:
        """Build a config from a mapping, refusing unknown keys.

        Parameters
        ----------
        data : dict
            Field names to values, e.g. read from a saved model's ``config.json``.

        Returns
        -------
        CodecConfig

        Raises
        ------
        ConfigError
            A key is not a field of :class:`CodecConfig`, or a value fails validation.
        """
        unknown = unknown_keys(cls, data)
        if unknown:
            raise ConfigError(f"unknown codec config key(s): {', '.join(unknown)}")
        return cls(**dict(data))


def _check_positive_int(cfg: CodecConfig, name: str) -> None:
    value = getattr(cfg, name)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"codec.{name} must be a positive integer, got {value!r}")


def tiny_config(**overrides: Any) -> CodecConfig:
    """A small 48 kHz codec configuration for tests and notebooks.

    48 kHz, hop 480 (100 frames/s), 4 codebooks x 64 entries (2.4 kbps), narrow layers: about
    0.2 M parameters, most of them in the input projection of the 481-bin spectrum and the
    iSTFT head (a decoder much narrower than 64 cannot even memorise one whistle).

    Parameters
    ----------
    **overrides
        Field values replacing the tiny defaults.

    Returns
    -------
    CodecConfig
    """
    values: dict[str, Any] = dict(
        sample_rate=48000,
        hop_length=480,
        encoder_dim=64,
        encoder_units=2,
        latent_dim=16,
        decoder_dim=64,
        decoder_units=2,
        decoder_upsample=2,
        decoder_head_dim=64,
        n_codebooks=4,
        codebook_size=64,
        kmeans_iters=5,
    )
    values.update(overrides)
    return CodecConfig(**values)
