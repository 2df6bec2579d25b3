//! One training step shared by several processes: each computes the gradient of its samples of
//! the global batch, and the gradients are averaged with one sum over a flattened buffer.
//!
//! For the numbers of one process, every process draws the whole global batch (the corruption
//! stream advances exactly as in one process) and keeps its contiguous share; each share's mean
//! gradient is weighted by its share of the batch (of the loss's terms, for a loss over masked
//! entries), so the sum is the global batch's mean gradient (an uneven last batch included), up
//! to the rounding of a different summation order.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};

use super::collective::{shard_range, Collective};
use super::task::Task;
use crate::corrupt::Rng;
use crate::perf;
use crate::{Error, Result};

/// This process's part of one global batch.
pub(crate) struct Shard<B> {
    /// Its samples, drawn and corrupted; `None` where an uneven last batch leaves it none.
    batch: Option<B>,
    /// The share of the global batch's mean loss its mean loss stands for: its share of the
    /// loss's terms ([`Task::loss_terms`]), else of the samples.
    weight: f32,
}

/// Draws the global batch `indices` from `rng` and keeps process `rank`'s share of it.
pub(crate) fn draw_shard<T: Task>(
    task: &T,
    indices: &[usize],
    rng: &mut Rng,
    rank: usize,
    size: usize,
) -> Result<Shard<T::Batch>> {
    let batch = task.draw_batch(indices, rng)?;
    let global_len = indices.len();
    if size == 1 {
        return Ok(Shard {
            batch: Some(batch),
            weight: 1.0,
        });
    }
    let global_terms = task.loss_terms(&batch);
    let range = shard_range(global_len, rank, size);
    let len = range.len();
    let batch = match len {
        0 => None,
        _ => Some(task.shard(batch, range).ok_or_else(|| {
            Error::Distributed(format!(
                "the {} model's task cannot split its batches across processes; train it in \
                 one process",
                task.model_name()
            ))
        })?),
    };
    let weight = match global_terms {
        // No term anywhere: every process's loss is 0, and so is the sum.
        Some(0) => 0.0,
        Some(all) => {
            batch.as_ref().and_then(|b| task.loss_terms(b)).unwrap_or(0) as f32 / all as f32
        }
        None => len as f32 / global_len as f32,
    };
    Ok(Shard { batch, weight })
}

/// The gradient of the global batch's mean loss and that loss, from this process's `shard`,
/// with `model` handed back. One process computes them as it always did; several sum their
/// weighted gradients and losses with one call of [`Collective::sum_in_rank_order`].
///
/// The forward and backward passes run on a thread of the kernels' pool
/// ([`perf::on_kernel_threads`]); the sum over processes stays on the calling thread, the one
/// MPI was started on.
pub(crate) fn gradients<T: Task>(
    task: &T,
    model: T::Model,
    shard: Shard<T::Batch>,
    processes: &dyn Collective,
    device: &Device,
    base: &Device,
) -> Result<(T::Model, GradientsParams, f64)> {
    let Shard { batch, weight } = shard;
    let (model, local) = perf::on_kernel_threads(move || {
        let local = batch.map(|batch| {
            let loss = task.loss(&model, batch, device);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            (grads, loss.into_scalar::<f32>() as f64)
        });
        (model, local)
    });
    if processes.size() == 1 {
        return match local {
            Some((grads, loss)) => Ok((model, grads, loss)),
            None => Err(Error::Distributed("a batch without samples".into())),
        };
    }
    let (mut grads, loss) = local.unwrap_or_else(|| (GradientsParams::new(), 0.0));
    let mut buffer = flatten(&model, &mut grads, weight)?;
    buffer.push(loss as f32 * weight);
    processes.sum_in_rank_order(&mut buffer)?;
    let loss = buffer.pop().unwrap_or(f32::NAN) as f64;
    let grads = unflatten(&model, &buffer, base);
    Ok((model, grads, loss))
}

/// Every trainable parameter's gradient times `weight`, one after the other in the module's
/// order (zeros for a parameter without one: a process without samples), as one buffer.
fn flatten<M: Module>(model: &M, grads: &mut GradientsParams, weight: f32) -> Result<Vec<f32>> {
    struct Flatten<'a> {
        grads: &'a mut GradientsParams,
        weight: f32,
        out: Vec<f32>,
        failed: Option<String>,
    }
    impl ModuleVisitor for Flatten<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if !param.is_require_grad() || self.failed.is_some() {
                return;
            }
            let Some(grad) = self.grads.remove::<D>(param.id) else {
                let len = param.val().shape().num_elements();
                self.out.extend(std::iter::repeat_n(0.0, len));
                return;
            };
            match grad.into_data().convert::<f32>().try_into_vec::<f32>() {
                Ok(values) => self.out.extend(values.iter().map(|g| g * self.weight)),
                Err(e) => self.failed = Some(format!("a gradient could not be read: {e:?}")),
            }
        }
    }
    let mut visitor = Flatten {
        grads,
        weight,
        out: Vec::new(),
        failed: None,
    };
    model.visit(&mut visitor);
    match visitor.failed {
        Some(reason) => Err(Error::Distributed(reason)),
        None => Ok(visitor.out),
    }
}

/// The gradients in `buffer` ([`flatten`]'s layout) as the optimizer takes them, on `device`.
fn unflatten<M: Module>(model: &M, buffer: &[f32], device: &Device) -> GradientsParams {
    struct Unflatten<'a> {
        buffer: &'a [f32],
        device: &'a Device,
        out: GradientsParams,
    }
    impl ModuleVisitor for Unflatten<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if !param.is_require_grad() {
                return;
            }
            let shape = param.val().shape();
            let (values, rest) = self
                .buffer
                .split_at(shape.num_elements().min(self.buffer.len()));
            self.buffer = rest;
            let data = TensorData::new(values.to_vec(), shape);
            self.out
                .register::<D>(param.id, Tensor::from_data(data, self.device));
        }
    }
    let mut visitor = Unflatten {
        buffer,
        device,
        out: GradientsParams::new(),
    };
    model.visit(&mut visitor);
    visitor.out
}
