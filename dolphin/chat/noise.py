"""Hours of noise-only audio in bounded memory, for false-alarm benchmarks of the mimic matcher.

:func:`noise_blocks` yields one continuous stream of coloured ocean noise plus snapping shrimp
(:mod:`dolphin.synth.background`) piece by piece. Each piece of ocean noise is drawn independently
and the seam with the previous piece is an equal-power crossfade (``cos`` / ``sin`` weights over
``crossfade_s``): two independent Gaussian processes of the same spectrum mixed with weights whose
squares sum to 1 have that spectrum and level too, so the stream has no step or level dip at the
seams that a detector could take for a click. Shrimp snaps are a Poisson process, so independent
pieces already join seamlessly.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from dolphin.synth.background import ocean_noise, snapping_shrimp


def noise_blocks(
    *,
    duration_s: float,
    sample_rate: int,
    rng: np.random.Generator,
    block_s: float = 60.0,
    noise_rms: float = 0.01,
    shrimp_amplitude: float = 0.05,
    shrimp_rate_hz: float = 10.0,
    crossfade_s: float = 0.5,
) -> Iterator[np.ndarray]:
    """Noise-only audio as consecutive pieces of one continuous stream.

    Parameters
    ----------
    duration_s : float
        Total length, seconds (the last piece is shorter when it does not divide evenly).
    sample_rate : int
        Hz.
    rng : np.random.Generator
        Source of randomness.
    block_s : float
        Length of each piece, seconds; memory is a few times one piece.
    noise_rms : float
        Broadband RMS of the ocean noise, full scale 1.
    shrimp_amplitude : float
        Median peak amplitude of a snap (0: no shrimp).
    shrimp_rate_hz : float
        Mean snaps per second.
    crossfade_s : float
        Length of the equal-power crossfade between pieces of ocean noise, seconds.

    Yields
    ------
    np.ndarray, shape [T_block], float32
        The next piece, full scale 1.

    Raises
    ------
    ValueError
        A non-positive duration, piece length or sample rate, or a crossfade longer than a piece.
    """
    if not duration_s > 0 or not block_s > 0 or sample_rate <= 0:
        raise ValueError(
            f"duration_s, block_s and sample_rate must be > 0, got {duration_s}, {block_s}, "
            f"{sample_rate}"
        )
    if not 0 <= crossfade_s < block_s:
        raise ValueError(f"crossfade_s must be in [0, block_s), got {crossfade_s}")
    n_total = int(round(duration_s * sample_rate))
    n_block = max(int(round(block_s * sample_rate)), 1)
    n_fade = int(round(crossfade_s * sample_rate))
    theta = 0.5 * np.pi * (np.arange(n_fade) + 0.5) / max(n_fade, 1)
    fade_out, fade_in = np.cos(theta), np.sin(theta)
    tail = None  # the previous piece's extra n_fade samples, to fade out under this piece
    done = 0
    while done < n_total:
        n = min(n_block, n_total - done)
        x = ocean_noise(n_samples=n + n_fade, sample_rate=sample_rate, rng=rng, rms=noise_rms)
        x = x.astype(np.float64)
        if tail is not None and n_fade:
            x[:n_fade] = tail * fade_out + x[:n_fade] * fade_in
        tail = x[n:].copy()
        x = x[:n]
        if shrimp_amplitude > 0:
            x += snapping_shrimp(
                n_samples=n,
                sample_rate=sample_rate,
                rng=rng,
                rate_hz=shrimp_rate_hz,
                amplitude=shrimp_amplitude,
            )
        done += n
        yield x.astype(np.float32)
