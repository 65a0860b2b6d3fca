"""Loudness figures of a narration take in numpy (ITU-R BS.1770 / EBU R128), for the draft master.

A take is measured once, in 5 ms ticks: the mean square of its K-weighted samples and its true peak
(4x oversampled or more) in each tick. The draft master places every scene's ticks on the timeline
and finds the video's integrated loudness by R128 gating (400 ms blocks every 100 ms) without
reading a sample again, so an edit re-measures only the scene it changed. The final master still
measures the mix itself with ffmpeg's ebur128 (render/mix.py)."""

from __future__ import annotations

import math

import numpy as np

TICKS = 200  # per second: 5 ms, the limiter's attack
BLOCK, STEP = 80, 20  # the gating block (400 ms) and its hop (100 ms), in ticks
ABSOLUTE_GATE = -70.0  # LUFS
RELATIVE_GATE = -10.0  # LU under the loudness of the blocks over the absolute gate
RELEASE = math.exp(-1 / 10)  # the limiter's gain recovers with a 50 ms time constant, per tick
_SHELF = (1681.974450955533, 3.999843853973347, 0.7071752369554196)  # K-weighting stage 1: f0, gain dB, Q
_HIGHPASS = (38.13547087602444, 0.5003270373238773)  # stage 2: f0, Q


def k_weighting(rate: int) -> list[tuple[list[float], list[float]]]:
    """The two biquads (b, a) of BS.1770's K-weighting at `rate` (libebur128's design, so any rate works)."""
    f0, gain, q = _SHELF
    k = math.tan(math.pi * f0 / rate)
    vh = 10 ** (gain / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = ([(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0],
             [1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0])  # fmt: skip
    f0, q = _HIGHPASS
    k = math.tan(math.pi * f0 / rate)
    a0 = 1 + k / q + k * k
    highpass = ([1.0, -2.0, 1.0], [1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0])
    return [shelf, highpass]


def take_ticks(samples: np.ndarray, rate: int) -> np.ndarray:
    """A mono 16-bit take as two rows per 5 ms tick: the K-weighted mean square, and the true peak
    (linear, full scale 1). Filtering and oversampling go through the FFT (numpy has no IIR filter):
    the take is padded with half a second of silence, longer than the filters ring."""
    x = samples.astype(np.float64) / 32768.0
    edges = np.round(np.arange(math.ceil(len(x) * TICKS / rate) + 1) * rate / TICKS).astype(int)
    edges[-1] = len(x)
    if len(x) == 0:
        return np.zeros((2, 0))
    n = 1 << math.ceil(math.log2(len(x) + rate // 2))
    spectrum = np.fft.rfft(x, n)
    z = np.exp(-2j * np.pi * np.fft.rfftfreq(n))  # z^-1 on the unit circle
    response = np.ones_like(z)
    for b, a in k_weighting(rate):
        response *= np.polyval(b[::-1], z) / np.polyval(a[::-1], z)
    weighted = np.fft.irfft(spectrum * response, n)[: len(x)]
    power = np.add.reduceat(weighted**2, edges[:-1]) / np.diff(edges)
    up = 4  # as ebur128 oversamples (speech holds little near a low rate's Nyquist frequency)
    oversampled = np.abs(np.fft.irfft(spectrum, n * up)[: len(x) * up] * up)
    peak = np.maximum.reduceat(np.maximum(oversampled, 1e-12), edges[:-1] * up)
    return np.stack([power, peak])


def place(takes: list[tuple[np.ndarray, float]], seconds: float) -> np.ndarray:
    """The timeline's ticks from each take's ticks and its start in seconds (silence between them)."""
    line = np.zeros((2, math.ceil(seconds * TICKS)))
    for ticks, start in takes:
        at = round(start * TICKS)
        n = max(0, min(ticks.shape[1], line.shape[1] - at))
        line[:, at : at + n] = ticks[:, :n]
    return line


def limited(line: np.ndarray, gain_db: float, ceiling_db: float) -> np.ndarray:
    """The timeline's tick powers after a gain and a lookahead limiter holding the peaks under the
    ceiling (attack one tick ahead, release with a 50 ms time constant), as alimiter behaves."""
    gain = 10 ** (gain_db / 20)
    need = np.minimum(1.0, 10 ** (ceiling_db / 20) / np.maximum(line[1] * gain, 1e-12))
    need[:-1] = np.minimum(need[:-1], need[1:])  # the lookahead: down before the peak arrives
    curve = need.copy()
    for k in np.flatnonzero(need < 1):  # recovering from each reduction; elsewhere the gain is 1
        end = min(len(curve), k + 60)  # 300 ms: six time constants
        recovery = 1 - (1 - curve[k]) * RELEASE ** np.arange(1, end - k)
        curve[k + 1 : end] = np.minimum(curve[k + 1 : end], recovery)
    return line[0] * (gain * curve) ** 2


def integrated(power: np.ndarray) -> float | None:
    """Gated integrated loudness (LUFS) of dual-mono stereo from the tick powers of one channel;
    None when no block passes the absolute gate."""
    count = (len(power) - BLOCK) // STEP + 1
    if count < 1:
        return None
    sums = np.concatenate([[0.0], np.cumsum(power)])
    starts = np.arange(count) * STEP
    blocks = 2 * (sums[starts + BLOCK] - sums[starts]) / BLOCK  # both channels carry the narration
    loud = blocks[blocks > 10 ** ((ABSOLUTE_GATE + 0.691) / 10)]
    if loud.size == 0:
        return None
    threshold = 10 * np.log10(np.mean(loud)) + RELATIVE_GATE
    gated = loud[loud > 10 ** (threshold / 10)]
    return float(-0.691 + 10 * np.log10(np.mean(gated)))


def true_peak(line: np.ndarray) -> float | None:
    """The timeline's true peak in dBTP; None for silence."""
    peak = float(np.max(line[1], initial=0.0))
    return 20 * math.log10(peak) if peak > 1e-9 else None
