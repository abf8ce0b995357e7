"""Hydra application for training: sweeps (``-m``), launchers and ``torchrun`` use this entry.

``python -m dolphin.train.app task=codec codec=tiny train=debug`` trains once;
``python -m dolphin.train.app -m codec.n_codebooks=4,8`` sweeps, each job in its own folder
(in a sweep, ``train.run_dir`` is each job's Hydra output folder unless given explicitly;
a single run keeps the composed ``train.run_dir``, e.g. an experiment's, so reruns resume and
every ``torchrun`` rank writes to the same folder);
``torchrun --nproc_per_node=4 -m dolphin.train.app ...`` trains with DDP.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dolphin.config import conf_dir, register_configs, to_object


def run_task(cfg: Any) -> Path:
    """Validate a composed config and run its task; returns the exported model folder.

    Parameters
    ----------
    cfg : omegaconf.DictConfig
        A composed ``config.yaml`` (``task``, ``codec``, ``train``, ``codec_train``).

    Returns
    -------
    Path
        The trained model folder.
    """
    from dataclasses import asdict

    config = to_object(cfg)
    if config.task == "codec":
        from dolphin.train.codec import train_codec

        dump = {
            "task": config.task,
            "codec": asdict(config.codec),
            "train": asdict(config.train),
            "codec_train": asdict(config.codec_train),
        }
        return train_codec(config.codec, config.train, config.codec_train, config_dump=dump)
    elif config.task == "lm":
        from dolphin.train.lm import train_lm

        dump = {
            "task": config.task,
            "lm": asdict(config.lm),
            "codec": asdict(config.codec),
            "train": asdict(config.train),
            "lm_train": asdict(config.lm_train),
        }
        return train_lm(config.lm, config.codec, config.train, config.lm_train, config_dump=dump)
    elif config.task == "classifier":
        from dolphin.train.classifier import train_classifier

        dump = {
            "task": config.task,
            "classifier": asdict(config.classifier),
            "train": asdict(config.train),
            "classifier_train": asdict(config.classifier_train),
        }
        return train_classifier(
            config.classifier, config.train, config.classifier_train, config_dump=dump
        )
    raise AssertionError(f"unhandled task {config.task}")  # DolphinConfig validates task


def main() -> None:
    """Hydra entry point (``python -m dolphin.train.app``)."""
    import hydra
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    from omegaconf import open_dict

    register_configs()

    @hydra.main(config_path=str(conf_dir()), config_name="config", version_base="1.3")
    def _app(cfg: Any) -> None:
        hydra_cfg = HydraConfig.get()
        explicit = any(o.startswith("train.run_dir=") for o in hydra_cfg.overrides.task)
        if hydra_cfg.mode == RunMode.MULTIRUN and not explicit:
            with open_dict(cfg):
                cfg.train.run_dir = hydra_cfg.runtime.output_dir
        run_task(cfg)

    _app()


if __name__ == "__main__":
    main()
