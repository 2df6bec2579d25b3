//! The im2col matrix of one image for a stride-1 convolution, and its adjoint col2im: the
//! convolution becomes one GEMM per image against it (`conv.rs`).

/// The geometry of one convolution: input `[n, ci, h, w]`, kernel `kh x kw`, output `[n, co, ho, wo]`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Geometry {
    pub n: usize,
    pub ci: usize,
    pub h: usize,
    pub w: usize,
    pub co: usize,
    pub kh: usize,
    pub kw: usize,
    pub ph: usize,
    pub pw: usize,
    pub ho: usize,
    pub wo: usize,
}

impl Geometry {
    /// A stride-1 convolution of `x` `[n, ci, h, w]` by `weight` `[co, ci, kh, kw]` with padding.
    pub fn conv(x: &[usize], weight: &[usize], ph: usize, pw: usize) -> Self {
        let (h, w, kh, kw) = (x[2], x[3], weight[2], weight[3]);
        assert_eq!(
            x[1], weight[1],
            "conv2d: input channels differ from the weight's"
        );
        assert!(
            h + 2 * ph >= kh && w + 2 * pw >= kw,
            "conv2d: kernel larger than padded input"
        );
        Self {
            n: x[0],
            ci: x[1],
            h,
            w,
            co: weight[0],
            kh,
            kw,
            ph,
            pw,
            ho: h + 2 * ph - kh + 1,
            wo: w + 2 * pw - kw + 1,
        }
    }

    /// Rows of the im2col matrix (`ci * kh * kw`).
    pub(super) fn rows(&self) -> usize {
        self.ci * self.kh * self.kw
    }

    /// Output pixels per image (`ho * wo`), the im2col matrix's columns.
    pub(super) fn cols(&self) -> usize {
        self.ho * self.wo
    }

    /// The output columns `ox` whose input column `ox + kx - pw` lies inside the image.
    fn valid_x(&self, kx: usize) -> (usize, usize) {
        let lo = self.pw.saturating_sub(kx).min(self.wo);
        let hi = (self.w + self.pw).saturating_sub(kx).min(self.wo).max(lo);
        (lo, hi)
    }
}

/// Writes the im2col matrix `[ci * kh * kw, ho * wo]` of one image `[ci, h, w]`.
pub(super) fn im2col(x: &[f32], g: &Geometry, col: &mut [f32]) {
    let l = g.cols();
    for c in 0..g.ci {
        let plane = &x[c * g.h * g.w..][..g.h * g.w];
        for ky in 0..g.kh {
            for kx in 0..g.kw {
                let row = &mut col[((c * g.kh + ky) * g.kw + kx) * l..][..l];
                if g.wo == g.w {
                    im2col_row_same_width(plane, g, ky, kx, row);
                    continue;
                }
                let (lo, hi) = g.valid_x(kx);
                for oy in 0..g.ho {
                    let dst = &mut row[oy * g.wo..][..g.wo];
                    let iy = oy + ky;
                    if iy < g.ph || iy - g.ph >= g.h {
                        dst.fill(0.0);
                        continue;
                    }
                    let src = &plane[(iy - g.ph) * g.w..][..g.w];
                    dst[..lo].fill(0.0);
                    dst[hi..].fill(0.0);
                    if hi > lo {
                        dst[lo..hi].copy_from_slice(&src[lo + kx - g.pw..hi + kx - g.pw]);
                    }
                }
            }
        }
    }
}

/// The output rows `oy` whose input row `oy + ky - ph` lies inside the image.
fn valid_y(g: &Geometry, ky: usize) -> (usize, usize) {
    let lo = g.ph.saturating_sub(ky).min(g.ho);
    let hi = (g.h + g.ph).saturating_sub(ky).min(g.ho).max(lo);
    (lo, hi)
}

/// One im2col row when the output is as wide as the input (a "same" convolution, the encoder's
/// 3x3 with padding 1): the row is the input plane shifted by `(ky - ph) * w + kx - pw`, so the
/// valid output rows are one contiguous copy, after which the columns that read across an image
/// edge (at most `pw` per side) are zeroed. The general loop makes one short copy per output row,
/// whose call overhead was most of im2col's time at the encoder's 14-pixel rows.
fn im2col_row_same_width(plane: &[f32], g: &Geometry, ky: usize, kx: usize, row: &mut [f32]) {
    let w = g.w;
    let (y_lo, y_hi) = valid_y(g, ky);
    let (x_lo, x_hi) = g.valid_x(kx);
    row[..y_lo * w].fill(0.0);
    row[y_hi * w..].fill(0.0);
    // Output index d reads input index d + shift; keep both inside their slices.
    let shift = (ky * w + kx) as isize - (g.ph * w + g.pw) as isize;
    let first = (y_lo * w).max((-shift).max(0) as usize);
    let last = (y_hi * w).min((plane.len() as isize - shift).max(0) as usize);
    if last > first {
        let src = (first as isize + shift) as usize;
        row[first..last].copy_from_slice(&plane[src..src + (last - first)]);
    }
    zero_edge_columns(row, w, (y_lo, y_hi), (x_lo, x_hi));
}

/// Adds the im2col-shaped gradient `col` back onto the image gradient `dx` `[ci, h, w]`. `col`
/// is scratch: entries that fall outside the image may be zeroed on the way.
pub(super) fn col2im(col: &mut [f32], g: &Geometry, dx: &mut [f32]) {
    let l = g.cols();
    for c in 0..g.ci {
        let plane = &mut dx[c * g.h * g.w..][..g.h * g.w];
        for ky in 0..g.kh {
            for kx in 0..g.kw {
                let row = &mut col[((c * g.kh + ky) * g.kw + kx) * l..][..l];
                let (lo, hi) = g.valid_x(kx);
                if g.wo == g.w {
                    col2im_row_same_width(row, g, ky, kx, plane);
                    continue;
                }
                for oy in 0..g.ho {
                    let iy = oy + ky;
                    if iy < g.ph || iy - g.ph >= g.h {
                        continue;
                    }
                    if hi <= lo {
                        continue;
                    }
                    let dst = &mut plane[(iy - g.ph) * g.w..][..g.w];
                    let src = &row[oy * g.wo..][..g.wo];
                    for (d, s) in dst[lo + kx - g.pw..hi + kx - g.pw]
                        .iter_mut()
                        .zip(&src[lo..hi])
                    {
                        *d += s;
                    }
                }
            }
        }
    }
}

/// The inverse of [`im2col_row_same_width`]: the columns that read across an edge are zeroed in
/// `row`, then the valid rows are added onto the shifted plane in one contiguous pass (a zero
/// lands on the neighbouring row's pixel, adding nothing).
fn col2im_row_same_width(row: &mut [f32], g: &Geometry, ky: usize, kx: usize, plane: &mut [f32]) {
    let w = g.w;
    let (y_lo, y_hi) = valid_y(g, ky);
    let (x_lo, x_hi) = g.valid_x(kx);
    zero_edge_columns(row, w, (y_lo, y_hi), (x_lo, x_hi));
    let shift = (ky * w + kx) as isize - (g.ph * w + g.pw) as isize;
    let first = (y_lo * w).max((-shift).max(0) as usize);
    let last = (y_hi * w).min((plane.len() as isize - shift).max(0) as usize);
    if last > first {
        let dst = (first as isize + shift) as usize;
        for (d, s) in plane[dst..dst + (last - first)]
            .iter_mut()
            .zip(&row[first..last])
        {
            *d += s;
        }
    }
}

/// Zeroes the columns outside `x_lo..x_hi` of the output rows `y_lo..y_hi` of an im2col row
/// (rows of `w`): column by column with a stride, as there are at most `pw` such columns per
/// side, where a fill per row paid a loop's set-up for one or two elements (3% of a conv
/// training step in col2im alone).
fn zero_edge_columns(
    row: &mut [f32],
    w: usize,
    (y_lo, y_hi): (usize, usize),
    (x_lo, x_hi): (usize, usize),
) {
    if y_hi <= y_lo {
        return;
    }
    let rows = &mut row[y_lo * w..y_hi * w];
    for ox in (0..x_lo).chain(x_hi..w) {
        for v in rows[ox..].iter_mut().step_by(w) {
            *v = 0.0;
        }
    }
}
