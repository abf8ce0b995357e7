"""The codec: causal spectral encoder, residual vector quantizer, causal iSTFT decoder.

:class:`Codec` turns mono audio ``[B, 1, T]`` into integer codes ``[B, K, T / hop]`` and back.
Everything after the STFT runs at the frame rate (100 frames/s by default), so the cost per
second of audio barely depends on the sample rate. ``encode`` is bit-exact under any chunking
(see :mod:`dolphin.codec.streaming`); ``forward`` is the differentiable training path.

Latency (:attr:`Codec.algorithmic_latency_s`): the encoder window ends at the frame's last
sample (no look-ahead), so a sample waits at most ``hop_length`` samples for its frame to be
complete, then ``decoder_n_fft - decoder_hop`` samples until the overlap-add has added every
segment covering it. Default: (960 + 720) / 96000 = 17.5 ms.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from dolphin.codec.blocks import Decoder, Encoder
from dolphin.codec.config import CodecConfig
from dolphin.codec.exact import ExactEncoder
from dolphin.codec.quantizer import ResidualVectorQuantizer
from dolphin.codec.streaming import DecoderStream, EncoderStream, StreamingState
from dolphin.errors import DolphinError

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
FORMAT = "dolphin-codec/1"
DECODE_CHUNK_FRAMES = 200  # frames per step of offline decoding (2 s at 100 frames/s)
# EMA statistics only steer training; they do not change what the codec outputs.
_NOT_HASHED = ("quantizer.cluster_size", "quantizer.embed_avg")


class CodecInputError(DolphinError, ValueError):
    """Audio or codes given to the codec have the wrong rate, shape or values."""


@dataclass
class CodecOutput:
    """Output of :meth:`Codec.forward` (training path)."""

    audio: torch.Tensor  # [B, 1, T] reconstruction, same length as the input
    codes: torch.Tensor  # [B, n_q, T_frames] int64
    commitment_loss: torch.Tensor  # scalar
    perplexity: torch.Tensor  # [n_q] codebook use in this batch
    n_q: int  # codebooks used (random under quantizer dropout)
    latent: torch.Tensor  # [B, D, T_frames] encoder output before quantization
    spectrum: torch.Tensor  # [B, G, bins] complex decoder spectrum (G = T_frames * upsample)
    target_spectrum: torch.Tensor  # [B, G, bins] the input's spectrum in the same framing


class Codec(nn.Module):
    """SoundStream-style neural codec for mono audio.

    Parameters
    ----------
    config : CodecConfig
        Architecture and quantizer settings.
    """

    def __init__(self, config: CodecConfig | None = None) -> None:
        super().__init__()
        self.config = config or CodecConfig()
        self.encoder = Encoder(self.config)
        self.quantizer = ResidualVectorQuantizer(
            dim=self.config.latent_dim,
            n_codebooks=self.config.n_codebooks,
            codebook_size=self.config.codebook_size,
            decay=self.config.ema_decay,
            kmeans_iters=self.config.kmeans_iters,
            dead_code_ratio=self.config.dead_code_ratio,
            dropout=self.config.quantizer_dropout,
            frame_rate=self.config.frame_rate,
        )
        self.decoder = Decoder(self.config)
        self._stream: StreamingState | None = None
        self._exact_key: tuple | None = None
        self._exact_cache: ExactEncoder | None = None

    # ----------------------------------------------------------------- properties
    @property
    def sample_rate(self) -> int:
        """Audio sample rate in Hz."""
        return self.config.sample_rate

    @property
    def hop_length(self) -> int:
        """Samples per token frame."""
        return self.config.hop_length

    @property
    def frame_rate(self) -> float:
        """Token frames per second (Hz)."""
        return self.config.frame_rate

    @property
    def n_q(self) -> int:
        """Number of codebooks ``K`` (the most ``n_q`` one can ask for)."""
        return self.config.n_codebooks

    @property
    def bitrate_bps(self) -> float:
        """Bits per second with all codebooks."""
        return self.config.bitrate_bps

    @property
    def latency_samples(self) -> int:
        """Algorithmic latency in samples: one hop (frame wait) + decoder overlap."""
        cfg = self.config
        return cfg.hop_length + cfg.decoder_n_fft - cfg.decoder_hop

    @property
    def algorithmic_latency_s(self) -> float:
        """Algorithmic latency in seconds (see the module docstring)."""
        return self.latency_samples / self.sample_rate

    @property
    def num_parameters(self) -> int:
        """Trainable parameters (codebooks are buffers and not counted)."""
        return sum(p.numel() for p in self.parameters())

    # ----------------------------------------------------------------- checks
    def _check_audio(self, audio: torch.Tensor, sample_rate: int | None) -> None:
        if sample_rate is not None and int(sample_rate) != self.sample_rate:
            raise CodecInputError(
                f"audio is at {sample_rate} Hz but this codec works at {self.sample_rate} Hz; "
                "resample it first (dolphin.audio.dsp.resample)"
            )
        if not isinstance(audio, torch.Tensor):
            raise CodecInputError(f"audio must be a torch.Tensor, got {type(audio).__name__}")
        if audio.dim() != 3 or audio.shape[1] != 1:
            raise CodecInputError(
                f"audio must be mono [B, 1, T], got shape {list(audio.shape)} "
                "(use audio[None, None] for a 1-D signal)"
            )
        if not audio.is_floating_point():
            raise CodecInputError(f"audio must be floating point, got {audio.dtype}")
        if not bool(torch.isfinite(audio).all()):
            n_bad = int((~torch.isfinite(audio)).sum())
            raise CodecInputError(f"audio holds {n_bad} NaN or infinite sample(s)")

    def _check_codes(self, codes: torch.Tensor) -> None:
        if codes.dim() != 3 or not 1 <= codes.shape[1] <= self.n_q:
            raise CodecInputError(
                f"codes must be [B, n_q, T] with 1 <= n_q <= {self.n_q}, got {list(codes.shape)}"
            )
        if codes.is_floating_point():
            raise CodecInputError(f"codes must be integers, got {codes.dtype}")
        if codes.numel() and (codes.min() < 0 or codes.max() >= self.config.codebook_size):
            raise CodecInputError(f"codes must lie in [0, {self.config.codebook_size})")

    # ----------------------------------------------------------------- inference
    def _exact_encoder(self) -> ExactEncoder:
        """Grid-rounded encoder weights for exact inference, cached until a weight changes."""
        try:
            key = tuple((p.data_ptr(), p._version) for p in self.encoder.parameters())
        except RuntimeError:  # inference tensors have no version counter: no caching
            return ExactEncoder(self.encoder)
        if self._exact_key != key:
            self._exact_cache = ExactEncoder(self.encoder)
            self._exact_key = key
        return self._exact_cache

    def _decode_frames(self, codes: torch.Tensor, cache: dict[str, Any] | None) -> torch.Tensor:
        return self.decoder(self.quantizer.decode_frames(codes), cache)

    def _new_encoder_stream(self, n_q: int | None) -> EncoderStream:
        return EncoderStream(
            self._exact_encoder(),
            self.quantizer.exact_codebooks(),
            hop_length=self.hop_length,
            n_q=self.quantizer._check_n_q(n_q),
        )

    @torch.no_grad()
    def encode(
        self, audio: torch.Tensor, *, sample_rate: int | None = None, n_q: int | None = None
    ) -> torch.Tensor:
        """Encode audio into codes (bit-identical to any chunked streaming encoding).

        Silence encodes fine; samples beyond [-1, 1] (clipped or hot recordings) are accepted
        as they are, without a warning, though training data rarely goes there.

        Parameters
        ----------
        audio : Tensor
            ``[B, 1, T]`` float at :attr:`sample_rate`.
        sample_rate : int, optional
            Rate of ``audio`` in Hz; when given it must equal :attr:`sample_rate`.
        n_q : int, optional
            Codebooks to use, ``1..K`` (fewer = lower bitrate); default all.

        Returns
        -------
        Tensor
            ``[B, n_q, ceil(T / hop_length)]`` int64.

        Raises
        ------
        CodecInputError
            Wrong sample rate, shape or dtype, or NaN / infinite samples.
        """
        self._check_audio(audio, sample_rate)
        stream = self._new_encoder_stream(n_q)
        first = stream.push(audio)
        return torch.cat([first, stream.flush().to(first.device)], dim=-1)

    @torch.no_grad()
    def decode(self, codes: torch.Tensor, *, n_samples: int | None = None) -> torch.Tensor:
        """Decode codes into audio.

        Parameters
        ----------
        codes : Tensor
            ``[B, n_q, T_frames]`` integers; ``n_q <= K`` uses the first ``n_q`` codebooks.
        n_samples : int, optional
            Trim the output to this many samples (the input length given to :meth:`encode`).

        Returns
        -------
        Tensor
            ``[B, 1, T_frames * hop_length]`` float (or ``n_samples`` long).
        """
        self._check_codes(codes)
        if codes.shape[-1] == 0:
            return torch.zeros(codes.shape[0], 1, 0, device=codes.device)
        # Chunks of a few seconds with carried state: the same result as one pass (up to float
        # rounding) with bounded memory, and faster on CPU since intermediates stay in cache.
        stream = self._new_decoder_stream()
        step = DECODE_CHUNK_FRAMES
        parts = [stream.push(codes[..., i : i + step]) for i in range(0, codes.shape[-1], step)]
        audio = torch.cat([*parts, stream.flush()], dim=-1)
        return audio if n_samples is None else audio[..., :n_samples]

    def forward(self, audio: torch.Tensor, *, n_q: int | None = None) -> CodecOutput:
        """Differentiable encode -> quantize -> decode for training.

        Runs the float encoder on the whole batch at once, updates the codebooks in training
        mode and applies quantizer dropout unless ``n_q`` is given. Its codes may differ from
        :meth:`encode` (exact fixed-point arithmetic) in rare near-ties.

        Parameters
        ----------
        audio : Tensor
            ``[B, 1, T]`` float.
        n_q : int, optional
            Codebooks to use (default: all, or random under quantizer dropout).

        Returns
        -------
        CodecOutput
        """
        self._check_audio(audio, None)
        n_samples = audio.shape[-1]
        pad = -n_samples % self.hop_length
        padded = F.pad(audio, (0, pad))
        z = self.encoder(padded)  # [B, T_frames, D]
        q = self.quantizer(z.transpose(1, 2), n_q)
        spectrum = self.decoder.spectrum(q.quantized.transpose(1, 2))
        out = self.decoder.istft(spectrum)[..., :n_samples]
        return CodecOutput(
            audio=out,
            codes=q.codes,
            commitment_loss=q.commitment_loss,
            perplexity=q.perplexity,
            n_q=q.n_q,
            latent=z.transpose(1, 2),
            spectrum=spectrum,
            target_spectrum=self.decoder.istft.analysis(padded),
        )

    # ----------------------------------------------------------------- streaming
    def new_stream(self, *, n_q: int | None = None) -> StreamingState:
        """Fresh explicit streaming state (what ``with codec.streaming()`` yields)."""
        return StreamingState(
            encoder=self._new_encoder_stream(n_q), decoder=self._new_decoder_stream()
        )

    def _new_decoder_stream(self) -> DecoderStream:
        return DecoderStream(self._decode_frames, self.decoder.istft.flush)

    @contextlib.contextmanager
    def streaming(self, *, n_q: int | None = None) -> Iterator[StreamingState]:
        """Context in which :meth:`encode_chunk` / :meth:`decode_chunk` carry state.

        Yields the :class:`StreamingState` (which can also be passed as ``state=``); ``n_q``
        is the number of codebooks the encoder stream emits (default all).
        """
        previous = self._stream
        self._stream = self.new_stream(n_q=n_q)
        try:
            yield self._stream
        finally:
            self._stream = previous

    def _state(self, state: StreamingState | None) -> StreamingState:
        state = state or self._stream
        if state is None:
            raise RuntimeError("no stream: use `with codec.streaming():` or pass state=")
        return state

    @torch.no_grad()
    def encode_chunk(
        self,
        audio: torch.Tensor,
        *,
        state: StreamingState | None = None,
        sample_rate: int | None = None,
    ) -> torch.Tensor:
        """Feed ``[B, 1, n]`` samples; return codes ``[B, n_q, m]`` of the frames they complete."""
        self._check_audio(audio, sample_rate)
        return self._state(state).encoder.push(audio)

    @torch.no_grad()
    def flush_encoder(self, *, state: StreamingState | None = None) -> torch.Tensor:
        """End of input: codes of the zero-padded last partial frame (if any); resets the encoder."""
        return self._state(state).encoder.flush()

    @torch.no_grad()
    def decode_chunk(
        self, codes: torch.Tensor, *, state: StreamingState | None = None
    ) -> torch.Tensor:
        """Feed codes ``[B, n_q, m]``; return the audio samples ``[B, 1, n]`` now final."""
        self._check_codes(codes)
        return self._state(state).decoder.push(codes)

    @torch.no_grad()
    def flush_decoder(self, *, state: StreamingState | None = None) -> torch.Tensor:
        """End of codes: the overlap-add tail ``[B, 1, <= 720]`` samples; resets the decoder."""
        return self._state(state).decoder.flush()

    # ----------------------------------------------------------------- persistence
    def identity_hash(self) -> str:
        """Short sha256 of the config JSON and the weights (12 hex digits).

        Two codecs with the same hash produce the same codes and audio. Tags token files.
        """
        digest = hashlib.sha256(json.dumps(self.config.to_dict(), sort_keys=True).encode())
        for name, tensor in sorted(self.state_dict().items()):
            if name in _NOT_HASHED:
                continue
            t = tensor.detach().cpu().contiguous()
            digest.update(f"{name}:{t.dtype}:{list(t.shape)}".encode())
            digest.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
        return digest.hexdigest()[:12]

    def save(self, directory: str | Path, *, precision: str = "float32") -> Path:
        """Write ``config.json`` and ``model.safetensors`` (no pickle); returns the folder.

        Parameters
        ----------
        directory : str or Path
            Folder to write (created).
        precision : str
            ``"float32"`` (everything, for training), or ``"float16"`` / ``"int8"`` for a
            compact inference file (:mod:`dolphin.compact`; the EMA statistics are left out
            and rebuilt on loading as if every code had been used once; the quantizer's
            codebooks are never int8). A compact save first rounds this codec to the stored
            values, so it equals the codec loaded back (same hash).
        """
        from safetensors.torch import save_file

        from dolphin.compact import compact_state, round_module

        directory = Path(directory)
        tensors = compact_state(
            self.state_dict(), precision, drop=_NOT_HASHED, int8_exclude=("quantizer.",)
        )
        if precision != "float32":  # round to the stored values; training statistics stay
            round_module(self, tensors)
        directory.mkdir(parents=True, exist_ok=True)
        meta = {"format": FORMAT, "identity_hash": self.identity_hash(), "precision": precision}
        (directory / CONFIG_NAME).write_text(
            json.dumps({**meta, "config": self.config.to_dict()}, indent=2) + "\n"
        )
        save_file(tensors, str(directory / WEIGHTS_NAME), metadata=meta)
        return directory

    @classmethod
    def load(cls, directory: str | Path, *, map_location: str = "cpu") -> Codec:
        """Load a codec written by :meth:`save`.

        Raises
        ------
        DolphinError
            The folder lacks the files or holds another format.
        """
        from safetensors.torch import load_file

        from dolphin.compact import expand_state

        directory = Path(directory)
        config_path, weights_path = directory / CONFIG_NAME, directory / WEIGHTS_NAME
        if not config_path.is_file() or not weights_path.is_file():
            raise DolphinError(
                f"{directory}: not a saved codec (needs {CONFIG_NAME}, {WEIGHTS_NAME})"
            )
        data = json.loads(config_path.read_text())
        if data.get("format") != FORMAT:
            raise DolphinError(f"{config_path}: format {data.get('format')!r}, expected {FORMAT!r}")
        codec = cls(CodecConfig.from_dict(data["config"]))
        state = expand_state(load_file(str(weights_path), device=map_location))
        if "quantizer.embed" in state and "quantizer.embed_avg" not in state:  # compact file
            state["quantizer.embed_avg"] = state["quantizer.embed"].clone()  # each code used once
            state["quantizer.cluster_size"] = torch.ones(state["quantizer.embed"].shape[:-1])
        codec.load_state_dict(state)
        return codec.to(map_location).eval()

    @classmethod
    def from_pretrained(
        cls, name_or_path: str | Path = "default", *, map_location: str = "cpu"
    ) -> Codec:
        """Load a shipped codec by name (``"default"``) or a saved codec from its folder.

        Raises
        ------
        dolphin.hub.ModelNotFoundError
            No shipped codec of that name, or the folder lacks the files (see :mod:`dolphin.hub`).
        """
        from dolphin.hub import load_codec

        return load_codec(name_or_path, map_location=map_location)


def build_debug_codec(**overrides: Any) -> Codec:
    """A tiny 48 kHz codec (:func:`dolphin.codec.config.tiny_config`) for tests, seeded."""
    from dolphin.codec.config import tiny_config

    with torch.random.fork_rng():
        torch.manual_seed(0)
        return Codec(tiny_config(**overrides))
