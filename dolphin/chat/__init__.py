"""CHAT: a shared whistle vocabulary with dolphins, mimic detection and two-way sessions.

Vocabulary and distance

* :mod:`dolphin.chat.vocab`: the vocabulary (entries, JSON file, rendering, ``VocabConfig``).
* :mod:`dolphin.chat.distance`: the mimic distance (tolerant DTW, partial crops, references).
* :mod:`dolphin.chat.design`: designing a vocabulary far from natural whistles, or from
  recordings.

Recognition

* :mod:`dolphin.chat.matcher`: :class:`~dolphin.chat.matcher.MimicMatcher`, the streaming
  recogniser of imitations of vocabulary whistles (whistled, clicked or burst-pulsed); its
  settings are in :mod:`dolphin.chat.matcher_config`.
* :mod:`dolphin.chat.detection`: :class:`~dolphin.chat.detection.MimicDetection`, what it reports.
* :mod:`dolphin.chat.trains`: click trains released in the quiet after them; pulse-rate contours.
* :mod:`dolphin.chat.silence`: long runs of digital zeros kept out of the noise memory.
* :mod:`dolphin.chat.baseline`: a plain template matcher, the benchmark's baseline.
* :mod:`dolphin.chat.scan`: the matcher run over a recorded file, writing a JSONL event log.

Sessions

* :mod:`dolphin.chat.session` (and :mod:`~dolphin.chat.session_files`): record, match, emit, log.
* :mod:`dolphin.chat.devices`, :mod:`~dolphin.chat.stream`, :mod:`~dolphin.chat.outputs`,
  :mod:`~dolphin.chat.portaudio`, :mod:`~dolphin.chat.sources`: inputs and outputs.
* :mod:`dolphin.chat.emitter`, :mod:`~dolphin.chat.feedback`, :mod:`~dolphin.chat.view`,
  :mod:`~dolphin.chat.recorder`, :mod:`~dolphin.chat.eventlog`, :mod:`~dolphin.chat.calibrate`.
* :mod:`dolphin.chat.live`: a :class:`~dolphin.chat.config.ChatConfig` turned into a session.
* :mod:`dolphin.chat.config`: :class:`~dolphin.chat.config.ChatConfig` (``conf/chat/``).

Test signals: :mod:`dolphin.chat.mimics` (imitations, natural whistles, scenes) and
:mod:`dolphin.chat.noise` (hours of noise-only audio in bounded memory).
"""
