"""Signature whistle catalogue: add, remove, match, JSON round trips, clear errors; contour files."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from dolphin.annotations import Contour
from dolphin.detect.catalogue import (
    CatalogueError,
    SignatureCatalogue,
    read_contour_jsonl,
)
from dolphin.errors import AnnotationError
from dolphin.synth.contours import make_population, random_contour, render_rendition


@pytest.fixture(scope="module")
def population():
    """Three synthetic animals with their own signature types."""
    return make_population(3, rng=np.random.default_rng(11), n_shared_types=0)


def renditions(individual, n: int, seed: int) -> list[Contour]:
    """``n`` renditions of an animal's signature whistle, shifted 4 % and stretched 15 %."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        c = render_rendition(individual.signature_type, rng=rng)
        out.append(
            Contour(
                20.0 + c.times_s * rng.uniform(0.87, 1.15), c.freqs_hz * rng.uniform(0.96, 1.04)
            )
        )
    return out


@pytest.fixture
def catalogue(population) -> SignatureCatalogue:
    cat = SignatureCatalogue()
    for k, individual in enumerate(population):
        cat.add(individual.individual_id, renditions(individual, 3, seed=k), note=f"animal {k}")
    return cat


def test_match_finds_the_right_animal_or_none(catalogue, population):
    for k, individual in enumerate(population):
        for contour in renditions(individual, 3, seed=100 + k):
            hit = catalogue.match(contour)
            assert hit is not None and hit.animal_id == individual.individual_id
            assert hit.distance < catalogue.threshold and 0 <= hit.exemplar < 3
    stranger = random_contour(rng=np.random.default_rng(5), shape="sine")
    assert catalogue.match(stranger) is None
    assert catalogue.match(stranger, threshold=1e9) is not None
    assert catalogue.distances([stranger]).shape == (1, 3)


def test_add_remove_list(catalogue, population):
    assert catalogue.animals() == ["ind01", "ind02", "ind03"] and len(catalogue) == 3
    entry = catalogue.add("ind01", renditions(population[0], 2, seed=9))
    assert len(entry.whistles) == 5 and entry.note == "animal 0"
    assert entry.whistles[0].times_s[0] == 0.0  # stored from time 0
    removed = catalogue.remove("ind02")
    assert removed.animal_id == "ind02" and "ind02" not in catalogue
    with pytest.raises(CatalogueError, match="no animal 'ind02'"):
        catalogue.remove("ind02")
    with pytest.raises(CatalogueError, match="no whistles"):
        catalogue.add("ind09", [])
    with pytest.raises(CatalogueError, match="unusable whistle"):
        catalogue.add("ind09", [Contour([0.0], [9000.0])])
    assert SignatureCatalogue().match(renditions(population[0], 1, seed=0)[0]) is None


def test_save_load_round_trip(catalogue, population, tmp_path):
    path = catalogue.save(tmp_path / "sub" / "catalogue.json")
    assert [p.name for p in path.parent.iterdir()] == ["catalogue.json"]  # no temporary left
    loaded = SignatureCatalogue.load(path)
    assert loaded.animals() == catalogue.animals() and loaded.threshold == catalogue.threshold
    assert loaded.dtw == catalogue.dtw and loaded["ind03"].note == "animal 2"
    probes = renditions(population[1], 2, seed=50)
    assert np.allclose(loaded.distances(probes), catalogue.distances(probes), atol=1e-4)
    assert loaded.to_dict() == catalogue.to_dict()


@pytest.mark.parametrize(
    "text, problem",
    [
        ("{not json", "not valid JSON"),
        ('{"format": "something-else"}', "not a signature catalogue"),
        (
            '{"format": "dolphin-signature-catalogue", "version": 99}',
            "unsupported catalogue version",
        ),
        (
            '{"format": "dolphin-signature-catalogue", "version": 1, "dtw": {"n_pts": 3}, "animals": {}}',
            "bad settings",
        ),
        (
            '{"format": "dolphin-signature-catalogue", "version": 1, "animals": {"a": {"whistles": [{"time": [0]}]}}}',
            "animal 'a': malformed entry",
        ),
    ],
)
def test_corrupt_files_raise_clear_errors(tmp_path, text, problem):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(CatalogueError, match=problem) as info:
        SignatureCatalogue.load(path)
    assert str(path) in str(info.value)


def test_missing_catalogue_file(tmp_path):
    with pytest.raises(CatalogueError, match="not found"):
        SignatureCatalogue.load(tmp_path / "none.json")


def test_read_contour_jsonl_plain_gzip_and_sigwi_ids(tmp_path):
    lines = [
        {"id": 3, "time": [0.0, 0.01, 0.02], "frequency": [9000, 9500, 10000]},
        {"whistle_ID": 8, "time": [1.0, 1.01], "frequency": [7000, 7100]},
    ]
    text = "\n".join(json.dumps(x) for x in lines) + "\n\n"
    plain = tmp_path / "c.jsonl"
    plain.write_text(text)
    packed = tmp_path / "c.jsonl.gz"
    with gzip.open(packed, "wt") as handle:
        handle.write(text)
    for path in (plain, packed):
        records = read_contour_jsonl(path)
        assert [r.id for r in records] == [3, 8] and len(records[0].contour) == 3


@pytest.mark.parametrize(
    "line, problem",
    [
        ("{oops", "line 2: not valid JSON"),
        ('{"id": 1, "time": [0, 0.1]}', "line 2: missing key"),
        ('{"id": 1, "time": [0, 0.1], "frequency": [9000]}', "line 2: bad time/frequency"),
        ('{"id": 1, "time": [0.1, 0.0], "frequency": [9000, 9100]}', "line 2: times must"),
        ('{"id": 1, "time": [0.0, 0.1], "frequency": [9000, 0]}', "line 2: frequencies must"),
        ('{"id": 0, "time": [0.0, 0.1], "frequency": [9000, 9100]}', "line 2: duplicate id"),
        ("[1, 2]", "line 2: expected a JSON object"),
    ],
)
def test_read_contour_jsonl_errors_name_the_line(tmp_path, line, problem):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": 0, "time": [0.0, 0.1], "frequency": [9000, 9100]}\n' + line + "\n")
    with pytest.raises(AnnotationError, match=problem):
        read_contour_jsonl(path)


def test_read_contour_jsonl_empty_or_missing(tmp_path):
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(AnnotationError, match="no contours"):
        read_contour_jsonl(tmp_path / "empty.jsonl")
    with pytest.raises(AnnotationError, match="not found"):
        read_contour_jsonl(tmp_path / "missing.jsonl")
