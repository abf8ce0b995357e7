"""CHAT: a shared whistle vocabulary with dolphins, mimic detection and two-way sessions.

* :mod:`dolphin.chat.vocab`: the vocabulary (design, recordings, JSON, rendering).
* :mod:`dolphin.chat.matcher`: :class:`~dolphin.chat.matcher.MimicMatcher`, the streaming
  recogniser of imitations of vocabulary whistles (whistled, clicked or burst-pulsed).
* :mod:`dolphin.chat.mimics`: synthetic imitations and natural non-mimics for tests and benchmarks.
* :mod:`dolphin.chat.scan`: the matcher run over a recorded file, writing a JSONL event log.
* :mod:`dolphin.chat.config`: :class:`~dolphin.chat.config.ChatConfig` (``conf/chat/``).
"""
