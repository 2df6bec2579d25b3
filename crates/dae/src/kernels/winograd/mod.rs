//! Stride-1 3x3 convolutions by Winograd's F(2x2, 3x3): the forward pass of the 3x3 layers with
//! enough channels, their input gradient (the same pass, through the mirrored form in
//! `conv.rs`) and their weight gradient (`weight.rs`).
//!
//! Each 2x2 block of output pixels (a tile) is `Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A` of the 4x4 input
//! patch `d` under it: 16 multiplications per tile, input and output channel instead of the
//! direct form's 36. Summed over input channels, the products are 16 GEMMs
//! `M[ξ] (co x tiles) = U[ξ] (co x ci) · V[ξ] (ci x tiles)`, one per position ξ of the transformed
//! patch, over the tiles of a few images at once.
//!
//! The transforms only add, subtract and halve. They are laid out so that every loop runs over
//! a long contiguous range: each input plane is split by the parity of its rows and columns
//! (four blocks), so that `· B` (columns) and `Bᵀ ·` (rows) combine whole blocks shifted by one
//! column or one row. A tile row is therefore `tw + 1` columns wide in `V` and `M`: the last one
//! is computed and never read (about 1/8 of the GEMM's columns at 14x14, 1/15 at 28x28). The
//! first attempt (session 20) combined one tile row at a time, 7 tiles long at 14x14: the
//! vector loops ran in their scalar remainders and the transforms took 14-20% of the time.
//!
//! The result differs from the direct sum by rounding only (`BENCHMARKS.md`, issue 19, session
//! 21; tested against a double-precision direct convolution and weight gradient in `tests.rs`).

use super::gemm::matmul_on;
use super::im2col::Geometry;
use super::isa::{multiversion, Isa};
use super::pairs::{add_pairs, split_pairs};
use super::uninit::{self, Scratch};

mod weight;
pub(super) use weight::{transformed_weight_gradient, weight_gradient_of};

/// Fewest input and output channels for this route. The narrowest layers measured are the
/// diffusion U-Net's 16-channel ones at 28x28: its epoch took 2.8-2.9 s with them on this route
/// and 3.0-3.2 s with only its 32- and 64-channel layers (BENCHMARKS.md, issue 19, session 21).
/// Too few channels make the sum over them too short to pay for the transforms (the conv DAE's
/// first layer has one input channel).
const MIN_CHANNELS: usize = 16;

/// GEMM columns per group: whole images are grouped until their tiles reach this many.
const COLUMNS_PER_GROUP: usize = 128;

/// Positions of the transformed 4x4 patch, and so the number of GEMMs.
const POSITIONS: usize = 16;

/// Whether [`forward`] computes the convolution of `g`: a 3x3 kernel, enough channels, and
/// images and outputs of at least one pixel. (Every convolution here has stride 1; any padding
/// works.)
pub(super) fn applies(g: &Geometry) -> bool {
    let sides = [g.h, g.w, g.ho, g.wo];
    g.kh == 3 && g.kw == 3 && g.ci >= MIN_CHANNELS && g.co >= MIN_CHANNELS && !sides.contains(&0)
}

/// The tiles of one output plane, and the layout of their columns.
#[derive(Clone, Copy, Debug)]
struct Tiles {
    /// Tile rows and columns: `ceil(ho / 2)`, `ceil(wo / 2)`.
    th: usize,
    tw: usize,
}

impl Tiles {
    fn of(g: &Geometry) -> Self {
        Self {
            th: g.ho.div_ceil(2),
            tw: g.wo.div_ceil(2),
        }
    }

    /// Columns of one tile row in `V` and `M`, and of one parity block's row: one past the tiles.
    fn stride(self) -> usize {
        self.tw + 1
    }

    /// GEMM columns per image.
    fn columns(self) -> usize {
        self.th * self.stride()
    }

    /// Elements of one parity block (`th + 1` rows), plus one zero read past its end.
    fn block(self) -> usize {
        (self.th + 1) * self.stride() + 1
    }
}

/// `y[n] = conv(x[n], weight) + bias` for `x` `[n, ci, h, w]`, `weight` `[co, ci, 3, 3]`, as
/// `[n, co, ho, wo]`, on the active instruction set; `g` must satisfy [`applies`]. Without a bias
/// the output starts at zero.
pub(super) fn forward(x: &[f32], weight: &[f32], bias: Option<&[f32]>, g: &Geometry) -> Vec<f32> {
    forward_on(Isa::active(), x, weight, bias, g)
}

/// [`forward`] on a given instruction set.
pub(super) fn forward_on(
    isa: Isa,
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    g: &Geometry,
) -> Vec<f32> {
    assert!(applies(g), "winograd: not a 3x3 convolution it computes");
    let t = Tiles::of(g);
    let u = transform_filters(weight, g);
    let group = (COLUMNS_PER_GROUP / t.columns()).clamp(1, g.n.max(1));
    let (per_in, plane_out) = (g.ci * g.h * g.w, g.ho * g.wo);
    let per_out = g.co * plane_out;
    let biases: Vec<f32> = match bias {
        Some(bias) => bias.iter().copied().cycle().take(group * g.co).collect(),
        None => vec![0.0; group * g.co],
    };
    uninit::build(g.n * per_out, group * per_out, g.n > group, |i, y| {
        let images = y.len() / per_out;
        let y = uninit::fill_rows(y, plane_out, &biases[..images * g.co]);
        let columns = images * t.columns();
        let (v_len, m_len) = (POSITIONS * g.ci * columns, POSITIONS * g.co * columns);
        let work = (4 * t.block()).max(4 * t.columns());
        with_scratch(v_len + m_len + 8 * t.block() + work, |scratch| {
            let (v, rest) = scratch.split_at_mut(v_len);
            let (m, rest) = rest.split_at_mut(m_len);
            let (lines, work) = rest.split_at_mut(8 * t.block());
            for k in 0..images {
                let image = &x[(i * group + k) * per_in..][..per_in];
                transform_image(isa, image, g, (v, columns, k), (lines, work));
            }
            for xi in 0..POSITIONS {
                let a = &u[xi * g.co * g.ci..][..g.co * g.ci];
                let b = &v[xi * g.ci * columns..][..g.ci * columns];
                let dst = &mut m[xi * g.co * columns..][..g.co * columns];
                let shape = (g.co, columns, g.ci);
                matmul_on(isa, shape, dst, false, a, (g.ci, 1), b, (columns, 1));
            }
            for k in 0..images {
                let out = &mut y[k * per_out..][..per_out];
                for (o, plane) in out.chunks_exact_mut(plane_out).enumerate() {
                    let at = o * columns + k * t.columns();
                    untransform_plane_on(isa, &m[at..], g.co * columns, t, lines, work);
                    add_tiles(work, t, plane, g.ho, g.wo);
                }
            }
        });
        y
    })
}

/// `V` of every input plane of one image, the `k`-th of a group whose GEMMs have `columns`
/// columns: channel `c`'s tiles at `v[ξ * ci * columns + c * columns + k * t.columns()..]`,
/// through the scratch `lines` (8 blocks) and `work` (4 blocks).
fn transform_image(
    isa: Isa,
    image: &[f32],
    g: &Geometry,
    (v, columns, k): (&mut [f32], usize, usize),
    (lines, work): (&mut [f32], &mut [f32]),
) {
    let t = Tiles::of(g);
    for (c, plane) in image.chunks_exact(g.h * g.w).enumerate() {
        let at = c * columns + k * t.columns();
        split_plane(plane, g.w, (g.ph, g.pw), t, work);
        transform_plane_on(isa, work, lines, &mut v[at..], g.ci * columns, t);
    }
}

/// Runs `f` on this thread's Winograd buffers, sized to `len`.
fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    thread_local! {
        static BUFFERS: Scratch = const { Scratch::new(Vec::new()) };
    }
    uninit::with_scratch(&BUFFERS, len, f)
}

/// `[a, (a + b + c) / 2, (a - b + c) / 2, c]`: `G` applied to a kernel row or column.
fn filter_1d([a, b, c]: [f32; 3]) -> [f32; 4] {
    [a, (a + b + c) * 0.5, (a - b + c) * 0.5, c]
}

/// `U[ξ][o][c] = (G g Gᵀ)[ξ]` for every kernel `g = weight[o][c]`.
fn transform_filters(weight: &[f32], g: &Geometry) -> Vec<f32> {
    let mut u = vec![0f32; POSITIONS * g.co * g.ci];
    for (oc, k) in weight.chunks_exact(9).enumerate() {
        let rows = [0, 1, 2].map(|r| filter_1d([k[3 * r], k[3 * r + 1], k[3 * r + 2]]));
        for col in 0..4 {
            let t = filter_1d([rows[0][col], rows[1][col], rows[2][col]]);
            for (row, value) in t.into_iter().enumerate() {
                u[(row * 4 + col) * g.co * g.ci + oc] = value;
            }
        }
    }
    u
}

/// Copies one plane (`width` wide), zero-bordered by the padding, into four parity blocks of `blocks`
/// (`t.block()` each, in the order even row and even column, even-odd, odd-even, odd-odd):
/// padded pixel `(y, x)` goes to block `2 (y % 2) + x % 2`, row `y / 2`, column `x / 2`.
fn split_plane(
    plane: &[f32],
    width: usize,
    (ph, pw): (usize, usize),
    t: Tiles,
    blocks: &mut [f32],
) {
    let (stride, block) = (t.stride(), t.block());
    let blocks = &mut blocks[..4 * block];
    blocks.fill(0.0);
    // Every padded pixel lands inside: 2 (th + 1) >= ho + 2 = h + 2 ph for an input plane, and
    // 2 th >= ho for an output gradient's; the same for the columns.
    // Input columns 2k and 2k + 1 go to column k + floor(pw / 2) of the parity of pw and to
    // column k + ceil(pw / 2) of the other parity.
    let first = pw % 2;
    for (y, row) in plane.chunks_exact(width).enumerate() {
        let yp = y + ph;
        let row_start = 2 * (yp % 2) * block + (yp / 2) * stride;
        // The two parities' blocks, the one the row's first pixel goes to first.
        let (even, odd) = blocks[row_start..].split_at_mut(block);
        let (to_first, to_second) = match first {
            0 => (even, odd),
            _ => (odd, even),
        };
        let to_first = &mut to_first[pw / 2..][..width.div_ceil(2)];
        let to_second = &mut to_second[pw.div_ceil(2)..][..width / 2];
        if width % 2 == 1 {
            to_first[width / 2] = row[width - 1];
        }
        split_pairs(row, to_first, to_second);
    }
}

multiversion! {
    /// `V[ξ][tile]` of one input plane from its parity blocks (`split_plane`), written at
    /// `v[ξ * v_stride + tile]`, using `lines` (8 blocks) for the column stage.
    fn transform_plane_on(
        blocks: &[f32],
        lines: &mut [f32],
        v: &mut [f32],
        v_stride: usize,
        t: Tiles,
    ) => transform_plane_body
}

#[inline(always)]
fn transform_plane_body(
    blocks: &[f32],
    lines: &mut [f32],
    v: &mut [f32],
    v_stride: usize,
    t: Tiles,
) {
    let (block, stride) = (t.block(), t.stride());
    let len = block - 1;
    // d · B along the columns: for tile column x, the patch's columns are (even x, odd x,
    // even x + 1, odd x + 1); each row parity's four results are whole blocks.
    for parity in 0..2 {
        let even = &blocks[2 * parity * block..][..block];
        let odd = &blocks[(2 * parity + 1) * block..][..block];
        let (e0, e1, o0, o1) = (&even[..len], &even[1..], &odd[..len], &odd[1..]);
        let out = &mut lines[4 * parity * block..][..4 * block];
        let (c0, rest) = out.split_at_mut(block);
        let (c1, rest) = rest.split_at_mut(block);
        let (c2, c3) = rest.split_at_mut(block);
        let (c0, c1, c2, c3) = (
            &mut c0[..len],
            &mut c1[..len],
            &mut c2[..len],
            &mut c3[..len],
        );
        for x in 0..len {
            c0[x] = e0[x] - e1[x];
            c1[x] = o0[x] + e1[x];
            c2[x] = e1[x] - o0[x];
            c3[x] = o0[x] - o1[x];
        }
    }
    // Bᵀ · along the rows: for tile row y, the patch's rows are (even y, odd y, even y + 1,
    // odd y + 1), the same blocks one block row apart.
    let n = t.columns();
    for j in 0..4 {
        let even = &lines[j * block..][..block];
        let odd = &lines[(4 + j) * block..][..block];
        let (e0, e1, o0, o1) = (
            &even[..n],
            &even[stride..][..n],
            &odd[..n],
            &odd[stride..][..n],
        );
        let (v0, rest) = v.split_at_mut(4 * v_stride);
        let (v1, rest) = rest.split_at_mut(4 * v_stride);
        let (v2, v3) = rest.split_at_mut(4 * v_stride);
        let v0 = &mut v0[j * v_stride..][..n];
        let v1 = &mut v1[j * v_stride..][..n];
        let v2 = &mut v2[j * v_stride..][..n];
        let v3 = &mut v3[j * v_stride..][..n];
        for x in 0..n {
            v0[x] = e0[x] - e1[x];
            v1[x] = o0[x] + e1[x];
            v2[x] = e1[x] - o0[x];
            v3[x] = o0[x] - o1[x];
        }
    }
}

multiversion! {
    /// `Aᵀ M A` of one output plane's tiles, from `m[ξ * m_stride + tile]`, into `out`: four
    /// runs of `t.columns()`, the tiles' pixels (top left, top right, bottom left, bottom
    /// right), through `lines` (8 runs) for the row stage.
    fn untransform_plane_on(
        m: &[f32],
        m_stride: usize,
        t: Tiles,
        lines: &mut [f32],
        out: &mut [f32],
    ) => untransform_body
}

#[inline(always)]
fn untransform_body(m: &[f32], m_stride: usize, t: Tiles, lines: &mut [f32], out: &mut [f32]) {
    let n = t.columns();
    let at = |xi: usize| &m[xi * m_stride..][..n];
    // Aᵀ · along the rows: (m0 + m1 + m2, m1 - m2 - m3) for each column j of the patch.
    let (top, bottom) = lines[..8 * n].split_at_mut(4 * n);
    for j in 0..4 {
        let (m0, m1, m2, m3) = (at(j), at(4 + j), at(8 + j), at(12 + j));
        let s0 = &mut top[j * n..][..n];
        let s1 = &mut bottom[j * n..][..n];
        for x in 0..n {
            s0[x] = m0[x] + m1[x] + m2[x];
            s1[x] = m1[x] - m2[x] - m3[x];
        }
    }
    // · A along the columns, the same for the top and the bottom row of each tile.
    let (top_pixels, bottom_pixels) = out[..4 * n].split_at_mut(2 * n);
    for (s, pixels) in [(&*top, top_pixels), (&*bottom, bottom_pixels)] {
        let (s0, s1, s2, s3) = (&s[..n], &s[n..][..n], &s[2 * n..][..n], &s[3 * n..][..n]);
        let (left, right) = pixels.split_at_mut(n);
        for x in 0..n {
            left[x] = s0[x] + s1[x] + s2[x];
            right[x] = s1[x] - s2[x] - s3[x];
        }
    }
}

/// Adds the tiles' pixels (`untransform_plane_on`'s four runs) to the output plane `[ho, wo]`,
/// leaving out what an odd-sized output's last tile row or column would put past its edge.
fn add_tiles(pixels: &[f32], t: Tiles, plane: &mut [f32], ho: usize, wo: usize) {
    let (n, stride) = (t.columns(), t.stride());
    for (y, row) in plane.chunks_exact_mut(wo).enumerate().take(ho) {
        let (ty, a) = (y / 2, y % 2);
        let left = &pixels[2 * a * n + ty * stride..][..t.tw];
        let right = &pixels[(2 * a + 1) * n + ty * stride..][..t.tw];
        add_pairs(row, left, right);
        if wo % 2 == 1 {
            row[wo - 1] += left[t.tw - 1];
        }
    }
}

#[cfg(test)]
mod tests;
