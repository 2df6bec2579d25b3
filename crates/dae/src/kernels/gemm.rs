//! The single-precision GEMM behind every kernel, on the instruction set [`Isa::active`] picks.
//!
//! The `gemm` crate (which Burn's flex also uses) packs panels and runs register-tiled
//! microkernels per instruction set: 16 x 6 tiles of 8-lane FMA on AVX2, 32 x 6 tiles (of which
//! 2 x 6 registers) of 16-lane FMA on AVX-512. Its own entry point picks the path by the processor
//! alone and cannot be told otherwise; here dae calls the same blocked driver with the
//! microkernel table of the path it chose, so that `DAE_ISA` forces a narrower one.

use gemm_common::gemm::gemm_basic_generic;
use gemm_common::simd::MixedSimd;
use gemm_common::Parallelism;

use super::isa::Isa;

/// `dst[m x n] (row stride n) = (accumulate ? dst : 0) + a · b`, where `a[i, l]` is at
/// `a[i * a_rs + l * a_cs]` and `b[l, j]` at `b[l * b_rs + j * b_cs]`, single-threaded (the
/// callers split the work themselves), on the active instruction set.
#[allow(clippy::too_many_arguments)]
pub(super) fn matmul(
    shape: (usize, usize, usize),
    dst: &mut [f32],
    accumulate: bool,
    a: &[f32],
    a_strides: (usize, usize),
    b: &[f32],
    b_strides: (usize, usize),
) {
    matmul_on(
        Isa::active(),
        shape,
        dst,
        accumulate,
        a,
        a_strides,
        b,
        b_strides,
    );
}

/// `dstᵀ = (accumulate ? dstᵀ : 0) + a · b`: the product stored column-major, `(a · b)[i, j]` at
/// `dst[j * m + i]`. For a product whose rows are few and whose inner dimension is long (a weight
/// gradient `dy · colᵀ` summed over pixels), this orientation lets the driver read the long
/// operand in place instead of packing (transposing) it first.
#[allow(clippy::too_many_arguments)]
pub(super) fn matmul_into_transposed(
    shape: (usize, usize, usize),
    dst: &mut [f32],
    accumulate: bool,
    a: &[f32],
    a_strides: (usize, usize),
    b: &[f32],
    b_strides: (usize, usize),
) {
    let m = shape.0;
    product_on(
        Isa::active(),
        shape,
        (dst, (1, m)),
        accumulate,
        (a, a_strides),
        (b, b_strides),
    );
}

/// [`matmul`] on a given instruction set, which must be one the processor supports (a wider one
/// falls back to the widest supported).
#[allow(clippy::too_many_arguments)]
pub(super) fn matmul_on(
    isa: Isa,
    shape: (usize, usize, usize),
    dst: &mut [f32],
    accumulate: bool,
    a: &[f32],
    a_strides: (usize, usize),
    b: &[f32],
    b_strides: (usize, usize),
) {
    let n = shape.1;
    product_on(
        isa,
        shape,
        (dst, (n, 1)),
        accumulate,
        (a, a_strides),
        (b, b_strides),
    );
}

/// A matrix operand: its elements and its (row, column) strides.
type Operand<'a, T> = (T, (usize, usize));

/// `dst = (accumulate ? dst : 0) + a · b` with every matrix given by its strides, `(i, j)` at
/// `i * row_stride + j * col_stride`; the destination's strides must not make two elements alias.
pub(super) fn product_on(
    isa: Isa,
    (m, n, k): (usize, usize, usize),
    (dst, (dst_rs, dst_cs)): Operand<&mut [f32]>,
    accumulate: bool,
    (a, (a_rs, a_cs)): Operand<&[f32]>,
    (b, (b_rs, b_cs)): Operand<&[f32]>,
) {
    assert!(m == 0 || n == 0 || dst.len() > (m - 1) * dst_rs + (n - 1) * dst_cs);
    assert!(m == 0 || k == 0 || a.len() > (m - 1) * a_rs + (k - 1) * a_cs);
    assert!(n == 0 || k == 0 || b.len() > (k - 1) * b_rs + (n - 1) * b_cs);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                for j in 0..n {
                    dst[i * dst_rs + j * dst_cs] = 0.0;
                }
            }
        }
        return;
    }
    let call = Call {
        m,
        n,
        k,
        dst: dst.as_mut_ptr(),
        dst_cs: dst_cs as isize,
        dst_rs: dst_rs as isize,
        accumulate,
        lhs: a.as_ptr(),
        lhs_cs: a_cs as isize,
        lhs_rs: a_rs as isize,
        rhs: b.as_ptr(),
        rhs_cs: b_cs as isize,
        rhs_rs: b_rs as isize,
    };
    // The microkernels keep tiles of a column-major destination in registers: for dae's
    // row-major `dst` the driver computes dstᵀ = bᵀ · aᵀ instead, as `gemm`'s own entry point
    // does (calling the driver directly skips that entry point, and once cost the Transformer's
    // GEMMs 2.5x their time).
    let call = if call.dst_cs < call.dst_rs {
        call.transposed()
    } else {
        call
    };
    // One path: its microkernel table (`f32` of a `gemm_f32::microkernel` module), its lanes
    // per register and the SIMD token of its instructions.
    macro_rules! run_on {
        ($ukr:path, $lanes:literal, $simd:expr) => {{
            use $ukr as ukr;
            call.run::<_, $lanes, { ukr::MR_DIV_N * $lanes }, { ukr::NR }, { ukr::MR_DIV_N }, { ukr::H_M }, { ukr::H_N }>(
                $simd,
                &ukr::UKR,
                &ukr::H_UKR,
            )
        }};
    }
    // SAFETY: the asserts above keep every index the driver reads or writes inside the slices,
    // and each path runs only where the processor has its instructions.
    unsafe {
        match isa.min(Isa::detected()) {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => run_on!(
                gemm_f32::microkernel::avx512f::f32,
                16,
                gemm_common::simd::V4::try_new().expect("avx512f was detected")
            ),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => run_on!(
                gemm_f32::microkernel::fma::f32,
                8,
                gemm_common::simd::V3::try_new().expect("avx2 and fma were detected")
            ),
            _ => run_on!(
                gemm_f32::microkernel::scalar::f32,
                1,
                gemm_common::simd::Scalar
            ),
        }
    }
}

/// One product in the driver's terms: `dst[m x n] = (accumulate ? dst : 0) + lhs[m x k] ·
/// rhs[k x n]`, each matrix by its pointer, column stride and row stride (in elements).
struct Call {
    m: usize,
    n: usize,
    k: usize,
    dst: *mut f32,
    dst_cs: isize,
    dst_rs: isize,
    accumulate: bool,
    lhs: *const f32,
    lhs_cs: isize,
    lhs_rs: isize,
    rhs: *const f32,
    rhs_cs: isize,
    rhs_rs: isize,
}

impl Call {
    /// The same product as `dstᵀ = rhsᵀ · lhsᵀ`: every matrix read through its transpose.
    fn transposed(self) -> Call {
        Call {
            m: self.n,
            n: self.m,
            dst_cs: self.dst_rs,
            dst_rs: self.dst_cs,
            lhs: self.rhs,
            lhs_cs: self.rhs_rs,
            lhs_rs: self.rhs_cs,
            rhs: self.lhs,
            rhs_cs: self.lhs_rs,
            rhs_rs: self.lhs_cs,
            ..self
        }
    }

    /// Runs the blocked driver with one path's SIMD token and microkernel tables.
    ///
    /// # Safety
    /// The pointers and strides must describe valid matrices of the call's shape, and the
    /// processor must support `simd`.
    #[allow(clippy::type_complexity)]
    unsafe fn run<
        S: MixedSimd<f32, f32, f32, f32>,
        const N: usize,
        const MR: usize,
        const NR: usize,
        const MR_DIV_N: usize,
        const H_M: usize,
        const H_N: usize,
    >(
        &self,
        simd: S,
        ukr: &[[gemm_common::microkernel::MicroKernelFn<f32>; NR]; MR_DIV_N],
        h_ukr: &[[gemm_common::microkernel::HMicroKernelFn<f32>; H_N]; H_M],
    ) {
        gemm_basic_generic::<S, f32, N, MR, NR, MR_DIV_N, H_M, H_N>(
            simd,
            self.m,
            self.n,
            self.k,
            self.dst,
            self.dst_cs,
            self.dst_rs,
            self.accumulate,
            self.lhs,
            self.lhs_cs,
            self.lhs_rs,
            self.rhs,
            self.rhs_cs,
            self.rhs_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            |a, b, c| a * b + c,
            ukr,
            h_ukr,
            false,
            Parallelism::None,
        );
    }
}
