"""``dolphin codec encode|decode``: audio files to token files and back, one file or a folder.

Long files stream with bounded memory: :class:`~dolphin.audio.stream.BlockReader` blocks go
through the codec's streaming encoder, whose codes are bit-identical to whole-file encoding;
decoding streams the codes through the streaming decoder into an
:class:`~dolphin.audio.writer.AudioWriter`. Audio at another rate is resampled block by block
(:mod:`dolphin.codec.files`). Outputs are
published atomically, so in folder mode (``IN`` a folder) outputs that exist and match are
skipped and an interrupted run can simply be started again.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dolphin.codec.files import decode_file, encode_file
from dolphin.errors import DolphinError

if TYPE_CHECKING:
    from dolphin.codec.model import Codec

AUDIO_SUFFIXES = (".wav", ".flac", ".w64", ".rf64")
TOKEN_SUFFIXES = (".tokens", ".safetensors")


def _note(message: str) -> None:
    from tqdm import tqdm

    tqdm.write(f"note: {message}", file=sys.stderr)


def _tokens_done(path: Path, codec: Codec, n_q: int) -> bool:
    from dolphin.codec.tokens import load_tokens

    try:
        tokens = load_tokens(path)
    except DolphinError:
        return False
    return tokens.codec_hash == codec.identity_hash() and tokens.n_q == n_q


def _audio_done(path: Path, src: Path, codec: Codec) -> bool:
    from dolphin.audio.io import audio_info
    from dolphin.codec.tokens import load_tokens

    try:
        info, tokens = audio_info(path), load_tokens(src)
    except DolphinError:
        return False
    return info.sample_rate == codec.sample_rate and info.n_frames == tokens.n_samples


def _pairs(
    src: Path, dst: Path, suffixes: tuple[str, ...], out_suffix: str
) -> list[tuple[Path, Path]]:
    """(input, output) pairs: ``dst`` mirrors the files of folder ``src`` with ``out_suffix``."""
    if dst.exists() and not dst.is_dir():
        raise DolphinError(f"{dst}: input {src} is a folder, so the output must be a folder too")
    files = sorted(
        p
        for p in src.rglob("*")
        if p.is_file() and p.suffix.lower() in suffixes and not p.name.startswith(".")
    )
    if not files:
        raise DolphinError(f"{src}: no {'/'.join(suffixes)} files in this folder")
    return [(p, (dst / p.relative_to(src)).with_suffix(out_suffix)) for p in files]


def _run_many(
    pairs: list[tuple[Path, Path]],
    work: Callable[[Path, Path], int],
    done: Callable[[Path, Path], bool],
    *,
    progress: bool,
    verb: str,
) -> int:
    """Run ``work(src, dst)`` on each pair not ``done``; failures are reported, not fatal."""
    from tqdm import tqdm

    failed, skipped = [], 0
    for src, dst in tqdm(pairs, disable=not progress, unit="file", desc=verb):
        if done(src, dst):
            skipped += 1
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            work(src, dst)
        except DolphinError as err:
            tqdm.write(f"dolphin codec {verb}: error: {err}", file=sys.stderr)
            failed.append(src)
    n_done = len(pairs) - skipped - len(failed)
    print(f"{verb}d {n_done} file(s), skipped {skipped} already done, {len(failed)} failed")
    if failed:
        raise DolphinError(f"{len(failed)} of {len(pairs)} file(s) failed, first {failed[0]}")
    return 0


def _load(args: argparse.Namespace) -> Codec:
    from dolphin.hub import load_codec

    return load_codec(args.model)


def run_encode(args: argparse.Namespace) -> int:
    """Encode a file or every audio file of a folder."""
    from dolphin.codec.model import CodecInputError

    codec = _load(args)
    n_q = codec.n_q if args.n_q is None else args.n_q
    if not 1 <= n_q <= codec.n_q:
        raise CodecInputError(f"--n-q must be in [1, {codec.n_q}] for this codec, got {n_q}")
    src, dst = Path(args.input), Path(args.output)

    def work(s: Path, d: Path, progress: bool = False) -> int:
        return encode_file(
            codec,
            s,
            d,
            n_q=n_q,
            channel=args.channel,
            block_s=args.block_s,
            progress=progress,
            on_note=_note,
        )

    if src.is_dir():
        pairs = _pairs(src, dst, AUDIO_SUFFIXES, ".tokens")

        def done(s: Path, d: Path) -> bool:
            return not args.overwrite and d.is_file() and _tokens_done(d, codec, n_q)

        return _run_many(pairs, work, done, progress=not args.no_progress, verb="encode")
    if dst.is_dir():
        dst = dst / f"{src.stem}.tokens"
    n_frames = work(src, dst, progress=not args.no_progress)
    bps = n_q * np.log2(codec.config.codebook_size) * codec.frame_rate
    print(f"{src} -> {dst}: {n_q} x {n_frames} codes ({bps:.0f} bps)")
    return 0


def run_decode(args: argparse.Namespace) -> int:
    """Decode a token file or every token file of a folder."""
    codec = _load(args)
    src, dst = Path(args.input), Path(args.output)

    def work(s: Path, d: Path) -> int:
        return decode_file(codec, s, d, subtype=args.subtype, on_note=_note)

    if src.is_dir():
        pairs = _pairs(src, dst, TOKEN_SUFFIXES, args.suffix)

        def done(s: Path, d: Path) -> bool:
            return not args.overwrite and d.is_file() and _audio_done(d, s, codec)

        return _run_many(pairs, work, done, progress=not args.no_progress, verb="decode")
    if dst.is_dir():
        dst = dst / f"{src.stem}{args.suffix}"
    n = work(src, dst)
    print(f"{src} -> {dst}: {n} samples at {codec.sample_rate} Hz ({n / codec.sample_rate:.2f} s)")
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``codec encode`` and ``codec decode``."""
    parser = subparsers.add_parser(
        "codec",
        help="encode audio to token files and decode them back",
        description="Neural codec: audio files <-> token files. IN may be a folder; OUT is then "
        "a folder mirroring its names, and files already done are skipped.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    model_help = "codec: 'default' (shipped), another shipped name, or a saved codec folder"

    enc = actions.add_parser("encode", help="audio file(s) -> token file(s)")
    enc.add_argument("input", metavar="IN", help="audio file (WAV, FLAC, W64, RF64) or folder")
    enc.add_argument("output", metavar="OUT", help="token file (.tokens) or folder")
    enc.add_argument("--model", default="default", help=model_help)
    enc.add_argument("--n-q", type=int, help="codebooks to keep (fewer = lower bitrate)")
    enc.add_argument("--channel", type=int, default=0, help="0-based channel (default 0)")
    enc.add_argument("--block-s", type=float, default=10.0, help="seconds read per block")
    enc.add_argument("--overwrite", action="store_true", help="redo files already done")
    enc.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    enc.set_defaults(func=run_encode)

    dec = actions.add_parser("decode", help="token file(s) -> audio file(s) at the codec's rate")
    dec.add_argument("input", metavar="IN", help="token file or folder of token files")
    dec.add_argument("output", metavar="OUT", help="audio file (.wav, .flac, ...) or folder")
    dec.add_argument("--model", default="default", help=model_help)
    dec.add_argument("--subtype", default="PCM_24", help="PCM_16, PCM_24 (default), FLOAT")
    dec.add_argument("--suffix", default=".wav", help="output suffix in folder mode")
    dec.add_argument("--overwrite", action="store_true", help="redo files already done")
    dec.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    dec.set_defaults(func=run_decode)
