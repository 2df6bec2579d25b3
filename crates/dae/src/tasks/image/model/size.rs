//! The size of an image model before it is built: its exact parameter count and an estimate of
//! the activation values one batch makes, both in checked arithmetic, so that `--hidden`,
//! `--width` or `--depth` too large for memory is refused with a message instead of an aborted
//! allocation (docs/limits.md).

use super::config::{Architecture, ModelConfig};
use crate::limits::{product, sum, MAX_ACTIVATIONS, MAX_MODEL_PARAMS};
use crate::Result;

/// Parameters of a `k x k` convolution (or transposed convolution) from `a` to `b` channels,
/// bias included.
fn conv(k: usize, a: usize, b: usize) -> Option<u128> {
    sum([product(&[k, k, a, b]), Some(b as u128)])
}

impl ModelConfig {
    /// The number of parameters [`ModelConfig::init`] builds, or `None` if it overflows.
    pub fn param_count(&self) -> Option<u128> {
        let c = self.channels;
        match &self.arch {
            Architecture::Mlp(m) => {
                let input = usize::try_from(product(&[c, self.height, self.width])?).ok()?;
                let mut widths = vec![input];
                widths.extend(&m.hidden);
                widths.push(m.latent_dim);
                // The decoder mirrors the encoder: each pair of widths twice, a bias on each side.
                sum(widths
                    .windows(2)
                    .map(|p| sum([product(&[2, p[0], p[1]]), Some(p[0] as u128 + p[1] as u128)])))
            }
            Architecture::Conv(_) => sum([
                conv(3, c, 32),
                conv(3, 32, 64),
                conv(2, 64, 32),
                conv(2, 32, c),
            ]),
            Architecture::Unet(u) => {
                let level = |l: usize| u.width.checked_mul(1usize.checked_shl(l as u32)?);
                let mut terms = vec![conv(1, u.width, c)];
                let mut c_in = c;
                for l in 0..=u.depth {
                    let w = level(l)?;
                    terms.extend([conv(3, c_in, w), conv(3, w, w)]);
                    c_in = w;
                }
                for l in 0..u.depth {
                    let (w, below) = (level(l)?, level(l + 1)?);
                    terms.extend([
                        conv(2, below, w),
                        conv(3, w.checked_mul(2)?, w),
                        conv(3, w, w),
                    ]);
                }
                sum(terms)
            }
            Architecture::Dncnn(d) => sum([
                conv(3, c, d.width),
                conv(3, d.width, d.width)?.checked_mul(d.depth.saturating_sub(2) as u128),
                conv(3, d.width, c),
            ]),
        }
    }

    /// An estimate of the activation values a batch of `batch` images of `height x width` makes:
    /// the outputs of every layer, input and output included (the backward pass keeps about as
    /// much again).
    pub fn activation_count(&self, batch: usize, height: usize, width: usize) -> Option<u128> {
        let c = self.channels;
        let hw = usize::try_from(product(&[height, width])?).ok()?;
        let per_image = match &self.arch {
            // Every hidden width twice (encoder and decoder), before and after its activation.
            Architecture::Mlp(m) => sum([
                product(&[2, c, hw]),
                product(&[
                    4,
                    m.hidden.iter().try_fold(0usize, |a, &h| a.checked_add(h))?,
                ]),
                product(&[2, m.latent_dim]),
            ]),
            // 32 channels at full size, 32 + 64 + 32 at a quarter, 64 at a sixteenth.
            Architecture::Conv(_) => sum([
                product(&[hw, 2 * c + 32]),
                product(&[hw / 4, 128]),
                product(&[hw / 16, 64]),
            ]),
            // Level l: two convolutions of width·2^l on hw/4^l pixels going down, and the
            // up-convolution, the concatenation (twice as wide) and two more coming back up.
            Architecture::Unet(u) => {
                let mut terms = vec![product(&[2, c, hw])];
                for l in 0..=u.depth.min(usize::BITS as usize / 2) {
                    let per_level = if l < u.depth { 7 } else { 2 };
                    let w = u.width.checked_mul(1usize.checked_shl(l as u32)?)?;
                    terms.push(product(&[per_level, w, hw >> (2 * l)]));
                }
                sum(terms)
            }
            Architecture::Dncnn(d) => sum([product(&[2, c, hw]), product(&[d.depth, d.width, hw])]),
        };
        per_image?.checked_mul(batch as u128)
    }

    /// Errors if the model has more parameters than the limit allows.
    pub(super) fn check_params(&self) -> Result<()> {
        MAX_MODEL_PARAMS.check(self.param_count(), || {
            format!(
                "the {} model for {}x{} images",
                self.kind(),
                self.height,
                self.width
            )
        })
    }

    /// Errors if a batch of `batch` images of `height x width` would make more activation values
    /// than the limit allows.
    pub fn check_activations(&self, batch: usize, height: usize, width: usize) -> Result<()> {
        MAX_ACTIVATIONS.check(self.activation_count(batch, height, width), || {
            format!(
                "the {} model on a batch of {batch} image(s) of {height}x{width}",
                self.kind()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ModelKind, ModelOptions};
    use super::*;
    use burn::prelude::*;

    fn config(kind: ModelKind, o: ModelOptions) -> ModelConfig {
        ModelConfig::with_options(kind, (1, 12, 8), &o).unwrap()
    }

    #[test]
    fn parameter_counts_match_the_built_models() {
        let d = Device::flex();
        let small = ModelOptions {
            hidden: Some(vec![10, 6]),
            latent_dim: Some(3),
            ..ModelOptions::default()
        };
        let sized = ModelOptions {
            width: Some(5),
            depth: Some(2),
            ..ModelOptions::default()
        };
        for (kind, o) in [
            (ModelKind::Mlp, small),
            (ModelKind::Conv, ModelOptions::default()),
            (ModelKind::Unet, sized.clone()),
            (ModelKind::Dncnn, sized),
        ] {
            let c = config(kind, o);
            assert_eq!(
                c.param_count(),
                Some(c.init(&d).num_params() as u128),
                "{kind}"
            );
        }
    }

    #[test]
    fn sizes_beyond_the_limits_are_refused_before_anything_is_built() {
        let shape = (1, 28, 28);
        let refused = |kind, o: ModelOptions, needle: &str| {
            let e = ModelConfig::with_options(kind, shape, &o).unwrap_err();
            assert!(matches!(e, crate::Error::TooLarge { .. }), "{e:?}");
            assert!(e.to_string().contains(needle), "{e}");
        };
        let hidden = ModelOptions {
            hidden: Some(vec![1 << 40]),
            ..ModelOptions::default()
        };
        refused(ModelKind::Mlp, hidden, "DAE_MAX_MODEL_PARAMS");
        let overflow = ModelOptions {
            hidden: Some(vec![usize::MAX, usize::MAX]),
            ..ModelOptions::default()
        };
        refused(ModelKind::Mlp, overflow, "too many to count");
        let wide = ModelOptions {
            width: Some(1 << 20),
            ..ModelOptions::default()
        };
        refused(ModelKind::Dncnn, wide.clone(), "DAE_MAX_MODEL_PARAMS");
        refused(ModelKind::Unet, wide, "DAE_MAX_MODEL_PARAMS");
        let deep = ModelOptions {
            depth: Some(usize::MAX),
            ..ModelOptions::default()
        };
        refused(ModelKind::Dncnn, deep, "DAE_MAX_MODEL_PARAMS");
    }

    #[test]
    fn activations_scale_with_batch_and_pixels() {
        let c = ModelConfig::new(ModelKind::Dncnn, 1, 28, 28);
        // 8 layers of 32 channels plus input and output, per pixel.
        assert_eq!(c.activation_count(1, 28, 28), Some(784 * (8 * 32 + 2)));
        assert_eq!(
            c.activation_count(64, 28, 28),
            Some(64 * 784 * (8 * 32 + 2))
        );
        assert!(c.check_activations(64, 28, 28).is_ok());
        let e = c.check_activations(1, 8000, 8000).unwrap_err().to_string();
        assert!(
            e.contains("DAE_MAX_ACTIVATIONS") && e.contains("8000x8000"),
            "{e}"
        );
        assert!(c.check_activations(usize::MAX, 28, 28).is_err());
        assert_eq!(c.activation_count(2, usize::MAX, 2), None);
    }
}
