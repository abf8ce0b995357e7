"""CodecConfig defaults, derived quantities and validation."""

from __future__ import annotations

import pytest

from dolphin.codec import Codec, CodecConfig, tiny_config
from dolphin.errors import ConfigError


def test_default_is_96khz_100_fps_8kbps() -> None:
    cfg = CodecConfig()
    assert cfg.sample_rate == 96000
    assert cfg.frame_rate == 100.0
    assert cfg.bitrate_bps == 8000.0
    assert Codec(cfg).bitrate_bps == 8000.0


def test_bitrate_scales_with_codebooks_and_size() -> None:
    cfg = CodecConfig(n_codebooks=4, codebook_size=256)
    assert cfg.bitrate_bps == 4 * 8 * 100


def test_derived_windows() -> None:
    cfg = CodecConfig()
    assert cfg.n_fft == 1920
    assert cfg.decoder_hop == 240
    assert cfg.decoder_n_fft == 960


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("hop_length", 0),
        ("sample_rate", -1),
        ("decoder_upsample", 7),
        ("codebook_size", 1),
        ("n_codebooks", 0),
        ("ema_decay", 1.0),
        ("quantizer_dropout", 1.5),
        ("decoder_window_hops", 1),
        ("encoder_units", -1),
    ],
)
def test_bad_values_raise_config_error_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        CodecConfig(**{field: value})


def test_round_trip_and_unknown_key() -> None:
    cfg = tiny_config()
    assert CodecConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="hop_lenght"):
        CodecConfig.from_dict({**cfg.to_dict(), "hop_lenght": 3})


def test_other_sample_rates_build() -> None:
    for sample_rate, hop in ((48000, 480), (192000, 1920)):
        codec = Codec(tiny_config(sample_rate=sample_rate, hop_length=hop))
        assert codec.frame_rate == 100.0
