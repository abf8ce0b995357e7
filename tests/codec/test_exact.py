"""Exact fixed-point inference: results independent of how rows are grouped."""

from __future__ import annotations

import torch

from dolphin.codec.exact import ACT_FRAC, ExactCodebooks, ExactLinear, rational_elu, to_grid


def test_to_grid_rounds_and_clamps() -> None:
    x = torch.tensor([0.1, 1e9, -1e9, 2.0**-20])
    g = to_grid(x)
    assert g.dtype == torch.float64
    assert torch.equal(g * 2**ACT_FRAC, torch.round(g * 2**ACT_FRAC))
    assert g[1] == 256 and g[2] == -256 and g[3] == 0


def test_exact_linear_is_row_invariant_and_close_to_float() -> None:
    torch.manual_seed(0)
    layer = torch.nn.Linear(1922, 96)
    exact = ExactLinear.from_float(layer.weight, layer.bias)
    x = to_grid(torch.randn(257, 1922))
    whole = exact(x)
    pieces = torch.cat([exact(x[i : i + k]) for i, k in ((0, 1), (1, 3), (4, 128), (132, 125))])
    assert torch.equal(whole, pieces)
    assert torch.allclose(whole, layer(x.float()).double(), atol=1e-3)


def test_exact_codebooks_are_row_invariant() -> None:
    torch.manual_seed(0)
    books = ExactCodebooks.from_float(torch.randn(4, 64, 8))
    z = to_grid(torch.randn(300, 8))
    whole = books.encode(z, 4)
    pieces = torch.cat([books.encode(z[i : i + 7], 4) for i in range(0, 300, 7)], dim=1)
    assert torch.equal(whole, pieces)


def test_rational_elu_shape() -> None:
    x = torch.tensor([-1e6, -1.0, 0.0, 2.0])
    y = rational_elu(x)
    assert torch.allclose(y, torch.tensor([-1.0, -0.5, 0.0, 2.0]), atol=1e-5)


def test_exact_encoder_matches_the_float_encoder() -> None:
    from dolphin.codec import build_debug_codec
    from dolphin.codec.exact import ExactEncoder

    codec = build_debug_codec()
    audio = 0.3 * torch.randn(2, 1, 4800)
    with torch.no_grad():
        z_float = codec.encoder(audio).double()
    z_exact = ExactEncoder(codec.encoder)(audio, {})
    assert torch.allclose(z_exact, z_float, atol=1e-3)
