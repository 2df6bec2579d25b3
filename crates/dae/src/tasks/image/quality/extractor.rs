//! The Fashion-MNIST classifier whose penultimate layer gives the features of the quality
//! metrics, and its weights file.
//!
//! ```text
//! Conv2d(1, 32, 3, padding=1) ReLU MaxPool2d(2)     28x28 -> 14x14
//! Conv2d(32, 64, 3, padding=1) ReLU MaxPool2d(2)    14x14 -> 7x7
//! Conv2d(64, 64, 3, padding=1) ReLU MaxPool2d(2)    7x7   -> 3x3 (floor, as PyTorch)
//! flatten (576) Dropout Linear(576, 128)            -> the features
//! ReLU Linear(128, 10)                              -> the class logits
//! ```
//!
//! The third convolution and pooling shrink the input of the first linear layer from 3,136 to
//! 576 values, which keeps the weights at 131k parameters (524 KB in f32) for a file shipped in
//! the repository. The features are the first linear layer's output *before* its ReLU: dense
//! real values, nearer to the Gaussian the Fréchet distance assumes than rectified ones, which
//! pile up at zero.
//!
//! The weights file is safetensors with PyTorch's names and layouts (`conv1.weight`
//! `[32, 1, 3, 3]`, …, `fc1.weight` `[128, 576]` as `nn.Linear` stores it), so PyTorch can read
//! it too.

use std::path::{Path, PathBuf};

use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use crate::kernels::{conv2d, linear, relu_max_pool2d, Activation};
use crate::{Error, Result};

/// Image side the extractor takes: Fashion-MNIST's 28x28.
pub const IMAGE_SIDE: usize = 28;
/// Pixels per image.
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;
/// Dimension of the features (the penultimate layer's width).
pub const FEATURE_DIM: usize = 128;
/// Number of classes (Fashion-MNIST's ten).
pub const CLASSES: usize = 10;
/// Values after the last pooling: 64 channels of 3x3.
const FLAT: usize = 64 * 3 * 3;

/// The weights shipped in the repository (`data/quality/`, see its README for the recipe).
const EMBEDDED_WEIGHTS: &[u8] =
    include_bytes!("../../../../../../data/quality/fmnist_extractor.safetensors");
/// How the embedded weights are named in messages.
const EMBEDDED_NAME: &str = "<embedded>/data/quality/fmnist_extractor.safetensors";

/// The classifier network (see the module documentation for its layers).
#[derive(Module, Debug)]
pub struct ExtractorNet {
    /// `Conv2d(1, 32, 3, padding=1)`.
    pub conv1: Conv2d,
    /// `Conv2d(32, 64, 3, padding=1)`.
    pub conv2: Conv2d,
    /// `Conv2d(64, 64, 3, padding=1)`.
    pub conv3: Conv2d,
    /// `MaxPool2d(2)` after each convolution.
    pub pool: MaxPool2d,
    /// Dropout on the flattened maps, during training only.
    pub dropout: Dropout,
    /// `Linear(576, 128)`: its output is the feature vector.
    pub fc1: Linear,
    /// `Linear(128, 10)`: the class logits.
    pub fc2: Linear,
}

/// The network with Burn's default initialization on `device` and dropout probability
/// `dropout` (0 at inference).
pub fn init_net(device: &Device, dropout: f64) -> ExtractorNet {
    let same = || PaddingConfig2d::Explicit(1, 1, 1, 1);
    let conv = |c_in, c_out| {
        Conv2dConfig::new([c_in, c_out], [3, 3])
            .with_padding(same())
            .init(device)
    };
    ExtractorNet {
        conv1: conv(1, 32),
        conv2: conv(32, 64),
        conv3: conv(64, 64),
        pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
        dropout: DropoutConfig::new(dropout).init(),
        fc1: LinearConfig::new(FLAT, FEATURE_DIM).init(device),
        fc2: LinearConfig::new(FEATURE_DIM, CLASSES).init(device),
    }
}

impl ExtractorNet {
    /// Maps images `[n, 1, 28, 28]` to (features `[n, 128]`, logits `[n, 10]`).
    pub fn forward(&self, x: Tensor<4>) -> (Tensor<2>, Tensor<2>) {
        let x = relu_max_pool2d(&self.pool, conv2d(&self.conv1, x));
        let x = relu_max_pool2d(&self.pool, conv2d(&self.conv2, x));
        let x = relu_max_pool2d(&self.pool, conv2d(&self.conv3, x));
        let x = self.dropout.forward(x.flatten(1, 3));
        let features = linear(&self.fc1, x, Activation::Identity);
        let logits = linear(
            &self.fc2,
            burn::tensor::activation::relu(features.clone()),
            Activation::Identity,
        );
        (features, logits)
    }
}

/// The tensors of a weights file: name, shape (PyTorch's layout), in the file's order.
fn layout() -> [(&'static str, Vec<usize>); 10] {
    [
        ("conv1.weight", vec![32, 1, 3, 3]),
        ("conv1.bias", vec![32]),
        ("conv2.weight", vec![64, 32, 3, 3]),
        ("conv2.bias", vec![64]),
        ("conv3.weight", vec![64, 64, 3, 3]),
        ("conv3.bias", vec![64]),
        ("fc1.weight", vec![FEATURE_DIM, FLAT]),
        ("fc1.bias", vec![FEATURE_DIM]),
        ("fc2.weight", vec![CLASSES, FEATURE_DIM]),
        ("fc2.bias", vec![CLASSES]),
    ]
}

/// The values of a float tensor, read back from Burn.
pub(crate) fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap_or_default()
}

/// Serializes `net`'s weights as safetensors bytes (PyTorch names and layouts).
pub fn weights_bytes(net: &ExtractorNet) -> Result<Vec<u8>> {
    let conv = |c: &Conv2d| {
        let bias = c.bias.as_ref().map(|b| values(b.val())).unwrap_or_default();
        (values(c.weight.val()), bias)
    };
    // Burn's Linear stores [in, out]; PyTorch's [out, in].
    let lin = |l: &Linear| {
        let bias = l.bias.as_ref().map(|b| values(b.val())).unwrap_or_default();
        (values(l.weight.val().transpose()), bias)
    };
    let parts = [
        conv(&net.conv1),
        conv(&net.conv2),
        conv(&net.conv3),
        lin(&net.fc1),
        lin(&net.fc2),
    ];
    let flat: Vec<Vec<u8>> = parts
        .iter()
        .flat_map(|(w, b)| [w, b])
        .map(|v| v.iter().flat_map(|x| x.to_le_bytes()).collect())
        .collect();
    let views = layout()
        .into_iter()
        .zip(&flat)
        .map(|((name, shape), data)| {
            TensorView::new(Dtype::F32, shape, data)
                .map(|v| (name.to_string(), v))
                .map_err(|e| Error::Config(format!("extractor tensor `{name}`: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize(views, &None)
        .map_err(|e| Error::Config(format!("cannot serialize the extractor: {e}")))
}

/// Reads weights bytes into a network on `device`; every error names `path` and says what is
/// wrong (not safetensors, a tensor missing, of another type or shape, or not finite).
pub fn read_weights(bytes: &[u8], path: &Path, device: &Device) -> Result<ExtractorNet> {
    let bad = |reason: String| {
        Error::format(
            path,
            format!("not a dae Fashion-MNIST feature extractor: {reason}"),
        )
    };
    let st = SafeTensors::deserialize(bytes).map_err(|e| bad(format!("not safetensors ({e})")))?;
    let mut tensors = Vec::new();
    for (name, shape) in layout() {
        let view = st
            .tensor(name)
            .map_err(|_| bad(format!("no tensor named `{name}`")))?;
        if view.dtype() != Dtype::F32 {
            return Err(bad(format!("`{name}` is {:?}, expected F32", view.dtype())));
        }
        if view.shape() != shape.as_slice() {
            return Err(bad(format!(
                "`{name}` has shape {:?}, expected {shape:?}",
                view.shape()
            )));
        }
        let v: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if v.iter().any(|x| !x.is_finite()) {
            return Err(bad(format!("`{name}` holds non-finite values")));
        }
        tensors.push(TensorData::new(v, shape));
    }
    let mut net = init_net(device, 0.0);
    let mut it = tensors.into_iter();
    let mut next = || {
        it.next()
            .unwrap_or_else(|| TensorData::new(Vec::<f32>::new(), [0]))
    };
    for c in [&mut net.conv1, &mut net.conv2, &mut net.conv3] {
        c.weight = Param::from_tensor(Tensor::from_data(next(), device));
        c.bias = Some(Param::from_tensor(Tensor::from_data(next(), device)));
    }
    for l in [&mut net.fc1, &mut net.fc2] {
        let w: Tensor<2> = Tensor::from_data(next(), device);
        l.weight = Param::from_tensor(w.transpose());
        l.bias = Some(Param::from_tensor(Tensor::from_data(next(), device)));
    }
    Ok(net)
}

/// Images per inference batch: 256 images' activations (the first map is 32x28x28) are 25 MB.
const BATCH: usize = 256;

/// The trained classifier, used for its features and its class predictions. Runs on the CPU.
#[derive(Debug)]
pub struct FeatureExtractor {
    net: ExtractorNet,
    device: Device,
    source: PathBuf,
}

impl FeatureExtractor {
    /// The extractor shipped in the repository (`data/quality/fmnist_extractor.safetensors`).
    pub fn embedded() -> Result<Self> {
        Self::from_bytes(EMBEDDED_WEIGHTS, Path::new(EMBEDDED_NAME))
    }

    /// An extractor from a weights file written by `dae train-extractor`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let bytes = crate::fsio::read_input(path)?;
        Self::from_bytes(&bytes, path)
    }

    /// An extractor from the bytes of a weights file; `source` names it in errors.
    pub fn from_bytes(bytes: &[u8], source: &Path) -> Result<Self> {
        let device = Device::flex();
        let net = read_weights(bytes, source, &device)?;
        Ok(Self {
            net,
            device,
            source: source.to_path_buf(),
        })
    }

    /// An extractor from a network in memory (e.g. one just trained).
    pub fn from_net(net: ExtractorNet, source: &Path) -> Self {
        let device = Device::flex();
        let net = net.valid().to_device(&device);
        Self {
            net,
            device,
            source: source.to_path_buf(),
        }
    }

    /// Where the weights came from.
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// The feature dimension, [`FEATURE_DIM`].
    pub fn dim(&self) -> usize {
        FEATURE_DIM
    }

    /// Runs the network on `count` images (`count x 28 x 28` values in \[0,1\]), in batches;
    /// calls `each` with every batch's (features, logits).
    fn run(
        &self,
        images: &[f32],
        count: usize,
        mut each: impl FnMut(Vec<f32>, Vec<f32>),
    ) -> Result<()> {
        check_images(images, count)?;
        for chunk in images.chunks(BATCH * IMAGE_PIXELS) {
            let n = chunk.len() / IMAGE_PIXELS;
            let x = Tensor::<4>::from_data(
                TensorData::new(chunk.to_vec(), [n, 1, IMAGE_SIDE, IMAGE_SIDE]),
                &self.device,
            );
            let (features, logits) = self.net.forward(x);
            each(values(features), values(logits));
        }
        Ok(())
    }

    /// The features of `count` images (`count x 28 x 28` values in \[0,1\]): `count x 128`.
    pub fn features(&self, images: &[f32], count: usize) -> Result<Vec<f32>> {
        let mut out = Vec::with_capacity(count * FEATURE_DIM);
        self.run(images, count, |f, _| out.extend(f))?;
        Ok(out)
    }

    /// The predicted class (argmax of the logits) of each of `count` images.
    pub fn classes(&self, images: &[f32], count: usize) -> Result<Vec<usize>> {
        Ok(self.features_and_classes(images, count)?.1)
    }

    /// Features and predicted classes in one pass.
    pub fn features_and_classes(
        &self,
        images: &[f32],
        count: usize,
    ) -> Result<(Vec<f32>, Vec<usize>)> {
        let mut features = Vec::with_capacity(count * FEATURE_DIM);
        let mut classes = Vec::with_capacity(count);
        self.run(images, count, |f, logits| {
            features.extend(f);
            classes.extend(logits.chunks_exact(CLASSES).map(argmax));
        })?;
        Ok((features, classes))
    }
}

/// The index of the largest value (the first of ties).
pub(crate) fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

/// Checks that `images` holds exactly `count` images of 28x28.
pub(crate) fn check_images(images: &[f32], count: usize) -> Result<()> {
    if count == 0 || images.len() != count * IMAGE_PIXELS {
        return Err(Error::Shape(format!(
            "the feature extractor takes 28x28 images: {} values are not {count} of them",
            images.len()
        )));
    }
    Ok(())
}
