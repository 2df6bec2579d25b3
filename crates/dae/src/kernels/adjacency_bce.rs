//! Kipf & Welling's full-adjacency edge loss, fused: the weighted binary cross-entropy of the
//! logits `Z·Zᵀ` against the adjacency with self loops, and its gradient, in one pass over blocks
//! of rows.
//!
//! Composed of Burn's ops, the loss runs as about ten element-wise passes over the `nodes²`
//! logits (29 MB on Cora), on one thread, against a dense target; PyTorch runs one fused,
//! multi-threaded `binary_cross_entropy_with_logits` (BENCHMARKS.md, "Graphs"). Here each block
//! of rows of the logits is made by a GEMM, turned into its loss and its gradient `G` while in
//! cache, and multiplied back into `G·Z` at once, so no more than a block of logits exists at a
//! time, and blocks are the unit of parallel work. The target is held sparsely (the graph is
//! about 0.2% dense): every entry is first treated as a non-edge, then each row's few edges are
//! corrected.
//!
//! The loss is `norm/n² · Σ_ij [w·y_ij·softplus(−x_ij) + (1 − y_ij)·softplus(x_ij)]` with
//! `softplus(x) = −log(1 − σ(x))`, so `∂/∂x_ij = norm/n² · [(1 − y_ij)·σ(x_ij) − w·y_ij·σ(−x_ij)]`.
//! The target is symmetric, so `G` is too and `∂L/∂Z = (G + Gᵀ)·Z = 2·G·Z`. The forward pass
//! computes that gradient (it needs the same logits), and the backward pass scales it by the
//! upstream gradient.

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::Autodiff;
use burn::backend::flex::FlexTensor;
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Backend, DType, Dispatch, Flex};
use burn::prelude::*;
use burn::tensor::{FloatDType, Shape};
use rayon::prelude::*;

use super::gemm::matmul;
use super::isa::{multiversion, Isa};
use super::linear::exp;

/// Rows of logits per block: 32 rows of Cora's 2,708 columns are 346 kB, which stays in the L2
/// cache between the GEMM that writes them, the loss pass and the GEMM that reads them back.
const ROWS_PER_BLOCK: usize = 32;

/// The target of the fused loss: the symmetric adjacency with self loops as sorted neighbour
/// lists, the positives' weight `#zeros / #ones` and the normalization `n² / (2·#zeros)`.
#[derive(Clone, Debug, PartialEq)]
pub struct AdjacencyBceTarget {
    nodes: usize,
    /// Row `i`'s positives are `columns[row_start[i]..row_start[i + 1]]`.
    row_start: Vec<usize>,
    columns: Vec<u32>,
    positive_weight: f64,
    norm: f64,
}

impl AdjacencyBceTarget {
    /// The target of the graph on `nodes` nodes with the undirected `edges` (each once; an
    /// index must be below `nodes`): 1 on both directions of each edge and on the diagonal. As
    /// in Kipf & Welling's code, the class weights count the edges (`#ones = 2·|edges|`), not
    /// the diagonal.
    pub fn new(nodes: usize, edges: &[(u32, u32)]) -> AdjacencyBceTarget {
        let mut rows: Vec<Vec<u32>> = (0..nodes as u32).map(|i| vec![i]).collect();
        for &(a, b) in edges {
            rows[a as usize].push(b);
            rows[b as usize].push(a);
        }
        let mut row_start = Vec::with_capacity(nodes + 1);
        let mut columns = Vec::with_capacity(nodes + 2 * edges.len());
        row_start.push(0);
        for mut row in rows {
            row.sort_unstable();
            row.dedup();
            columns.extend(row);
            row_start.push(columns.len());
        }
        let ones = (2 * edges.len()).max(1) as f64;
        let zeros = (nodes * nodes) as f64 - ones;
        AdjacencyBceTarget {
            nodes,
            row_start,
            columns,
            positive_weight: zeros / ones,
            norm: (nodes * nodes) as f64 / (2.0 * zeros),
        }
    }

    /// Number of nodes.
    pub fn nodes(&self) -> usize {
        self.nodes
    }

    /// The weight of a positive entry, `#zeros / #ones`.
    pub fn positive_weight(&self) -> f64 {
        self.positive_weight
    }

    /// The factor of the mean loss, `n² / (2·#zeros)`.
    pub fn norm(&self) -> f64 {
        self.norm
    }

    /// The positive columns of row `i`, ascending.
    pub fn row(&self, i: usize) -> &[u32] {
        &self.columns[self.row_start[i]..self.row_start[i + 1]]
    }

    /// The dense `nodes x nodes` target, row-major (for the reference path).
    pub fn dense(&self) -> Vec<f32> {
        let n = self.nodes;
        let mut values = vec![0.0f32; n * n];
        for i in 0..n {
            for &j in self.row(i) {
                values[i * n + j as usize] = 1.0;
            }
        }
        values
    }
}

/// The fused loss as a backend operation.
#[backend_extension(Autodiff, Flex)]
pub(crate) trait AdjacencyBceKernel: Backend {
    /// The loss `[1]` of the codes `z` `[nodes, d]` against `target`.
    fn adjacency_bce(z: FloatTensor<Self>, target: Arc<AdjacencyBceTarget>) -> FloatTensor<Self>;

    /// The loss `[1]` and its gradient with respect to `z` `[nodes, d]`.
    fn adjacency_bce_with_grad(
        z: FloatTensor<Self>,
        target: Arc<AdjacencyBceTarget>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);
}

/// The fused loss of `z` `[nodes, d]` against `target`, differentiable. Only for devices with
/// dae's kernels (`super::has_custom_kernels`); the caller keeps the composed form for others.
pub(crate) fn adjacency_bce(z: Tensor<2>, target: &Arc<AdjacencyBceTarget>) -> Tensor<1> {
    Tensor::from_dispatch(<Dispatch as AdjacencyBceKernel>::adjacency_bce(
        z.into_dispatch(),
        target.clone(),
    ))
}

impl AdjacencyBceKernel for Flex {
    fn adjacency_bce(z: FloatTensor<Self>, target: Arc<AdjacencyBceTarget>) -> FloatTensor<Self> {
        let dtype = z.dtype();
        let z = as_f32(z);
        let (loss, _) = fused(z.storage(), &z.layout().shape().clone(), &target, false);
        from_f32(scalar(loss), dtype)
    }

    fn adjacency_bce_with_grad(
        z: FloatTensor<Self>,
        target: Arc<AdjacencyBceTarget>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let dtype = z.dtype();
        let z = as_f32(z);
        let shape = z.layout().shape().clone();
        let (loss, grad) = fused(z.storage(), &shape, &target, true);
        let grad = FlexTensor::from_data(TensorData::new(grad, shape));
        (from_f32(scalar(loss), dtype), from_f32(grad, dtype))
    }
}

/// `z` as a contiguous f32 tensor (the model's type; another is converted, not refused).
fn as_f32(z: FlexTensor) -> FlexTensor {
    let z = if z.dtype() == DType::F32 {
        z
    } else {
        Flex::float_cast(z, FloatDType::F32)
    };
    z.to_contiguous()
}

fn from_f32(t: FlexTensor, dtype: DType) -> FlexTensor {
    match dtype {
        DType::F32 => t,
        other => Flex::float_cast(t, other.into()),
    }
}

fn scalar(loss: f64) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(vec![loss as f32], [1]))
}

/// The loss of `z` (row-major, `shape` `[nodes, d]`), and with `want_grad` its gradient
/// (else an empty vector). Panics when `z` has not `target.nodes` rows: the caller builds both
/// from the same graph.
fn fused(
    z: &[f32],
    shape: &Shape,
    target: &AdjacencyBceTarget,
    want_grad: bool,
) -> (f64, Vec<f32>) {
    let (n, d) = (shape[0], shape[1]);
    assert_eq!(
        n, target.nodes,
        "adjacency loss: codes and target differ in nodes"
    );
    if n == 0 {
        return (0.0, Vec::new());
    }
    let per_entry = target.norm / (n * n) as f64;
    // The gradient's factor: the loss's, times 2 for `G + Gᵀ = 2·G`.
    let scale = (2.0 * per_entry) as f32;
    let blocks = n.div_ceil(ROWS_PER_BLOCK);
    let mut losses = vec![0.0f64; blocks];
    let mut grad = vec![0.0f32; if want_grad { n * d } else { 0 }];
    let block = |i: usize, loss: &mut f64, dz: &mut [f32], logits: &mut Vec<f32>| {
        let first = i * ROWS_PER_BLOCK;
        let rows = ROWS_PER_BLOCK.min(n - first);
        logits.resize(rows * n, 0.0);
        // Z[first..first + rows] · Zᵀ, where Zᵀ[l, j] = z[j·d + l].
        matmul(
            (rows, n, d),
            logits,
            false,
            &z[first * d..],
            (d, 1),
            z,
            (1, d),
        );
        let mut sum = 0.0f64;
        for (r, row) in logits.chunks_exact_mut(n).enumerate() {
            sum += row_loss(row, target, first + r, scale, want_grad);
        }
        *loss = sum;
        if want_grad {
            matmul((rows, d, n), dz, false, logits, (n, 1), z, (d, 1));
        }
    };
    if want_grad && d > 0 {
        grad.par_chunks_mut(ROWS_PER_BLOCK * d)
            .zip(losses.par_iter_mut())
            .enumerate()
            .for_each_init(Vec::new, |logits, (i, (dz, loss))| {
                block(i, loss, dz, logits)
            });
    } else {
        losses
            .par_iter_mut()
            .enumerate()
            .for_each_init(Vec::new, |logits, (i, loss)| {
                block(i, loss, &mut [], logits)
            });
    }
    // Summed in block order, so the value does not depend on the number of threads.
    (losses.iter().sum::<f64>() * per_entry, grad)
}

/// The unscaled loss of row `i` of the logits, and with `want_grad` the row overwritten by its
/// gradient times `scale`.
fn row_loss(
    row: &mut [f32],
    target: &AdjacencyBceTarget,
    i: usize,
    scale: f32,
    want_grad: bool,
) -> f64 {
    let positives = target.row(i);
    // Read before the pass below overwrites them with gradients.
    let logits: Vec<f32> = positives.iter().map(|&j| row[j as usize]).collect();
    let mut sum = negatives(row, scale, want_grad) as f64;
    let w = target.positive_weight;
    for (&j, &x) in positives.iter().zip(&logits) {
        let x = x as f64;
        // softplus(−x) = softplus(x) − x, and σ(−x) = 1 − σ(x).
        let (sp, sigma) = softplus_sigmoid_f64(x);
        sum += w * (sp - x) - sp;
        if want_grad {
            row[j as usize] = (-w * (1.0 - sigma)) as f32 * scale;
        }
    }
    sum
}

multiversion! {
    /// `Σ softplus(x)` over `row`, every entry taken as a non-edge, with `want_grad` the row
    /// overwritten by `scale·σ(x)`; on a given instruction set (as `linear::activate`).
    pub(super) fn negatives_on(row: &mut [f32], scale: f32, want_grad: bool) -> f32 => negatives_portable
}

fn negatives(row: &mut [f32], scale: f32, want_grad: bool) -> f32 {
    negatives_on(Isa::active(), row, scale, want_grad)
}

/// The loop of [`negatives`]: 16 separate partial sums, because the compiler may not reorder a
/// single float sum into vector lanes.
#[inline(always)]
fn negatives_portable(row: &mut [f32], scale: f32, want_grad: bool) -> f32 {
    const LANES: usize = 16;
    let mut lanes = [0.0f32; LANES];
    let mut chunks = row.chunks_exact_mut(LANES);
    for chunk in &mut chunks {
        for (x, lane) in chunk.iter_mut().zip(lanes.iter_mut()) {
            let (sp, sigma) = softplus_sigmoid(*x);
            *lane += sp;
            if want_grad {
                *x = sigma * scale;
            }
        }
    }
    let mut sum: f32 = lanes.iter().sum();
    for x in chunks.into_remainder() {
        let (sp, sigma) = softplus_sigmoid(*x);
        sum += sp;
        if want_grad {
            *x = sigma * scale;
        }
    }
    sum
}

/// `(softplus(x), σ(x))` in the stable form `max(x, 0) + log1p(e^{−|x|})`, without a library
/// call: `log1p(e) = 2·atanh(e / (2 + e))`, whose series in `s = e/(2+e) <= 1/3` is cut after
/// `s¹³/13` (relative error below 2e-8), so the loop vectorizes.
#[inline(always)]
fn softplus_sigmoid(x: f32) -> (f32, f32) {
    let e = exp(-x.abs());
    let s = e / (2.0 + e);
    let s2 = s * s;
    let series = 1.0
        + s2 * (1.0 / 3.0
            + s2 * (1.0 / 5.0
                + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0 + s2 * (1.0 / 11.0 + s2 * (1.0 / 13.0))))));
    let softplus = x.max(0.0) + 2.0 * s * series;
    let r = 1.0 / (1.0 + e);
    let sigma = if x >= 0.0 { r } else { e * r };
    (softplus, sigma)
}

/// `(softplus(x), σ(x))` in f64 with the library's functions, for the few positive entries.
fn softplus_sigmoid_f64(x: f64) -> (f64, f64) {
    let e = (-x.abs()).exp();
    let softplus = x.max(0.0) + e.ln_1p();
    let sigma = if x >= 0.0 {
        1.0 / (1.0 + e)
    } else {
        e / (1.0 + e)
    };
    (softplus, sigma)
}

/// The backward pass: the gradient the forward pass computed, times the upstream gradient.
#[derive(Debug)]
struct AdjacencyBceBackward;

impl<B: Backend> Backward<B, 1> for AdjacencyBceBackward {
    /// `∂loss/∂z` `[nodes, d]`.
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [parent] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        if let Some(node) = parent {
            let upstream = B::float_reshape(grad, Shape::new([1, 1]));
            grads.register::<B>(node.id, B::float_mul(ops.state, upstream));
        }
    }
}

/// An operation without inputs to differentiate: wraps a result as an untracked tensor.
#[derive(Debug)]
struct NoGradient;

impl<B: Backend> Backward<B, 0> for NoGradient {
    type State = ();

    fn backward(self, _: Ops<(), 0>, _: &mut Gradients, _: &mut Checkpointer) {}
}

impl<B: Backend + AdjacencyBceKernel, C: CheckpointStrategy> AdjacencyBceKernel for Autodiff<B, C> {
    fn adjacency_bce(z: FloatTensor<Self>, target: Arc<AdjacencyBceTarget>) -> FloatTensor<Self> {
        match AdjacencyBceBackward
            .prepare::<C>([z.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (loss, grad) = B::adjacency_bce_with_grad(z.primitive().clone(), target);
                prep.finish(grad, loss)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::adjacency_bce(z.into_primitive(), target)),
        }
    }

    // Not differentiated again (dae needs no second derivatives): untracked results.
    fn adjacency_bce_with_grad(
        z: FloatTensor<Self>,
        target: Arc<AdjacencyBceTarget>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let (loss, grad) = B::adjacency_bce_with_grad(z.into_primitive(), target);
        let wrap = |t| NoGradient.prepare::<C>([]).compute_bound().stateless(t);
        (wrap(loss), wrap(grad))
    }
}

#[cfg(test)]
#[path = "adjacency_bce_tests.rs"]
mod tests;
