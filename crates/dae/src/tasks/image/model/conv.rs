//! The document's `ConvDenoisingAutoencoder`, layer for layer:
//!
//! ```text
//! encoder: Conv2d(1, 32, 3, padding=1) ReLU MaxPool2d(2) Conv2d(32, 64, 3, padding=1) ReLU MaxPool2d(2)
//! decoder: ConvTranspose2d(64, 32, 2, stride=2) ReLU ConvTranspose2d(32, 1, 2, stride=2) Sigmoid
//! ```
//!
//! z has a quarter of the input's height and width and 64 channels. Two 2x poolings mean the input
//! height and width must be multiples of 4 (`dae denoise` pads other sizes).

use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Dropout, DropoutConfig, PaddingConfig2d};
use burn::prelude::*;

use crate::kernels::{conv2d, conv_transpose2d, relu_max_pool2d, Activation};

/// Configuration of [`ConvDenoisingAutoencoder`]. The defaults are the document's model.
#[derive(Config, Debug)]
pub struct ConvConfig {
    /// Input (and output) channels.
    #[config(default = 1)]
    pub channels: usize,
    /// Channels after the first convolution.
    #[config(default = 32)]
    pub width_1: usize,
    /// Channels after the second convolution (the depth of z).
    #[config(default = 64)]
    pub width_2: usize,
    /// Dropout probability on the feature maps after every inner ReLU (0 disables).
    #[config(default = 0.0)]
    pub dropout: f64,
}

/// The document's convolutional denoising autoencoder. `forward` returns (x̂, z).
#[derive(Module, Debug)]
pub struct ConvDenoisingAutoencoder {
    /// `Conv2d(1, 32, kernel_size=3, padding=1)`.
    pub enc_conv1: Conv2d,
    /// `Conv2d(32, 64, kernel_size=3, padding=1)`.
    pub enc_conv2: Conv2d,
    /// `MaxPool2d(2)`, used after each encoder convolution.
    pub pool: MaxPool2d,
    /// `ConvTranspose2d(64, 32, kernel_size=2, stride=2)`.
    pub dec_deconv1: ConvTranspose2d,
    /// `ConvTranspose2d(32, 1, kernel_size=2, stride=2)`.
    pub dec_deconv2: ConvTranspose2d,
    /// Optional dropout inside encoder and decoder.
    pub dropout: Dropout,
}

impl ConvConfig {
    /// Builds the model with Burn's default initialization on `device`.
    pub fn init(&self, device: &Device) -> ConvDenoisingAutoencoder {
        let same = PaddingConfig2d::Explicit(1, 1, 1, 1);
        ConvDenoisingAutoencoder {
            enc_conv1: Conv2dConfig::new([self.channels, self.width_1], [3, 3])
                .with_padding(same.clone())
                .init(device),
            enc_conv2: Conv2dConfig::new([self.width_1, self.width_2], [3, 3])
                .with_padding(same)
                .init(device),
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            dec_deconv1: ConvTranspose2dConfig::new([self.width_2, self.width_1], [2, 2])
                .with_stride([2, 2])
                .init(device),
            dec_deconv2: ConvTranspose2dConfig::new([self.width_1, self.channels], [2, 2])
                .with_stride([2, 2])
                .init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
        }
    }
}

impl ConvDenoisingAutoencoder {
    /// Encodes `[batch, channels, h, w]` to z of shape `[batch, 64, h/4, w/4]`.
    pub fn encode(&self, x: Tensor<4>) -> Tensor<4> {
        // dae's CPU kernels (`crate::kernels`); Burn's own layers on other devices. ReLU and
        // MaxPool2d(2) are fused into one kernel.
        let x = relu_max_pool2d(&self.pool, conv2d(&self.enc_conv1, x));
        let x = self.dropout.forward(x);
        let x = relu_max_pool2d(&self.pool, conv2d(&self.enc_conv2, x));
        self.dropout.forward(x)
    }

    /// Decodes z to x̂ in (0, 1) with four times z's height and width.
    pub fn decode(&self, z: Tensor<4>) -> Tensor<4> {
        let x = conv_transpose2d(&self.dec_deconv1, z, Activation::Relu);
        let x = self.dropout.forward(x);
        conv_transpose2d(&self.dec_deconv2, x, Activation::Sigmoid)
    }

    /// Returns (x̂, z).
    pub fn forward(&self, x: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
        let z = self.encode(x);
        (self.decode(z.clone()), z)
    }
}
