//! Fully connected layers in bfloat16 for inference: `act(x · W + b)` with `x` and `W` rounded to
//! bf16 and the products summed in f32.
//!
//! In f32 the MLP's inference runs at about 80% of the core's FMA peak (BENCHMARKS.md). AVX-512 BF16's
//! `vdpbf16ps` multiplies pairs of bf16 numbers and adds both products to an f32 lane: twice the
//! multiply-adds of an f32 FMA per instruction. The weights are rounded once, when the layer is
//! packed; each layer's input is rounded as it is read; bias, sums and activation stay f32.
//! Rounding keeps 8 significant bits (relative error at most 2^-9 per operand); each product of
//! two bf16 numbers is exact in f32, so the only other error is the f32 summation's.
//!
//! Layout: `vdpbf16ps` pairs the even and odd elements of its operands, so the weights are packed
//! as one 32-bit word per (pair of input rows `2p, 2p + 1`, output column), in panels of
//! `TILE_COLS` columns stored one after the other (the columns padded to a multiple of it), so
//! a tile reads its panel front to back; an input row is simply its bf16 values in order, padded
//! to an even length. One register tile holds `TILE_ROWS` x `TILE_COLS` sums (16 zmm
//! accumulators).
//!
//! Where the processor lacks AVX-512 BF16, a portable loop computes the same sums up to f32
//! rounding (slower than the f32 kernel: it is there so that the same results can be had, and
//! tested, anywhere).

use super::linear::{activate, Activation};

/// Output rows of one register tile.
const TILE_ROWS: usize = 8;
/// Output columns of one register tile (two 16-lane vectors).
const TILE_COLS: usize = 32;

/// Rounds `x` to bfloat16 (nearest, ties to even) as `vcvtneps2bf16` does: NaN stays NaN (made
/// quiet), subnormals become zero of the same sign, values beyond bf16's range become infinite.
pub fn to_bf16(x: f32) -> u16 {
    let bits = x.to_bits();
    if x.is_nan() {
        return ((bits >> 16) as u16) | 0x0040;
    }
    if x.is_subnormal() {
        return ((bits >> 16) & 0x8000) as u16;
    }
    let round = 0x7fff + ((bits >> 16) & 1);
    (bits.wrapping_add(round) >> 16) as u16
}

/// The f32 value of bfloat16 bits (exact).
pub fn from_bf16(b: u16) -> f32 {
    f32::from_bits(u32::from(b) << 16)
}

/// Which code computes the products.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bf16Kernel {
    /// `vdpbf16ps` on 512-bit vectors (AVX-512F + AVX-512 BF16).
    Avx512,
    /// Plain Rust, any processor.
    Portable,
}

impl Bf16Kernel {
    /// The fastest kernel this processor runs.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            // The bf16 dot-product instructions come with AVX-512 only: `DAE_ISA=avx2` or
            // `portable` takes the portable loop, as an AVX2-only machine does.
            if super::isa::Isa::active() == super::isa::Isa::Avx512
                && std::arch::is_x86_feature_detected!("avx512bf16")
            {
                return Bf16Kernel::Avx512;
            }
        }
        Bf16Kernel::Portable
    }

    /// `self` if this processor runs it, else [`Bf16Kernel::Portable`]: what keeps a caller's
    /// choice from running instructions the processor lacks.
    fn available(self) -> Self {
        match self {
            Bf16Kernel::Avx512 if Self::detect() != Bf16Kernel::Avx512 => Bf16Kernel::Portable,
            other => other,
        }
    }
}

/// A fully connected layer with its activation, packed for bf16 inference.
#[derive(Clone, Debug)]
pub struct Bf16Linear {
    d_in: usize,
    d_out: usize,
    /// `d_in` rounded up to even, over 2: the pairs of input rows.
    pairs: usize,
    /// `d_out` rounded up to a multiple of `TILE_COLS`.
    cols: usize,
    /// `cols / TILE_COLS` panels of `pairs x TILE_COLS` words: bf16 of `W[2p][j]` in the low
    /// half, of `W[2p + 1][j]` in the high (see [`Bf16Linear::word`]).
    weight: Vec<u32>,
    /// The bias, zero-padded to `cols`.
    bias: Vec<f32>,
    act: Activation,
}

impl Bf16Linear {
    /// Packs `weight` `[d_in, d_out]` (row-major, Burn's layout) and `bias` `[d_out]`.
    pub fn new(weight: &[f32], bias: &[f32], d_in: usize, d_out: usize, act: Activation) -> Self {
        assert!(d_in > 0 && d_out > 0, "bf16 linear: empty layer");
        assert_eq!(weight.len(), d_in * d_out, "bf16 linear: weight size");
        assert_eq!(bias.len(), d_out, "bf16 linear: bias size");
        let pairs = d_in.div_ceil(2);
        let cols = d_out.div_ceil(TILE_COLS) * TILE_COLS;
        let at = |k: usize, j: usize| if k < d_in { weight[k * d_out + j] } else { 0.0 };
        let mut packed = vec![0u32; pairs * cols];
        for p in 0..pairs {
            for j in 0..d_out {
                let (lo, hi) = (to_bf16(at(2 * p, j)), to_bf16(at(2 * p + 1, j)));
                packed[Self::word(pairs, p, j)] = u32::from(lo) | u32::from(hi) << 16;
            }
        }
        let mut padded_bias = bias.to_vec();
        padded_bias.resize(cols, 0.0);
        Self {
            d_in,
            d_out,
            pairs,
            cols,
            weight: packed,
            bias: padded_bias,
            act,
        }
    }

    /// Where the word of input pair `p`, column `j` lives in the packed weights.
    fn word(pairs: usize, p: usize, j: usize) -> usize {
        (j / TILE_COLS * pairs + p) * TILE_COLS + j % TILE_COLS
    }

    /// Input width.
    pub fn d_in(&self) -> usize {
        self.d_in
    }

    /// Output width.
    pub fn d_out(&self) -> usize {
        self.d_out
    }

    /// `out = act(x · W + b)` for the rows of `x` (`rows x d_in`) into `out` (`rows x d_out`);
    /// `scratch` holds the rounded input between calls (any contents). A `kernel` this processor
    /// cannot run is replaced by the portable one.
    pub fn forward(&self, kernel: Bf16Kernel, x: &[f32], out: &mut [f32], scratch: &mut Vec<u16>) {
        let kernel = kernel.available();
        let rows = x.len() / self.d_in;
        assert_eq!(x.len(), rows * self.d_in, "bf16 linear: input size");
        assert_eq!(out.len(), rows * self.d_out, "bf16 linear: output size");
        if rows == 0 {
            return;
        }
        // The rounded input: `TILE_ROWS`-padded rows of `2 * pairs` bf16, zeros in the padding.
        let width = 2 * self.pairs;
        let padded_rows = rows.div_ceil(TILE_ROWS) * TILE_ROWS;
        scratch.clear();
        scratch.resize(padded_rows * width, 0);
        for (src, dst) in x
            .chunks_exact(self.d_in)
            .zip(scratch.chunks_exact_mut(width))
        {
            round_row(kernel, src, &mut dst[..self.d_in]);
        }
        for (strip, out_strip) in out.chunks_mut(TILE_ROWS * self.d_out).enumerate() {
            let a = &scratch[strip * TILE_ROWS * width..][..TILE_ROWS * width];
            let strip_rows = out_strip.len() / self.d_out;
            for j in (0..self.d_out).step_by(TILE_COLS) {
                let tile_cols = TILE_COLS.min(self.d_out - j);
                match kernel {
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: `available` keeps `Avx512` only where the processor has both
                    // features; the slices cover every index the tile reads and writes.
                    Bf16Kernel::Avx512 => unsafe {
                        tile_avx512(self, a, j, out_strip, strip_rows, tile_cols)
                    },
                    _ => tile_portable(self, a, j, out_strip, strip_rows, tile_cols),
                }
            }
            activate(out_strip, self.act);
        }
    }
}

/// Rounds `src` to bf16 into `dst` (same length).
fn round_row(kernel: Bf16Kernel, src: &[f32], dst: &mut [u16]) {
    #[cfg(target_arch = "x86_64")]
    if kernel == Bf16Kernel::Avx512 {
        // SAFETY: as in `Bf16Linear::forward`.
        return unsafe { round_row_avx512(src, dst) };
    }
    let _ = kernel;
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = to_bf16(s);
    }
}

/// [`round_row`] 16 values at a time with `vcvtneps2bf16`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bf16")]
unsafe fn round_row_avx512(src: &[f32], dst: &mut [u16]) {
    use std::arch::x86_64::*;
    assert_eq!(src.len(), dst.len());
    let mut i = 0;
    while i < src.len() {
        let n = (src.len() - i).min(16);
        let mask: u16 = if n == 16 { u16::MAX } else { (1 << n) - 1 };
        let v = _mm512_maskz_loadu_ps(mask, src.as_ptr().add(i));
        let b: __m256i = std::mem::transmute(_mm512_cvtneps_pbh(v));
        _mm256_mask_storeu_epi16(dst.as_mut_ptr().add(i) as *mut i16, mask, b);
        i += 16;
    }
}

/// One tile by `vdpbf16ps`: columns `j..j + tile_cols` of the strip's `rows` (<= `TILE_ROWS`)
/// rows. `a` is the strip's rounded input, `TILE_ROWS` rows of `2 * pairs` bf16.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bf16")]
unsafe fn tile_avx512(
    layer: &Bf16Linear,
    a: &[u16],
    j: usize,
    out: &mut [f32],
    rows: usize,
    tile_cols: usize,
) {
    use std::arch::x86_64::*;
    let (pairs, cols, d_out) = (layer.pairs, layer.cols, layer.d_out);
    assert!(
        a.len() >= TILE_ROWS * 2 * pairs && j.is_multiple_of(TILE_COLS) && j + TILE_COLS <= cols
    );
    assert!(out.len() >= rows * d_out && j + tile_cols <= d_out && rows <= TILE_ROWS);
    // Pointers bumped once per pair: no index arithmetic (overflow-checked here) in the loop.
    let mut w = layer.weight.as_ptr().add(Bf16Linear::word(pairs, 0, j));
    let mut x = a.as_ptr() as *const i32; // row r's pair p at x + r * pairs + p
    let b0 = _mm512_loadu_ps(layer.bias.as_ptr().add(j));
    let b1 = _mm512_loadu_ps(layer.bias.as_ptr().add(j + 16));
    let mut acc = [[b0, b1]; TILE_ROWS];
    for _ in 0..pairs {
        let w0: __m512bh = std::mem::transmute(_mm512_loadu_si512(w as *const _));
        let w1: __m512bh = std::mem::transmute(_mm512_loadu_si512(w.add(16) as *const _));
        for (r, acc) in acc.iter_mut().enumerate() {
            let pair = std::ptr::read_unaligned(x.add(r * pairs));
            let x: __m512bh = std::mem::transmute(_mm512_set1_epi32(pair));
            acc[0] = _mm512_dpbf16_ps(acc[0], x, w0);
            acc[1] = _mm512_dpbf16_ps(acc[1], x, w1);
        }
        w = w.add(TILE_COLS);
        x = x.add(1);
    }
    let mask = |n: usize| -> u16 {
        match n {
            0 => 0,
            1..=15 => (1 << n) - 1,
            _ => u16::MAX,
        }
    };
    let (m0, m1) = (mask(tile_cols), mask(tile_cols.saturating_sub(16)));
    for (r, acc) in acc.iter().enumerate().take(rows) {
        let o = out.as_mut_ptr().add(r * d_out + j);
        _mm512_mask_storeu_ps(o, m0, acc[0]);
        _mm512_mask_storeu_ps(o.add(16), m1, acc[1]);
    }
}

/// The same tile in plain Rust: per lane, the odd product, then the even one, added to the sum
/// (the order Intel documents for `vdpbf16ps`).
fn tile_portable(
    layer: &Bf16Linear,
    a: &[u16],
    j: usize,
    out: &mut [f32],
    rows: usize,
    tile_cols: usize,
) {
    let (pairs, d_out) = (layer.pairs, layer.d_out);
    let panel = &layer.weight[Bf16Linear::word(pairs, 0, j)..][..pairs * TILE_COLS];
    for r in 0..rows {
        let x = &a[r * 2 * pairs..][..2 * pairs];
        let sums = &mut out[r * d_out + j..][..tile_cols];
        sums.copy_from_slice(&layer.bias[j..j + tile_cols]);
        for p in 0..pairs {
            let (x0, x1) = (from_bf16(x[2 * p]), from_bf16(x[2 * p + 1]));
            let w = &panel[p * TILE_COLS..][..tile_cols];
            for (s, &w) in sums.iter_mut().zip(w) {
                let (w0, w1) = (from_bf16(w as u16), from_bf16((w >> 16) as u16));
                *s += x1 * w1;
                *s += x0 * w0;
            }
        }
    }
}

#[cfg(test)]
#[path = "bf16_tests.rs"]
mod tests;
