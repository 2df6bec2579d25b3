//! Reconstruction losses, always against the clean input x (never x̃).

use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// Which reconstruction loss to minimize.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Loss {
    /// Mean squared error, `nn.MSELoss()`: mean over every entry of (x̂ - x)².
    #[default]
    Mse,
    /// Mean absolute error: mean of |x̂ - x|.
    L1,
}

impl Loss {
    /// The scalar loss of `x_hat` against the clean `x`, averaged over every entry.
    pub fn compute<const D: usize>(&self, x_hat: Tensor<D>, x: Tensor<D>) -> Tensor<1> {
        self.elementwise(x_hat - x).mean()
    }

    /// The loss averaged over the corrupted entries only (`mask` is 1 where the corruption hid
    /// or changed an entry, 0 elsewhere): masked modeling's L = (1/|M|) Σ_{i∈M} ℓ(x̂_i, x_i).
    /// Entries outside M contribute nothing, not even to the gradient. `masked` is |M|; a batch
    /// with no corrupted entry gives 0.
    pub fn compute_masked<const D: usize>(
        &self,
        x_hat: Tensor<D>,
        x: Tensor<D>,
        mask: Tensor<D>,
        masked: usize,
    ) -> Tensor<1> {
        (self.elementwise(x_hat - x) * mask)
            .sum()
            .div_scalar(masked.max(1) as f32)
    }

    fn elementwise<const D: usize>(&self, diff: Tensor<D>) -> Tensor<D> {
        match self {
            Loss::Mse => diff.square(),
            Loss::L1 => diff.abs(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f32], device: &Device) -> Tensor<1> {
        Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), device)
    }

    #[test]
    fn closed_form_values() {
        let d = Device::flex();
        let x_hat = t(&[0.5, 1.0, 0.0, 0.25], &d);
        let x = t(&[0.0, 1.0, 1.0, 0.25], &d);
        let v = |l: Tensor<1>| l.into_scalar::<f32>();
        assert!((v(Loss::Mse.compute(x_hat.clone(), x.clone())) - 1.25 / 4.0).abs() < 1e-7);
        assert!((v(Loss::L1.compute(x_hat.clone(), x.clone())) - 1.5 / 4.0).abs() < 1e-7);
        let mask = t(&[1.0, 0.0, 1.0, 0.0], &d);
        let masked = Loss::Mse.compute_masked(x_hat, x, mask, 2);
        assert!((v(masked) - 1.25 / 2.0).abs() < 1e-7);
    }

    #[test]
    fn unmasked_entries_get_no_gradient() {
        let d = Device::flex().autodiff();
        let x_hat = t(&[0.5, 0.9, 0.1, 0.3], &d).require_grad();
        let x = t(&[0.0, 0.0, 1.0, 1.0], &d);
        let mask = t(&[1.0, 0.0, 1.0, 0.0], &d);
        let grads = Loss::Mse
            .compute_masked(x_hat.clone(), x, mask, 2)
            .backward();
        let g = x_hat
            .grad(&grads)
            .expect("gradient")
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32");
        // d/dx̂ (1/2) Σ_M (x̂ - x)² = (x̂ - x) on M, 0 elsewhere.
        let want = [0.5, 0.0, -0.9, 0.0];
        for (a, b) in g.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{g:?}");
        }
    }
}
