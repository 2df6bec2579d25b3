//! Multi-head scaled dot-product attention, `softmax(q_h k_hᵀ / √d_k) v_h` for every head `h`, in
//! one kernel per sequence, forward and backward.
//!
//! Burn's `MultiHeadAttention` splits the heads out of `q`, `k`, `v` (`[b, t, d]` into
//! `[b, h, t, d_k]`, a copy each), runs two batched matrix products through `gemm`'s own entry
//! point (which picks its instruction set by the processor alone, so `DAE_ISA` did not reach
//! them), a scaling pass, the softmax, and a copy back into `[b, t, d]`, each a tensor of its own.
//! Here each sequence's heads are read in place from the `[b, t, d]` rows through strides, the
//! `t x t` scores live in a per-task buffer while the softmax and the product with `v` use them,
//! and the context is written straight into its `[b, t, d]` place. The products run on dae's
//! GEMM ([`super::gemm::product_on`]) on the active instruction set.
//!
//! The backward pass recomputes each head's weights from `q` and `k` (one `t x t x d_k` product
//! and a softmax per head) instead of keeping the `[b, h, t, t]` weights from the forward pass:
//! `dv = Pᵀ g`, `dP = g vᵀ`, `dS = P ⊙ (dP − Σ dP ⊙ P) / √d_k`, `dq = dS k`, `dk = dSᵀ q`.

use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, TensorData, TensorMetadata};
use burn::tensor::{Scalar, Shape, Slice};
use rayon::prelude::*;

use super::gemm::product_on;
use super::isa::Isa;
use super::softmax;

/// The sizes of one call: `b` sequences of `t` positions, width `d` = `heads · dk`.
#[derive(Clone, Copy, Debug)]
struct Sizes {
    b: usize,
    t: usize,
    d: usize,
    heads: usize,
    dk: usize,
}

impl Sizes {
    /// The sizes of `q` (`[b, t, d]`) split into `heads` heads.
    fn of(shape: &Shape, heads: usize) -> Sizes {
        assert_eq!(shape.num_dims(), 3, "attention: q, k, v must be [b, t, d]");
        let (b, t, d) = (shape[0], shape[1], shape[2]);
        assert!(
            heads > 0 && d.is_multiple_of(heads),
            "attention: width {d} is not a whole number of {heads} heads"
        );
        Sizes {
            b,
            t,
            d,
            heads,
            dk: d / heads,
        }
    }
}

/// Each `[b, t, d]` tensor as `[b, heads, t, d_k]`, by Burn's primitives.
fn split_heads<B: Backend, const N: usize>(
    xs: [FloatTensor<B>; N],
    s: Sizes,
) -> [FloatTensor<B>; N] {
    xs.map(|x| {
        let x = B::float_reshape(x, Shape::new([s.b, s.t, s.heads, s.dk]));
        B::float_swap_dims(x, 1, 2)
    })
}

/// `[b, heads, t, d_k]` back to `[b, t, d]`, by Burn's primitives.
fn merge_heads<B: Backend>(x: FloatTensor<B>, s: Sizes) -> FloatTensor<B> {
    B::float_reshape(B::float_swap_dims(x, 1, 2), Shape::new([s.b, s.t, s.d]))
}

/// The attention weights `softmax(q kᵀ / √d_k)`, `[b, heads, t, t]`, from split heads.
fn reference_weights<B: Backend>(q: FloatTensor<B>, k: FloatTensor<B>, s: Sizes) -> FloatTensor<B> {
    let scores = B::float_matmul(q, B::float_swap_dims(k, 2, 3));
    let scores = B::float_div_scalar(scores, Scalar::Float((s.dk as f64).sqrt()));
    softmax::reference_forward::<B>(scores)
}

/// The composition of Burn's primitives that [`super::DaeKernels::multihead_attention`] means
/// (Burn's `MultiHeadAttention` without masks or dropout, after its input projections).
pub(super) fn reference_forward<B: Backend>(
    q: FloatTensor<B>,
    k: FloatTensor<B>,
    v: FloatTensor<B>,
    heads: usize,
) -> FloatTensor<B> {
    let s = Sizes::of(&q.shape(), heads);
    let [q, k, v] = split_heads::<B, 3>([q, k, v], s);
    let weights = reference_weights::<B>(q, k, s);
    merge_heads::<B>(B::float_matmul(weights, v), s)
}

/// [`super::DaeKernels::multihead_attention_backward`] by Burn's primitives: the gradients of
/// `q`, `k` and `v` stacked as `[3, b, t, d]`.
pub(super) fn reference_backward<B: Backend>(
    q: FloatTensor<B>,
    k: FloatTensor<B>,
    v: FloatTensor<B>,
    grad: FloatTensor<B>,
    heads: usize,
) -> FloatTensor<B> {
    let s = Sizes::of(&q.shape(), heads);
    let [q, k, v, g] = split_heads::<B, 4>([q, k, v, grad], s);
    let p = reference_weights::<B>(q.clone(), k.clone(), s);
    let dv = B::float_matmul(B::float_swap_dims(p.clone(), 2, 3), g.clone());
    let dp = B::float_matmul(g, B::float_swap_dims(v, 2, 3));
    let ds = softmax::reference_backward::<B>(p, dp);
    let ds = B::float_div_scalar(ds, Scalar::Float((s.dk as f64).sqrt()));
    let dq = B::float_matmul(ds.clone(), k);
    let dk = B::float_matmul(B::float_swap_dims(ds, 2, 3), q);
    let stacked = [dq, dk, dv].map(|x| {
        let x = merge_heads::<B>(x, s);
        B::float_reshape(x, Shape::new([1, s.b, s.t, s.d]))
    });
    B::float_cat(stacked.to_vec(), 0)
}

/// One of the three gradients [`super::DaeKernels::multihead_attention_backward`] stacks:
/// `index` 0 for `q`, 1 for `k`, 2 for `v`, as `[b, t, d]`.
pub(super) fn unstack<B: Backend>(stacked: FloatTensor<B>, index: usize) -> FloatTensor<B> {
    let shape = stacked.shape();
    let (b, t, d) = (shape[1], shape[2], shape[3]);
    let one = B::float_slice(
        stacked,
        &[
            Slice::from(index..index + 1),
            Slice::from(0..b),
            Slice::from(0..t),
            Slice::from(0..d),
        ],
    );
    B::float_reshape(one, Shape::new([b, t, d]))
}

/// One head's weights into `p` (`t x t`), through `scores` (`t x t`): `q` and `k` are one
/// sequence's `[t, d]` rows, the head's columns starting at `h · d_k`.
fn weights_into(
    isa: Isa,
    s: Sizes,
    (q, k): (&[f32], &[f32]),
    h: usize,
    scores: &mut [f32],
    p: &mut [f32],
) {
    let (t, d, dk) = (s.t, s.d, s.dk);
    // kᵀ[l, j] = k[j, h·dk + l]: row stride 1, column stride d.
    product_on(
        isa,
        (t, t, dk),
        (scores, (t, 1)),
        false,
        (&q[h * dk..], (d, 1)),
        (&k[h * dk..], (1, d)),
    );
    // Divided, as Burn's `div_scalar`, so that the weights round the same way.
    let root = (dk as f32).sqrt();
    scores.iter_mut().for_each(|v| *v /= root);
    softmax::forward_rows_on(isa, scores, p, t);
}

/// The attention of contiguous f32 `q`, `k`, `v` `[b, t, d]` on `isa`: the context `[b, t, d]`.
pub(super) fn forward_on(
    isa: Isa,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    shape: &Shape,
    heads: usize,
) -> Vec<f32> {
    let s = Sizes::of(shape, heads);
    let (t, d, dk, per) = (s.t, s.d, s.dk, s.t * s.d);
    let mut out = vec![0f32; s.b * per];
    if per == 0 || dk == 0 {
        return out;
    }
    let scratch = || (vec![0f32; t * t], vec![0f32; t * t]);
    out.par_chunks_mut(per)
        .enumerate()
        .for_each_init(scratch, |(scores, p), (i, o)| {
            let (q, k, v) = (
                &q[i * per..][..per],
                &k[i * per..][..per],
                &v[i * per..][..per],
            );
            for h in 0..s.heads {
                weights_into(isa, s, (q, k), h, scores, p);
                product_on(
                    isa,
                    (t, dk, t),
                    (&mut o[h * dk..], (d, 1)),
                    false,
                    (p, (t, 1)),
                    (&v[h * dk..], (d, 1)),
                );
            }
        });
    out
}

/// The gradients of [`forward_on`] with respect to `q`, `k` and `v`, from the gradient `grad` of
/// its output, stacked as `[3, b, t, d]`.
pub(super) fn backward_on(
    isa: Isa,
    (q, k, v): (&[f32], &[f32], &[f32]),
    grad: &[f32],
    shape: &Shape,
    heads: usize,
) -> Vec<f32> {
    let s = Sizes::of(shape, heads);
    let (t, d, dk, per) = (s.t, s.d, s.dk, s.t * s.d);
    let mut out = vec![0f32; 3 * s.b * per];
    if per == 0 || dk == 0 {
        return out;
    }
    let (dq, rest) = out.split_at_mut(s.b * per);
    let (dkey, dv) = rest.split_at_mut(s.b * per);
    let scratch = || [0; 4].map(|_| vec![0f32; t * t]);
    let outputs = dq
        .par_chunks_mut(per)
        .zip(dkey.par_chunks_mut(per))
        .zip(dv.par_chunks_mut(per));
    outputs
        .enumerate()
        .for_each_init(scratch, |[scores, p, dp, ds], (i, ((dq, dkey), dv))| {
            let range = i * per..(i + 1) * per;
            let (q, k) = (&q[range.clone()], &k[range.clone()]);
            let (v, g) = (&v[range.clone()], &grad[range]);
            let root = (dk as f32).sqrt();
            for h in 0..s.heads {
                let c = h * dk;
                weights_into(isa, s, (q, k), h, scores, p);
                // Pᵀ[i, l] = P[l, i]: row stride 1, column stride t.
                product_on(
                    isa,
                    (t, dk, t),
                    (&mut dv[c..], (d, 1)),
                    false,
                    (p, (1, t)),
                    (&g[c..], (d, 1)),
                );
                product_on(
                    isa,
                    (t, t, dk),
                    (dp, (t, 1)),
                    false,
                    (&g[c..], (d, 1)),
                    (&v[c..], (1, d)),
                );
                softmax::backward_rows_on(isa, p, dp, ds, t);
                ds.iter_mut().for_each(|x| *x /= root);
                product_on(
                    isa,
                    (t, dk, t),
                    (&mut dq[c..], (d, 1)),
                    false,
                    (ds, (t, 1)),
                    (&k[c..], (d, 1)),
                );
                product_on(
                    isa,
                    (t, dk, t),
                    (&mut dkey[c..], (d, 1)),
                    false,
                    (ds, (1, t)),
                    (&q[c..], (d, 1)),
                );
            }
        });
    out
}

/// [`forward_on`] for Flex tensors on the active instruction set.
pub(super) fn forward(q: &FlexTensor, k: &FlexTensor, v: &FlexTensor, heads: usize) -> FlexTensor {
    let shape = q.layout().shape().clone();
    for other in [k, v] {
        assert_eq!(
            other.layout().shape(),
            &shape,
            "attention: q, k and v differ in shape"
        );
    }
    let out = forward_on(
        Isa::active(),
        q.storage(),
        k.storage(),
        v.storage(),
        &shape,
        heads,
    );
    FlexTensor::from_data(TensorData::new(out, shape))
}

/// [`backward_on`] for Flex tensors on the active instruction set.
pub(super) fn backward(
    q: &FlexTensor,
    k: &FlexTensor,
    v: &FlexTensor,
    grad: &FlexTensor,
    heads: usize,
) -> FlexTensor {
    let shape = q.layout().shape().clone();
    for other in [k, v, grad] {
        assert_eq!(
            other.layout().shape(),
            &shape,
            "attention backward: shapes differ"
        );
    }
    let qkv = (q.storage(), k.storage(), v.storage());
    let out = backward_on(Isa::active(), qkv, grad.storage(), &shape, heads);
    FlexTensor::from_data(TensorData::new(
        out,
        Shape::new([3, shape[0], shape[1], shape[2]]),
    ))
}

#[cfg(test)]
#[path = "attention_tests.rs"]
mod tests;
