"""Chunked (streaming) encoding and decoding with explicit state.

Bit-identical codes
-------------------
:class:`EncoderStream` buffers samples and encodes every hop as soon as its last sample has
arrived, carrying the history of each layer in a cache. :meth:`dolphin.codec.model.Codec.encode`
is this same stream fed the whole file in one push followed by a flush. The encoder runs the
exact arithmetic of :mod:`dolphin.codec.exact`, whose results do not depend on how many frames
share a call, so chunked and whole-file encoding give the same codes bit for bit, for any chunk
sizes, by construction rather than by luck of the BLAS kernel choice.

End of a file: :meth:`EncoderStream.flush` pads the last partial hop with zeros and returns its
codes, so a stream yields ``ceil(n_samples / hop_length)`` frames in all, like ``encode``.

Decoding: :class:`DecoderStream` runs the float decoder on any number of frames per call and
matches offline decoding to float rounding (~1e-7; offline decoding itself runs in chunks).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from dolphin.codec.exact import ExactCodebooks, ExactEncoder

DecodeFn = Callable[[torch.Tensor, dict[str, Any]], torch.Tensor]
FlushFn = Callable[[dict[str, Any]], torch.Tensor]


class EncoderStream:
    """Audio chunks in, codes of completed frames out.

    Parameters
    ----------
    encoder : ExactEncoder
        Grid-rounded encoder (:class:`~dolphin.codec.exact.ExactEncoder`).
    codebooks : ExactCodebooks
        Grid-rounded codebooks (:class:`~dolphin.codec.exact.ExactCodebooks`).
    hop_length : int
        Samples per frame.
    n_q : int
        Codebooks emitted.
    """

    def __init__(
        self, encoder: ExactEncoder, codebooks: ExactCodebooks, *, hop_length: int, n_q: int
    ) -> None:
        self.encoder = encoder
        self.codebooks = codebooks
        self.hop_length = hop_length
        self.n_q = n_q
        self.reset()

    def encode(self, audio: torch.Tensor) -> torch.Tensor:
        """Codes ``[B, n_q, F]`` of ``F`` whole hops ``[B, 1, F * hop_length]`` (exact)."""
        z = self.encoder(audio, self.cache)  # [B, F, D] float64 on the grid
        batch, n_frames = z.shape[0], z.shape[1]
        codes = self.codebooks.encode(z.reshape(batch * n_frames, -1), self.n_q)
        return codes.reshape(self.n_q, batch, n_frames).transpose(0, 1)

    def reset(self) -> None:
        """Forget everything: the next sample is time 0 of a new signal."""
        self.cache: dict[str, Any] = {}
        self.pending: list[torch.Tensor] = []
        self.n_pending = 0
        self.n_samples = 0  # samples received since the start
        self.batch: int | None = None

    def _empty(self, like: torch.Tensor | None = None) -> torch.Tensor:
        device = like.device if like is not None else None
        return torch.zeros(self.batch or 1, self.n_q, 0, dtype=torch.long, device=device)

    def push(self, audio: torch.Tensor) -> torch.Tensor:
        """Add samples; return the codes of the frames they complete.

        Parameters
        ----------
        audio : Tensor
            ``[B, 1, n]``, any ``n >= 0``; ``B`` must stay the same for the whole stream.

        Returns
        -------
        Tensor
            ``[B, n_q, m]`` int64, ``m`` = frames completed by this call (often 0).
        """
        if self.batch is None:
            self.batch = audio.shape[0]
        elif audio.shape[0] != self.batch:
            raise ValueError(f"batch size changed mid-stream: {self.batch} -> {audio.shape[0]}")
        if audio.shape[-1]:
            self.pending.append(audio)
            self.n_pending += audio.shape[-1]
            self.n_samples += audio.shape[-1]
        if self.n_pending < self.hop_length:
            return self._empty(audio)
        buf = torch.cat(self.pending, dim=-1) if len(self.pending) > 1 else self.pending[0]
        used = self.n_pending - self.n_pending % self.hop_length
        rest = buf[..., used:]
        self.pending = [rest] if rest.shape[-1] else []
        self.n_pending = rest.shape[-1]
        return self.encode(buf[..., :used])

    def flush(self) -> torch.Tensor:
        """Encode the zero-padded last partial frame and reset the stream.

        Returns
        -------
        Tensor
            ``[B, n_q, 0 or 1]``: so that the stream yields ``ceil(n_samples / hop_length)``
            frames in all.
        """
        if not self.n_pending:
            out = self._empty()
        else:
            buf = torch.cat(self.pending, dim=-1)
            buf = torch.nn.functional.pad(buf, (0, self.hop_length - buf.shape[-1]))
            out = self.encode(buf)
        self.reset()
        return out


class DecoderStream:
    """Codes (any number of frames per call) in, final audio samples out.

    Parameters
    ----------
    decode : callable
        ``(codes [B, n_q, m], cache) -> audio [B, 1, n]``: the decoder run with carried state.
    flush_fn : callable
        ``cache -> audio [B, 1, n]``: the samples held back by the overlap-add.
    """

    def __init__(self, decode: DecodeFn, flush_fn: FlushFn) -> None:
        self.decode = decode
        self.flush_fn = flush_fn
        self.reset()

    def reset(self) -> None:
        """Forget everything: the next frame is frame 0 of a new signal."""
        self.cache: dict[str, Any] = {}
        self.n_frames = 0

    def push(self, codes: torch.Tensor) -> torch.Tensor:
        """Decode frames; return the samples that no later frame changes.

        Parameters
        ----------
        codes : Tensor
            ``[B, n_q, m]`` integer codes, any ``m >= 0``.

        Returns
        -------
        Tensor
            ``[B, 1, n]``; over a whole stream plus :meth:`flush`, ``n`` adds up to
            ``frames * hop_length``, equal to offline decoding within float rounding.
        """
        if codes.shape[-1] == 0:
            return torch.zeros(codes.shape[0], 1, 0, device=codes.device)
        self.n_frames += codes.shape[-1]
        return self.decode(codes, self.cache)

    def flush(self) -> torch.Tensor:
        """Return the held-back samples and reset the stream.

        Returns
        -------
        Tensor
            ``[B, 1, n]`` with ``n <= decoder_n_fft - decoder_hop``.
        """
        out = self.flush_fn(self.cache)
        self.reset()
        return out


@dataclass
class StreamingState:
    """Explicit streaming state of one codec: an encoder and a decoder stream."""

    encoder: EncoderStream
    decoder: DecoderStream
