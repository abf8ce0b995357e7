"""ChatConfig composes from conf/chat/default.yaml and refuses bad values by name."""

from __future__ import annotations

import pytest

from dolphin.chat.config import ChatConfig
from dolphin.chat.matcher import MatcherConfig
from dolphin.config import compose, load_config
from dolphin.errors import ConfigError


def test_yaml_mirrors_the_dataclasses():
    cfg = load_config()
    assert isinstance(cfg.chat, ChatConfig) and isinstance(cfg.chat.matcher, MatcherConfig)
    assert cfg.chat == ChatConfig()  # the yaml holds the dataclass defaults
    assert cfg.chat.matcher.detect.whistles.noise_window_s == 0.02


def test_overrides_and_misspelt_keys():
    assert load_config(["chat.matcher.threshold=0.7"]).chat.matcher.threshold == 0.7
    with pytest.raises(ConfigError, match="treshold"):
        compose(["chat.matcher.treshold=0.7"])
    with pytest.raises(ConfigError, match="feedback"):
        load_config(["chat.feedback=morse"])
    with pytest.raises(ConfigError, match="audio_format"):
        ChatConfig(audio_format="MP3")
