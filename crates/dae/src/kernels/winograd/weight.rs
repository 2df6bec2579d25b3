//! The weight gradient of a 3x3 convolution by F(2x2, 3x3), the adjoint of the forward pass in
//! `mod.rs`: each output tile's gradient goes back through the output transform
//! (`dM = A dY Aᵀ`), is multiplied with the input tiles' transform `V` in 16 GEMMs summed over the
//! tiles (`dU[ξ] = Σ dM[ξ] · V[ξ]ᵀ`), and the sum goes back through the kernel transform
//! (`dW = Gᵀ dU G`).

use super::{
    applies, split_plane, transform_image, with_scratch, Tiles, COLUMNS_PER_GROUP, POSITIONS,
};
use crate::kernels::gemm::matmul_on;
use crate::kernels::im2col::Geometry;
use crate::kernels::isa::{multiversion, Isa};

/// The weight gradient's sum over the images `images`, in the transformed domain:
/// `dU[ξ] (co x ci) = Σ dM[ξ] · V[ξ]ᵀ` over their tiles, where `dM = A dY Aᵀ` is each output
/// tile's gradient carried back through the output transform. [`weight_gradient_of`] turns the
/// sum (over any split of the images) into the `[co, ci, 3, 3]` gradient. `g` must satisfy
/// [`applies`].
pub(in crate::kernels) fn transformed_weight_gradient(
    x: &[f32],
    dy: &[f32],
    images: std::ops::Range<usize>,
    g: &Geometry,
) -> Vec<f32> {
    assert!(applies(g), "winograd: not a 3x3 convolution it computes");
    let isa = Isa::active();
    let t = Tiles::of(g);
    let group = (COLUMNS_PER_GROUP / t.columns()).max(1);
    let (per_in, plane_out) = (g.ci * g.h * g.w, g.ho * g.wo);
    let mut du = vec![0f32; POSITIONS * g.co * g.ci];
    let starts = images.clone().step_by(group);
    for (step, start) in starts.enumerate() {
        let count = group.min(images.end - start);
        let columns = count * t.columns();
        let (v_len, d_len) = (POSITIONS * g.ci * columns, POSITIONS * g.co * columns);
        with_scratch(v_len + d_len + 12 * t.block(), |scratch| {
            let (v, rest) = scratch.split_at_mut(v_len);
            let (d, rest) = rest.split_at_mut(d_len);
            let (lines, work) = rest.split_at_mut(8 * t.block());
            for k in 0..count {
                let image = &x[(start + k) * per_in..][..per_in];
                transform_image(isa, image, g, (v, columns, k), (lines, work));
                let grad = &dy[(start + k) * g.co * plane_out..][..g.co * plane_out];
                for (o, plane) in grad.chunks_exact(plane_out).enumerate() {
                    let at = o * columns + k * t.columns();
                    split_plane(plane, g.wo, (0, 0), t, work);
                    transform_gradient_on(isa, work, &mut d[at..], g.co * columns, t);
                }
            }
            for xi in 0..POSITIONS {
                let a = &d[xi * g.co * columns..][..g.co * columns];
                let b = &v[xi * g.ci * columns..][..g.ci * columns];
                let dst = &mut du[xi * g.co * g.ci..][..g.co * g.ci];
                let (shape, accumulate) = ((g.co, g.ci, columns), step > 0);
                matmul_on(
                    isa,
                    shape,
                    dst,
                    accumulate,
                    a,
                    (columns, 1),
                    b,
                    (1, columns),
                );
            }
        });
    }
    du
}

multiversion! {
    /// `dM[ξ][tile] = (A dY Aᵀ)[ξ]` of one output-gradient plane from its parity blocks
    /// (`split_plane` without padding), written at `d[ξ * d_stride + tile]`. The columns past
    /// the plane's tiles come out zero, so the GEMM over them adds nothing.
    fn transform_gradient_on(blocks: &[f32], d: &mut [f32], d_stride: usize, t: Tiles)
        => transform_gradient_body
}

#[inline(always)]
fn transform_gradient_body(blocks: &[f32], d: &mut [f32], d_stride: usize, t: Tiles) {
    let (n, block) = (t.columns(), t.block());
    // A tile's pixels (row a, column b) are block 2a + b at the tile's column.
    let pixel = |parity: usize| &blocks[parity * block..][..n];
    let (y00, y01, y10, y11) = (pixel(0), pixel(1), pixel(2), pixel(3));
    // A · along the rows gives (y0, y0 + y1, y0 - y1, -y1) per column; · Aᵀ the same along the
    // columns.
    let (d0, rest) = d.split_at_mut(4 * d_stride);
    let (d1, rest) = rest.split_at_mut(4 * d_stride);
    let (d2, d3) = rest.split_at_mut(4 * d_stride);
    let (left, right) = ((y00, y10), (y01, y11));
    gradient_row(left, right, d0, d_stride, n, |top, _| top);
    gradient_row(left, right, d1, d_stride, n, |top, bottom| top + bottom);
    gradient_row(left, right, d2, d_stride, n, |top, bottom| top - bottom);
    gradient_row(left, right, d3, d_stride, n, |_, bottom| -bottom);
}

/// One row of `dM` for every tile: `l = f(top left, bottom left)`, `r = f(top right, bottom
/// right)` (A · along the rows), then `(l, l + r, l - r, -r)` (· Aᵀ) at `dst[j * d_stride..]`.
#[inline(always)]
fn gradient_row(
    (top_left, bottom_left): (&[f32], &[f32]),
    (top_right, bottom_right): (&[f32], &[f32]),
    dst: &mut [f32],
    d_stride: usize,
    n: usize,
    f: impl Fn(f32, f32) -> f32,
) {
    let (tl, bl, tr, br) = (
        &top_left[..n],
        &bottom_left[..n],
        &top_right[..n],
        &bottom_right[..n],
    );
    let (d0, rest) = dst.split_at_mut(d_stride);
    let (d1, rest) = rest.split_at_mut(d_stride);
    let (d2, d3) = rest.split_at_mut(d_stride);
    let (d0, d1, d2, d3) = (&mut d0[..n], &mut d1[..n], &mut d2[..n], &mut d3[..n]);
    for x in 0..n {
        let (l, r) = (f(tl[x], bl[x]), f(tr[x], br[x]));
        d0[x] = l;
        d1[x] = l + r;
        d2[x] = l - r;
        d3[x] = -r;
    }
}

/// `[v0 + (v1 + v2) / 2, (v1 - v2) / 2, (v1 + v2) / 2 + v3]`: `Gᵀ` applied to a row or column of
/// a transformed kernel's gradient (the adjoint of `filter_1d`).
fn filter_1d_adjoint([v0, v1, v2, v3]: [f32; 4]) -> [f32; 3] {
    [v0 + (v1 + v2) * 0.5, (v1 - v2) * 0.5, (v1 + v2) * 0.5 + v3]
}

/// The `[co, ci, 3, 3]` weight gradient `Gᵀ dU G` from the summed [`transformed_weight_gradient`].
pub(in crate::kernels) fn weight_gradient_of(du: &[f32], g: &Geometry) -> Vec<f32> {
    let pairs = g.co * g.ci;
    let mut dw = vec![0f32; pairs * 9];
    for (oc, k) in dw.chunks_exact_mut(9).enumerate() {
        let at = |xi: usize| du[xi * pairs + oc];
        // Gᵀ along the columns of each of the four rows, then along the rows.
        let rows: [[f32; 3]; 4] = std::array::from_fn(|i| {
            filter_1d_adjoint([at(4 * i), at(4 * i + 1), at(4 * i + 2), at(4 * i + 3)])
        });
        for col in 0..3 {
            let column =
                filter_1d_adjoint([rows[0][col], rows[1][col], rows[2][col], rows[3][col]]);
            for (row, value) in column.into_iter().enumerate() {
                k[row * 3 + col] = value;
            }
        }
    }
    dw
}
