"""``dolphin demo``: one short, offline tour of the package that ends in a Markdown report.

* :mod:`dolphin.demo.config`: :class:`DemoConfig` / :class:`DemoAppConfig` (``conf/demo.yaml``).
* :mod:`dolphin.demo.recording`: the synthetic scene, or the user's recording.
* :mod:`dolphin.demo.models`: codec round trip and LM continuation (skipped until they ship).
* :mod:`dolphin.demo.quality`: SI-SNR, spectral distance and contour error of decoded audio.
* :mod:`dolphin.demo.analysis`: detection with the shipped classifier, whistle types and SIGID.
* :mod:`dolphin.demo.rehearsal`: a CHAT session replaying imitations of a designed vocabulary.
* :mod:`dolphin.demo.figures`, :mod:`dolphin.demo.report`: PNG figures and ``report.md``.
* :mod:`dolphin.demo.app`: :func:`run_demo`, and the Hydra app ``python -m dolphin.demo.app``.
"""

from dolphin.demo.config import DemoAppConfig, DemoConfig, load_demo_config

__all__ = ["DemoAppConfig", "DemoConfig", "DemoResult", "load_demo_config", "run_demo"]


def __getattr__(name: str):
    """``run_demo`` and ``DemoResult`` load :mod:`dolphin.demo.app` on first use (so that
    ``python -m dolphin.demo.app`` does not import the module twice)."""
    if name in ("run_demo", "DemoResult"):
        from dolphin.demo import app

        return getattr(app, name)
    raise AttributeError(f"module 'dolphin.demo' has no attribute {name!r}")
