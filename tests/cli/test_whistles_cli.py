"""`dolphin whistles`: clustering a contour file and the catalogue, end to end, exit 2 on bad input."""

from __future__ import annotations

import csv
import gzip
import json

import numpy as np
import pytest

from dolphin.cli import main as cli_main
from dolphin.cli.main import main
from dolphin.synth.contours import make_population, render_rendition


@pytest.fixture(autouse=True)
def only_whistles(monkeypatch):
    """Build the parser with just this subcommand: the others import torch (seconds)."""
    assert "whistles" in cli_main.SUBCOMMANDS
    monkeypatch.setattr(cli_main, "SUBCOMMANDS", ("whistles",))


@pytest.fixture(scope="module")
def contour_file(tmp_path_factory):
    """4 signature types x 6 renditions in bouts, ids "w00".., as a gzip JSON-lines file."""
    rng = np.random.default_rng(21)
    population = make_population(4, rng=rng, n_shared_types=0)
    lines, t0 = [], 0.0
    for individual in population:
        for _ in range(6):
            c = render_rendition(individual.signature_type, rng=rng)
            times = t0 + c.times_s
            lines.append(
                {
                    "id": f"w{len(lines):02d}",
                    "time": times.tolist(),
                    "frequency": c.freqs_hz.tolist(),
                }
            )
            t0 = times[-1] + 3.0  # bouts: 3 s silences
        t0 += 120.0
    path = tmp_path_factory.mktemp("contours") / "contours.jsonl.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("\n".join(json.dumps(x) for x in lines) + "\n")
    return path


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_cluster_writes_types_and_sigid(contour_file, tmp_path, capsys):
    out = tmp_path / "types.csv"
    assert main(["whistles", "cluster", str(contour_file), "--out", str(out), "--sigid"]) == 0
    rows = read_csv(out)
    assert len(rows) == 24 and rows[0]["id"] == "w00"
    types = [int(r["type"]) for r in rows]
    for k in range(4):  # each animal's renditions share one type
        assert len(set(types[6 * k : 6 * k + 6])) == 1 and types[6 * k] >= 0
    assert len(set(types)) == 4
    assert all(r["signature"] == "1" for r in rows)
    assert sum(int(r["exemplar"]) for r in rows) == 4
    assert "24 contours: 4 types, 0 unclustered" in capsys.readouterr().out


def test_catalogue_add_list_match_remove(contour_file, tmp_path, capsys):
    cat = tmp_path / "catalogue.json"
    ids = {"ind01": ["w00", "w01"], "ind02": ["w06", "w07"]}
    for animal, chosen in ids.items():
        assert (
            main(
                [
                    "whistles",
                    "catalogue",
                    "add",
                    str(cat),
                    animal,
                    str(contour_file),
                    "--ids",
                    *chosen,
                ]
            )
            == 0
        )
    assert main(["whistles", "catalogue", "list", str(cat)]) == 0
    listing = capsys.readouterr().out
    assert "2 animal(s)" in listing and "ind01\t2 whistle(s)" in listing
    out = tmp_path / "matches.csv"
    assert (
        main(["whistles", "catalogue", "match", str(cat), str(contour_file), "--out", str(out)])
        == 0
    )
    rows = read_csv(out)
    assert {r["animal"] for r in rows[2:6]} == {"ind01"} and {r["animal"] for r in rows[8:12]} == {
        "ind02"
    }
    assert all(r["animal"] == "" and r["nearest"] for r in rows[12:])
    assert main(["whistles", "catalogue", "remove", str(cat), "ind01"]) == 0
    assert json.loads(cat.read_text())["animals"].keys() == {"ind02"}


def test_bad_line_exits_2_with_the_line_number(tmp_path, capsys):
    path = tmp_path / "bad.jsonl"
    good = {"id": 1, "time": [0.0, 0.01, 0.02], "frequency": [9000, 9500, 9900]}
    path.write_text(json.dumps(good) + "\n" + '{"id": 2, "time": [0.0, 0.01]}\n')
    assert main(["whistles", "cluster", str(path), "--out", str(tmp_path / "t.csv")]) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl: line 2: missing key(s) frequency" in err and "Traceback" not in err


def test_catalogue_errors_exit_2(contour_file, tmp_path, capsys):
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text("{truncated")
    assert main(["whistles", "catalogue", "list", str(corrupt)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    cat = tmp_path / "cat.json"
    assert (
        main(["whistles", "catalogue", "add", str(cat), "a", str(contour_file), "--ids", "nope"])
        == 2
    )
    assert "no contour with id(s) nope" in capsys.readouterr().err
    assert (
        main(["whistles", "catalogue", "add", str(cat), "a", str(contour_file), "--ids", "w00"])
        == 0
    )
    assert main(["whistles", "catalogue", "remove", str(cat), "zzz"]) == 2
    assert "no animal 'zzz'" in capsys.readouterr().err
    assert (
        main(
            [
                "whistles",
                "cluster",
                str(contour_file),
                "--out",
                str(tmp_path / "x.csv"),
                "--min-cluster-size",
                "1",
            ]
        )
        == 2
    )
