"""The CHAT vocabulary: a few synthetic whistles, each standing for an object (scarf, rope, ...).

A :class:`Vocabulary` holds labelled whistle contours. :func:`design_vocabulary` draws many
random contours (:func:`dolphin.synth.contours.random_contour`) in a band and duration range and
keeps ``n`` of them that lie far from each other and from natural whistles, so that a dolphin's
imitation of one entry is not confused with another entry, and the animals' own (signature)
whistles are not taken for imitations. "Far" is measured with the very distance the mimic
matcher uses (:func:`mimic_distances`): DTW of pitch shapes in semitones that ignores a
frequency scaling up to ``freq_tolerance`` (20 %) and a time stretch up to ``stretch_tolerance``,
and that also compares a contour with the parts of an entry (:func:`partial_crops`), since a
partial imitation counts. The natural reference set is the shipped SIGWI contours
(:func:`dolphin.synth.sigwi.load_sigwi_contours`) plus, optionally, a signature catalogue.

:func:`vocabulary_from_recordings` takes the entries from recordings instead (one whistle per
file, found by the detect stage).

File format (UTF-8 JSON, written to a temporary file and renamed into place)::

    {"format": "dolphin-chat-vocabulary", "version": 1,
     "entries": [{"label": "scarf", "duration_s": 0.8, "time": [s], "frequency": [Hz]}, ...],
     "report": {"min_pairwise_semitones": ..., "min_natural_semitones": ..., ...} or null}
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from dolphin.annotations import Contour
from dolphin.detect.dtw import DTWConfig, cross_dtw
from dolphin.errors import DolphinError

FORMAT = "dolphin-chat-vocabulary"
VERSION = 1
#: Crops of an entry a partial imitation is compared with: (start, end) fractions of its length.
CROPS = ((0.0, 1.0), (0.0, 0.8), (0.2, 1.0), (0.1, 0.9), (0.0, 0.65), (0.35, 1.0), (0.15, 0.8))


class VocabularyError(DolphinError, ValueError):
    """A vocabulary file or request is invalid (names the file or the problem)."""


@dataclass
class VocabConfig:
    """How a vocabulary is designed and where it lives (``conf/chat/default.yaml``, ``vocab``)."""

    path: str = ""  # vocabulary JSON used by sessions and scans ("" = give it on the command line)
    n: int = 6  # entries; 4-8 keeps the set learnable and the entries far apart
    fmin_hz: float = 4000.0  # band of the designed whistles: loud on small speakers, below 20 kHz
    fmax_hz: float = 20000.0  # ... and within the hearing and whistle range of the dolphins
    min_duration_s: float = 0.5  # shorter whistles carry too little shape to tell apart
    max_duration_s: float = 1.5  # longer ones are hard to imitate in one breath
    min_range_semitones: float = 8.0  # flatter contours look like pulse-rate drifts and tonals
    max_slope_hz_per_s: float = 60000.0  # a copy 20 % higher, 35 % faster stays trackable (160k)
    # Contour shapes drawn (dolphin.synth.contours.SHAPES); plain up/down sweeps are left out:
    # natural click trains and buzzes glide like them, and so do many natural whistles.
    shapes: list[str] = field(default_factory=lambda: ["convex", "concave", "sine", "multi"])
    n_candidates: int = 300  # random contours drawn; the best n are kept
    seed: int = 0  # seed of the design
    peak: float = 0.5  # peak amplitude of rendered entries (full scale 1)

    def __post_init__(self) -> None:
        if not 2 <= self.n <= 12:
            raise VocabularyError(f"VocabConfig.n must be 2-12 entries, got {self.n}")
        if not 0 < self.fmin_hz < self.fmax_hz:
            raise VocabularyError(
                f"VocabConfig band must satisfy 0 < fmin_hz < fmax_hz, got "
                f"{self.fmin_hz}-{self.fmax_hz} Hz"
            )
        if not 0.1 <= self.min_duration_s <= self.max_duration_s:
            raise VocabularyError(
                f"VocabConfig durations must satisfy 0.1 <= min_duration_s <= max_duration_s, got "
                f"{self.min_duration_s}-{self.max_duration_s} s"
            )
        from dolphin.synth.contours import SHAPES

        if not self.shapes or any(s not in SHAPES for s in self.shapes):
            raise VocabularyError(f"VocabConfig.shapes must be some of {SHAPES}, got {self.shapes}")
        if self.n_candidates < self.n:
            raise VocabularyError(f"VocabConfig.n_candidates must be >= n ({self.n})")
        if not 0 < self.peak <= 1:
            raise VocabularyError(f"VocabConfig.peak must be in (0, 1], got {self.peak}")


@dataclass
class VocabEntry:
    """One vocabulary whistle.

    Attributes
    ----------
    label : str
        The object it names (``"scarf"``).
    contour : Contour
        Fundamental frequency (Hz) over time (s), times from 0.
    """

    label: str
    contour: Contour

    @property
    def duration_s(self) -> float:
        """Length of the whistle, seconds."""
        return self.contour.duration_s


@dataclass
class VocabReport:
    """How well separated a vocabulary is (distances in semitones, see :func:`mimic_distances`).

    Attributes
    ----------
    min_pairwise_semitones : float
        Smallest distance between two entries (inf for a single entry).
    min_natural_semitones : float
        Smallest distance between an entry and a natural whistle (inf without references).
    pairwise : list of list of float
        [n, n] entry-to-entry distances (0 on the diagonal).
    nearest_natural : list of str
        Per entry, the closest natural whistle (``"sigwi:<id>"`` or ``"catalogue:<animal>"``).
    natural_semitones : list of float
        Per entry, the distance to that whistle.
    n_natural : int
        Natural whistles compared with.
    """

    min_pairwise_semitones: float
    min_natural_semitones: float
    pairwise: list[list[float]] = field(default_factory=list)
    nearest_natural: list[str] = field(default_factory=list)
    natural_semitones: list[float] = field(default_factory=list)
    n_natural: int = 0


@dataclass
class Vocabulary:
    """Labelled whistles, saved as JSON (see the module docstring)."""

    entries: list[VocabEntry]
    report: VocabReport | None = None

    def __post_init__(self) -> None:
        labels = self.labels
        if not labels:
            raise VocabularyError("a vocabulary needs at least one entry")
        if any(not isinstance(x, str) or not x.strip() or x != x.strip() for x in labels):
            raise VocabularyError(f"labels must be non-empty words, got {labels}")
        if len(set(labels)) != len(labels):
            raise VocabularyError(f"labels must be unique, got {labels}")
        for e in self.entries:
            c = e.contour
            if len(c) < 2 or np.any(np.diff(c.times_s) <= 0) or np.any(c.freqs_hz <= 0):
                raise VocabularyError(
                    f"entry {e.label!r}: contour needs 2+ points, increasing times, positive Hz"
                )

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def labels(self) -> list[str]:
        """Entry labels in order."""
        return [e.label for e in self.entries]

    def __getitem__(self, label: str) -> VocabEntry:
        for e in self.entries:
            if e.label == label:
                return e
        raise VocabularyError(f"no entry {label!r} in the vocabulary (have {self.labels})")

    def render(self, sample_rate: int, *, peak: float = 0.5) -> dict[str, np.ndarray]:
        """Render every entry as a pure tone following its contour (what the speaker plays).

        Parameters
        ----------
        sample_rate : int
            Hz; the highest contour frequency must stay below 0.4 x this.
        peak : float
            Peak amplitude, full scale 1.

        Returns
        -------
        dict of str to np.ndarray
            Label -> float32 samples ``[T]`` (10 ms raised-cosine ramps).
        """
        from dolphin.synth.sounds import render_whistle

        out = {}
        for e in self.entries:
            top = float(e.contour.freqs_hz.max())
            if top >= 0.4 * sample_rate:
                raise VocabularyError(
                    f"entry {e.label!r} reaches {top:.0f} Hz, too high for {sample_rate} Hz "
                    f"(needs a rate above {2.5 * top:.0f} Hz)"
                )
            x = render_whistle(e.contour, sample_rate=sample_rate, harmonics=(1.0,))
            out[e.label] = (peak * x / max(float(np.abs(x).max()), 1e-12)).astype(np.float32)
        return out

    def to_dict(self) -> dict:
        """The vocabulary as JSON-ready data (the file format)."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "entries": [
                {
                    "label": e.label,
                    "duration_s": round(e.duration_s, 6),
                    "time": np.round(e.contour.times_s, 6).tolist(),
                    "frequency": np.round(e.contour.freqs_hz, 2).tolist(),
                }
                for e in self.entries
            ],
            "report": asdict(self.report) if self.report is not None else None,
        }

    @classmethod
    def from_dict(cls, data: dict, *, path: str | Path | None = None) -> Vocabulary:
        """Rebuild a vocabulary from :meth:`to_dict` data; errors name ``path``."""
        where = f"{path}: " if path is not None else ""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise VocabularyError(f"{where}not a vocabulary (expected format {FORMAT!r})")
        if data.get("version") != VERSION:
            raise VocabularyError(f"{where}unsupported vocabulary version {data.get('version')!r}")
        try:
            entries = [
                VocabEntry(str(e["label"]), Contour(e["time"], e["frequency"]))
                for e in data["entries"]
            ]
            report = VocabReport(**data["report"]) if data.get("report") else None
            return cls(entries, report)
        except VocabularyError as err:
            raise VocabularyError(f"{where}{err}") from err
        except (KeyError, TypeError, ValueError) as err:
            raise VocabularyError(f"{where}malformed vocabulary ({err!r})") from err

    def save(self, path: str | Path) -> Path:
        """Write the vocabulary as JSON, atomically (temporary file, then rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        """Read a vocabulary written by :meth:`save` (missing or corrupt files raise clearly)."""
        path = Path(path)
        if not path.is_file():
            raise VocabularyError(f"{path}: vocabulary file not found")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise VocabularyError(f"{path}: corrupt vocabulary, not valid JSON ({err})") from err
        return cls.from_dict(data, path=path)


# --- the mimic distance -------------------------------------------------------------------------


def tolerant_dtw(
    *, freq_tolerance: float = 0.2, stretch_tolerance: float = 0.3, band: float = 0.15
) -> DTWConfig:
    """DTW settings that ignore a frequency scaling and a time stretch up to the given bounds.

    Parameters
    ----------
    freq_tolerance : float
        Relative frequency scaling that costs nothing (0.2: a contour 20 % lower or 25 % higher
        matches as well as the original), beyond it 1 semitone of distance per semitone.
    stretch_tolerance : float
        Relative duration change that costs nothing.
    band : float
        Sakoe-Chiba half-width, fraction of the contour (uneven time warping).

    Returns
    -------
    DTWConfig
    """
    if not 0 <= freq_tolerance < 1:
        raise VocabularyError(f"freq_tolerance must be in [0, 1), got {freq_tolerance}")
    return DTWConfig(
        band=band,
        free_shift_semitones=float(-12.0 * np.log2(1.0 - freq_tolerance)),
        free_stretch=stretch_tolerance,
    )


def partial_crops(contour: Contour, crops=CROPS) -> list[Contour]:
    """Parts of a contour, one per (start, end) fraction of its duration in ``crops``."""
    t, f = contour.times_s, contour.freqs_hz
    out = []
    for a, b in crops:
        t0, t1 = t[0] + a * (t[-1] - t[0]), t[0] + b * (t[-1] - t[0])
        inside = (t > t0) & (t < t1)
        tt = np.concatenate([[t0], t[inside], [t1]])
        out.append(Contour(tt, np.interp(tt, t, f)))
    return out


def mimic_distances(
    queries: Sequence[Contour],
    references: Sequence[Contour],
    *,
    dtw: DTWConfig,
    partial_penalty: float = 1.0,
    crops=CROPS,
) -> np.ndarray:
    """Distance of each query to each reference, allowing partial imitations.

    The distance to a reference is the smallest, over its crops (:data:`CROPS`), of the DTW
    distance to the crop plus ``partial_penalty`` x the share of the reference left out.

    Returns
    -------
    np.ndarray, shape [Q, R], float64
        Semitones.
    """
    n_crops = len(crops)
    parts = [c for r in references for c in partial_crops(r, crops)]
    missing = np.tile([1.0 - (b - a) for a, b in crops], len(references))
    d = cross_dtw(list(queries), parts, config=dtw) + partial_penalty * missing[None, :]
    return d.reshape(len(queries), len(references), n_crops).min(axis=2)


def _symmetric(queries: Sequence[Contour], refs: Sequence[Contour], dtw: DTWConfig) -> np.ndarray:
    """min(d(q, r), d(r, q)): either whistle may be the (partial) imitation of the other."""
    return np.minimum(
        mimic_distances(queries, refs, dtw=dtw), mimic_distances(refs, queries, dtw=dtw).T
    )


def _catalogue_contours(catalogue) -> tuple[list[Contour], list[str]]:
    """A signature catalogue's exemplar whistles with their animals' names."""
    if catalogue is None:
        return [], []
    pairs = [(c, f"catalogue:{a}") for a in catalogue.animals() for c in catalogue[a].whistles]
    return [c for c, _ in pairs], [name for _, name in pairs]


def natural_references(catalogue=None) -> tuple[list[Contour], list[str]]:
    """The shipped SIGWI contours (plus a catalogue's whistles) with their names."""
    from dolphin.synth.sigwi import load_sigwi_contours

    real = load_sigwi_contours()
    extra, extra_names = _catalogue_contours(catalogue)
    return [r.contour for r in real] + extra, [f"sigwi:{r.id}" for r in real] + extra_names


def vocabulary_report(
    vocab: Vocabulary,
    *,
    natural: Sequence[Contour] | None = None,
    natural_names: Sequence[str] | None = None,
    dtw: DTWConfig | None = None,
) -> VocabReport:
    """Pairwise and natural-whistle distances of a vocabulary.

    Parameters
    ----------
    vocab : Vocabulary
    natural : sequence of Contour, optional
        Natural whistles; the shipped SIGWI contours when omitted.
    natural_names : sequence of str, optional
        Their names, for the report.
    dtw : DTWConfig, optional
        Distance settings; :func:`tolerant_dtw` defaults when omitted.

    Returns
    -------
    VocabReport
    """
    dtw = dtw or tolerant_dtw()
    if natural is None:
        natural, natural_names = natural_references()
    natural = list(natural)
    names = list(natural_names or [f"natural:{k}" for k in range(len(natural))])
    contours = [e.contour for e in vocab.entries]
    pair = _symmetric(contours, contours, dtw)
    np.fill_diagonal(pair, 0.0)
    off = pair[~np.eye(len(contours), dtype=bool)]
    nat = _symmetric(contours, natural, dtw) if natural else np.full((len(contours), 0), np.inf)
    best = np.argmin(nat, axis=1) if natural else np.zeros(len(contours), int)
    nat_d = nat[np.arange(len(contours)), best] if natural else np.full(len(contours), np.inf)
    return VocabReport(
        min_pairwise_semitones=float(off.min()) if off.size else float("inf"),
        min_natural_semitones=float(nat_d.min()),
        pairwise=np.round(pair, 4).tolist(),
        nearest_natural=[names[int(k)] if natural else "" for k in best],
        natural_semitones=np.round(nat_d, 4).tolist(),
        n_natural=len(natural),
    )


def design_vocabulary(
    n: int = 6,
    labels: Sequence[str] | None = None,
    *,
    catalogue=None,
    natural: Sequence[Contour] | None = None,
    config: VocabConfig | None = None,
    band_hz: tuple[float, float] | None = None,
    duration_s: tuple[float, float] | None = None,
    dtw: DTWConfig | None = None,
    seed: int | None = None,
) -> Vocabulary:
    """Pick ``n`` whistles far apart from each other and from natural whistles.

    Candidates are :func:`~dolphin.synth.contours.random_contour` draws (``config.shapes``) in
    ``config``'s band and duration range with a pitch range of at least ``min_range_semitones``
    and sweeps no faster than ``max_slope_hz_per_s``. The first pick is the candidate farthest
    from every natural whistle; each next pick maximises min(distance to the picks so far,
    distance to natural whistles).

    Parameters
    ----------
    n : int
        Entries (2-12; 4-8 recommended).
    labels : sequence of str, optional
        One per entry; ``w1``, ``w2``, ... when omitted.
    catalogue : SignatureCatalogue, optional
        Known animals' signature whistles, avoided as well.
    natural : sequence of Contour, optional
        Natural whistles to avoid instead of the shipped SIGWI contours.
    config : VocabConfig, optional
        Band, durations, candidates and seed (its ``n`` is replaced by ``n``).
    band_hz : tuple of float, optional
        (low, high) frequency limits in Hz, overriding ``config`` (default 4-20 kHz).
    duration_s : tuple of float, optional
        (shortest, longest) duration in seconds, overriding ``config`` (default 0.5-1.5 s).
    dtw : DTWConfig, optional
        Distance settings; the matcher's default (:func:`tolerant_dtw`) when omitted.
    seed : int, optional
        Overrides ``config.seed``.

    Returns
    -------
    Vocabulary
        With its :class:`VocabReport` (minimum pairwise and natural distances, semitones).

    Raises
    ------
    VocabularyError
        Bad ``n``, labels that do not fit ``n``, or a band too narrow for the pitch range.
    """
    from dolphin.synth.contours import random_contour

    base = config or VocabConfig()
    fields = {**asdict(base), "n": n, "seed": base.seed if seed is None else seed}
    if band_hz is not None:
        fields["fmin_hz"], fields["fmax_hz"] = (float(f) for f in band_hz)
    if duration_s is not None:
        fields["min_duration_s"], fields["max_duration_s"] = (float(d) for d in duration_s)
    cfg = VocabConfig(**fields)
    labels = list(labels) if labels is not None else [f"w{k + 1}" for k in range(cfg.n)]
    if len(labels) != cfg.n:
        raise VocabularyError(f"got {len(labels)} labels for {cfg.n} entries: {labels}")
    span = 12.0 * np.log2(cfg.fmax_hz / cfg.fmin_hz)
    if span < cfg.min_range_semitones:
        raise VocabularyError(
            f"band {cfg.fmin_hz:.0f}-{cfg.fmax_hz:.0f} Hz spans {span:.1f} semitones, less than "
            f"min_range_semitones={cfg.min_range_semitones}"
        )
    dtw = dtw or tolerant_dtw()
    rng = np.random.default_rng(cfg.seed)
    candidates: list[Contour] = []
    for k in range(50 * cfg.n_candidates):
        if len(candidates) == cfg.n_candidates:
            break
        c = random_contour(
            rng=rng,
            shape=cfg.shapes[k % len(cfg.shapes)],
            duration_s=float(rng.uniform(cfg.min_duration_s, cfg.max_duration_s)),
            fmin_hz=cfg.fmin_hz,
            fmax_hz=cfg.fmax_hz,
        )
        slope = np.abs(np.diff(c.freqs_hz) / np.diff(c.times_s)).max()
        wide = 12.0 * np.log2(c.freqs_hz.max() / c.freqs_hz.min()) >= cfg.min_range_semitones
        if wide and slope <= cfg.max_slope_hz_per_s:
            candidates.append(c)
    if len(candidates) < cfg.n:
        raise VocabularyError("could not draw enough candidate whistles; widen the band")
    if natural is None:
        natural, names = natural_references(catalogue)
    else:
        extra, extra_names = _catalogue_contours(catalogue)
        names = [f"natural:{k}" for k in range(len(natural))] + extra_names
        natural = list(natural) + extra
    nat = _symmetric(candidates, list(natural), dtw).min(axis=1) if len(natural) else None
    nat = nat if nat is not None else np.full(len(candidates), np.inf)
    pair = _symmetric(candidates, candidates, dtw)
    np.fill_diagonal(pair, np.inf)
    chosen = [int(np.argmax(np.where(np.isfinite(nat), nat, 1e9)))]
    while len(chosen) < cfg.n:
        score = np.minimum(pair[:, chosen].min(axis=1), nat)
        score[chosen] = -np.inf
        chosen.append(int(np.argmax(score)))
    entries = [VocabEntry(label, candidates[i]) for label, i in zip(labels, chosen, strict=True)]
    vocab = Vocabulary(entries)
    vocab.report = vocabulary_report(vocab, natural=natural, natural_names=names, dtw=dtw)
    return vocab


def vocabulary_from_recordings(
    paths: Sequence[str | Path], labels: Sequence[str], *, detect_config=None
) -> Vocabulary:
    """Build a vocabulary from recordings holding one whistle each.

    Each file goes through the detect stage (:func:`dolphin.detect.pipeline.detect_file`); the
    contour of its single whistle event (all loops) becomes the entry, times moved to start at 0.

    Parameters
    ----------
    paths : sequence of str or Path
        Audio files, one per entry.
    labels : sequence of str
        One label per file.
    detect_config : DetectorConfig, optional
        Detection settings; defaults when omitted.

    Returns
    -------
    Vocabulary
        With a report of the distances to the shipped SIGWI contours.

    Raises
    ------
    VocabularyError
        Labels and files differ in number, or a file holds no whistle or several.
    AudioFileError
        A file is missing or unreadable.
    """
    from dolphin.detect.pipeline import detect_file

    paths, labels = [Path(p) for p in paths], list(labels)
    if len(paths) != len(labels):
        raise VocabularyError(f"got {len(labels)} labels for {len(paths)} recordings")
    entries = []
    for path, label in zip(paths, labels, strict=True):
        found = detect_file(path, detect_config).contours
        if not found:
            raise VocabularyError(f"{path}: no whistle found; record one clear whistle per file")
        if len(found) > 1:
            spans = ", ".join(
                f"{c.contour.times_s[0]:.2f}-{c.contour.times_s[-1]:.2f} s" for c in found
            )
            raise VocabularyError(
                f"{path}: {len(found)} whistles found ({spans}); trim it to one whistle"
            )
        c = found[0].contour
        entries.append(VocabEntry(label, Contour(c.times_s - c.times_s[0], c.freqs_hz)))
    vocab = Vocabulary(entries)
    vocab.report = vocabulary_report(vocab)
    return vocab
