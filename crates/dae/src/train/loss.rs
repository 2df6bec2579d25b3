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
        let diff = x_hat - x;
        match self {
            Loss::Mse => diff.square().mean(),
            Loss::L1 => diff.abs().mean(),
        }
    }
}
