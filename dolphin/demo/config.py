"""Configuration of ``dolphin demo``: its own knobs (:class:`DemoConfig`) beside the stages' configs.

``conf/demo.yaml`` is the primary config of the demo app. It composes the shared groups the demo
runs (``synth``, ``detect``, ``chat``, each checked against its stage's dataclass) and a ``demo``
section that mirrors :class:`DemoConfig`. :class:`DemoAppConfig` is its schema, registered in
Hydra's ConfigStore as ``demo_app_config`` so that a misspelt key fails at start-up, as with
``conf/config.yaml``. Only this module and :mod:`dolphin.demo.app` touch Hydra.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dolphin.chat.config import ChatConfig
from dolphin.detect.pipeline import DetectorConfig
from dolphin.errors import ConfigError
from dolphin.synth.scene import SceneConfig

#: Name of the demo's primary config in ``conf/`` (``conf/demo.yaml``).
CONFIG_NAME = "demo"
#: Name of the schema node in Hydra's ConfigStore.
SCHEMA_NAME = "demo_app_config"


@dataclass
class DemoConfig:
    """Settings of the demo itself (the ``demo:`` section of ``conf/demo.yaml``)."""

    out_root: str = "outputs/demo"  # each run writes a folder here
    run_name: str = ""  # run folder name; "" = UTC time stamp such as 20250701T120000Z
    input: str = ""  # a recording analysed instead of the synthetic scene ("" = scene)
    input_channel: int = 0  # 0-based channel of `input` analysed
    plot_max_s: float = 60.0  # seconds of the recording drawn in the scene spectrogram
    codec: str = "default"  # shipped codec name or saved codec folder; "none" skips the step
    codec_clip_s: float = 10.0  # seconds encoded and decoded (CPU time grows with it)
    lm: str = "default"  # shipped LM name or saved LM folder; "none" skips the step
    lm_prompt_s: float = 3.0  # seconds of the recording given to the LM as prompt
    lm_continue_s: float = 3.0  # seconds the LM adds
    classifier: str = "default"  # event classifier (as `dolphin detect --classifier`); "none"
    min_cluster_size: int = 3  # smallest whistle type, contours (short demo scenes)
    chat_labels: list[str] = field(
        default_factory=lambda: ["scarf", "rope", "sargassum", "bow"]
    )  # designed vocabulary, one entry per label (4-8 keeps it learnable)
    chat_repeats: int = 2  # imitations of each entry placed in the rehearsal file
    chat_naturals: int = 4  # natural SIGWI whistles (non-mimics) placed there, 1 a look-alike
    chat_snr_db: float = 15.0  # SNR of every sound of the rehearsal file, dB
    seed: int = 0  # seed of the rehearsal file (imitations, order, gaps, noise)

    def __post_init__(self) -> None:
        def bad(name: str, rule: str) -> ConfigError:
            return ConfigError(f"DemoConfig.{name} {rule}, got {getattr(self, name)!r}")

        for name in ("plot_max_s", "codec_clip_s", "lm_prompt_s", "lm_continue_s"):
            if not getattr(self, name) > 0:
                raise bad(name, "must be > 0 seconds")
        if self.input_channel < 0:
            raise bad("input_channel", "must be >= 0 (0-based)")
        if self.min_cluster_size < 2:
            raise bad("min_cluster_size", "must be >= 2")
        if len(self.chat_labels) < 2 or len(set(self.chat_labels)) != len(self.chat_labels):
            raise bad("chat_labels", "must hold at least 2 distinct labels")
        if self.chat_repeats < 1 or self.chat_naturals < 0:
            raise bad("chat_repeats" if self.chat_repeats < 1 else "chat_naturals", "is too small")
        if "/" in self.run_name or self.run_name in (".", ".."):
            raise bad("run_name", "must be a plain folder name")


@dataclass
class DemoAppConfig:
    """Everything one demo run needs; mirrors ``conf/demo.yaml``."""

    demo: DemoConfig = field(default_factory=DemoConfig)  # the demo's own settings
    synth: SceneConfig = field(default_factory=SceneConfig)  # the synthetic scene (conf/synth)
    detect: DetectorConfig = field(default_factory=DetectorConfig)  # detection (conf/detect)
    chat: ChatConfig = field(default_factory=ChatConfig)  # vocabulary design, matcher (conf/chat)
    progress: bool = True  # progress bars (off in tests)


def register_demo_config() -> None:
    """Store the demo schema in Hydra's ConfigStore (idempotent)."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name=SCHEMA_NAME, node=DemoAppConfig)


def load_demo_config(overrides: list[str] | None = None) -> DemoAppConfig:
    """Compose ``conf/demo.yaml`` with overrides and return validated dataclasses.

    Parameters
    ----------
    overrides : list of str, optional
        Hydra overrides such as ``["synth.duration_s=10", "demo.codec=none"]``.

    Returns
    -------
    DemoAppConfig

    Raises
    ------
    ConfigError
        A misspelt key, a wrongly typed value or a value a dataclass refuses.
    """
    from dolphin.config import compose

    register_demo_config()
    return demo_config_from(compose(list(overrides or []), config_name=CONFIG_NAME))


def demo_config_from(cfg: Any) -> DemoAppConfig:
    """Turn a composed ``conf/demo.yaml`` (a DictConfig) into :class:`DemoAppConfig`.

    Parameters
    ----------
    cfg : omegaconf.DictConfig
        Output of Hydra's compose or of a ``@hydra.main`` app.

    Returns
    -------
    DemoAppConfig
    """
    from dolphin.config import to_object

    return to_object(cfg)
