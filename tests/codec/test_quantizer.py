"""Residual vector quantizer: k-means init, EMA, dead codes, dropout, straight-through."""

from __future__ import annotations

import torch

from dolphin.codec.quantizer import QuantizedResult, ResidualVectorQuantizer, kmeans


def make_rvq(**kwargs: object) -> ResidualVectorQuantizer:
    args = dict(dim=8, n_codebooks=3, codebook_size=16, kmeans_iters=5, dropout=0.0)
    args.update(kwargs)
    return ResidualVectorQuantizer(**args)


def clustered(n: int = 400, seed: int = 0) -> torch.Tensor:
    """Latents ``[B, D, T]`` around 16 well separated centres."""
    gen = torch.Generator().manual_seed(seed)
    centres = 4 * torch.randn(16, 8, generator=gen)
    idx = torch.randint(0, 16, (n,), generator=gen)
    x = centres[idx] + 0.05 * torch.randn(n, 8, generator=gen)
    return x.reshape(4, n // 4, 8).transpose(1, 2)


def test_kmeans_finds_clusters() -> None:
    z = clustered().transpose(1, 2).reshape(-1, 8)
    centroids, counts = kmeans(z, 64, 10)
    assert centroids.shape == (64, 8) and counts.sum() == z.shape[0]
    nearest = (z[:, None] - centroids[None]).square().sum(-1).min(1).values.sqrt()
    assert nearest.median() < 0.2  # most points sit next to a centroid


def test_forward_shapes_and_result_type() -> None:
    rvq = make_rvq().train()
    out = rvq(clustered())
    assert isinstance(out, QuantizedResult)
    assert out.quantized.shape == (4, 8, 100)
    assert out.codes.shape == (4, 3, 100) and out.codes.dtype == torch.long
    assert out.perplexity.shape == (3,)
    assert torch.isfinite(out.commitment_loss)


def test_kmeans_init_on_first_training_batch() -> None:
    rvq = make_rvq(codebook_size=64).train()
    assert not bool(rvq.initialized)
    z = clustered()
    out = rvq(z, n_q=1)
    assert bool(rvq.initialized)
    # After k-means on well separated clusters one codebook already quantizes closely.
    assert (out.quantized - z).abs().mean() < 0.2


def test_ema_update_moves_codebooks_only_in_training() -> None:
    rvq = make_rvq()
    rvq.train()
    rvq(clustered(seed=0))
    before = rvq.embed.clone()
    rvq.eval()
    rvq(clustered(seed=1) + 1.0)
    assert torch.equal(rvq.embed, before)
    rvq.train()
    rvq(clustered(seed=1) + 1.0)
    assert not torch.equal(rvq.embed, before)


def test_dead_codes_are_restarted_from_current_batch() -> None:
    rvq = make_rvq(dead_code_ratio=0.5, n_codebooks=1).train()
    z = clustered()
    rvq(z)
    with torch.no_grad():  # make entry 3 unused and far from the data
        rvq.embed[0, 3] = 1e3
        rvq.embed_avg[0, 3] = 1e3
        rvq.cluster_size[0, 3] = 0.0
    rvq(z)
    entry = rvq.embed[0, 3]
    assert entry.abs().max() < 100  # replaced by a (nearby) encoder output
    data = z.transpose(1, 2).reshape(-1, 8)
    assert (data - entry).abs().sum(-1).min() < 1e-5


def test_quantizer_dropout_varies_n_q() -> None:
    rvq = make_rvq(dropout=1.0, n_codebooks=4).train()
    torch.manual_seed(0)
    seen = {rvq(clustered()).n_q for _ in range(40)}
    assert seen == {1, 2, 3, 4}
    rvq.eval()
    assert rvq(clustered()).n_q == 4
    assert rvq(clustered(), n_q=2).codes.shape[1] == 2


def test_straight_through_gradient_reaches_the_input() -> None:
    rvq = make_rvq().train()
    rvq(clustered())
    z = clustered(seed=3).requires_grad_(True)
    out = rvq(z)
    (out.quantized.square().sum() + out.commitment_loss).backward()
    assert z.grad is not None and z.grad.abs().sum() > 0
    # Straight-through: d quantized / d z is the identity.
    z2 = clustered(seed=3).requires_grad_(True)
    rvq(z2).quantized.sum().backward()
    assert torch.allclose(z2.grad, torch.ones_like(z2))


def test_encode_decode_match_forward_and_bitrate() -> None:
    rvq = make_rvq(frame_rate=100.0).train()
    z = clustered()
    rvq(z)
    rvq.eval()
    out = rvq(z)
    codes = rvq.encode(z)
    assert (codes == out.codes).float().mean() > 0.99
    assert torch.allclose(rvq.decode(codes), out.quantized, atol=1e-5)
    assert rvq.bitrate_bps == 3 * 4 * 100
