"""The shipped SIGWI subset and its builder."""

from __future__ import annotations

import collections
import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from dolphin.errors import AnnotationError
from dolphin.synth.sigwi import (
    DEFAULT_PATH,
    REFERENCES_PATH,
    build_sigwi_references,
    build_sigwi_subset,
    load_sigwi_contours,
    load_sigwi_references,
    read_sigwi_checkout,
)


def test_shipped_subset_loads_with_real_types():
    contours = load_sigwi_contours()
    assert 250 <= len(contours) <= 400
    counts = collections.Counter(c.category for c in contours)
    assert sum(1 for cat, n in counts.items() if cat != 0 and n >= 3) >= 5
    assert counts[0] >= 100
    for c in contours:
        t, f = c.contour.times_s, c.contour.freqs_hz
        assert t[0] == 0.0 and np.all(np.diff(t) > 0) and c.contour.duration_s >= 0.1
        assert 1500 <= f.min() and f.max() <= 35000


def test_shipped_files_carry_licence_and_stay_small():
    data = DEFAULT_PATH.parent
    assert DEFAULT_PATH.stat().st_size < 300_000
    assert REFERENCES_PATH.stat().st_size < 300_000
    assert "MIT License" in (data / "SIGWI_LICENSE").read_text(encoding="utf-8")
    assert "88ac4d916f72d9442be97b4e3a91bd25a237d511" in (data / "SIGWI_SOURCE.md").read_text(
        encoding="utf-8"
    )


def _fake_sigwi(root: Path) -> None:
    """A miniature SIGWI checkout: 3 types of 6 members, 10 unclustered, 2 degenerate."""
    (root / "resources/DF-whistles").mkdir(parents=True)
    (root / "resources/dtw_resources").mkdir(parents=True)
    rows, lines = [",start_dt,category"], []
    for wid in range(30):
        cat = wid // 6 + 1 if wid < 18 else 0
        n = 3 if wid >= 28 else 40  # the last two are too short
        t = 12.5 + np.arange(n) * 0.01
        f = 8000 + 100 * wid + 3000 * np.sin(np.arange(n) / 7)
        lines.append(json.dumps({"whistle_ID": wid, "time": t.tolist(), "frequency": f.tolist()}))
        rows.append(f"{wid}.json,2020-07-11,{cat}")
    with gzip.open(root / "resources/DF-whistles/contours.jsonl.gz", "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    (root / "resources/dtw_resources/contours_with_category.csv").write_text("\n".join(rows) + "\n")


def test_builder_selects_rezeroes_and_is_reproducible(tmp_path: Path):
    _fake_sigwi(tmp_path / "src")
    a = build_sigwi_subset(tmp_path / "src", tmp_path / "a.jsonl.gz", n=20, n_categories=2)
    b = build_sigwi_subset(tmp_path / "src", tmp_path / "b.jsonl.gz", n=20, n_categories=2)
    assert a.read_bytes() == b.read_bytes()
    subset = load_sigwi_contours(a)
    counts = collections.Counter(c.category for c in subset)
    assert len(subset) == 20 and counts[0] == 8 and len(counts) == 3
    assert all(c.id < 28 for c in subset)  # degenerate ones dropped
    assert all(c.contour.times_s[0] == 0 and c.contour.freqs_hz.dtype == float for c in subset)
    assert all(np.all(c.contour.freqs_hz == np.round(c.contour.freqs_hz)) for c in subset)


def test_checkout_reader_keeps_every_usable_contour(tmp_path: Path):
    _fake_sigwi(tmp_path / "src")
    contours = read_sigwi_checkout(tmp_path / "src")
    assert [c.id for c in contours] == list(range(28))
    assert all(c.contour.times_s[0] == 0 for c in contours)
    with pytest.raises(AnnotationError, match="checkout file not found"):
        read_sigwi_checkout(tmp_path / "nowhere")


def test_shipped_references_are_disjoint_from_the_subset():
    references = load_sigwi_references()
    assert len(references) == 1500
    assert not {r.id for r in references} & {r.id for r in load_sigwi_contours()}


def test_references_builder_leaves_out_the_excluded_file(tmp_path: Path):
    _fake_sigwi(tmp_path / "src")
    subset = build_sigwi_subset(tmp_path / "src", tmp_path / "a.jsonl.gz", n=10, n_categories=1)
    refs = build_sigwi_references(tmp_path / "src", tmp_path / "r.jsonl.gz", n=12, exclude=subset)
    ids = [r.id for r in load_sigwi_contours(refs)]
    assert len(ids) == 12 and ids == sorted(ids)
    assert not set(ids) & {r.id for r in load_sigwi_contours(subset)}


def test_load_errors(tmp_path: Path):
    with pytest.raises(AnnotationError, match="not found"):
        load_sigwi_contours(tmp_path / "missing.jsonl.gz")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "time": [0, 0.01]}\n')
    with pytest.raises(AnnotationError, match="line 1"):
        load_sigwi_contours(bad)
