"""Collect the benchmark results into Markdown tables: ``docs/benchmarks.md``.

Reads ``benchmarks/results/<name>.json`` (written by ``benchmarks/<name>.py``) and writes one
section per benchmark: the key numbers as Markdown tables, the targets where the issue set them
(the JSON's ``targets``, else the ``TARGETS`` dict of the script), the machine fields and the
date the results file was written. It prints the same text. A missing file or one of an
unexpected shape does not stop it: its section says so and the others are still written.

    python benchmarks/tables.py [--results benchmarks/results] [--out docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLASSES = ("whistle", "burst_pulse", "click_train", "buzz")


@dataclass
class Table:
    """One Markdown table with an optional caption line above it."""

    caption: str
    header: list[str]
    rows: list[list[str]]

    def markdown(self) -> str:
        lines = [self.caption, ""] if self.caption else []
        lines.append("| " + " | ".join(self.header) + " |")
        lines.append("|" + "---|" * len(self.header))
        lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in self.rows]
        return "\n".join(lines)


@dataclass
class Section:
    """What one benchmark contributes: tables and free-text notes."""

    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --- formatting ---------------------------------------------------------------------------------


def num(value: object, fmt: str = ".3f") -> str:
    """``value`` formatted, or an em dash for None / NaN / non-numbers."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float) and math.isfinite(value):
        return format(value, fmt)
    return "—"


def met(value: object, target: float | None, *, higher: bool = True) -> str:
    """``yes`` / ``no`` for a measured value against a target (``—`` when either is missing)."""
    if target is None or not isinstance(value, int | float) or not math.isfinite(value):
        return "—"
    return "yes" if (value >= target if higher else value <= target) else "no"


def script_targets(script: Path) -> dict:
    """The literal ``TARGETS = {...}`` of a benchmark script, without importing it."""
    try:
        tree = ast.parse(script.read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "TARGETS" for t in node.targets
        ):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                return {}
            return value if isinstance(value, dict) else {}
    return {}


def machine_text(data: dict) -> str:
    """The machine fields of a result (``machine``, ``platform``, ``python``), as one line."""
    parts = []
    machine = data.get("machine")
    if isinstance(machine, dict):
        parts += [f"{k} {v}" for k, v in machine.items() if v is not None]
    elif machine:
        parts.append(str(machine))
    for key in ("platform", "python"):
        if data.get(key) and not (isinstance(machine, dict) and key in machine):
            parts.append(f"{key} {data[key]}")
    return ", ".join(parts) or "not recorded"


def _commit_time(path: Path) -> datetime | None:
    """When git last committed ``path``, if the file is tracked and unchanged since; else None."""

    def git(*args: str) -> str:
        try:
            run = subprocess.run(
                ["git", *args], cwd=path.parent, capture_output=True, text=True, check=False
            )
        except OSError:  # no git on this machine
            return ""
        return run.stdout.strip() if run.returncode == 0 else ""

    if not git("ls-files", "--", path.name) or git("status", "--porcelain", "--", path.name):
        return None
    stamp = git("log", "-1", "--format=%cI", "--", path.name)
    return datetime.fromisoformat(stamp).astimezone(timezone.utc) if stamp else None


def date_text(data: dict, path: Path) -> str:
    """The result's own date field, else its git commit time when unchanged, else its mtime (UTC).

    A fresh checkout gives every file the checkout's mtime, hence the commit time first.
    """
    for key in ("date", "timestamp", "created", "time"):
        if isinstance(data.get(key), str):
            return data[key]
    committed = _commit_time(path)
    if committed is not None:
        return f"{committed:%Y-%m-%d %H:%M} UTC (committed)"
    stamp = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
    return f"{stamp:%Y-%m-%d %H:%M} UTC (file written)"


# --- one function per benchmark -----------------------------------------------------------------


def io_synth(d: dict, targets: dict) -> Section:
    reads = Table(
        "Streaming read of 96 kHz 24-bit WAV (medians; each read in a fresh process):",
        ["file", "size (MB)", "read speed (x real time)", "peak RSS (MB)", "allocations (MB)"],
        [
            [
                r["file"],
                num(r["bytes"] / 1e6, ".0f"),
                num(r["x_realtime_median"], ".0f"),
                num(r["peak_rss_mb_median"], ".1f"),
                num(r["traced_peak_mb_median"], ".1f"),
            ]
            for r in d["reads"]
        ],
    )
    ratio = d.get("peak_rss_ratio_long_over_short")
    summary = Table(
        "",
        ["metric", "value", "target"],
        [
            ["peak RSS, long / short file", num(ratio, ".3f"), "about 1 (memory flat in length)"],
            ["block-by-block write (x real time)", num(d.get("write_x_realtime"), ".0f"), "—"],
            [
                "`make_scene`, 1 min at 96 kHz (x real time)",
                num(d.get("synthesis_x_realtime_median"), ".1f"),
                "—",
            ],
        ],
    )
    return Section([reads, summary])


def codec_learning(d: dict, targets: dict) -> Section:
    rows = []
    for background, history in d["results"].items():
        first, last = history[0], history[-1]
        rows.append(
            [
                background,
                num(first["peak_error_hz"], ".0f"),
                num(last["peak_error_hz"], ".0f"),
                num(last["level_db"], ".1f"),
            ]
        )
    steps = num(d.get("steps"), "d")
    table = Table(
        f"A fresh default codec trained {steps} steps on random chirps over each background "
        f"(tonal loss {'on' if d.get('tonal_loss', False) else 'off'}); scored on frames where "
        "the chirp stands 10 dB out:",
        ["background", "peak error at start (Hz)", f"peak error at step {steps} (Hz)",
         "chirp level (dB)"],
        rows,
    )  # fmt: skip
    notes = [d["note"]] if isinstance(d.get("note"), str) else []
    return Section([table], notes)


def codec_speed(d: dict, targets: dict) -> Section:
    cfg = d.get("config", {})
    head = Table(
        "Default codec architecture, random weights (speed does not depend on training):",
        ["parameters", "sample rate", "bitrate (bps)", "algorithmic latency (ms)"],
        [
            [
                num(d.get("parameters"), ",d"),
                num(cfg.get("sample_rate"), "d"),
                num(d.get("bitrate_bps"), ".0f"),
                num(d.get("algorithmic_latency_ms"), ".1f"),
            ]
        ],
    )
    rows = [
        [
            threads,
            num(r["encode_x_realtime"], ".1f"),
            num(r["decode_x_realtime"], ".1f"),
            num(r["encode_decode_x_realtime"], ".1f"),
            num(r["streaming_x_realtime"], ".1f"),
            num(r.get("streamed_codes_identical")),
        ]
        for threads, r in d["threads"].items()
    ]
    speed = Table(
        f"Speed in multiples of real time on {num(d.get('audio_seconds'), 'g')} s of audio "
        f"(streaming: {num(d.get('chunk_ms'), 'g')} ms chunks):",
        ["CPU threads", "encode", "decode", "encode + decode", "streaming", "streamed == offline"],
        rows,
    )
    return Section([head, speed])


def codec(d: dict, targets: dict) -> Section:
    header = [
        "system",
        "n_q",
        "bitrate (bps)",
        "SI-SNR (dB)",
        "spectral dist. (dB)",
        "whistle error (%)",
        "whistle recall",
        "click error (%)",
        "clicks matched",
    ]

    def rows_of(rows: dict) -> list[list[str]]:
        return [
            [
                r["system"],
                num(r.get("n_q"), "d"),
                num(r.get("bitrate_bps"), ".0f"),
                num(r.get("si_snr_db"), ".1f"),
                num(r.get("spectral_distance_db"), ".2f"),
                num(r.get("whistle_error_pct"), ".2f"),
                num(r.get("whistle_recall"), ".2f"),
                num(r.get("click_error_pct"), ".2f"),
                num(r.get("click_matched"), ".2f"),
            ]
            for r in rows.values()
        ]

    section = Section()
    section.notes.append(f"Model `{d.get('model')}` (codec hash `{d.get('codec_hash')}`).")
    for level, rows in d["synthetic"].items():
        section.tables.append(Table(f"Synthetic scenes, {level}:", header, rows_of(rows)))
    if "recording_like" in d:
        caption = (
            "Recording-like synthetic scenes (background slope 3, low-passed at 22.05 kHz, 10 dB; "
            "references found on the original):"
        )
        section.tables.append(Table(caption, header, rows_of(d["recording_like"])))
    if "calls" in d:
        caption = (
            "Calls: pulsed calls and short, low whistles over a background, 10-30 dB "
            "(references found on the original):"
        )
        section.tables.append(Table(caption, header, rows_of(d["calls"])))
    real = d.get("real", {})
    if "rows" in real:
        caption = f"Real recordings ({len(real.get('files', []))} clips):"
        section.tables.append(Table(caption, header, rows_of(real["rows"])))
    elif "skipped" in real:
        section.notes.append(f"Real recordings skipped: {real['skipped']}.")
    whistle = d.get("real_whistle")
    if whistle:
        fields = (
            ("error_hz", ".0f"),
            ("error_pct", ".2f"),
            ("within_350hz", ".2f"),
            ("frames", "d"),
        )
        rows = [[name, *(num(r[k], f) for k, f in fields)] for name, r in whistle["rows"].items()]
        caption = (
            f"The real dolphin whistle (`{whistle['file']}`): frame-wise peak frequency in its "
            "span and band, frames >= 20 dB above the band median in the original:"
        )
        header = ["system / n_q", "error (Hz)", "error (%)", "frames within 350 Hz", "frames"]
        section.tables.append(Table(caption, header, rows))
    return section


def detect_sp(d: dict, targets: dict) -> Section:
    rows = []
    for level in d["levels"]:
        c, e = level["contours"], level["events"]
        rows.append(
            [
                num(level["snr_db"], "g"),
                num(c["precision"]),
                num(c["recall"]),
                num(c["f1"]),
                num(c.get("deviation_hz"), ".0f"),
                *[num(e[k]["f1"]) for k in CLASSES],
                num(level.get("x_realtime", {}).get("all"), ".0f"),
            ]
        )
    table = Table(
        f"Signal-processing detectors on {len(d.get('seeds', []))} held-out synthetic scenes "
        f"of {num(d.get('scene_duration_s'), 'g')} s per SNR at {num(d.get('sample_rate'), 'd')} Hz "
        "(events matched at temporal IoU >= 0.3; contours as silbido scores them):",
        [
            "SNR (dB)",
            "contour P",
            "contour R",
            "contour F1",
            "deviation (Hz)",
            *[f"{k} F1" for k in CLASSES],
            "x real time",
        ],
        rows,
    )
    section = Section([table])
    overall = d.get("x_realtime_overall")
    if overall is not None:
        section.notes.append(f"Whole chain over all levels: {num(overall, '.0f')}x real time.")
    return section


def detect(d: dict, targets: dict) -> Section:
    rows = []
    for level in d["levels"]:
        for system, name in (("sp", "SP"), ("sp_cnn", "SP+CNN")):
            r = level[system]
            rows.append(
                [
                    num(level["snr_db"], "g"),
                    name,
                    *[num(r["events"][k]["f1"]) for k in CLASSES],
                    num(r["macro_f1"]),
                    num(r["contours"]["f1"]),
                ]
            )
    per_snr = Table(
        f"Event F1 per class on {len(d.get('seeds', []))} held-out synthetic scenes of "
        f"{num(d.get('scene_duration_s'), 'g')} s per SNR at {num(d.get('sample_rate'), 'd')} Hz, "
        f"classifier `{d.get('classifier')}`:",
        ["SNR (dB)", "system", *CLASSES, "4-class macro F1", "contour F1"],
        rows,
    )
    by_snr = {float(level["snr_db"]): level["sp_cnn"] for level in d["levels"]}
    best = by_snr[max(by_snr)]
    check = []
    if "contour_f1" in targets:
        worst = min(level["contours"]["f1"] for level in by_snr.values())
        check.append(
            ["contour F1 (SP+CNN, lowest over SNRs)", num(worst), f">= {targets['contour_f1']}",
             met(worst, targets["contour_f1"])]
        )  # fmt: skip
    if "macro_f1" in targets:
        value = best["macro_f1"]
        check.append(
            [f"macro F1 (SP+CNN, {max(by_snr):g} dB)", num(value), f">= {targets['macro_f1']}",
             met(value, targets["macro_f1"])]
        )  # fmt: skip
    if "macro_f1_5db" in targets and 5.0 in by_snr:
        value = by_snr[5.0]["macro_f1"]
        check.append(
            ["macro F1 (SP+CNN, 5 dB)", num(value), f">= {targets['macro_f1_5db']}",
             met(value, targets["macro_f1_5db"])]
        )  # fmt: skip
    speed = d.get("speed", {}).get("x_realtime", {})
    for stage in ("sp", "cnn", "all"):
        if stage in speed:
            target = targets.get("x_realtime") if stage == "all" else None
            check.append(
                [f"speed, {stage} (x real time, one core)", num(speed[stage], ".0f"),
                 f">= {target:g}" if target else "—", met(speed[stage], target)]
            )  # fmt: skip
    section = Section([per_snr, Table("", ["metric", "measured", "target", "met"], check)])
    if "x_realtime" in targets:
        section.notes.append(
            "The results do not say which stage the speed target is for; it is shown against the "
            "whole chain (SP + CNN), the strictest reading."
        )
    ari = d.get("clustering_ari")
    if isinstance(ari, dict):
        section.tables.append(
            Table(
                "Whistle-type clustering (from whistle_types.json):",
                ["data", "ARI", "ARI (clustered only)", "types"],
                [
                    [k, num(v.get("ari")), num(v.get("ari_clustered")), num(v.get("n_types"), "d")]
                    for k, v in ari.items()
                ],
            )
        )
    real = d.get("real")
    if isinstance(real, dict) and real.get("status") == "ok":
        section.notes.append(
            f"Real audio ({real.get('file')}; {real.get('note')}): "
            f"{real.get('sp_whistles_kept')} of {real.get('sp_whistles')} SP whistles kept by the CNN."
        )
    return section


def whistle_types(d: dict, targets: dict) -> Section:
    section = Section()
    for data in ("sigwi", "synthetic"):
        block = d.get(data)
        if not isinstance(block, dict):
            continue
        rows = []
        for method in ("dolphin", "plain-dtw", "artwarp"):
            r = block.get(method)
            if not isinstance(r, dict):
                continue
            rows.append(
                [
                    method,
                    num(r.get("ari")),
                    num(r.get("ari_clustered")),
                    num(r.get("coverage"), ".2f"),
                    num(r.get("n_types"), "d"),
                    num(r.get("seconds"), ".1f"),
                ]
            )
        caption = f"{data}: {block.get('n_contours')} contours, {block.get('n_true_types')} reference types:"
        header = ["method", "ARI", "ARI (clustered only)", "coverage", "types", "seconds"]
        section.tables.append(Table(caption, header, rows))
        sigid = block.get("sigid")
        if isinstance(sigid, dict):
            section.notes.append(
                f"SIGID bout rule on {data}: {sigid.get('dolphin_types')} dolphin types, "
                f"{sigid.get('sigwi_categories')} SIGWI categories flagged as signature types."
            )
    return section


def chat(d: dict, targets: dict) -> Section:
    recall_target = targets.get("recall_10db")
    rows = []
    for snr, r in d["per_snr"].items():
        m, b = r["matcher"], r["baseline"]
        target = f">= {recall_target}" if recall_target and float(snr) >= 10 else "—"
        rows.append(
            [
                num(float(snr), "g"),
                num(m["recall"]),
                num(m["precision"]),
                num(b["recall"]),
                num(b["precision"]),
                target,
            ]
        )
    per_snr = Table(
        "Imitations of a 6-entry vocabulary (whistled, partial, burst-pulse and click-train "
        "renditions) in ocean noise:",
        ["SNR (dB)", "recall", "precision", "baseline recall", "baseline precision",
         "recall target"],
        rows,
    )  # fmt: skip
    fa_target = targets.get("fa_per_hour")
    check = []
    recalls = [r["matcher"]["recall"] for s, r in d["per_snr"].items() if float(s) >= 10]
    if recalls and recall_target is not None:
        check.append(
            ["recall at >= 10 dB (lowest)", num(min(recalls)), f">= {recall_target}",
             met(min(recalls), recall_target)]
        )  # fmt: skip
    for key, name in (
        ("natural", "false alarms / h, natural whistles"),
        ("natural_real", "false alarms / h, natural whistles (full SIGWI)"),
        ("noise_only", "false alarms / h, noise only"),
        ("noise_only_long", "false alarms / h, long noise-only run"),
    ):
        block = d.get(key)
        if isinstance(block, dict) and isinstance(block.get("whistles"), dict):
            pulsed = block.get("pulsed")
            if isinstance(pulsed, dict) and "fa_matcher" in pulsed:
                check.append(
                    [f"false alarms, {pulsed.get('n_sounds')} natural pulsed sounds",
                     num(pulsed["fa_matcher"], "d"), "—", "—"]
                )  # fmt: skip
            block = block["whistles"]  # newer layout: whistles and pulsed sounds apart
        if isinstance(block, dict):
            value = block.get("fa_per_hour_matcher")
            check.append(
                [name, num(value, ".1f"), f"<= {fa_target:g}" if fa_target is not None else "—",
                 met(value, fa_target, higher=False)]
            )  # fmt: skip
    latency = d.get("latency", {})
    lat_target = targets.get("latency_p95_ms")
    value = latency.get("whistle_from_truth_end_p95_ms")
    check.append(
        ["whistle latency p95 (ms, from whistle end)", num(value, ".0f"),
         f"<= {lat_target:g}" if lat_target is not None else "—",
         met(value, lat_target, higher=False)]
    )  # fmt: skip
    if "pulsed_p95_s" in latency:
        check.append(
            ["pulsed latency p95 (ms)", num(latency["pulsed_p95_s"] * 1000, ".0f"), "—", "—"]
        )
    cpu = d.get("cpu_share_of_one_core", {})
    cpu_target = targets.get("cpu_96k")
    for rate, share in cpu.items():
        target = cpu_target if str(rate) == "96000" else None
        check.append(
            [f"CPU share of one core at {int(rate) // 1000} kHz", num(share, ".3f"),
             f"<= {target:g}" if target is not None else "—", met(share, target, higher=False)]
        )  # fmt: skip
    return Section([per_snr, Table("", ["metric", "measured", "target", "met"], check)])


def lm(d: dict, targets: dict) -> Section:
    sp = d["speed"]
    section = Section()
    section.notes.append(
        f"Speed of the `{sp.get('preset', 'small')}` preset, {num(sp.get('parameters', 0) / 1e6, '.1f')} M "
        "parameters, random init."
    )
    train = sp.get("train", {})
    if train:
        section.tables.append(
            Table(
                "Training throughput:",
                ["device", "tokens/s", "batch", "frames"],
                [
                    [
                        dev,
                        num(r.get("tokens_per_s"), ".0f"),
                        num(r.get("batch"), "d"),
                        num(r.get("frames"), "d"),
                    ]
                    for dev, r in train.items()
                ],
            )  # fmt: skip
        )
    section.tables.append(
        Table(
            "Generation (x real time > 1 keeps up with live audio):",
            [
                "weights / threads",
                "frames/s",
                "x real time",
                "CPU ms / frame",
                "streaming x real time",
            ],
            [
                [
                    key,
                    num(r.get("frames_per_s"), ".1f"),
                    num(r.get("x_real_time"), ".2f"),
                    num(r.get("cpu_ms_per_frame"), ".1f"),
                    num(r.get("stream_x_real_time"), ".2f"),
                ]
                for key, r in sp["generate"].items()
            ],
        )  # fmt: skip
    )
    quality = d.get("quality", {})
    if "rows" in quality:
        section.tables.append(
            Table(
                f"Bits per token on held-out scenes ({quality.get('heldout')}; baselines fitted on "
                f"{quality.get('baseline_data')}):",
                ["model", "bits / token", "bits / s"],
                [
                    [name, num(r.get("bits_per_token")), num(r.get("bits_per_s"), ".0f")]
                    for name, r in quality["rows"].items()
                ],
            )
        )
    elif "skipped" in quality:
        section.notes.append(f"Quality skipped: {quality['skipped']}.")
    measured = d.get("checks", {})
    if measured:
        rows = [
            [
                "generation, 2 threads (x real time, best of fp32 / int8)",
                num(measured.get("generate_x_realtime_2threads"), ".2f"),
                f">= {targets.get('generate_x_realtime_2threads', '—')}",
                met(measured.get("generate_x_realtime_2threads"), targets.get("generate_x_realtime_2threads")),
            ],
            [
                "LM bits / token over the best n-gram's",
                num(measured.get("bits_ratio_to_best_ngram"), ".4f"),
                f"<= {targets.get('bits_ratio_to_best_ngram', '—')}",
                met(measured.get("bits_ratio_to_best_ngram"), targets.get("bits_ratio_to_best_ngram"), higher=False),
            ],
        ]  # fmt: skip
        section.tables.append(Table("Targets:", ["metric", "measured", "target", "met"], rows))
    whistles = d.get("whistles", {})
    if "whistle_rate_ratio" in whistles:
        section.notes.append(
            f"Whistles in generated continuations / in the real ones: "
            f"{num(whistles['whistle_rate_ratio'], '.2f')} "
            f"(clips with a whistle: {num(whistles.get('generated_clips_with_whistle'), '.2f')} "
            f"generated, {num(whistles.get('reference_clips_with_whistle'), '.2f')} real)."
        )
    long = whistles.get("long", {})
    if long.get("generated_whistles_per_s"):
        gen, ref = long["generated_whistles_per_s"], long.get("reference_whistles_per_s", [])
        part = long.get("seconds_per_clip", 30) / len(gen)
        section.tables.append(
            Table(
                f"Whistles / s in each {part:g} s of {long.get('clips')} continuations of "
                f"{long.get('seconds_per_clip'):g} s (windows of {long.get('window_frames')} frames):",
                ["audio"] + [f"{j * part:g}-{(j + 1) * part:g} s" for j in range(len(gen))],
                [
                    ["generated"] + [num(v, ".2f") for v in gen],
                    ["real"] + [num(v, ".2f") for v in ref],
                ],
            )  # fmt: skip
        )
    return section


#: (results name, title, what the script measures, extractor), in the order of the page.
BENCHMARKS: list[tuple[str, str, str, Callable[[dict, dict], Section]]] = [
    ("io_synth", "Audio I/O and synthesis", "streaming reads, flat memory, synthesis speed", io_synth),
    ("codec_speed", "Codec speed", "encode / decode speed of the default codec architecture", codec_speed),
    ("codec_learning", "Codec learning check", "whether a fresh codec learns where a chirp is", codec_learning),
    ("codec", "Codec quality", "reconstruction quality against Opus at the same bitrate", codec),
    ("lm", "Sound-token LM", "LM speed, bits per token against n-gram baselines, generated whistles", lm),
    ("detect_sp", "Detectors (signal processing)", "whistle contours and pulsed events per SNR", detect_sp),
    ("detect", "Detection with the CNN second stage", "SP vs SP+CNN per SNR, speed", detect),
    ("whistle_types", "Whistle contour types", "clustering against SIGWI categories and synthetic types", whistle_types),
    ("chat", "CHAT mimic recognition", "recall, false alarms, latency, CPU", chat),
]  # fmt: skip


def render_one(name: str, title: str, what: str, extract, results: Path) -> str:
    """The Markdown section of one benchmark (never raises for bad or missing data)."""
    script = ROOT / "benchmarks" / f"{name}.py"
    path = results / f"{name}.json"
    lines = [f"## {title}", "", f"`python benchmarks/{name}.py`: {what}.", ""]
    if not path.is_file():
        lines.append(f"**No results yet**: `{path.name}` is missing; run the script to write it.")
        return "\n".join(lines)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        lines.append(f"**Unreadable results**: `{path.name}` is not valid JSON ({err}).")
        return "\n".join(lines)
    if not isinstance(data, dict):
        lines.append(
            f"**Unexpected shape**: `{path.name}` holds a {type(data).__name__}, not an object."
        )
        return "\n".join(lines)
    targets = (
        data.get("targets") if isinstance(data.get("targets"), dict) else script_targets(script)
    )
    lines.append(f"Results: `{path.name}`, {date_text(data, path)}; machine: {machine_text(data)}.")
    lines.append("")
    try:
        section = extract(data, targets)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as err:
        lines.append(
            f"**Unexpected shape**: `{path.name}` lacks what this page reads "
            f"({type(err).__name__}: {err}); the script may have changed its output."
        )
        return "\n".join(lines)
    for table in section.tables:
        lines += [table.markdown(), ""]
    for note in section.notes:  # one paragraph each
        lines += [note, ""]
    if targets:
        listed = ", ".join(f"`{k}` {v}" for k, v in targets.items())
        lines.append(f"Targets (from the issue): {listed}.")
    return "\n".join(lines).rstrip()


def render(results: Path) -> str:
    """The whole page."""
    parts = [
        "# Benchmark results",
        "",
        "Generated by `python benchmarks/tables.py` from `benchmarks/results/*.json`; do not edit "
        "by hand. Each script in `benchmarks/` prints its own, fuller table and writes the JSON. "
        "Figures were measured on a shared 2-core development machine unless the machine line "
        "says otherwise, so read speeds as lower bounds.",
    ]
    known = {name for name, *_ in BENCHMARKS}
    for name, title, what, extract in BENCHMARKS:
        parts += ["", render_one(name, title, what, extract, results)]
    others = sorted(p.stem for p in results.glob("*.json") if p.stem not in known)
    if others:
        parts += ["", "## Other results", "", "No table is defined for: " + ", ".join(
            f"`{o}.json`" for o in others) + "."]  # fmt: skip
    return "\n".join(parts) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()
    text = render(args.results)
    print(text, end="")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f".{args.out.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(args.out)
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
