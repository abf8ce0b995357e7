"""dolphin: an open research package for dolphin sound.

Audio I/O and DSP (:mod:`dolphin.audio`), labelled synthetic scenes (:mod:`dolphin.synth`), Raven
selection tables (:mod:`dolphin.annotations`) and, in later stages, a neural codec, a sound-token
language model, detectors and the CHAT real-time module.
"""

__version__ = "0.1.0"
