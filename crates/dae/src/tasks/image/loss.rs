//! Reconstruction losses, always against the clean input x (never x̃).
//!
//! A loss is written as a short spec string, on the command line (`--loss`) and in `config.json`:
//!
//! ```text
//! spec  := term ('+' term)*
//! term  := [weight '*'] name          weight: a positive number
//! name  := mse | l1 | ssim | msssim
//! ```
//!
//! e.g. `mse`, `ssim`, `0.84*ssim+0.16*l1` (the mixture of Zhao et al. 2017, "Loss Functions for
//! Image Restoration with Neural Networks"). `ssim` is 1 − SSIM and `msssim` is 1 − MS-SSIM (see
//! [`mod@super::ssim`] for the exact windows and scales); a mixture is the weighted sum of its terms.

use std::fmt;
use std::str::FromStr;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::ssim::{ms_ssim, ssim};
use crate::{Error, Result};

/// Which reconstruction loss to minimize. Stored in `config.json` as its spec string, so configs
/// written before mixtures existed (`"loss": "mse"`) still load.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Loss {
    /// Mean squared error, `nn.MSELoss()`: mean over every entry of (x̂ - x)².
    #[default]
    Mse,
    /// Mean absolute error: mean of |x̂ - x|.
    L1,
    /// 1 − mean SSIM (11x11 Gaussian window, σ = 1.5), per image and channel.
    Ssim,
    /// 1 − mean multi-scale SSIM (at most 3 scales).
    MsSsim,
    /// A weighted sum of the other losses (never nested), as `(weight, loss)` pairs.
    Mix(Vec<(f64, Loss)>),
}

impl Loss {
    /// Parses a loss spec (see the module documentation); the error names the bad part.
    pub fn parse(spec: &str) -> Result<Self> {
        let bad = |reason: String| Error::Config(format!("loss spec `{spec}`: {reason}"));
        let mut terms: Vec<(f64, Loss)> = Vec::new();
        let mut weighted = false;
        for term in spec.split('+') {
            let term = term.trim();
            let (weight, name) = match term.split_once('*') {
                Some((w, name)) => {
                    weighted = true;
                    let w = w.trim();
                    let weight: f64 = w
                        .parse()
                        .map_err(|_| bad(format!("weight `{w}` is not a number")))?;
                    if !(weight.is_finite() && weight > 0.0) {
                        return Err(bad(format!("weight `{w}` must be a positive number")));
                    }
                    (weight, name.trim())
                }
                None => (1.0, term),
            };
            let loss = match name {
                "mse" => Loss::Mse,
                "l1" => Loss::L1,
                "ssim" => Loss::Ssim,
                "msssim" => Loss::MsSsim,
                "" => return Err(bad("empty term".into())),
                other => {
                    return Err(bad(format!(
                        "unknown loss `{other}`; expected mse, l1, ssim or msssim, or a \
                         weighted sum like `0.84*ssim+0.16*l1`"
                    )))
                }
            };
            if terms.iter().any(|(_, l)| *l == loss) {
                return Err(bad(format!("`{name}` appears twice")));
            }
            terms.push((weight, loss));
        }
        match terms.len() {
            1 if !weighted => Ok(terms.remove(0).1),
            _ => Ok(Loss::Mix(terms)),
        }
    }

    /// Whether the loss is a mean of per-entry terms (mse, l1 and their mixtures), which is what
    /// [`Loss::compute_masked`] needs: SSIM compares windows, not entries.
    pub fn is_elementwise(&self) -> bool {
        match self {
            Loss::Mse | Loss::L1 => true,
            Loss::Ssim | Loss::MsSsim => false,
            Loss::Mix(terms) => terms.iter().all(|(_, l)| l.is_elementwise()),
        }
    }

    /// The scalar loss of `x_hat` against the clean `x`, averaged over every entry.
    ///
    /// # Panics
    /// If the loss has an SSIM term and `D` is not 4 (`[batch, channels, height, width]`).
    pub fn compute<const D: usize>(&self, x_hat: Tensor<D>, x: Tensor<D>) -> Tensor<1> {
        match self {
            Loss::Mse | Loss::L1 => self.elementwise(x_hat - x).mean(),
            Loss::Ssim => ssim(as_images(x_hat), as_images(x)).neg().add_scalar(1.0),
            Loss::MsSsim => ms_ssim(as_images(x_hat), as_images(x))
                .neg()
                .add_scalar(1.0),
            Loss::Mix(terms) => weighted_sum(terms, |l| l.compute(x_hat.clone(), x.clone())),
        }
    }

    /// The loss averaged over the corrupted entries only (`mask` is 1 where the corruption hid
    /// or changed an entry, 0 elsewhere): masked modeling's L = (1/|M|) Σ_{i∈M} ℓ(x̂_i, x_i).
    /// Entries outside M contribute nothing, not even to the gradient. `masked` is |M|; a batch
    /// with no corrupted entry gives 0. Only for [`Loss::is_elementwise`] losses
    /// (the image config's check refuses the others); an SSIM term is computed over the
    /// whole image.
    pub fn compute_masked<const D: usize>(
        &self,
        x_hat: Tensor<D>,
        x: Tensor<D>,
        mask: Tensor<D>,
        masked: usize,
    ) -> Tensor<1> {
        match self {
            Loss::Mse | Loss::L1 => (self.elementwise(x_hat - x) * mask)
                .sum()
                .div_scalar(masked.max(1) as f32),
            Loss::Ssim | Loss::MsSsim => self.compute(x_hat, x),
            Loss::Mix(terms) => weighted_sum(terms, |l| {
                l.compute_masked(x_hat.clone(), x.clone(), mask.clone(), masked)
            }),
        }
    }

    fn elementwise<const D: usize>(&self, diff: Tensor<D>) -> Tensor<D> {
        match self {
            Loss::L1 => diff.abs(),
            _ => diff.square(),
        }
    }
}

fn weighted_sum(terms: &[(f64, Loss)], mut term: impl FnMut(&Loss) -> Tensor<1>) -> Tensor<1> {
    terms
        .iter()
        .map(|(w, l)| term(l).mul_scalar(*w as f32))
        .reduce(|a, b| a + b)
        .expect("a mixture has at least one term")
}

fn as_images<const D: usize>(t: Tensor<D>) -> Tensor<4> {
    assert!(
        D == 4,
        "SSIM losses need [batch, channels, height, width] tensors, got rank {D}"
    );
    let d = t.dims();
    t.reshape([d[0], d[1], d[2], d[3]])
}

impl fmt::Display for Loss {
    /// The canonical spec string, which [`Loss::parse`] reads back to the same loss.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Loss::Mse => f.write_str("mse"),
            Loss::L1 => f.write_str("l1"),
            Loss::Ssim => f.write_str("ssim"),
            Loss::MsSsim => f.write_str("msssim"),
            Loss::Mix(terms) => {
                for (i, (w, l)) in terms.iter().enumerate() {
                    if i > 0 {
                        f.write_str("+")?;
                    }
                    write!(f, "{w}*{l}")?;
                }
                Ok(())
            }
        }
    }
}

impl FromStr for Loss {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Loss::parse(s)
    }
}

impl TryFrom<String> for Loss {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Loss::parse(&s)
    }
}

impl From<Loss> for String {
    fn from(l: Loss) -> String {
        l.to_string()
    }
}

#[cfg(test)]
#[path = "loss_tests.rs"]
mod tests;
