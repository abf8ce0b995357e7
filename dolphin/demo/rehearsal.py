"""CHAT rehearsal: a replayed session over a file of imitations of a designed vocabulary.

:func:`rehearse_chat` designs a small vocabulary (:func:`dolphin.chat.design.design_vocabulary`),
writes a recording in which a simulated dolphin imitates each entry a few times
(:func:`dolphin.chat.mimics.imitate`: shifted, stretched, warped copies) between natural SIGWI
whistles that imitate nothing (one of them the closest look-alike of an entry), and replays the
file through a CHAT session exactly as ``dolphin chat session --replay FILE --fast`` does
(:func:`dolphin.chat.live.build_session` / :func:`~dolphin.chat.live.run_session`): the session
records, matches and logs to ``events.jsonl``. The detections are then scored against the
imitations placed: recall, false alarms and latencies.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dolphin.chat.config import ChatConfig


@dataclass
class PlacedSound:
    """One sound of the rehearsal file.

    Attributes
    ----------
    start_s, end_s : float
        Span in the file, seconds.
    label : str or None
        Vocabulary entry imitated; None for a natural (non-mimic) whistle.
    note : str
        ``"sigwi:<id>"`` or ``"lookalike sigwi:<id>"`` for natural whistles.
    found : str or None
        Label of the accepted detection that matched it, if any.
    latency_s : float or None
        Decision time minus the sound's end, seconds (hits only).
    """

    start_s: float
    end_s: float
    label: str | None
    note: str = ""
    found: str | None = None
    latency_s: float | None = None


@dataclass
class ChatRehearsal:
    """Outcome of the rehearsal.

    Attributes
    ----------
    labels : list of str
        The vocabulary.
    audio_path, vocab_path, session_dir : Path
        The rehearsal file, the vocabulary JSON and the session folder (recording and
        ``events.jsonl``).
    duration_s : float
        Audio replayed, seconds.
    wall_s : float
        Time the session took, seconds.
    sounds : list of PlacedSound
        What was placed, with what was found.
    detections : list of MimicDetection
        Everything the matcher judged, accepted or not.
    false_alarms : list of MimicDetection
        Accepted detections matching no imitation of their label.
    min_pairwise_semitones : float
        Smallest distance between two entries of the designed vocabulary, semitones.
    """

    labels: list[str]
    audio_path: Path
    vocab_path: Path
    session_dir: Path
    duration_s: float
    wall_s: float
    sounds: list[PlacedSound] = field(default_factory=list)
    detections: list = field(default_factory=list)
    false_alarms: list = field(default_factory=list)
    min_pairwise_semitones: float = float("nan")

    @property
    def mimics(self) -> list[PlacedSound]:
        """The imitations placed."""
        return [s for s in self.sounds if s.label is not None]

    @property
    def n_hits(self) -> int:
        """Imitations recognised with the right label."""
        return sum(s.found == s.label for s in self.mimics)

    @property
    def recall(self) -> float:
        """Share of imitations recognised with the right label, in [0, 1]."""
        return self.n_hits / len(self.mimics) if self.mimics else float("nan")

    @property
    def latencies_s(self) -> np.ndarray:
        """Decision latencies of the hits (decision time minus end of the sound), seconds."""
        return np.array([s.latency_s for s in self.mimics if s.latency_s is not None])


def make_rehearsal_audio(
    vocab,
    *,
    sample_rate: int,
    repeats: int,
    n_naturals: int,
    snr_db: float,
    seed: int,
):
    """Imitations of every entry and natural whistles, shuffled and mixed into ocean noise.

    Parameters
    ----------
    vocab : Vocabulary
        Entries imitated.
    sample_rate : int
        Hz.
    repeats : int
        Imitations per entry.
    n_naturals : int
        Natural SIGWI whistles (the first the closest look-alike of an entry).
    snr_db : float
        SNR of every sound, dB.
    seed : int
        Seed of imitations, order, gaps and noise.

    Returns
    -------
    dolphin.chat.mimics.MimicScene
        Samples ``[T]`` float32 and the truth, in time order.
    """
    from dolphin.chat.mimics import imitate, make_scene, natural_whistles, whistle_sound

    rng = np.random.default_rng(seed)
    sounds = [
        whistle_sound(imitate(e.contour, rng=rng), sample_rate=sample_rate, rng=rng, label=e.label)
        for _ in range(repeats)
        for e in vocab.entries
    ]
    if n_naturals:
        for contour, note in natural_whistles(n_naturals, rng=rng, vocab=vocab, n_lookalikes=1):
            sounds.append(whistle_sound(contour, sample_rate=sample_rate, rng=rng, note=note))
    order = rng.permutation(len(sounds))
    return make_scene([sounds[i] for i in order], sample_rate=sample_rate, rng=rng, snr_db=snr_db)


def rehearse_chat(
    config: ChatConfig,
    folder: str | Path,
    *,
    labels: list[str],
    repeats: int = 2,
    n_naturals: int = 4,
    snr_db: float = 15.0,
    seed: int = 0,
) -> ChatRehearsal:
    """Design a vocabulary, write a file of its imitations and replay it through a session.

    Parameters
    ----------
    config : ChatConfig
        ``vocab`` (design), ``matcher``, ``sample_rate`` (Hz of the file), ``block_s``; the
        session writes under ``<folder>/session``.
    folder : str or Path
        Where ``vocab.json``, ``rehearsal.wav`` and the session folder go.
    labels : list of str
        One vocabulary entry per label.
    repeats, n_naturals, snr_db, seed
        See :func:`make_rehearsal_audio`.

    Returns
    -------
    ChatRehearsal
    """
    from dolphin.audio.io import write_audio
    from dolphin.chat.design import design_vocabulary
    from dolphin.chat.live import build_session, run_session

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = design_vocabulary(len(labels), labels, config=config.vocab)
    vocab_path = folder / "vocab.json"
    vocab.save(vocab_path)
    scene = make_rehearsal_audio(
        vocab,
        sample_rate=config.sample_rate,
        repeats=repeats,
        n_naturals=n_naturals,
        snr_db=snr_db,
        seed=seed,
    )
    audio_path = Path(write_audio(folder / "rehearsal.wav", scene.samples, scene.sample_rate))
    cfg = dataclasses.replace(config, session_dir=str(folder / "session"), feedback="none")
    tick = time.perf_counter()
    session = build_session(
        cfg, vocab=vocab, replay=audio_path, realtime=False, view=False, keys=False
    )
    result = run_session(session)
    wall_s = time.perf_counter() - tick
    sounds = [PlacedSound(t.start_s, t.end_s, t.label, t.note) for t in scene.truth]
    false_alarms = []
    for d in (d for d in result.detections if d.accepted):
        hit = _first_overlap(d, [s for s in sounds if s.label == d.label and s.found is None])
        if hit is not None:
            hit.found, hit.latency_s = d.label, float(d.detected_at_s - hit.end_s)
            continue
        false_alarms.append(d)  # a wrong label, a natural whistle taken for a mimic, or noise
        natural = _first_overlap(d, [s for s in sounds if s.label is None and s.found is None])
        if natural is not None:
            natural.found = d.label
    report = vocab.report
    return ChatRehearsal(
        labels=list(labels),
        audio_path=audio_path,
        vocab_path=vocab_path,
        session_dir=Path(result.folder),
        duration_s=result.duration_s,
        wall_s=wall_s,
        sounds=sounds,
        detections=list(result.detections),
        false_alarms=false_alarms,
        min_pairwise_semitones=report.min_pairwise_semitones if report else float("nan"),
    )


def _first_overlap(detection, sounds: list[PlacedSound]) -> PlacedSound | None:
    """The first placed sound overlapping a detection in time, or None."""
    for s in sounds:
        if detection.start_s <= s.end_s and detection.end_s >= s.start_s:
            return s
    return None
