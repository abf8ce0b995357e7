"""Labelled synthetic dolphin scenes: whistle contours, sound renderers, mixing and datasets.

- :mod:`dolphin.synth.contours`: parametric whistle contours, whistle types, renditions, individuals
- :mod:`dolphin.synth.sigwi`: real SIGWI whistle contours shipped in ``data/``
- :mod:`dolphin.synth.sounds`: whistles, clicks, click trains, burst pulses, buzzes, background
- :mod:`dolphin.synth.scene`: :class:`SceneConfig`, :func:`make_scene` (mixing at SNR, labels)
- :mod:`dolphin.synth.dataset`: :func:`write_dataset` (WAV + Raven tables + manifest)
"""

from dolphin.synth.scene import Scene, SceneConfig, make_scene

__all__ = ["Scene", "SceneConfig", "make_scene"]
