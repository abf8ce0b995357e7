"""Neural audio codec: causal spectral encoder, residual vector quantizer, iSTFT decoder.

Usage::

    codec = Codec(CodecConfig())     # 96 kHz, 100 frames/s, 8 x 1024 codes = 8 kbps
    codes = codec.encode(audio)      # [B, 1, T] -> [B, 8, ceil(T / 960)] int64
    audio_hat = codec.decode(codes)  # -> [B, 1, frames * 960]

    with codec.streaming():          # chunked: same codes as encode(), bit for bit
        codes = codec.encode_chunk(chunk)
        out = codec.decode_chunk(codes)
"""

from dolphin.codec.config import CodecConfig, tiny_config
from dolphin.codec.model import Codec, CodecInputError, CodecOutput, build_debug_codec
from dolphin.codec.quantizer import QuantizedResult, ResidualVectorQuantizer
from dolphin.codec.streaming import StreamingState
from dolphin.codec.tokens import (
    TokenFile,
    TokenFileError,
    check_compatible,
    load_tokens,
    save_tokens,
)

__all__ = [
    "Codec",
    "CodecConfig",
    "CodecInputError",
    "CodecOutput",
    "QuantizedResult",
    "ResidualVectorQuantizer",
    "StreamingState",
    "TokenFile",
    "TokenFileError",
    "build_debug_codec",
    "check_compatible",
    "load_tokens",
    "save_tokens",
    "tiny_config",
]
