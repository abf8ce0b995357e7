"""The event classifier: a compact CNN over PCEN spectrograms, second stage of detection.

Classes
-------
The network scores four event classes frame by frame, :data:`CLASSES` = whistle, burst_pulse,
click_train, buzz, each with its own sigmoid (a whistle may sound over a pulsed event); a frame
where no class is active is *noise*. Buzzes keep their own class rather than being folded into
click_train: the SP detector, the synthetic labels and the Raven tables all know them, and the
terminal buzz is what an analyst looks for in echolocation. Burst pulses, click trains and buzzes
never overlap each other in the training scenes, so among them the largest probability decides.

Network (``[B, 1, F, T] -> [B, 4, T // 2]``)
-------------------------------------------
Input: the ``F = 80``-row image of :mod:`dolphin.detect.features` (tonal, pulse and interval
rows) at 500 columns per second. A 2-D front end over the 64 spectrogram rows
(``conv_channels``: 3x3 conv, batch norm, ReLU, max-pool ``freq_pools`` in frequency and 2 in
time after the first layer) folds frequency into channels; the 16 interval rows join them as
channels unpooled (the lag at which they peak is the information); then a stack of
residual dilated 1-D convolutions (``dilations``: each adds +-d frames, +-0.5 s in all at the
default, so a frame between two clicks 200 ms apart sees several clicks either side) and a 1x1
head give logits every 4 ms.

Second stage
------------
:mod:`dolphin.detect.refine` keeps, relabels or rejects the SP detectors' candidate events from
these probabilities and adds the pulsed events the SP stage missed (rules in
:class:`DecisionConfig`); :meth:`EventClassifier.classify_patch` and
:meth:`EventClassifier.classify_events` give the verdict on single patches or events.

Weights are ``config.json`` + ``model.safetensors`` (no pickle); :func:`load_classifier`
(:mod:`dolphin.hub`) loads the shipped ``default`` or a saved folder.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from functools import lru_cache, reduce
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from dolphin.annotations import BURST_PULSE, BUZZ, CLICK_TRAIN, NOISE, WHISTLE, Event
from dolphin.detect.features import FeatureConfig, compute_features
from dolphin.errors import ConfigError, DolphinError, unknown_keys

#: Classes scored frame by frame, in output order.
CLASSES = (WHISTLE, BURST_PULSE, CLICK_TRAIN, BUZZ)
PULSED = (BURST_PULSE, CLICK_TRAIN, BUZZ)
FORMAT = "dolphin-classifier-1"
CONFIG_NAME, WEIGHTS_NAME = "config.json", "model.safetensors"
#: Inference precisions on a CPU. ``float32`` (the default) gives the same results on every
#: machine up to float rounding. ``bfloat16`` runs the convolutions in bfloat16 (oneDNN): the
#: network ~1.4x and the whole detection chain ~1.1x faster on CPUs with AMX or AVX512-BF16
#: (slower elsewhere), probabilities within ~0.01 of float32, which moves the odd borderline
#: event (one of ~370 per SNR level in benchmarks/detect.py's 16 scenes); ``auto`` is
#: bfloat16 on such CPUs and float32 otherwise. Training and inference with gradients always
#: run in float32.
PRECISIONS = ("float32", "bfloat16", "auto")
#: Output columns per time tile of the inference front end (~4 MB of first-layer output).
FRONTEND_TILE = 512


@dataclass
class DecisionConfig:
    """How frame probabilities turn SP candidates into events (:mod:`dolphin.detect.refine`).

    Defaults: the best mean 4-class macro F1 on validation scenes (seeds 200-215, 0/5/10/20
    dB) in a grid search, never on the benchmark's seeds; ``extend_s`` and ``sp_rate_label``
    were set for the shipped model of 2026-12-01.
    """

    keep_whistle: float = 0.35  # an SP whistle needs this mean whistle probability
    keep_pulsed: float = 0.2  # an SP pulsed event needs this mean probability of a pulsed class
    on_threshold: float = 0.8  # CNN-only pulsed events start where the probability exceeds this
    off_threshold: float = 0.4  # ... and extend while it stays above this (hysteresis)
    min_duration_s: float = 0.05  # shorter CNN runs are dropped (burst pulses last >= 0.1 s)
    merge_gap_s: float = 0.03  # CNN runs closer than this are one event
    add_missed: bool = True  # add pulsed events the SP stage missed
    sp_rate_label: bool = False  # burst pulse vs buzz: keep the SP label (measured intervals)
    extend_s: float = 0.1  # a lone SP event grows to its CNN run's edge past this, s (inf: never)


def _checked(where: str, kind: type, given: dict[str, Any]) -> dict[str, Any]:
    """``given`` unchanged; a :class:`ConfigError` naming ``where`` if a key is not a field."""
    unknown = unknown_keys(kind, given)
    if unknown:
        raise ConfigError(f"{where}: unknown keys {unknown}")
    return given


@dataclass
class ClassifierConfig:
    """Architecture, front end and decisions of the event classifier (``conf/classifier``)."""

    features: FeatureConfig = field(default_factory=FeatureConfig)  # PCEN image front end
    conv_channels: list[int] = field(default_factory=lambda: [16, 32])  # 2-D front-end widths
    freq_pools: list[int] = field(default_factory=lambda: [4, 4])  # frequency pooling per layer
    hidden: int = 48  # width of the temporal stack
    dilations: list[int] = field(default_factory=lambda: [1, 2, 4, 8, 16, 32, 64])  # 4 ms frames
    min_sample_rate: int = 88200  # below this the pulse rows lack clicks: the stage is skipped
    chunk_s: float = 60.0  # inference chunk, seconds (memory ~200 MB at 96 kHz; 20 s: ~100)
    context_s: float = 1.0  # audio added on both sides of a chunk (receptive field + PCEN)
    precision: str = "float32"  # CPU inference: float32, bfloat16 or auto (:data:`PRECISIONS`)
    decision: DecisionConfig = field(default_factory=DecisionConfig)  # second-stage rules

    def __post_init__(self) -> None:
        if len(self.conv_channels) != len(self.freq_pools) or not self.conv_channels:
            raise ConfigError("classifier.conv_channels and freq_pools need the same length >= 1")
        rows = self.features.n_bins - self.features.n_ici_bins
        for pool in self.freq_pools:
            rows //= pool
        if rows < 1:
            raise ConfigError("classifier.freq_pools pool the spectrogram rows to nothing")
        if self.hidden < 1 or any(d < 1 for d in self.dilations):
            raise ConfigError("classifier.hidden and dilations must be >= 1")
        if not (self.chunk_s > 0 and self.context_s >= 0):
            raise ConfigError("classifier.chunk_s must be > 0 and context_s >= 0")
        if self.precision not in PRECISIONS:
            raise ConfigError(
                f"classifier.precision must be one of {PRECISIONS}, got {self.precision!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClassifierConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise :class:`ConfigError` naming them."""
        data = dict(data)
        features = _checked("classifier.features", FeatureConfig, data.pop("features", {}))
        decision = _checked("classifier.decision", DecisionConfig, data.pop("decision", {}))
        return cls(
            features=FeatureConfig(**features),
            decision=DecisionConfig(**decision),
            **_checked("classifier", cls, data),
        )


@dataclass
class FrameProbs:
    """Class probabilities over a recording.

    Attributes
    ----------
    probs : np.ndarray, shape [K, N], float32
        Probability of each class of :data:`CLASSES` per frame.
    hop_s : float
        Frame spacing in seconds (4 ms by default).
    start_s : float
        Centre time of frame 0, seconds.
    """

    probs: np.ndarray
    hop_s: float
    start_s: float = 0.0

    def span(self, start_s: float, end_s: float) -> slice:
        """Frames whose centres lie in ``[start_s, end_s]`` (at least one)."""
        n = self.probs.shape[1]
        lo = int(np.clip(math.ceil((start_s - self.start_s) / self.hop_s), 0, max(n - 1, 0)))
        hi = int(np.clip(math.floor((end_s - self.start_s) / self.hop_s), lo, max(n - 1, 0)))
        return slice(lo, hi + 1)

    def mean(self, start_s: float, end_s: float) -> np.ndarray:
        """Mean probability of each class over a time span, shape ``[K]``."""
        return self.probs[:, self.span(start_s, end_s)].mean(axis=1)


@dataclass
class EventLabel:
    """The classifier's verdict on one patch or event.

    Attributes
    ----------
    label : str
        One of :data:`CLASSES` or ``"noise"``.
    score : float
        Probability of ``label`` (for noise: 1 - the largest class probability).
    scores : dict of str to float
        Mean probability of every class.
    """

    label: str
    score: float
    scores: dict[str, float]


@lru_cache(maxsize=1)
def _native_bfloat16() -> bool:
    """True on CPUs with bfloat16 arithmetic (AMX or AVX512-BF16), where oneDNN runs it fast."""
    cpu = torch.cpu
    return bool(cpu._is_amx_tile_supported() or cpu._is_avx512_bf16_supported())


def _pool_relu(z: torch.Tensor, kf: int, kt: int) -> torch.Tensor:
    """Max-pool ``[B, C, F, T]`` by ``(kf, kt)`` (remainders dropped), then ReLU in place."""
    (nf, nt) = z.shape[2:]
    z = z[:, :, : nf - nf % kf, : nt - nt % kt]
    z = reduce(torch.maximum, [z[:, :, i::kf] for i in range(kf)])  # strided slices beat
    z = reduce(torch.maximum, [z[..., i::kt] for i in range(kt)])  # max_pool2d on a CPU
    return torch.relu_(z)


class _Residual(nn.Module):
    """``x + conv1x1(relu(bn(dilated conv3(x))))`` over ``[B, C, T]``."""

    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.norm = nn.BatchNorm1d(channels)
        self.mix = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mix(torch.relu(self.norm(self.conv(x))))


class EventClassifier(nn.Module):
    """Frame-wise whistle / burst-pulse / click-train / buzz classifier (module docstring).

    Parameters
    ----------
    config : ClassifierConfig, optional
        Architecture and settings; defaults when omitted.
    """

    def __init__(self, config: ClassifierConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or ClassifierConfig()
        layers: list[nn.Module] = [nn.BatchNorm2d(1)]  # learns the scale of PCEN values
        self.n_spectral = config.features.n_bins - config.features.n_ici_bins
        c_in, rows = 1, self.n_spectral
        for i, (c_out, pool) in enumerate(
            zip(config.conv_channels, config.freq_pools, strict=True)
        ):
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]
            layers.append(nn.MaxPool2d((pool, 2 if i == 0 else 1)))
            c_in, rows = c_out, rows // pool
        self.frontend = nn.Sequential(*layers)
        self.interval_norm = nn.BatchNorm1d(config.features.n_ici_bins)
        self.project = nn.Conv1d(c_in * rows + config.features.n_ici_bins, config.hidden, 1)
        self.blocks = nn.Sequential(*(_Residual(config.hidden, d) for d in config.dilations))
        self.head = nn.Conv1d(config.hidden, len(CLASSES), 1)

    @property
    def frame_hop_s(self) -> float:
        """Output frame spacing in seconds (two feature columns)."""
        return 2 * self.config.features.hop_s

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Logits ``[B, K, T // 2]`` of feature images ``[B, 1, F, T]``."""
        spectral, intervals = features[:, :, : self.n_spectral], features[:, 0, self.n_spectral :]
        # Interval rows skip the 2-D front end: which lag peaks is the information, and
        # frequency pooling would erase it. Time is pooled like the spectrogram's (by 2).
        n = spectral.shape[-1] // 2
        lags = torch.maximum(intervals[..., 0 : 2 * n : 2], intervals[..., 1 : 2 * n : 2])
        if self.training or torch.is_grad_enabled():
            z = self.frontend(spectral)
            z = torch.cat([z.flatten(1, 2), self.interval_norm(lags)], dim=1)
            return self.head(self.blocks(self.project(z)))
        half = self._bfloat16(features.device)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=half):
            z = self._fast_frontend(spectral)
        z = self._fast_project(z, self.interval_norm(lags))
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=half):
            z = self._fast_blocks(z)
        return self.head(z[:, :, 0].float())

    def _bfloat16(self, device: torch.device) -> bool:
        """Whether inference on ``device`` runs in bfloat16 (``config.precision``)."""
        if device.type != "cpu" or self.config.precision == "float32":
            return False
        return self.config.precision == "bfloat16" or _native_bfloat16()

    def _fast_frontend(self, z: torch.Tensor) -> torch.Tensor:
        """The 2-D front end in inference, equal up to float rounding, ~3x faster on a CPU.

        Batch norm is folded into the convolutions and pooling comes before the ReLU (they
        commute). The image is run in time tiles of :data:`FRONTEND_TILE` output columns (each
        with the few columns of halo its convolutions need): the first layer's output, 16x the
        input, then stays in the CPU cache between convolution and pooling instead of going
        through memory (a 20 s chunk's is ~40 MB). Tiles go in channels-last, and the first
        convolution (one input channel) takes its three frequency taps as three input channels
        of a 1x3 one: oneDNN runs both much faster on a CPU (same values up to float rounding).
        """
        layers = list(self.frontend)
        z = layers[0](z)
        stages = []
        for conv, norm, _, pool in zip(*[iter(layers[1:])] * 4, strict=True):
            scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
            bias = (conv.bias - norm.running_mean) * scale + norm.bias
            stages.append((conv.weight * scale[:, None, None, None], bias, *pool.kernel_size))
        lengths = [z.shape[-1]]  # input columns of each stage, then the output's
        for *_, kt in stages:
            lengths.append(lengths[-1] // kt)
        if lengths[-1] == 0:
            return self._untiled(z, stages)

        def needed(start: int, stop: int) -> list[tuple[int, int]]:
            """Input columns ``[a, b)`` of every stage for output columns ``[start, stop)``."""
            spans = []
            for *_, kt in reversed(stages):
                start, stop = start * kt - 1, stop * kt + 1  # +-1: the 3-wide convolution
                spans.append((start, stop))
            return spans[::-1]

        left = -needed(0, 1)[0][0]
        right = max(needed(lengths[-1] - 1, lengths[-1])[0][1] - lengths[0], 0)
        z = nn.functional.pad(z, (left, right))  # the convolutions' zero padding in time
        paddings = [(1, 0)] * len(stages)
        rows, taps = z.shape[2], z.shape[1] == 1
        if taps:  # the first layer's 3 frequency taps as 3 input channels: 2x faster
            z = nn.functional.pad(z, (0, 0, 1, 1))  # its zero padding in frequency
            weight, *rest = stages[0]
            stages[0], paddings[0] = (weight.permute(0, 2, 1, 3), *rest), (0, 0)
        tiles = []
        for start in range(0, lengths[-1], FRONTEND_TILE):
            spans = needed(start, min(start + FRONTEND_TILE, lengths[-1]))
            y = z[..., spans[0][0] + left : spans[0][1] + left]
            if taps:  # the shifted copies, stacked last: already channels-last [B, 3, F, W]
                y = torch.stack([y[:, 0, k : k + rows] for k in range(3)], dim=-1)
                y = y.permute(0, 3, 1, 2)
            for i, (weight, bias, kf, kt) in enumerate(stages):
                y = y.contiguous(memory_format=torch.channels_last)
                y = nn.functional.conv2d(y, weight, bias, padding=paddings[i])
                y = _pool_relu(y, kf, kt)
                if i + 1 < len(stages):  # columns outside the image are the next zero padding
                    a = spans[i + 1][0]
                    y[..., : max(-a, 0)] = 0.0
                    y[..., max(lengths[i + 1] - a, 0) :] = 0.0
            tiles.append(y)
        return torch.cat(tiles, dim=-1)

    def _fast_blocks(self, z: torch.Tensor) -> torch.Tensor:
        """The residual stack in inference, equal up to float rounding, ~1.3x faster on a CPU.

        Batch norm is folded into the dilated convolutions, which run as channels-last 2-D
        convolutions of height 1 (oneDNN's fast path) on ``[B, C, 1, T]`` (channels-last, as
        :meth:`_fast_project` gives it), and returns that shape.
        """
        for block in self.blocks:
            conv, norm, mix = block.conv, block.norm, block.mix
            scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
            weight = (conv.weight * scale[:, None, None])[:, :, None, :]
            bias = (conv.bias - norm.running_mean) * scale + norm.bias
            d = conv.dilation[0]
            h = nn.functional.conv2d(z, weight, bias, padding=(0, d), dilation=(1, d))
            z = z + nn.functional.conv2d(torch.relu_(h), mix.weight[:, :, None, :], mix.bias)
        return z

    def _fast_project(self, z: torch.Tensor, lags: torch.Tensor) -> torch.Tensor:
        """``project`` of the front end's ``[B, C, F, T]`` and the lag rows ``[B, L, T]`` in
        inference: ``[B, H, 1, T]`` float32, channels-last for :meth:`_fast_blocks`.

        The same sums as flattening ``(C, F)`` into channels, concatenating the lag rows and
        running the 1x1 convolution, but as one matrix product per frequency row of time-major
        views, without the copies of the flatten, the concatenation and the channels-last
        conversion.
        """
        b, c, f, t = z.shape
        weight = self.project.weight[:, :, 0]  # [H, C * F + L], input channel c * F + f
        spectral = weight[:, : c * f].unflatten(1, (c, f))
        out = torch.matmul(lags.transpose(1, 2), weight[:, c * f :].t())  # [B, T, H]
        out += self.project.bias
        for row in range(f):
            out += torch.matmul(z[:, :, row].transpose(1, 2).float(), spectral[:, :, row].t())
        return out[:, None].permute(0, 3, 1, 2)  # [B, H, 1, T] viewing [B, T, H] memory

    @staticmethod
    def _untiled(z: torch.Tensor, stages: list) -> torch.Tensor:
        for weight, bias, kf, kt in stages:
            z = _pool_relu(nn.functional.conv2d(z, weight, bias, padding=1), kf, kt)
        return z

    # --- inference ------------------------------------------------------------------------------

    @torch.inference_mode()
    def _chunk_probs(self, x: np.ndarray, sample_rate: int) -> np.ndarray:
        feats = compute_features(x, sample_rate=sample_rate, config=self.config.features)
        device = next(self.parameters()).device
        logits = self(torch.from_numpy(feats)[None, None].to(device))
        return torch.sigmoid(logits[0]).cpu().numpy()

    def stream_probabilities(self, blocks: Iterable[np.ndarray], *, sample_rate: int) -> FrameProbs:
        """Frame probabilities of a signal given as consecutive blocks (memory ~ one chunk).

        Parameters
        ----------
        blocks : iterable of np.ndarray, shape [T_i]
            Consecutive pieces of one channel, any sizes.
        sample_rate : int
            Hz.

        Returns
        -------
        FrameProbs
            ``N = (T // hop + 1) // 2`` frames for ``T`` samples in all; frame ``n`` centred at
            ``(2 n + 0.5) * hop / sample_rate`` with ``hop = features.hop_length(sample_rate)``.
            Identical for any split into blocks. Chunks (``chunk_s``) carry ``context_s`` of
            audio either side; PCEN and filter start-up there moves probabilities within about
            a second of a chunk edge against one whole-signal chunk: by up to ~0.12 next to
            loud events in the benchmark's 30 s scenes (20 s chunks), hence 60 s chunks.
        """
        hop = self.config.features.hop_length(sample_rate)
        step = 2 * hop  # chunk edges on output frames keep every chunk on the same grid
        chunk = step * max(1, math.ceil(self.config.chunk_s * sample_rate / step))
        context = step * math.ceil(self.config.context_s * sample_rate / step)
        was_training = self.training
        self.eval()
        parts, total = [], 0
        for first, piece, keep in _chunks(blocks, chunk, context):
            probs = self._chunk_probs(piece, sample_rate)
            lo = (keep[0] - first) // step
            hi = lo + (keep[1] - keep[0]) // step if keep[1] is not None else probs.shape[1]
            parts.append(probs[:, lo:hi])
            total = keep[1] if keep[1] is not None else first + piece.size
        self.train(was_training)
        n = (total // hop + 1) // 2
        probs = np.concatenate(parts, axis=1)[:, :n] if parts else np.zeros((len(CLASSES), 0))
        return FrameProbs(probs.astype(np.float32), step / sample_rate, 0.5 * hop / sample_rate)

    def frame_probabilities(self, x: np.ndarray, *, sample_rate: int) -> FrameProbs:
        """Frame probabilities of a whole signal ``[T]`` (processed in chunks)."""
        return self.stream_probabilities([np.asarray(x)], sample_rate=sample_rate)

    def classify_patch(self, x: np.ndarray, *, sample_rate: int) -> EventLabel:
        """Label a short patch ``[T]`` holding one event (or none) as a whole.

        The class with the largest mean probability over the patch's middle half wins when it
        reaches the decision threshold of its family (``keep_whistle`` / ``keep_pulsed``);
        otherwise the patch is noise.
        """
        fp = self.frame_probabilities(x, sample_rate=sample_rate)
        duration = np.asarray(x).size / sample_rate
        return _verdict(fp.mean(0.25 * duration, 0.75 * duration), self.config.decision)

    def classify_events(
        self, x: np.ndarray, events: list[Event], *, sample_rate: int
    ) -> list[EventLabel]:
        """Label each event of a signal ``[T]`` from the probabilities over its span."""
        fp = self.frame_probabilities(x, sample_rate=sample_rate)
        return [_verdict(fp.mean(e.start_s, e.end_s), self.config.decision) for e in events]

    # --- persistence ----------------------------------------------------------------------------

    def save(self, directory: str | Path) -> Path:
        """Write ``config.json`` and ``model.safetensors`` (no pickle); returns the folder."""
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        doc = {"format": FORMAT, "classes": list(CLASSES), "config": self.config.to_dict()}
        (directory / CONFIG_NAME).write_text(json.dumps(doc, indent=2) + "\n")
        tensors = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        save_file(tensors, str(directory / WEIGHTS_NAME), metadata={"format": FORMAT})
        return directory

    @classmethod
    def load(cls, directory: str | Path, *, map_location: str = "cpu") -> EventClassifier:
        """Load a classifier written by :meth:`save`, in eval mode.

        Raises
        ------
        DolphinError
            The folder lacks the files, holds another format or other classes.
        """
        from safetensors.torch import load_file

        directory = Path(directory)
        config_path, weights_path = directory / CONFIG_NAME, directory / WEIGHTS_NAME
        if not config_path.is_file() or not weights_path.is_file():
            raise DolphinError(
                f"{directory}: not a saved classifier (needs {CONFIG_NAME}, {WEIGHTS_NAME})"
            )
        doc = json.loads(config_path.read_text())
        if doc.get("format") != FORMAT or tuple(doc.get("classes", ())) != CLASSES:
            raise DolphinError(f"{config_path}: not a {FORMAT} file with classes {CLASSES}")
        model = cls(ClassifierConfig.from_dict(doc["config"]))
        model.load_state_dict(load_file(str(weights_path), device=map_location))
        return model.to(map_location).eval()

    @classmethod
    def from_pretrained(
        cls, name_or_path: str | Path = "default", *, map_location: str = "cpu"
    ) -> EventClassifier:
        """Shipped classifier by name (``"default"``) or a saved one from its folder."""
        from dolphin.hub import load_classifier

        return load_classifier(name_or_path, map_location=map_location)


def _chunks(
    blocks: Iterable[np.ndarray], chunk: int, context: int
) -> Iterator[tuple[int, np.ndarray, tuple[int, int | None]]]:
    """Regroup blocks into chunks: ``(first sample, samples, (keep from, keep to or None))``.

    Chunk ``k`` keeps samples ``[k * chunk, (k + 1) * chunk)`` and carries ``context`` samples
    of audio on both sides where the signal has them; the last keeps to the end (``None``).
    """
    buf, buf_start, keep = np.zeros(0, np.float32), 0, 0
    for block in blocks:
        buf = np.concatenate([buf, np.asarray(block, np.float32).ravel()])
        while buf_start + buf.size >= keep + chunk + context:
            first = max(buf_start, keep - context)
            piece = buf[first - buf_start : keep + chunk + context - buf_start]
            yield first, piece, (keep, keep + chunk)
            keep += chunk
            drop = max(0, keep - context - buf_start)
            buf, buf_start = buf[drop:], buf_start + drop
    if buf_start + buf.size > keep or keep == 0:
        first = max(buf_start, keep - context)
        yield first, buf[first - buf_start :], (keep, None)


def _verdict(mean: np.ndarray, decision: DecisionConfig) -> EventLabel:
    scores = {c: float(p) for c, p in zip(CLASSES, mean, strict=True)}
    best = max(CLASSES, key=scores.__getitem__)
    threshold = decision.keep_whistle if best == WHISTLE else decision.keep_pulsed
    if scores[best] >= threshold:
        return EventLabel(best, scores[best], scores)
    return EventLabel(NOISE, 1.0 - scores[best], scores)
