//! A small U-Net (Ronneberger et al. 2015) for image denoising.
//!
//! ```text
//! level l = 0..depth has width · 2^l channels; a block is Conv3x3 ReLU Conv3x3 ReLU (padding 1)
//! encoder:    block(in → c0) ─ MaxPool2 ─ block(c0 → c1) ─ MaxPool2 ─ … ─ block(→ c_depth)  (bottleneck)
//! decoder:    ConvTranspose2x2/2(c_{l+1} → c_l), concatenate the encoder's level-l output (the skip),
//!             block(2 c_l → c_l), up to level 0
//! head:       Conv1x1(c0 → in) Sigmoid             (residual: x̂ = x̃ − Conv1x1(c0 → in), no sigmoid)
//! ```
//!
//! With `residual` the head predicts the noise and subtracts it from the input, as DnCNN does:
//! training starts from the identity rather than from a constant image.
//!
//! The skips carry full-resolution detail around the bottleneck, which is what keeps the output
//! from the over-smoothing of the document's conv DAE, whose every pixel passes through a 4x
//! down-sampled code. z is the bottleneck feature map (`width · 2^depth` channels at
//! `h / 2^depth x w / 2^depth`), flattened. `depth` poolings mean height and width must be
//! multiples of `2^depth` (`dae denoise` pads other sizes).

use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::PaddingConfig2d;
use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid};

use crate::kernels::{conv2d, conv_transpose2d, relu_max_pool2d, Activation};

/// Configuration of [`Unet`].
#[derive(Config, Debug)]
pub struct UnetConfig {
    /// Input (and output) channels.
    #[config(default = 1)]
    pub channels: usize,
    /// Channels at full resolution; each level below doubles them.
    #[config(default = 32)]
    pub width: usize,
    /// Number of 2x down-samplings (levels below full resolution).
    #[config(default = 2)]
    pub depth: usize,
    /// Predict the noise and return x̃ − n̂ (no sigmoid) instead of sigmoid(head).
    #[config(default = false)]
    pub residual: bool,
}

/// Two 3x3 convolutions, each followed by a ReLU.
#[derive(Module, Debug)]
pub struct ConvBlock {
    /// First convolution (changes the channel count).
    pub conv_a: Conv2d,
    /// Second convolution (keeps it).
    pub conv_b: Conv2d,
}

impl ConvBlock {
    fn new(c_in: usize, c_out: usize, device: &Device) -> Self {
        let conv = |a, b| {
            Conv2dConfig::new([a, b], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device)
        };
        Self {
            conv_a: conv(c_in, c_out),
            conv_b: conv(c_out, c_out),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        relu(conv2d(&self.conv_b, relu(conv2d(&self.conv_a, x))))
    }
}

/// The U-Net denoiser. `forward` returns (x̂, z).
#[derive(Module, Debug)]
pub struct Unet {
    /// Encoder blocks, full resolution first; the last one is the bottleneck (`depth + 1` blocks).
    pub down: Vec<ConvBlock>,
    /// 2x2 stride-2 up-convolutions, deepest first (`depth` of them).
    pub up: Vec<ConvTranspose2d>,
    /// Decoder blocks after each skip concatenation, deepest first (`depth` of them).
    pub merge: Vec<ConvBlock>,
    /// 1x1 convolution to the image channels, before the sigmoid (or the noise, if residual).
    pub head: Conv2d,
    /// `MaxPool2d(2)` between encoder levels.
    pub pool: MaxPool2d,
    /// Whether x̂ = x̃ − head (true) or sigmoid(head) (false).
    pub residual: bool,
}

impl UnetConfig {
    /// Channels at level `l`.
    fn level_width(&self, l: usize) -> usize {
        self.width << l
    }

    /// Builds the model with Burn's default initialization on `device`.
    pub fn init(&self, device: &Device) -> Unet {
        let mut down = Vec::with_capacity(self.depth + 1);
        let mut c_in = self.channels;
        for l in 0..=self.depth {
            down.push(ConvBlock::new(c_in, self.level_width(l), device));
            c_in = self.level_width(l);
        }
        let mut up = Vec::with_capacity(self.depth);
        let mut merge = Vec::with_capacity(self.depth);
        for l in (0..self.depth).rev() {
            let (c, c_below) = (self.level_width(l), self.level_width(l + 1));
            up.push(
                ConvTranspose2dConfig::new([c_below, c], [2, 2])
                    .with_stride([2, 2])
                    .init(device),
            );
            merge.push(ConvBlock::new(2 * c, c, device));
        }
        Unet {
            down,
            up,
            merge,
            head: Conv2dConfig::new([self.width, self.channels], [1, 1]).init(device),
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            residual: self.residual,
        }
    }
}

impl Unet {
    /// Returns (x̂ shaped like `x`, in (0, 1) unless residual; z the bottleneck feature map).
    pub fn forward(&self, x: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
        let (z, mut skips) = self.contract(x.clone(), true);
        let mut h = z.clone();
        for (up, merge) in self.up.iter().zip(&self.merge) {
            let skip = skips.pop().expect("one skip per level");
            h = merge.forward(Tensor::cat(
                vec![conv_transpose2d(up, h, Activation::Identity), skip],
                1,
            ));
        }
        let out = conv2d(&self.head, h);
        if self.residual {
            (x - out, z)
        } else {
            (sigmoid(out), z)
        }
    }

    /// The bottleneck feature map alone: the contracting half of the network, the same z that
    /// [`Unet::forward`] returns.
    pub fn encode(&self, x: Tensor<4>) -> Tensor<4> {
        self.contract(x, false).0
    }

    /// The contracting path: the bottleneck and, if `keep_skips`, the feature map of every level
    /// above it (full resolution first) for the decoder's concatenations.
    fn contract(&self, x: Tensor<4>, keep_skips: bool) -> (Tensor<4>, Vec<Tensor<4>>) {
        let depth = self.up.len();
        let mut skips = Vec::with_capacity(depth);
        let mut h = x;
        for (l, block) in self.down.iter().enumerate() {
            if l > 0 {
                // h is already rectified, so the fused ReLU + max-pool kernel is just the pool.
                h = relu_max_pool2d(&self.pool, h);
            }
            h = block.forward(h);
            if keep_skips && l < depth {
                skips.push(h.clone());
            }
        }
        (h, skips)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_range() {
        let d = Device::flex();
        let m = UnetConfig::new().with_width(4).with_depth(2).init(&d);
        let x = Tensor::<4>::random([2, 1, 12, 8], burn::tensor::Distribution::Default, &d);
        let (x_hat, z) = m.forward(x);
        assert_eq!(x_hat.dims(), [2, 1, 12, 8]);
        assert_eq!(z.dims(), [2, 16, 3, 2]);
        let v = x_hat.into_data().try_to_vec::<f32>().unwrap();
        assert!(v.iter().all(|&p| p > 0.0 && p < 1.0));
    }

    #[test]
    fn residual_with_a_zero_head_is_the_identity() {
        use burn::module::Param;
        let d = Device::flex();
        let mut m = UnetConfig::new().with_width(4).with_residual(true).init(&d);
        m.head.weight = Param::from_tensor(m.head.weight.val().zeros_like());
        m.head.bias = m
            .head
            .bias
            .take()
            .map(|b| Param::from_tensor(b.val().zeros_like()));
        let x = Tensor::<4>::random([1, 1, 8, 8], burn::tensor::Distribution::Default, &d);
        let (x_hat, _) = m.forward(x.clone());
        assert_eq!((x_hat - x).abs().max().into_scalar::<f32>(), 0.0);
    }

    #[test]
    fn parameter_count_matches_the_layer_list() {
        let m = UnetConfig::new()
            .with_width(32)
            .with_depth(2)
            .init(&Device::flex());
        // conv k×k c_in→c_out has k²·c_in·c_out + c_out parameters.
        let conv = |k: usize, a: usize, b: usize| k * k * a * b + b;
        let want = conv(3, 1, 32) + conv(3, 32, 32)       // level 0
            + conv(3, 32, 64) + conv(3, 64, 64)           // level 1
            + conv(3, 64, 128) + conv(3, 128, 128)        // bottleneck
            + conv(2, 128, 64) + conv(3, 128, 64) + conv(3, 64, 64)
            + conv(2, 64, 32) + conv(3, 64, 32) + conv(3, 32, 32)
            + conv(1, 32, 1);
        assert_eq!(m.num_params(), want);
    }
}
