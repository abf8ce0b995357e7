"""Weight averaging of LMs: the mean of the parameters, config checks, bad weights, CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dolphin.cli.main import main
from dolphin.errors import DolphinError
from dolphin.lm import SoundLM
from dolphin.lm.average import average_lms

from .conftest import K, N, tiny_lm


def _saved(tmp_path: Path, seed: int, **overrides) -> Path:
    return tiny_lm(seed=seed, **overrides).save_pretrained(tmp_path / f"lm{seed}")


def test_average_is_the_weighted_mean_of_every_parameter(tmp_path: Path) -> None:
    a, b = _saved(tmp_path, 1), _saved(tmp_path, 2)
    mean = average_lms([a, b], [3.0, 1.0])  # normalised to 0.75 / 0.25
    sa, sb = SoundLM.from_pretrained(a).state_dict(), SoundLM.from_pretrained(b).state_dict()
    for key, value in mean.state_dict().items():
        torch.testing.assert_close(value, 0.75 * sa[key] + 0.25 * sb[key])
    assert not torch.equal(mean.state_dict()[key], sa[key])  # the two seeds differ
    same = average_lms([a, a])  # averaging a model with itself gives it back
    tokens = torch.randint(0, N + 2, (1, K, 8))
    torch.testing.assert_close(same(tokens).logits, SoundLM.from_pretrained(a)(tokens).logits)


def test_different_configs_and_bad_weights_are_refused(tmp_path: Path) -> None:
    a = _saved(tmp_path, 1)
    other = _saved(tmp_path, 3, pattern="parallel")
    with pytest.raises(DolphinError, match="config field 'pattern'"):
        average_lms([a, other])
    with pytest.raises(DolphinError, match="2 weights for 1 models"):
        average_lms([a], [1.0, 2.0])
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(DolphinError, match="positive and finite"):
            average_lms([a, a], [1.0, bad])
    with pytest.raises(DolphinError, match="no models"):
        average_lms([])


def test_cli_writes_a_loadable_average(tmp_path: Path, capsys) -> None:
    a, b = _saved(tmp_path, 1), _saved(tmp_path, 2)
    out = tmp_path / "soup"
    args = ["lm", "average", str(out), str(a), str(b), "--weights", "1", "3", "--precision", "int8"]
    assert main(args) == 0
    assert "x3" in capsys.readouterr().out
    loaded = SoundLM.from_pretrained(out)
    expected = average_lms([a, b], [1.0, 3.0])
    tokens = torch.randint(0, N + 2, (1, K, 8))
    diff = (loaded(tokens).logits - expected(tokens).logits).abs().max()
    assert 0 < diff < 0.05  # int8 rounding moves the logits a little, not a lot


def test_cli_precisions_are_the_stored_ones() -> None:
    from dolphin.cli.lm import PRECISIONS as CLI_PRECISIONS
    from dolphin.compact import PRECISIONS

    assert CLI_PRECISIONS == PRECISIONS
