"""The top-level run configuration and its Hydra registration.

Each stage owns an ``XConfig`` dataclass beside its code (``SceneConfig`` in
:mod:`dolphin.synth.scene`, ...). :class:`DolphinConfig` composes them, and
:func:`register_configs` stores them in Hydra's ConfigStore as schemas so that the YAML files in
``conf/`` are validated against them: a misspelt key or a wrongly typed value fails at start-up
with a message naming the key. This module and the CLI are the only places that touch Hydra.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dolphin.chat.config import ChatConfig
from dolphin.codec.config import CodecConfig
from dolphin.detect.classifier import ClassifierConfig
from dolphin.detect.pipeline import DetectorConfig
from dolphin.errors import ConfigError
from dolphin.lm.config import LMConfig
from dolphin.synth.scene import SceneConfig
from dolphin.train.classifier import ClassifierTrainConfig
from dolphin.train.codec import CodecTrainConfig
from dolphin.train.lm import LMTrainConfig
from dolphin.train.loop import TrainConfig

#: What ``dolphin train task=...`` can train.
TASKS = ("codec", "lm", "classifier")


@dataclass
class DolphinConfig:
    """Everything one run needs; the groups mirror ``conf/<group>/``."""

    synth: SceneConfig = field(default_factory=SceneConfig)  # synthetic scene generator
    detect: DetectorConfig = field(default_factory=DetectorConfig)  # `dolphin detect` chain
    out_dir: str = "outputs/synth"  # where a run writes its files
    n_files: int = 1  # how many synthetic files `dolphin synth` writes
    progress: bool = True  # show progress bars (off in CI logs and tests)
    task: str = "codec"  # what `dolphin train` trains: one of TASKS
    codec: CodecConfig = field(default_factory=CodecConfig)  # codec architecture (conf/codec)
    train: TrainConfig = field(default_factory=TrainConfig)  # training loop (conf/train)
    codec_train: CodecTrainConfig = field(default_factory=CodecTrainConfig)  # codec losses, data
    lm: LMConfig = field(default_factory=LMConfig)  # sound-token LM architecture (conf/lm)
    lm_train: LMTrainConfig = field(default_factory=LMTrainConfig)  # LM codec and token data
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)  # event CNN
    classifier_train: ClassifierTrainConfig = field(default_factory=ClassifierTrainConfig)  # data
    chat: ChatConfig = field(default_factory=ChatConfig)  # CHAT vocabulary, matcher, sessions

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ConfigError(f"task must be one of {', '.join(TASKS)}, got {self.task!r}")


def conf_dir() -> Path:
    """Return the folder holding ``config.yaml`` and the config groups.

    Returns
    -------
    Path
        ``conf/`` at the top of the source tree (the package is installed in editable mode).
    """
    path = Path(__file__).resolve().parent.parent / "conf"
    if not (path / "config.yaml").is_file():
        raise ConfigError(
            f"config folder not found at {path}; install dolphin from its source tree "
            "(`pip install -e .`) so that conf/ sits beside the package"
        )
    return path


def register_configs() -> None:
    """Store the config schemas in Hydra's ConfigStore (idempotent)."""
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    store.store(name="dolphin_config", node=DolphinConfig)


def compose(overrides: list[str] | None = None, *, config_name: str = "config") -> Any:
    """Compose ``conf/<config_name>.yaml`` with command-line style overrides.

    Parameters
    ----------
    overrides : list of str, optional
        Hydra overrides such as ``["synth.duration_s=5", "experiment=tiny"]``.
    config_name : str
        Primary config file in ``conf/`` without ``.yaml``.

    Returns
    -------
    omegaconf.DictConfig
        The validated config (struct mode: unknown keys raise).

    Raises
    ------
    ConfigError
        A key is misspelt, a value has the wrong type, or a config group option does not exist.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    register_configs()
    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
            return hydra_compose(config_name=config_name, overrides=list(overrides or []))
    except (HydraException, OmegaConfBaseException) as err:
        raise ConfigError(f"bad configuration: {_error_text(err)}") from err


def to_object(cfg: Any) -> DolphinConfig:
    """Turn a composed DictConfig into dataclass instances, running their validation.

    Parameters
    ----------
    cfg : omegaconf.DictConfig
        Output of :func:`compose` (or of a ``@hydra.main`` app).

    Returns
    -------
    DolphinConfig
    """
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        return OmegaConf.to_object(cfg)
    except OmegaConfBaseException as err:
        raise ConfigError(f"bad configuration: {_error_text(err)}") from err


def load_config(overrides: list[str] | None = None) -> DolphinConfig:
    """Compose the config with ``overrides`` and return validated dataclasses."""
    return to_object(compose(overrides))


# Lines of Hydra/OmegaConf messages that say nothing to the user (or mislead: a struct config
# cannot take `+key=value` additions).
_NOISE_PREFIXES = ("reference_type", "object_type", "To append to your config")


def _error_text(err: BaseException) -> str:
    """The informative lines of a Hydra/OmegaConf error, joined on one line.

    Hydra wraps the real cause ("Key 'x' not in 'SceneConfig'", "full_key: synth.x") in generic
    text, so the messages of the whole cause chain are gathered, minus OmegaConf's type details.
    """
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for line in str(current).splitlines():
            line = line.strip()
            noise = line.startswith(_NOISE_PREFIXES) or "$VALUE" in line
            if line and not noise and line not in parts:
                parts.append(line)
        current = current.__cause__ or current.__context__
    return "; ".join(parts) if parts else type(err).__name__
