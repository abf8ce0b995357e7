"""``dolphin lm continue|score|average``: continue a recording with the sound-token LM, score one,
or average the weights of several LMs.

``continue`` encodes the prompt with the codec, samples a continuation from the LM and decodes
prompt + continuation (or only the continuation with ``--only-new``). ``score`` prints the bits
per token of a recording or token file under the LM (lower = more expected). The LM records the
identity of its codec; a different codec or token file is refused with an error. ``average``
writes the weighted mean of several LMs of one configuration (:func:`dolphin.lm.average.average_lms`).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dolphin.codec.model import Codec
    from dolphin.lm.model import SoundLM

TOKEN_SUFFIXES = (".tokens", ".safetensors")
#: ``lm average --precision`` choices: dolphin.compact.PRECISIONS (which imports torch).
PRECISIONS = ("float32", "float16", "int8")


def _load(args: argparse.Namespace) -> tuple[Codec, SoundLM]:
    """The LM and its codec: ``--codec``, else ``codec/`` beside the LM folder, else default."""
    from dolphin.codec import Codec
    from dolphin.lm.model import SoundLM, lm_dir

    lm = SoundLM.from_pretrained(args.model, map_location=args.device)
    codec_ref = args.codec
    if codec_ref is None:
        beside = lm_dir(args.model).resolve().parent / "codec"
        codec_ref = str(beside) if (beside / "config.json").is_file() else "default"
    codec = Codec.from_pretrained(codec_ref)
    lm.check_codec(codec)
    return codec, lm


def _read_prompt(path: Path, codec: Codec, channel: int):  # noqa: ANN202 - torch lazily
    import torch

    from dolphin.audio.dsp import resample
    from dolphin.audio.io import read_audio

    audio = read_audio(path, channels=channel)
    x = audio.samples[0]
    if audio.sample_rate != codec.sample_rate:
        print(f"note: resampling {audio.sample_rate} Hz -> {codec.sample_rate} Hz", file=sys.stderr)
        x = resample(x, orig_sr=audio.sample_rate, target_sr=codec.sample_rate)
    return torch.from_numpy(x.astype("float32"))[None, None]


def run_continue(args: argparse.Namespace) -> int:
    """Write the prompt and its LM continuation to an audio file."""
    from dolphin.audio.io import write_audio
    from dolphin.lm.generate import continue_audio

    codec, lm = _load(args)
    prompt = _read_prompt(Path(args.prompt), codec, args.channel)
    out = continue_audio(
        codec,
        lm,
        prompt,
        args.seconds,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        seed=args.seed,
    )
    audio = out.new_audio if args.only_new else out.audio
    write_audio(args.output, audio[0].cpu().numpy(), codec.sample_rate, clip=True)
    kept = out.n_prompt_frames / codec.frame_rate
    print(
        f"{args.output}: {kept:.2f} s of prompt + {args.seconds:.2f} s generated at "
        f"{codec.sample_rate} Hz" + (" (prompt not written)" if args.only_new else "")
    )
    return 0


def run_score(args: argparse.Namespace) -> int:
    """Print bits per token of a recording or token file under the LM."""
    import tempfile

    from dolphin.codec.files import encode_file
    from dolphin.codec.tokens import load_tokens
    from dolphin.lm.stream import score_codes

    codec, lm = _load(args)
    path = Path(args.input)
    if path.suffix.lower() in TOKEN_SUFFIXES:
        tokens = load_tokens(path)
        lm.check_token_file(tokens)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            dst = Path(tmp) / "input.tokens"
            encode_file(codec, path, dst, n_q=lm.n_codebooks, channel=args.channel)
            tokens = load_tokens(dst)
    scores = score_codes(lm, tokens.codes[None], window=args.window, overlap=args.overlap)
    bits = scores.bits_per_token
    rate = bits * lm.n_codebooks * codec.frame_rate
    frames = tokens.codes.shape[-1]
    print(
        f"{path}: {frames} frames ({frames / codec.frame_rate:.2f} s), {lm.n_codebooks} codebooks"
    )
    print(
        f"bits per token: {bits:.4f}  ({rate:.0f} bits/s; uniform would be "
        f"{lm.n_codebooks * codec.frame_rate * math.log2(lm.codebook_size):.0f})"
    )
    per = "  ".join(f"cb{k}={b:.3f}" for k, b in enumerate(scores.bits_by_codebook))
    print(f"per codebook: {per}")
    return 0


def run_average(args: argparse.Namespace) -> int:
    """Write the weighted parameter mean of several LMs to a new LM folder."""
    from dolphin.lm.average import average_lms

    lm = average_lms(args.models, args.weights)
    out = lm.save_pretrained(args.output, precision=args.precision)
    weights = args.weights or [1.0] * len(args.models)
    parts = ", ".join(f"{m} x{w:g}" for m, w in zip(args.models, weights, strict=True))
    print(f"{out}: average of {parts} ({args.precision})")
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``lm continue``, ``lm score`` and ``lm average``."""
    parser = subparsers.add_parser(
        "lm",
        help="continue or score recordings with the sound-token LM",
        description="Sound-token language model over codec tokens. The LM records the codec it "
        "was trained on and refuses any other.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    model_help = "LM: 'default' (shipped) or a saved LM folder (run_dir/model of `dolphin train`)"
    codec_help = (
        "codec: 'default', a shipped name or a saved codec folder (default: the codec/ folder "
        "beside the LM when there is one, else the shipped default)"
    )

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--model", default="default", help=model_help)
        p.add_argument("--codec", default=None, help=codec_help)
        p.add_argument("--channel", type=int, default=0, help="0-based channel (default 0)")
        p.add_argument("--device", default="cpu", help="torch device of the LM (default cpu)")

    cont = actions.add_parser("continue", help="prompt audio -> prompt + continuation")
    cont.add_argument("prompt", metavar="PROMPT", help="audio file (any rate; resampled)")
    cont.add_argument("output", metavar="OUT", help="audio file to write (.wav, .flac)")
    cont.add_argument("--seconds", type=float, default=5.0, help="seconds to generate (5)")
    cont.add_argument("--temperature", type=float, default=1.0, help="0 = greedy (default 1)")
    cont.add_argument("--top-k", type=int, default=0, help="sample among the k likeliest (0 = all)")
    cont.add_argument("--top-p", type=float, default=1.0, help="nucleus mass (default 1 = off)")
    cont.add_argument("--seed", type=int, default=None, help="seed: same seed, same output")
    cont.add_argument("--only-new", action="store_true", help="write only the continuation")
    common(cont)
    cont.set_defaults(func=run_continue)

    score = actions.add_parser("score", help="bits per token of a recording or token file")
    score.add_argument("input", metavar="IN", help="audio file or token file (.tokens)")
    score.add_argument(
        "--window",
        type=int,
        default=None,
        help="frames per forward (default: the LM's training window, lm.context_frames)",
    )
    score.add_argument(
        "--overlap",
        type=int,
        default=None,
        help="frames of past each window keeps from the one before (default: half a window)",
    )
    common(score)
    score.set_defaults(func=run_score)

    average = actions.add_parser(
        "average",
        help="weighted mean of the weights of several LMs of one configuration",
        description="Average LMs of one lineage (stages that continue one another) into one.",
    )
    average.add_argument("output", metavar="OUT", help="LM folder to write")
    average.add_argument("models", metavar="MODEL", nargs="+", help=model_help)
    average.add_argument(
        "--weights", type=float, nargs="+", default=None, help="one per MODEL (default: equal)"
    )
    average.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="float32",
        help="stored precision of OUT (default float32)",
    )
    average.set_defaults(func=run_average)
