//! The MLP autoencoder packed for inference outside Burn: the whole network runs on one block of
//! rows per parallel task, layer after layer, while the block's activations stay in cache.
//!
//! Burn's forward pass runs each layer as its own parallel region over the whole batch, with
//! tensor copies in and out; at 2 threads on a Zen 3 that gave dae 1.3-1.8x its 1-thread
//! inference rate where PyTorch got 2x (BENCHMARKS.md). Here the only synchronization is the end of the
//! batch. Two layer kinds: f32 ([`F32Linear`], the numbers training computes) and bf16
//! ([`Bf16Linear`], `--precision bf16`).

use burn::nn::Linear;
use burn::prelude::*;
use rayon::prelude::*;

use crate::kernels::bf16::{Bf16Kernel, Bf16Linear};
use crate::kernels::{Activation, F32Linear};
use crate::tasks::image::model::MlpAutoencoder;
use crate::{Error, Result};

/// The most rows a parallel task gets: 128 rows of 784 f32 are 400 KB. (On a 2-core Zen 3,
/// alternating runs of `dae bench --model mlp`, batches of 500, with at most 96, 128 or 160 rows
/// per task and with fixed blocks of 64 put 128 ahead of the others by 3-15%; a temporary build
/// varied the size, BENCHMARKS.md "Session 15".)
pub(super) const ROWS_PER_TASK: usize = 128;

/// Rows per task for a batch of `n`: an equal share for every thread, at most
/// [`ROWS_PER_TASK`]. (A 300-row batch in fixed blocks of 128 would give one of 2 threads 256
/// rows and the other 44; here it is 4 blocks of 75.)
fn rows_per_task(n: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    let tasks = threads * n.div_ceil(threads * ROWS_PER_TASK).max(1);
    n.div_ceil(tasks).max(1)
}

/// One layer of a [`PackedMlp`]: `out = act(x · W + b)` on the calling thread.
pub trait PackedLayer: Sync + Sized {
    /// Per-task working memory the layer may reuse between calls.
    type Scratch: Default;

    /// Packs one Burn layer (`weight` `[d_in, d_out]`, optional bias) with its activation.
    fn pack(weight: Vec<f32>, bias: Vec<f32>, d_in: usize, d_out: usize, act: Activation) -> Self;

    /// Input width.
    fn d_in(&self) -> usize;

    /// Output width.
    fn d_out(&self) -> usize;

    /// `out` (`rows x d_out`) from `x` (`rows x d_in`).
    fn forward(&self, x: &[f32], out: &mut [f32], scratch: &mut Self::Scratch);
}

impl PackedLayer for F32Linear {
    type Scratch = ();

    fn pack(weight: Vec<f32>, bias: Vec<f32>, d_in: usize, d_out: usize, act: Activation) -> Self {
        F32Linear::new(weight, bias, d_in, d_out, act)
    }

    fn d_in(&self) -> usize {
        F32Linear::d_in(self)
    }

    fn d_out(&self) -> usize {
        F32Linear::d_out(self)
    }

    fn forward(&self, x: &[f32], out: &mut [f32], _: &mut ()) {
        F32Linear::forward(self, x, out)
    }
}

/// A bf16 layer with the kernel that runs it (the best this processor has).
#[derive(Clone, Debug)]
pub struct Bf16Layer {
    layer: Bf16Linear,
    kernel: Bf16Kernel,
}

impl Bf16Layer {
    /// The kernel computing the products.
    pub fn kernel(&self) -> Bf16Kernel {
        self.kernel
    }

    /// The same layer on another kernel (tests compare them).
    #[cfg(test)]
    pub(super) fn on(mut self, kernel: Bf16Kernel) -> Self {
        self.kernel = kernel;
        self
    }
}

impl PackedLayer for Bf16Layer {
    type Scratch = Vec<u16>;

    fn pack(weight: Vec<f32>, bias: Vec<f32>, d_in: usize, d_out: usize, act: Activation) -> Self {
        Self {
            layer: Bf16Linear::new(&weight, &bias, d_in, d_out, act),
            kernel: Bf16Kernel::detect(),
        }
    }

    fn d_in(&self) -> usize {
        self.layer.d_in()
    }

    fn d_out(&self) -> usize {
        self.layer.d_out()
    }

    fn forward(&self, x: &[f32], out: &mut [f32], scratch: &mut Vec<u16>) {
        self.layer.forward(self.kernel, x, out, scratch)
    }
}

/// The MLP autoencoder's layers, packed (dropout, inactive at inference, is left out).
#[derive(Clone, Debug)]
pub struct PackedMlp<L> {
    layers: Vec<L>,
}

impl<L: PackedLayer> PackedMlp<L> {
    /// Copies and packs `model`'s weights: ReLU after every layer but the last, sigmoid there.
    pub fn new(model: &MlpAutoencoder) -> Result<Self> {
        let linears: Vec<&Linear> = model
            .encoder
            .layers()
            .iter()
            .chain(model.decoder.layers())
            .collect();
        let count = linears.len();
        let layers = linears
            .into_iter()
            .enumerate()
            .map(|(i, l)| {
                let act = if i + 1 == count {
                    Activation::Sigmoid
                } else {
                    Activation::Relu
                };
                pack(l, act)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { layers })
    }

    /// The packed layers, first to last.
    pub fn layers(&self) -> &[L] {
        &self.layers
    }

    /// The same network with each layer changed by `f` (tests put every layer on one kernel).
    #[cfg(test)]
    pub(super) fn map_layers(self, f: impl FnMut(L) -> L) -> Self {
        Self {
            layers: self.layers.into_iter().map(f).collect(),
        }
    }

    /// x̂ for the rows of `x` (`n x input_dim`), in blocks of rows across the CPU threads.
    pub fn forward(&self, x: &[f32]) -> Vec<f32> {
        let (Some(first), Some(last)) = (self.layers.first(), self.layers.last()) else {
            return x.to_vec(); // no layers: the identity
        };
        let (d_in, d_out) = (first.d_in(), last.d_out());
        if d_in == 0 {
            return Vec::new();
        }
        let n = x.len() / d_in;
        assert_eq!(x.len(), n * d_in, "packed mlp: input is not whole rows");
        let widest = self.layers.iter().map(L::d_out).max().unwrap_or(0);
        let mut out = vec![0f32; n * d_out];
        let rows_per_task = rows_per_task(n);
        out.par_chunks_mut(rows_per_task * d_out.max(1))
            .zip(x.par_chunks(rows_per_task * d_in))
            .for_each(|(out, x)| {
                let rows = x.len() / d_in;
                let mut buffers = [vec![0f32; rows * widest], vec![0f32; rows * widest]];
                let mut scratch = L::Scratch::default();
                for (i, layer) in self.layers.iter().enumerate() {
                    // Layer i reads what layer i - 1 wrote into the other buffer.
                    let [even, odd] = &mut buffers;
                    let (previous, next) = if i % 2 == 0 { (odd, even) } else { (even, odd) };
                    let input = if i == 0 {
                        x
                    } else {
                        &previous[..rows * layer.d_in()]
                    };
                    let output = if i + 1 == self.layers.len() {
                        &mut *out
                    } else {
                        &mut next[..rows * layer.d_out()]
                    };
                    layer.forward(input, output, &mut scratch);
                }
            });
        out
    }
}

/// Packs one Burn linear layer (`weight` `[d_in, d_out]`, optional bias).
fn pack<L: PackedLayer>(layer: &Linear, act: Activation) -> Result<L> {
    let values = |data: TensorData| {
        data.try_to_vec::<f32>()
            .map_err(|e| Error::Config(format!("packed inference needs f32 weights: {e:?}")))
    };
    let [d_in, d_out] = layer.weight.val().dims();
    let weight = values(layer.weight.val().into_data())?;
    let bias = match &layer.bias {
        Some(b) => values(b.val().into_data())?,
        None => vec![0.0; d_out],
    };
    Ok(L::pack(weight, bias, d_in, d_out, act))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_thread_gets_an_equal_share_of_rows_at_most_the_cap() {
        let on = |threads: usize, n: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| rows_per_task(n))
        };
        // 300 rows: 3 blocks of 100 on one thread; 4 of 75 on two (fixed blocks of 128 would
        // give one thread 256 rows and the other 44).
        assert_eq!(on(1, 300), 100);
        assert_eq!(on(2, 300), 75);
        assert_eq!(on(2, 500), 125);
        assert_eq!(on(4, 10), 3);
        assert_eq!(on(1, ROWS_PER_TASK), ROWS_PER_TASK);
        assert_eq!(on(2, 0), 1);
    }
}
