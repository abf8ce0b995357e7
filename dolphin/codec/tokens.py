"""Token files: codec codes of one recording in a safetensors file with string metadata.

A token file holds one tensor, ``codes`` ``[K, T]`` (int16 when the codebook size allows,
else int32), and metadata naming the codec that made it (:meth:`Codec.identity_hash`), its
sample rate and hop, the number of codebooks and the length of the source audio. No pickle is
involved, so token files are safe to load from anywhere. :func:`check_compatible` refuses to
decode tokens with a codec other than the one that made them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from dolphin.errors import DolphinError

if TYPE_CHECKING:
    from dolphin.codec.model import Codec

FORMAT = "dolphin-tokens/1"


class TokenFileError(DolphinError, ValueError):
    """A token file is missing, malformed or was made by another codec."""


@dataclass
class TokenFile:
    """Codes of one recording and where they came from."""

    codes: torch.Tensor  # [K, T] int64
    sample_rate: int  # Hz of the encoded audio
    hop_length: int  # samples per frame
    n_q: int  # codebooks in `codes`
    codec_hash: str  # identity_hash of the codec that made the codes
    n_samples: int  # length of the source audio in samples (decode trims to it)
    extra: dict[str, str] = field(default_factory=dict)  # free-form metadata

    @property
    def duration_s(self) -> float:
        """Length of the source audio in seconds."""
        return self.n_samples / self.sample_rate


def save_tokens(
    path: str | Path,
    codes: torch.Tensor,
    *,
    sample_rate: int,
    hop_length: int,
    n_q: int,
    codec_hash: str,
    n_samples: int,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write codes and their provenance to a safetensors token file.

    Parameters
    ----------
    path : str or Path
        Output file (``.safetensors`` by convention); parent folders are created.
    codes : Tensor
        ``[K, T]`` integer codes (``[1, K, T]`` is accepted and squeezed).
    sample_rate : int
        Hz of the encoded audio.
    hop_length : int
        Samples per frame.
    n_q : int
        Codebooks used; must equal ``K``.
    codec_hash : str
        :meth:`Codec.identity_hash` of the codec that made the codes.
    n_samples : int
        Length of the source audio in samples.
    extra : dict, optional
        More metadata; values are stored as strings (JSON for non-strings).

    Returns
    -------
    Path
        The written file.
    """
    from safetensors.torch import save_file

    if codes.dim() == 3 and codes.shape[0] == 1:
        codes = codes[0]
    if codes.dim() != 2 or codes.is_floating_point():
        raise TokenFileError(f"codes must be an integer tensor [K, T], got {list(codes.shape)}")
    if codes.shape[0] != n_q:
        raise TokenFileError(f"codes have {codes.shape[0]} codebooks but n_q={n_q}")
    small = codes.numel() == 0 or (codes.min() >= -(2**15) and codes.max() < 2**15)
    stored = codes.detach().cpu().to(torch.int16 if small else torch.int32).contiguous()
    meta = {
        "format": FORMAT,
        "sample_rate": str(int(sample_rate)),
        "hop_length": str(int(hop_length)),
        "n_q": str(int(n_q)),
        "codec_hash": str(codec_hash),
        "n_samples": str(int(n_samples)),
    }
    for key, value in (extra or {}).items():
        if key in meta:
            raise TokenFileError(f"extra metadata key {key!r} clashes with a reserved key")
        meta[key] = value if isinstance(value, str) else json.dumps(value)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({"codes": stored}, str(path), metadata=meta)
    return path


def load_tokens(path: str | Path) -> TokenFile:
    """Read a token file written by :func:`save_tokens`.

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    TokenFile
        Codes as int64 ``[K, T]`` and the metadata.

    Raises
    ------
    TokenFileError
        The file is missing, not a safetensors file, or lacks the token metadata.
    """
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise TokenFileError(f"{path}: no such token file")
    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = dict(handle.metadata() or {})
            codes = handle.get_tensor("codes")
    except (SafetensorError, OSError, KeyError) as err:
        raise TokenFileError(f"{path}: not a readable token file ({err})") from err
    if meta.get("format") != FORMAT:
        raise TokenFileError(f"{path}: format {meta.get('format')!r}, expected {FORMAT!r}")
    try:
        known = {k: meta.pop(k) for k in ("sample_rate", "hop_length", "n_q", "n_samples")}
        codec_hash = meta.pop("codec_hash")
    except KeyError as err:
        raise TokenFileError(f"{path}: metadata lacks {err}") from err
    meta.pop("format")
    return TokenFile(
        codes=codes.long(),
        sample_rate=int(known["sample_rate"]),
        hop_length=int(known["hop_length"]),
        n_q=int(known["n_q"]),
        codec_hash=codec_hash,
        n_samples=int(known["n_samples"]),
        extra=meta,
    )


def check_compatible(tokens: TokenFile, codec: Codec) -> None:
    """Refuse to use ``tokens`` with a codec other than the one that made them.

    Parameters
    ----------
    tokens : TokenFile
        Loaded token file.
    codec : Codec
        The codec about to decode (or extend) them.

    Raises
    ------
    TokenFileError
        The codec's identity hash, sample rate or hop differ, or the file has more
        codebooks than the codec.
    """
    mine = codec.identity_hash()
    if (
        tokens.codec_hash != mine
        or tokens.sample_rate != codec.sample_rate
        or tokens.hop_length != codec.hop_length
    ):
        raise TokenFileError(
            f"tokens were made by codec {tokens.codec_hash} at {tokens.sample_rate} Hz "
            f"(hop {tokens.hop_length}); this codec is {mine} at {codec.sample_rate} Hz "
            f"(hop {codec.hop_length})"
        )
    if tokens.n_q > codec.n_q:
        raise TokenFileError(f"tokens have {tokens.n_q} codebooks; this codec has {codec.n_q}")
