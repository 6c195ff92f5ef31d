"""DeepFilterNet signal processing around the networks, in numpy.

A faithful port of upstream ``libDF`` (``DFState`` in ``libDF/src/lib.rs``): the
Vorbis-windowed STFT with 50 % overlap, the ERB band layout, the log-ERB
features with an exponential mean normalisation and the complex features with
an exponential unit normalisation. Everything is float32 like the Rust code so
the networks see the same numbers as with the official runtime.

:class:`DspSpec` holds the constants (shared, read-only); :class:`DspState`
holds one stream's memory (STFT overlap buffers and the two running
normalisations), a few KB.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

F32 = NDArray[np.float32]
C64 = NDArray[np.complex64]

MEAN_NORM_INIT = (-60.0, -90.0)
"""Initial ERB mean-normalisation state, linearly spaced over the bands (dB)."""
UNIT_NORM_INIT = (0.001, 0.0001)
"""Initial complex unit-normalisation state, linearly spaced over the DF bins."""


def _freq2erb(freq_hz: float) -> float:
    return 9.265 * math.log1p(freq_hz / (24.7 * 9.265))


def _erb2freq(n_erb: float) -> float:
    return 24.7 * 9.265 * (math.exp(n_erb / 9.265) - 1.0)


def erb_widths(sr: int, fft_size: int, nb_bands: int, min_nb_freqs: int) -> NDArray[np.int64]:
    """Number of FFT bins in each ERB band (sums to ``fft_size // 2 + 1``).

    Same rounding and minimum-width rule as upstream ``erb_fb``; bands that
    would be narrower than ``min_nb_freqs`` bins borrow from the next band.
    """
    freq_width = sr / fft_size
    erb_low, erb_high = _freq2erb(0.0), _freq2erb(sr / 2)
    step = (erb_high - erb_low) / nb_bands
    widths = np.zeros(nb_bands, dtype=np.int64)
    prev_freq = 0
    freq_over = 0
    for i in range(1, nb_bands + 1):
        fb = round(_erb2freq(erb_low + i * step) / freq_width)
        nb_freqs = fb - prev_freq - freq_over
        if nb_freqs < min_nb_freqs:
            freq_over = min_nb_freqs - nb_freqs
            nb_freqs = min_nb_freqs
        else:
            freq_over = 0
        widths[i - 1] = nb_freqs
        prev_freq = fb
    widths[-1] += 1  # the Nyquist bin
    widths[-1] -= int(widths.sum()) - (fft_size // 2 + 1)
    return widths


def vorbis_window(fft_size: int) -> F32:
    """The power-complementary Vorbis window libDF uses (computed in float64)."""
    half = fft_size // 2
    i = np.arange(fft_size, dtype=np.float64)
    s = np.sin(0.5 * np.pi * (i + 0.5) / half)
    return np.sin(0.5 * np.pi * s * s).astype(np.float32)


def norm_alpha(sr: int, hop_size: int, tau_s: float) -> float:
    """Smoothing factor of the running normalisations for time constant ``tau_s``.

    Rounded to the first precision (3, 4, ... decimals) that stays below 1,
    exactly like upstream, so 48 kHz / 480 / 1 s gives 0.99.
    """
    alpha = math.exp(-(hop_size / sr) / tau_s)
    precision = 3
    a = 1.0
    while a >= 1.0:
        a = round(alpha * 10**precision) / 10**precision
        precision += 1
    return float(np.float32(a))


@dataclass(frozen=True)
class DspSpec:
    """Constants of the DeepFilterNet front end for one model configuration."""

    sr: int
    fft_size: int
    hop_size: int
    nb_erb: int
    nb_df: int
    min_nb_erb_freqs: int
    alpha: float

    def __post_init__(self) -> None:
        if self.fft_size != 2 * self.hop_size:
            # libDF supports hop < fft/2, but every shipped model uses 50 %
            # overlap and the buffers below rely on it.
            raise ValueError("only fft_size == 2 * hop_size is supported")
        window = vorbis_window(self.fft_size)
        widths = erb_widths(self.sr, self.fft_size, self.nb_erb, self.min_nb_erb_freqs)
        object.__setattr__(self, "window", window)
        object.__setattr__(self, "erb", widths)
        # Bin -> band index, so a band gain vector expands with one fancy index.
        object.__setattr__(self, "band_of_bin", np.repeat(np.arange(self.nb_erb), widths))
        starts = np.zeros(self.nb_erb, dtype=np.int64)
        starts[1:] = np.cumsum(widths)[:-1]
        object.__setattr__(self, "band_starts", starts)
        object.__setattr__(self, "inv_width", (1.0 / widths).astype(np.float32))
        wsum = np.float32(np.sum(window * window, dtype=np.float32))
        wnorm = np.float32(1.0) / wsum * np.float32(self.hop_size) / np.float32(self.fft_size)
        object.__setattr__(self, "wnorm", np.float32(wnorm))

    # Derived in __post_init__ (not constructor arguments).
    window: F32 = field(init=False, repr=False, compare=False)
    erb: NDArray[np.int64] = field(init=False, repr=False, compare=False)
    band_of_bin: NDArray[np.int64] = field(init=False, repr=False, compare=False)
    band_starts: NDArray[np.int64] = field(init=False, repr=False, compare=False)
    inv_width: F32 = field(init=False, repr=False, compare=False)
    wnorm: np.float32 = field(init=False, repr=False, compare=False)

    @property
    def n_freqs(self) -> int:
        return self.fft_size // 2 + 1

    def new_state(self) -> DspState:
        """Fresh per-stream memory, as after ``DFState::new`` + ``init_norm_states``."""
        return DspState(self)

    def band_gains(self, gains: F32) -> F32:
        """Expand gains per ERB band (last axis) to gains per FFT bin."""
        return gains[..., self.band_of_bin]

    # Batched kernels: row n of every argument is stream n. They return new
    # arrays and never modify their arguments, so callers can keep per-stream
    # views of the results as state. The FFTs run in float64 (numpy's float32
    # rfft is slower, notably for many rows); results are cast back to float32.

    def analysis_batch(self, mem: F32, hops: F32) -> tuple[C64, F32]:
        """Spectra of ``[mem | hops]`` windowed frames ([N, n_freqs]) and the new memory.

        Scaled by ``wnorm`` here only, as upstream, so synthesis is a plain iFFT.
        :meth:`analysis_span` of one hop.
        """
        spec, mem = self.analysis_span(mem, hops[:, None])
        return spec[:, 0], mem

    def analysis_span(self, mem: F32, hops: F32) -> tuple[C64, F32]:
        """Spectra of T consecutive hops ([N, T, hop_size]) after ``mem``: [N, T, n_freqs].

        Frame k windows hops k - 1 and k (hop -1 is ``mem``). Returns the
        spectra, scaled by ``wnorm`` here only, as upstream, so synthesis is a
        plain iFFT, and the new memory (the last hop).
        """
        n, t, hop = hops.shape
        signal = np.concatenate((mem, hops.reshape(n, t * hop)), axis=1)
        frames = sliding_window_view(signal, self.fft_size, axis=1)[:, ::hop] * self.window
        spec = np.fft.rfft(frames.astype(np.float64), axis=2).astype(np.complex64)
        spec *= self.wnorm
        return spec, hops[:, -1].copy()

    def synthesis_batch(self, spec: C64, mem: F32) -> tuple[F32, F32]:
        """Inverse FFT, window and overlap-add: (output hops [N, hop], new memory).

        The output hop belongs to the first half of the frame, so the STFT
        alone delays the signal by ``fft_size - hop_size`` samples.
        :meth:`synthesis_span` of one frame.
        """
        hops, mem = self.synthesis_span(spec[:, None], mem)
        return hops[:, 0], mem

    def synthesis_span(self, spec: C64, mem: F32) -> tuple[F32, F32]:
        """Inverse FFT, window and overlap-add of T consecutive frames ([N, T, n_freqs]).

        Returns the output hops [N, T, hop_size] and the new memory. Each
        output hop belongs to the first half of its frame, so the STFT alone
        delays the signal by ``fft_size - hop_size`` samples.
        """
        # numpy's irfft divides by N; libDF's realfft does not.
        x = np.fft.irfft(spec.astype(np.complex128), n=self.fft_size, axis=2).astype(np.float32)
        x *= self.window * np.float32(self.fft_size)
        hop = self.hop_size
        out = np.empty((*x.shape[:2], hop), np.float32)
        np.add(x[:, 0, :hop], mem, out=out[:, 0])
        np.add(x[:, 1:, :hop], x[:, :-1, hop:], out=out[:, 1:])
        return out, np.ascontiguousarray(x[:, -1, hop:])

    def features_batch(
        self, spec: C64, mean_norm: F32, unit_norm: F32
    ) -> tuple[F32, F32, F32, F32]:
        """Network inputs for one frame of N streams and their updated normalisations.

        Returns ``(feat_erb[N, nb_erb], feat_spec[N, 2, nb_df], mean_norm,
        unit_norm)``: :meth:`features_span` of a single frame.
        """
        erb, cplx, mean_norm, unit_norm = self.features_span(spec[:, None], mean_norm, unit_norm)
        return erb[:, 0], cplx[:, :, 0], mean_norm, unit_norm

    def features_span(self, spec: C64, mean_norm: F32, unit_norm: F32) -> tuple[F32, F32, F32, F32]:
        """Network inputs for T consecutive frames of N streams ([N, T, n_freqs]).

        Returns ``(feat_erb[N, T, nb_erb], feat_spec[N, 2, T, nb_df], mean_norm,
        unit_norm)``: the mean-normalised log-ERB energies divided by 40, and
        the real/imag parts of the lowest ``nb_df`` bins divided by the square
        root of their running magnitude; the normalisations after the last frame.
        """
        a = np.float32(self.alpha)
        b = np.float32(1.0) - a
        power = spec.real * spec.real + spec.imag * spec.imag
        band = np.add.reduceat(power, self.band_starts, axis=2) * self.inv_width
        erb_db = np.log10(band + np.float32(1e-10)) * np.float32(10.0)
        low = spec[:, :, : self.nb_df]
        magnitude = np.abs(low) * b
        erb_db_b = erb_db * b
        feat_erb = np.empty_like(erb_db)
        normed = np.empty_like(low)
        for k in range(spec.shape[1]):  # the normalisations are recurrences over frames
            mean_norm = erb_db_b[:, k] + mean_norm * a
            feat_erb[:, k] = (erb_db[:, k] - mean_norm) / np.float32(40.0)
            unit_norm = magnitude[:, k] + unit_norm * a
            normed[:, k] = low[:, k] / np.sqrt(unit_norm)
        feat_spec = np.stack((normed.real, normed.imag), axis=1).astype(np.float32, copy=False)
        return feat_erb.astype(np.float32, copy=False), feat_spec, mean_norm, unit_norm


class DspState:
    """One stream's STFT buffers and running normalisations. Not thread-safe.

    A one-row front end to the :class:`DspSpec` batch kernels (the offline
    reference and the tests use it; the streaming core calls the kernels).
    """

    def __init__(self, spec: DspSpec) -> None:
        self.spec = spec
        hold = spec.fft_size - spec.hop_size
        self._analysis_mem = np.zeros((1, hold), dtype=np.float32)
        self._synthesis_mem = np.zeros((1, hold), dtype=np.float32)
        self.mean_norm = np.linspace(*MEAN_NORM_INIT, spec.nb_erb, dtype=np.float32)[None]
        self.unit_norm = np.linspace(*UNIT_NORM_INIT, spec.nb_df, dtype=np.float32)[None]

    def analysis(self, hop: F32) -> C64:
        """Window the previous and the new hop and return their spectrum (n_freqs bins)."""
        spec, self._analysis_mem = self.spec.analysis_batch(self._analysis_mem, hop[None])
        return spec[0]

    def synthesis(self, spec: C64) -> F32:
        """Inverse FFT, window and overlap-add; returns one hop of output."""
        out, self._synthesis_mem = self.spec.synthesis_batch(spec[None], self._synthesis_mem)
        return out[0]

    def features(self, spec: C64) -> tuple[F32, F32]:
        """Network inputs for one frame, updating the running normalisations.

        Returns ``(feat_erb[nb_erb], feat_spec[2, nb_df])``, see
        :meth:`DspSpec.features_batch`.
        """
        erb, cplx, self.mean_norm, self.unit_norm = self.spec.features_batch(
            spec[None], self.mean_norm, self.unit_norm
        )
        return erb[0], cplx[0]
