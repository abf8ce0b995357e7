"""Benchmark: sound-token LM speed, bits per token against count baselines, generated whistles.

Speed (always run; random init is enough): the ``--preset`` LM (default ``small``) over the
codec's token stream (8 x 1024 at 100 frames/s for the default codec; without a codec those
values are assumed):

* training tokens/s: AdamW steps on random windows (CPU with the most threads asked for, in
  float32 and with bf16 autocast as ``train.precision=bf16``; CUDA with bf16 autocast when there
  is a GPU);
* generation: frames/s of :func:`dolphin.lm.generate` (KV cache, one forward per frame with the
  delay pattern) and of :class:`dolphin.lm.NextFramePredictor` streaming, on 1 and 2 CPU threads,
  also as x real time (frames/s over the codec's frame rate; > 1 keeps up with live audio), with
  float32 weights and with linear layers dynamically quantised to int8 (the CPU speed-up the
  per-frame loop gets, which is bound by reading the weights from memory). CPU ms per frame is
  process time, a steadier figure than wall time on a shared machine.

Quality (needs ``--lm``, a trained LM folder; skipped with a message otherwise): bits per token on
held-out synthetic scenes (population 0, seeds from 20 000, which LM training never uses) for the
LM (:func:`dolphin.lm.score_codes`: windows of the LM's training length overlapping by half), an
add-1/2 unigram and interpolated Kneser-Ney 2- and 3-grams per codebook, the baselines
fitted on ``--train-tokens`` (token files, e.g. the run's ``tokens/`` cache) or on freshly made
synthetic training scenes. Then whistles: the LM continues 32 prompts of 2 s (held-out scenes)
by 4 s; the whistle tracker (:func:`dolphin.detect.track_whistles`) runs on the generated audio
and on the real continuation passed through the codec; the share of clips where it recognises a
whistle, and the ratio of whistle rates (generated / real), say whether the LM produces whistles
the detector takes for whistles (32 clips: 8 ranked the second and third LM stages the wrong
way round, 0.68 against 0.57, where 32 give 0.75 against 0.84). Last, 4 prompts are continued
by 30 s (far past the LM's training window: generation moves on in windows) and the whistle
rate of each 10 s is compared with the real continuation's, to see whether long continuations
keep whistling.

    python benchmarks/lm.py [--lm PATH] [--codec default|PATH] [--quick] [--out PATH]

Results go to ``benchmarks/results/lm.json``; use ``--out`` for smoke runs.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from dolphin.errors import DolphinError
from dolphin.lm import (
    NextFramePredictor,
    SoundLM,
    context_frames,
    generate,
    lm_preset,
    score_codes,
)
from dolphin.lm.ngram import CodebookNGrams
from dolphin.synth.scene import SceneConfig, make_scene
from dolphin.train.loop import TrainConfig, autocast

#: Issue targets: generation >= 1x real time on 2 CPU threads; LM bits/token <= 0.8x the best
#: n-gram baseline's.
TARGETS = {"generate_x_realtime_2threads": 1.0, "bits_ratio_to_best_ngram": 0.8}
HELDOUT_SEED0 = 20_000  # held-out scene seeds (population 0)
TRAIN_SEED0 = 30_000  # baseline training scenes (training populations)
WHISTLY = dict(whistle_rate_per_min=20.0, sigwi_whistle_rate_per_min=20.0)  # prompts with whistles


def checks(result: dict) -> dict:
    """The measured values the targets apply to (None when not measured).

    Generation speed is the best of float32 and int8 weights on 2 threads; the bits ratio is the
    LM's bits per token over the lowest of the n-gram baselines' (unigram, KN 2- and 3-gram).
    """
    gen = result["speed"]["generate"]
    speeds = [gen[key]["x_real_time"] for key in ("fp32/2", "int8/2") if key in gen]
    rows = result.get("quality", {}).get("rows", {})
    best = min(
        (rows[n]["bits_per_token"] for n in ("unigram", "kn2", "kn3") if n in rows), default=None
    )
    ratio = rows["lm"]["bits_per_token"] / best if best and "lm" in rows else None
    return {
        "generate_x_realtime_2threads": max(speeds) if speeds else None,
        "bits_ratio_to_best_ngram": ratio,
    }


def _fmt(value: float | None, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)


def speed(preset: str, k: int, n: int, frame_rate: float, threads: list[int], quick: bool) -> dict:
    """Training tokens/s and generation / streaming frames/s of a random-init preset."""
    torch.manual_seed(0)
    cfg = lm_preset(preset, n_codebooks=k, codebook_size=n, frame_rate_hz=frame_rate)
    lm = SoundLM(cfg)
    out: dict = {"preset": preset, "parameters": lm.num_parameters, "train": {}, "generate": {}}
    torch.set_num_threads(max(threads))
    batch, frames, steps = (2, 128, 2) if quick else (4, 256, 4)
    out["train"]["cpu"] = _train_speed(lm, batch, frames, steps, k, n)
    out["train"]["cpu"]["threads"] = max(threads)
    out["train"]["cpu_bf16"] = _train_speed(lm, batch, frames, steps, k, n, bf16=True)
    out["train"]["cpu_bf16"]["threads"] = max(threads)
    if torch.cuda.is_available():
        gpu = SoundLM(cfg).cuda()
        out["train"]["cuda"] = _train_speed(gpu, 16, 512, 10, k, n)
        del gpu
    lm.eval()
    n_frames = 100 if quick else 300
    variants = {"fp32": lm, "int8": _int8(lm)}
    for n_threads in threads:
        torch.set_num_threads(n_threads)
        for kind, model in variants.items():
            if model is not None:
                row = _generation_speed(model, n_frames, frame_rate, stream=kind == "fp32")
                out["generate"][f"{kind}/{n_threads}"] = row
    return out


def _int8(lm: SoundLM) -> SoundLM | None:
    """Linear layers dynamically quantised to int8 (CPU inference; None when unavailable)."""
    import copy
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.ao.quantization.quantize_dynamic(
                copy.deepcopy(lm), {torch.nn.Linear}, dtype=torch.qint8
            )
    except (AttributeError, RuntimeError):
        return None


def _generation_speed(lm: SoundLM, n_frames: int, frame_rate: float, *, stream: bool) -> dict:
    generate(lm, 10, seed=0)  # warm-up
    cpu = time.process_time()
    result = generate(lm, n_frames, seed=0, top_k=250)
    cpu = time.process_time() - cpu  # CPU seconds: wall time on a shared machine is noisy
    gen_fps = n_frames / result.elapsed_s
    row = {
        "frames_per_s": gen_fps,
        "x_real_time": gen_fps / frame_rate,
        "cpu_ms_per_frame": 1000 * cpu / n_frames,  # all threads together
    }
    if stream:
        predictor = NextFramePredictor(lm)
        codes = result.codes[0]
        with predictor.streaming():
            tick = time.perf_counter()
            for t in range(codes.shape[-1]):
                predictor.push(codes[:, t])
            stream_fps = codes.shape[-1] / (time.perf_counter() - tick)
        row.update(stream_frames_per_s=stream_fps, stream_x_real_time=stream_fps / frame_rate)
    return row


def _train_speed(
    lm: SoundLM, batch: int, frames: int, steps: int, k: int, n: int, *, bf16: bool = False
) -> dict:
    """Training tokens/s; bf16 autocast on CUDA always, on a CPU when ``bf16``
    (``train.precision=bf16``)."""
    device = next(lm.parameters()).device
    lm.train()
    opt = torch.optim.AdamW(lm.parameters(), lr=1e-4)
    codes = torch.randint(0, n, (batch, k, frames), device=device)

    def step() -> None:
        with autocast(TrainConfig(precision="bf16" if bf16 else "auto"), device):
            loss = lm.compute_loss(codes).loss
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    tick = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - tick
    return {"tokens_per_s": batch * k * frames * steps / elapsed, "batch": batch, "frames": frames}


def _scene(sr: int, seconds: float, seed: int, population: int, **rates: float) -> np.ndarray:
    cfg = replace(SceneConfig(), sample_rate=sr, duration_s=seconds, population_seed=population)
    return make_scene(replace(cfg, **rates), seed=seed).samples[0]


def _encode(codec, x: np.ndarray, n_q: int) -> torch.Tensor:
    return codec.encode(torch.from_numpy(x)[None, None], n_q=n_q)[0]  # [n_q, T]


def quality(lm: SoundLM, codec, args: argparse.Namespace) -> dict:
    """Bits per token of the LM and the baselines on held-out scenes."""
    from dolphin.codec.tokens import load_tokens

    sr, q = codec.sample_rate, args.quick
    n_test, test_s = (3, 10.0) if q else (8, 30.0)
    heldout = [
        _encode(codec, _scene(sr, test_s, HELDOUT_SEED0 + i, 0), lm.n_codebooks)
        for i in range(n_test)
    ]
    if args.train_tokens:
        files = sorted(Path(args.train_tokens).rglob("*.tokens"))
        train = [load_tokens(f) for f in files]
        k = lm.n_codebooks
        train = [t.codes[:k] for t in train if t.codec_hash == codec.identity_hash() and t.n_q >= k]
        source = f"{len(train)} token files under {args.train_tokens}"
    else:
        n_train, train_s = (4, 20.0) if q else (32, 30.0)
        train = [
            _encode(codec, _scene(sr, train_s, TRAIN_SEED0 + i, 1000 + i % 16), lm.n_codebooks)
            for i in range(n_train)
        ]
        source = f"{n_train} synthetic scenes of {train_s:g} s"
    if not train:
        raise SystemExit("no baseline training tokens made by this codec")
    k, n = lm.n_codebooks, lm.codebook_size
    rows: dict[str, dict] = {}
    codes = torch.nn.utils.rnn.pad_sequence(
        [h.T for h in heldout], batch_first=True, padding_value=-1
    ).transpose(1, 2)  # [B, K, T], -1 beyond each scene's end
    window = context_frames(lm)  # the training window, overlapping by half (score_codes)
    scores = score_codes(lm, codes, window=window)
    rows["lm"] = {"bits_per_token": scores.bits_per_token, "by_codebook": scores.bits_by_codebook}
    train_np = [t.numpy() for t in train]
    test_np = [h.numpy() for h in heldout]
    for name, order in (("unigram", 1), ("kn2", 2), ("kn3", 3)):
        s = CodebookNGrams(k, n, order=order).fit(train_np).score(test_np)
        rows[name] = {"bits_per_token": s.bits_per_token, "by_codebook": s.bits_by_codebook}
    rows["uniform"] = {"bits_per_token": math.log2(n), "by_codebook": [math.log2(n)] * k}
    for row in rows.values():
        row["bits_per_s"] = row["bits_per_token"] * k * codec.frame_rate
    print(
        f"\nbits per token, {n_test} held-out scenes x {test_s:g} s (baselines fitted on {source};"
        f" LM windows of {window} frames overlapping by half)"
    )
    print(f"{'model':<10}{'bits/token':>12}{'bits/s':>10}  per codebook")
    for name, row in rows.items():
        per = " ".join(f"{b:.2f}" for b in row["by_codebook"])
        print(f"{name:<10}{row['bits_per_token']:>12.3f}{row['bits_per_s']:>10.0f}  {per}")
    return {
        "heldout": f"{n_test} x {test_s:g} s",
        "baseline_data": source,
        "lm_window_frames": window,
        "rows": rows,
    }


def _continuation(
    lm: SoundLM,
    codec,
    args: argparse.Namespace,
    scene: int,
    prompt_s: float,
    new_s: float,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The LM's continuation of a held-out whistling scene's first ``prompt_s`` seconds, and
    the real continuation, both decoded by the codec: two ``[new_s x rate]`` arrays."""
    x = _scene(codec.sample_rate, prompt_s + new_s, HELDOUT_SEED0 + scene, 0, **WHISTLY)
    codes = _encode(codec, x, lm.n_codebooks)[None]
    n_prompt = int(round(prompt_s * codec.frame_rate))
    out = generate(
        lm,
        codes.shape[-1] - n_prompt,
        prompt=codes[..., :n_prompt],
        temperature=args.temperature,
        top_k=args.top_k,
        seed=seed,
    )
    start = n_prompt * codec.hop_length
    return codec.decode(out.codes)[0, 0, start:].numpy(), codec.decode(codes)[0, 0, start:].numpy()


def whistles(lm: SoundLM, codec, args: argparse.Namespace) -> dict:
    """Whistles the tracker finds in generated continuations vs the real continuations."""
    from dolphin.detect.contours import track_whistles

    sr, n_clips = codec.sample_rate, 3 if args.quick else 32
    prompt_s, new_s = 2.0, 4.0
    gen_count = ref_count = gen_clips = ref_clips = 0
    for i in range(n_clips):
        generated, reference = _continuation(lm, codec, args, 500 + i, prompt_s, new_s, seed=i)
        g = len(track_whistles(generated, sample_rate=sr))
        r = len(track_whistles(reference, sample_rate=sr))
        gen_count, ref_count = gen_count + g, ref_count + r
        gen_clips, ref_clips = gen_clips + (g > 0), ref_clips + (r > 0)
    seconds = n_clips * new_s
    result = {
        "clips": n_clips,
        "seconds_generated": seconds,
        "generated_whistles_per_s": gen_count / seconds,
        "reference_whistles_per_s": ref_count / seconds,
        "whistle_rate_ratio": gen_count / ref_count if ref_count else None,
        "generated_clips_with_whistle": gen_clips / n_clips,
        "reference_clips_with_whistle": ref_clips / n_clips,
    }
    print(f"\nwhistles in {n_clips} continuations of {new_s:g} s (tracker on decoded audio)")
    print(f"{'':<12}{'whistles/s':>12}{'clips with one':>16}")
    print(
        f"{'generated':<12}{result['generated_whistles_per_s']:>12.2f}{gen_clips / n_clips:>16.2f}"
    )
    print(
        f"{'reference':<12}{result['reference_whistles_per_s']:>12.2f}{ref_clips / n_clips:>16.2f}"
    )
    print(f"generated / reference whistle rate: {_fmt(result['whistle_rate_ratio'], '.2f')}")
    result["long"] = _long_whistles(lm, codec, args)
    return result


def _long_whistles(lm: SoundLM, codec, args: argparse.Namespace) -> dict:
    """Whistles per second in each 10 s of 30 s continuations (past the LM's window, generation
    moves on in windows): does the LM keep making whistles, or drift into noise or silence?"""
    from dolphin.detect.contours import track_whistles

    sr, n_clips, prompt_s, new_s, part_s = codec.sample_rate, 1 if args.quick else 4, 2.0, 30.0, 10
    n_parts = int(new_s // part_s)
    gen, ref = np.zeros(n_parts), np.zeros(n_parts)
    part = part_s * sr
    for i in range(n_clips):
        generated, reference = _continuation(
            lm, codec, args, 600 + i, prompt_s, new_s, seed=1000 + i
        )
        for j in range(n_parts):
            gen[j] += len(track_whistles(generated[j * part : (j + 1) * part], sample_rate=sr))
            ref[j] += len(track_whistles(reference[j * part : (j + 1) * part], sample_rate=sr))
    seconds = n_clips * part_s
    result = {
        "clips": n_clips,
        "seconds_per_clip": new_s,
        "window_frames": context_frames(lm),
        "generated_whistles_per_s": (gen / seconds).tolist(),
        "reference_whistles_per_s": (ref / seconds).tolist(),
    }
    print(f"\nwhistles/s in each {part_s} s of {n_clips} continuations of {new_s:g} s")
    print(
        f"{'':<12}" + "".join(f"{f'{j * part_s}-{(j + 1) * part_s} s':>12}" for j in range(n_parts))
    )
    for name, counts in (("generated", gen), ("reference", ref)):
        print(f"{name:<12}" + "".join(f"{c / seconds:>12.2f}" for c in counts))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--lm", help="trained LM folder (run_dir/model); quality is skipped without"
    )
    parser.add_argument(
        "--codec", help="codec: name or folder (default: codec/ beside --lm, else default)"
    )
    parser.add_argument("--preset", default="small", help="preset timed for speed (default small)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="CPU threads timed")
    parser.add_argument("--train-tokens", help="token files to fit the baselines on")
    parser.add_argument("--temperature", type=float, default=1.0, help="sampling temperature")
    parser.add_argument("--top-k", type=int, default=0, help="sampling top-k (0 = all)")
    parser.add_argument("--quick", action="store_true", help="a few minutes on 2 CPU cores")
    parser.add_argument("--out", default="benchmarks/results/lm.json")
    args = parser.parse_args()
    t_start = time.perf_counter()

    from dolphin.codec import Codec

    lm, codec = None, None
    try:
        if args.lm:
            lm = SoundLM.from_pretrained(args.lm)
            beside = Path(args.lm).resolve().parent / "codec"
            ref = args.codec or (str(beside) if (beside / "config.json").is_file() else "default")
            codec = Codec.from_pretrained(ref)
            lm.check_codec(codec)
        elif args.codec:
            codec = Codec.from_pretrained(args.codec)
    except DolphinError as err:
        raise SystemExit(f"benchmarks/lm.py: {err}") from None
    k, n, rate = (
        (codec.n_q, codec.config.codebook_size, codec.frame_rate) if codec else (8, 1024, 100.0)
    )
    k = lm.n_codebooks if lm is not None else k  # an LM may model the first codebooks only
    print(f"speed: {args.preset} preset, random init, {k} x {n} codes at {rate:g} frames/s")
    result: dict = {
        "benchmark": "lm",
        "lm": args.lm,
        "codec_hash": codec.identity_hash() if codec else None,
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "cpus": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        },
        "speed": speed(args.preset, k, n, rate, args.threads, args.quick),
    }
    sp = result["speed"]
    print(f"parameters: {sp['parameters'] / 1e6:.1f} M")
    for device, row in sp["train"].items():
        print(
            f"training on {device}: {row['tokens_per_s']:.0f} tokens/s (batch {row['batch']} x {row['frames']} frames)"
        )
    print(
        f"{'weights/threads':<16}{'gen frames/s':>13}{'x real time':>12}{'CPU ms/frame':>13}"
        f"{'stream frames/s':>16}{'x real time':>12}"
    )
    for key, row in sp["generate"].items():
        print(
            f"{key:<16}{row['frames_per_s']:>13.1f}{row['x_real_time']:>12.2f}"
            f"{row['cpu_ms_per_frame']:>13.1f}{_fmt(row.get('stream_frames_per_s'), '.1f'):>16}"
            f"{_fmt(row.get('stream_x_real_time'), '.2f'):>12}"
        )
    if lm is None:
        print("\nbits/token and whistle sections skipped: no trained LM given (--lm PATH)")
        result["quality"] = result["whistles"] = {"skipped": "no trained LM given (--lm)"}
    else:
        torch.set_num_threads(max(args.threads))
        with torch.inference_mode():
            result["quality"] = quality(lm, codec, args)
            result["whistles"] = whistles(lm, codec, args)
    result["targets"] = TARGETS
    result["checks"] = checks(result)
    for name, value in result["checks"].items():  # 4 places: the bits ratio sits near its target
        print(f"{name}: {_fmt(value, '.4f')} (target {TARGETS[name]})")
    result["seconds"] = time.perf_counter() - t_start
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\n{result['seconds']:.0f} s; wrote {out}")


if __name__ == "__main__":
    main()
