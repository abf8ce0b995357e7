"""Reconstruction losses, the balancer and the MS-STFT discriminator."""

from __future__ import annotations

import math

import torch

from dolphin.codec.discriminator import (
    DiscriminatorConfig,
    MultiScaleSTFTDiscriminator,
    hinge_discriminator_loss,
    hinge_generator_loss,
    lsgan_discriminator_loss,
    lsgan_generator_loss,
)
from dolphin.codec.losses import (
    FullBandMelLoss,
    LossBalancer,
    MultiResolutionSTFTLoss,
    ReconstructionLoss,
    feature_matching_loss,
    log_filterbank,
    spectrum_losses,
    tonal_log_loss,
    waveform_l1,
    window_samples,
)
from dolphin.codec.spectral import CausalISTFT

from .conftest import make_chirp, make_noise


def test_windows_scale_with_sample_rate() -> None:
    assert window_samples(96000, 42.7) == 4096
    assert window_samples(48000, 42.7) == 2048
    assert MultiResolutionSTFTLoss(96000).n_ffts == [512, 1024, 2048, 4096]
    assert MultiResolutionSTFTLoss(192000).n_ffts == [1024, 2048, 4096, 8192]


def test_filterbank_reaches_nyquist() -> None:
    fb = log_filterbank(n_fft=4096, sample_rate=96000, n_filters=64)
    freqs = torch.linspace(0, 48000, 2049)
    assert fb.shape == (64, 2049)
    assert torch.allclose(fb.sum(1), torch.ones(64))
    top = freqs[fb[-1] > 0]
    assert top.max() > 40000  # the last filter covers 40-48 kHz, not a speech band
    assert freqs[fb[0] > 0].min() >= 400
    covered = (fb > 0).any(0)
    assert covered[(freqs > 1000) & (freqs < 47000)].all()


def test_losses_are_zero_for_identical_and_positive_otherwise() -> None:
    x = make_chirp(duration_s=0.1)
    y = x + make_noise(n_samples=4800, std=0.05)
    for loss in (MultiResolutionSTFTLoss(48000), FullBandMelLoss(48000)):
        assert float(loss(x, x)) < 1e-6
        assert float(loss(y, x)) > 0.01
    assert float(waveform_l1(x, x)) == 0


def test_reconstruction_loss_gradients() -> None:
    target = make_chirp(duration_s=0.1)
    pred = make_noise(n_samples=4800).requires_grad_(True)
    loss_fn = ReconstructionLoss(48000)
    terms = loss_fn(pred, target)
    total = loss_fn.total(terms)
    assert set(terms.as_dict()) == {"stft", "mel", "waveform"}
    assert all(torch.isfinite(v) for v in terms.as_dict().values())
    total.backward()
    assert torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0


def test_silence_prediction_has_finite_gradient() -> None:
    pred = torch.zeros(1, 1, 4800, requires_grad=True)
    loss_fn = ReconstructionLoss(48000)
    loss_fn.total(loss_fn(pred, make_chirp(duration_s=0.1))).backward()
    assert torch.isfinite(pred.grad).all()


def test_balancer_gives_each_loss_its_share() -> None:
    target = make_chirp(duration_s=0.1)
    pred = make_noise(n_samples=4800).requires_grad_(True)
    out = pred * 1.0
    big = 1000 * (out - target).abs().mean()
    small = FullBandMelLoss(48000)(out, target)
    balancer = LossBalancer({"big": 1.0, "small": 1.0}, total_norm=1.0)
    norms = balancer.backward({"big": big, "small": small}, out)
    assert norms["big"] > 10 * norms["small"]
    # The combined gradient has norm <= total_norm despite the 1000x scale of one loss.
    assert 0.1 < float(pred.grad.norm()) <= 1.0 + 1e-4


def test_discriminator_outputs_and_gan_losses() -> None:
    disc = MultiScaleSTFTDiscriminator(48000, DiscriminatorConfig(channels=4, n_scales=3))
    assert disc.n_ffts == [2048, 1024, 512]
    real = make_chirp(duration_s=0.1)
    fake = make_noise(n_samples=4800).requires_grad_(True)
    out_real, out_fake = disc(real), disc(fake)
    assert len(out_real.logits) == 3 and len(out_real.features) == 3
    assert all(len(f) == 5 for f in out_real.features)
    for loss in (
        hinge_discriminator_loss(out_real.logits, out_fake.logits),
        lsgan_discriminator_loss(out_real.logits, out_fake.logits),
    ):
        assert torch.isfinite(loss)
    gen = hinge_generator_loss(out_fake.logits) + lsgan_generator_loss(out_fake.logits)
    gen = gen + feature_matching_loss(out_fake.features, out_real.features)
    assert torch.isfinite(gen)
    gen.backward()
    assert torch.isfinite(fake.grad).all() and fake.grad.abs().sum() > 0
    d_grads = [p.grad for p in disc.parameters() if p.grad is not None]
    assert d_grads and all(torch.isfinite(g).all() for g in d_grads)


def _tone(freq_hz: float, amplitude: float, n: int = 9600, sr: int = 48000) -> torch.Tensor:
    t = torch.arange(n, dtype=torch.float64) / sr
    return (amplitude * torch.sin(2 * math.pi * freq_hz * t)).float()[None, None]


def test_decoder_analysis_is_inverted_by_the_istft() -> None:
    istft = CausalISTFT(n_fft=480, hop_length=120)
    x = torch.randn(2, 1, 2400)
    # Offline, the last n_fft - hop samples are still partial sums (no later segment).
    complete = x.shape[-1] - istft.latency_samples
    assert torch.allclose(istft(istft.analysis(x))[..., :complete], x[..., :complete], atol=1e-5)


def test_spectrum_losses_see_a_missing_whistle_that_log_losses_average_away() -> None:
    istft = CausalISTFT(n_fft=480, hop_length=120)
    noise = 0.003 * torch.randn(1, 1, 9600, generator=torch.Generator().manual_seed(0))
    target = istft.analysis(noise + _tone(9000.0, 0.1))
    matched = spectrum_losses(target, target)
    assert float(matched[0]) < 1e-5 and float(matched[1]) < 1e-3
    floor_only = istft.analysis(noise)  # the whistle is missing, the noise floor is right
    loud_floor = istft.analysis(2.0 * noise + _tone(9000.0, 0.1))  # floor 6 dB high, whistle ok

    def log_l1(pred: torch.Tensor) -> float:
        return float((torch.log(pred.abs() + 1e-6) - torch.log(target.abs() + 1e-6)).abs().mean())

    # Log-magnitude L1 prefers losing the whistle to a wrong noise floor; these losses do not.
    assert log_l1(floor_only) < log_l1(loud_floor)
    missing, phase = spectrum_losses(floor_only, target)
    assert float(missing) > 3 * float(spectrum_losses(loud_floor, target)[0])
    assert 0.0 < float(phase) <= 2.0


def test_tonal_log_loss_puts_more_of_its_gradient_on_a_missing_whistle() -> None:
    istft = CausalISTFT(n_fft=480, hop_length=120)
    gen = torch.Generator().manual_seed(0)
    noise = 0.003 * torch.randn(1, 1, 9600, generator=gen)
    target = istft.analysis(noise + _tone(9000.0, 0.1))
    assert float(tonal_log_loss(target, target)) < 1e-6
    floor_only = istft.analysis(noise)
    loud_floor = istft.analysis(2.0 * noise + _tone(9000.0, 0.1))
    assert float(tonal_log_loss(floor_only, target)) > 3 * float(tonal_log_loss(loud_floor, target))

    # A prediction with the right noise level (another realisation) and no whistle: which share
    # of the log-magnitude gradient lands on the whistle's bin?
    guess = istft.analysis(0.003 * torch.randn(1, 1, 9600, generator=gen))
    whistle = int(round(9000.0 / (48000 / 480)))

    def share(loss_fn) -> float:
        log_mag = torch.log(guess.abs() + 1e-12).requires_grad_(True)
        loss_fn(torch.polar(torch.exp(log_mag), guess.angle()), target).backward()
        grad = log_mag.grad.abs()
        return float(grad[..., whistle].sum() / grad.sum())

    compressed = share(lambda pred, tgt: spectrum_losses(pred, tgt)[0])
    assert share(tonal_log_loss) > 2.5 * compressed  # measured 0.33 vs 0.08


def test_phase_loss_gradient_is_finite_where_the_prediction_nearly_vanishes() -> None:
    from dolphin.codec.losses import spectrum_losses

    target = torch.randn(1, 6, 9, dtype=torch.complex64)
    pred = torch.randn(1, 6, 9, dtype=torch.complex64)
    pred[..., 5:] = 1e-20  # an empty band: products of two such bins are subnormal floats
    pred.requires_grad_(True)
    magnitude, phase = spectrum_losses(pred, target)
    (magnitude + phase).backward()
    assert torch.isfinite(pred.grad).all()
