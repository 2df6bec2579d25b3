//! The document's fully connected autoencoder, `Autoencoder(input_dim=784, latent_dim=64)`:
//! input -> hidden... -> latent -> ...hidden -> input, ReLU between layers, ReLU on the code and a
//! sigmoid on the output (images live in [0, 1]).

use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::prelude::*;

use crate::kernels::{linear, Activation};

/// Configuration of [`MlpAutoencoder`].
#[derive(Config, Debug)]
pub struct MlpConfig {
    /// Number of input features (784 for 28x28 images).
    #[config(default = 784)]
    pub input_dim: usize,
    /// Width of the code z.
    #[config(default = 64)]
    pub latent_dim: usize,
    /// Hidden layer widths of the encoder, outermost first; the decoder mirrors them.
    #[config(default = "vec![256]")]
    pub hidden: Vec<usize>,
    /// Dropout probability after every hidden activation of encoder and decoder (0 disables).
    #[config(default = 0.0)]
    pub dropout: f64,
}

/// A stack of linear layers with ReLU (and optional dropout) between them.
#[derive(Module, Debug)]
pub struct LinearStack {
    layers: Vec<Linear>,
    dropout: Dropout,
}

impl LinearStack {
    fn new(widths: &[usize], dropout: f64, device: &Device) -> Self {
        let layers = widths
            .windows(2)
            .map(|w| LinearConfig::new(w[0], w[1]).init(device))
            .collect();
        Self {
            layers,
            dropout: DropoutConfig::new(dropout).init(),
        }
    }

    /// The layers, first to last.
    pub fn layers(&self) -> &[Linear] {
        &self.layers
    }

    /// Mutable access to the layers, for weight import.
    pub fn layers_mut(&mut self) -> &mut [Linear] {
        &mut self.layers
    }

    /// Applies every layer; ReLU follows each one except the last, where `last` decides. Each
    /// layer and its activation run as one fused kernel on the CPU (`crate::kernels::linear`).
    fn forward(&self, mut x: Tensor<2>, last: Activation) -> Tensor<2> {
        let n = self.layers.len();
        for (i, layer) in self.layers.iter().enumerate() {
            if i + 1 < n {
                x = self.dropout.forward(linear(layer, x, Activation::Relu));
            } else {
                x = linear(layer, x, last);
            }
        }
        x
    }
}

/// The document's MLP autoencoder. `forward` returns (x̂, z).
#[derive(Module, Debug)]
pub struct MlpAutoencoder {
    /// input -> hidden... -> latent, ReLU after every layer.
    pub encoder: LinearStack,
    /// latent -> hidden... -> input, ReLU between layers, sigmoid at the end.
    pub decoder: LinearStack,
}

impl MlpConfig {
    /// Builds the model with Burn's default initialization on `device`.
    pub fn init(&self, device: &Device) -> MlpAutoencoder {
        let mut widths = vec![self.input_dim];
        widths.extend(&self.hidden);
        widths.push(self.latent_dim);
        let encoder = LinearStack::new(&widths, self.dropout, device);
        widths.reverse();
        let decoder = LinearStack::new(&widths, self.dropout, device);
        MlpAutoencoder { encoder, decoder }
    }
}

impl MlpAutoencoder {
    /// Encodes `x` of shape `[batch, input_dim]` to z of shape `[batch, latent_dim]`.
    pub fn encode(&self, x: Tensor<2>) -> Tensor<2> {
        self.encoder.forward(x, Activation::Relu)
    }

    /// Decodes z to x̂ in (0, 1).
    pub fn decode(&self, z: Tensor<2>) -> Tensor<2> {
        self.decoder.forward(z, Activation::Sigmoid)
    }

    /// Returns (x̂, z) for a batch `[batch, input_dim]`.
    pub fn forward(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let z = self.encode(x);
        (self.decode(z.clone()), z)
    }
}
