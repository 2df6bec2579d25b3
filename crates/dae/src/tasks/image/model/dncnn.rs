//! A DnCNN-like residual denoiser (Zhang et al. 2017, "Beyond a Gaussian Denoiser").
//!
//! ```text
//! Conv3x3(in → width) ReLU, (depth − 2) × [Conv3x3(width → width) ReLU], Conv3x3(width → in) = n̂
//! x̂ = x̃ − n̂
//! ```
//!
//! The network predicts the noise n̂ and subtracts it (residual learning): the identity is free,
//! so training starts at the noisy input's PSNR and only has to learn the noise. Choices, and
//! why:
//! - no sigmoid and no clamp on x̂: a clamp has zero gradient outside [0, 1] and would leave
//!   pixels stuck there; the loss pulls x̂ into range anyway;
//! - no batch normalization: at the depths that fit a CPU budget (8-10 layers) AdamW trains the
//!   plain stack well, and it keeps train and inference modes identical.
//!
//! Every layer keeps the image size (padding 1), so any height and width works. z is the last
//! hidden feature map (`width` channels at full resolution), flattened: DnCNN has no bottleneck.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::PaddingConfig2d;
use burn::prelude::*;
use burn::tensor::activation::relu;

use crate::kernels::conv2d;

/// Configuration of [`Dncnn`].
#[derive(Config, Debug)]
pub struct DncnnConfig {
    /// Input (and output) channels.
    #[config(default = 1)]
    pub channels: usize,
    /// Channels of every hidden layer.
    #[config(default = 32)]
    pub width: usize,
    /// Convolution layers in all, first and last included (at least 2).
    #[config(default = 8)]
    pub depth: usize,
}

/// The residual denoiser. `forward` returns (x̂, z).
#[derive(Module, Debug)]
pub struct Dncnn {
    /// The convolutions, input side first; a ReLU follows every one but the last.
    pub layers: Vec<Conv2d>,
}

impl DncnnConfig {
    /// Builds the model with Burn's default initialization on `device`. A `depth` below 2 is
    /// raised to 2 (one layer in, one out); [`super::ModelConfig::check`] rejects it first.
    pub fn init(&self, device: &Device) -> Dncnn {
        let depth = self.depth.max(2);
        let conv = |a, b| {
            Conv2dConfig::new([a, b], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device)
        };
        let mut layers = vec![conv(self.channels, self.width)];
        layers.extend((0..depth - 2).map(|_| conv(self.width, self.width)));
        layers.push(conv(self.width, self.channels));
        Dncnn { layers }
    }
}

impl Dncnn {
    /// Returns (x̂ = x̃ − n̂, z the last hidden feature map).
    pub fn forward(&self, x: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
        let h = self.encode(x.clone());
        let last = self.layers.last().expect("at least two layers");
        let noise = conv2d(last, h.clone());
        (x - noise, h)
    }

    /// The last hidden feature map alone (every layer but the noise head): the same z that
    /// [`Dncnn::forward`] returns.
    pub fn encode(&self, x: Tensor<4>) -> Tensor<4> {
        let hidden = &self.layers[..self.layers.len() - 1];
        hidden.iter().fold(x, |h, layer| relu(conv2d(layer, h)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Param;

    #[test]
    fn shapes_any_size() {
        let d = Device::flex();
        let m = DncnnConfig::new().with_width(4).with_depth(3).init(&d);
        let x = Tensor::<4>::random([2, 1, 7, 5], burn::tensor::Distribution::Default, &d);
        let (x_hat, z) = m.forward(x);
        assert_eq!(x_hat.dims(), [2, 1, 7, 5]);
        assert_eq!(z.dims(), [2, 4, 7, 5]);
        assert_eq!(m.layers.len(), 3);
    }

    #[test]
    fn zero_noise_prediction_is_the_identity() {
        let d = Device::flex();
        let mut m = DncnnConfig::new().with_width(4).with_depth(3).init(&d);
        let last = m.layers.last_mut().unwrap();
        last.weight = Param::from_tensor(last.weight.val().zeros_like());
        last.bias = last
            .bias
            .take()
            .map(|b| Param::from_tensor(b.val().zeros_like()));
        let x = Tensor::<4>::random([1, 1, 6, 6], burn::tensor::Distribution::Default, &d);
        let (x_hat, _) = m.forward(x.clone());
        let diff = (x_hat - x).abs().max().into_scalar::<f32>();
        assert_eq!(diff, 0.0);
    }
}
