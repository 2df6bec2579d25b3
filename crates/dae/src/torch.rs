//! Weight interchange with PyTorch: safetensors files of named f32 tensors, and a model's layers
//! listed under the names its PyTorch twin's `state_dict()` gives them.
//!
//! A model offers its layers as [`NamedLayer`]s (a name such as `down.0.conv_a` and the Burn
//! layer); [`export`] turns them into tensors under PyTorch's names and layouts, [`import`] loads
//! such tensors back, checking every name and shape. PyTorch's `nn.Linear` stores its weight as
//! `[out, in]`, Burn's as `[in, out]`: linear weights are transposed on the way in and out.
//! Convolution weights (plain and transposed) share PyTorch's layout; a group norm's `gamma` and
//! `beta` are PyTorch's `weight` and `bias`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use burn::module::Param;
use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::nn::{GroupNorm, Linear};
use burn::prelude::*;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use crate::{Error, Result};

/// One tensor under its PyTorch name: (name, shape, values in row-major order).
pub type NamedTensor = (String, Vec<usize>, Vec<f32>);

/// A named set of f32 tensors read from a safetensors file.
pub struct TensorFile {
    path: PathBuf,
    tensors: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
}

impl TensorFile {
    /// Reads every tensor of the safetensors file at `path`; a tensor of another dtype than F32
    /// is refused by name.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = crate::fsio::read_input(path)?;
        let st = SafeTensors::deserialize(&bytes)
            .map_err(|e| Error::format(path, format!("not a safetensors file: {e}")))?;
        let mut tensors = BTreeMap::new();
        for (name, view) in st.tensors() {
            if view.dtype() != Dtype::F32 {
                return Err(Error::format(
                    path,
                    format!(
                        "tensor `{name}` is {:?}, expected F32 (save the state dict as float32)",
                        view.dtype()
                    ),
                ));
            }
            let values = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            tensors.insert(name, (view.shape().to_vec(), values));
        }
        Ok(Self {
            path: path.to_path_buf(),
            tensors,
        })
    }

    /// The file this was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The names of every tensor in the file, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// The tensor called `name` as a rank-`D` Burn tensor, checking its rank.
    pub fn tensor<const D: usize>(&self, name: &str, device: &Device) -> Result<Tensor<D>> {
        let (shape, values) = self
            .tensors
            .get(name)
            .ok_or_else(|| Error::format(&self.path, format!("no tensor named `{name}`")))?;
        if shape.len() != D {
            return Err(Error::format(
                &self.path,
                format!("tensor `{name}` has shape {shape:?}, expected rank {D}"),
            ));
        }
        Ok(Tensor::from_data(
            TensorData::new(values.clone(), shape.clone()),
            device,
        ))
    }

    /// The raw values and shape of `name`.
    pub fn get(&self, name: &str) -> Option<(&[usize], &[f32])> {
        self.tensors
            .get(name)
            .map(|(s, v)| (s.as_slice(), v.as_slice()))
    }

    /// The tensor `name` with exactly the shape `want`, as Burn tensor data; an error naming the
    /// file, the tensor, the shape the model needs and the one found otherwise.
    fn exact(&self, name: &str, want: &[usize]) -> Result<TensorData> {
        let (shape, values) = self.get(name).ok_or_else(|| {
            Error::format(
                &self.path,
                format!("no tensor named `{name}` (the model needs one of shape {want:?})"),
            )
        })?;
        if shape != want {
            return Err(Error::format(
                &self.path,
                format!("tensor `{name}` has shape {shape:?}, the model needs {want:?}"),
            ));
        }
        Ok(TensorData::new(values.to_vec(), shape.to_vec()))
    }
}

/// Writes `tensors` to a safetensors file, atomically.
pub fn write_tensors(path: &Path, tensors: &[NamedTensor]) -> Result<()> {
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, _, v)| v.iter().flat_map(|x| x.to_le_bytes()).collect())
        .collect();
    let views = tensors
        .iter()
        .zip(&bytes)
        .map(|((name, shape, _), data)| {
            TensorView::new(Dtype::F32, shape.clone(), data)
                .map(|v| (name.clone(), v))
                .map_err(|e| Error::Config(format!("tensor `{name}`: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let out = safetensors::serialize(views, &None)
        .map_err(|e| Error::Config(format!("cannot serialize tensors: {e}")))?;
    crate::fsio::write_atomic(path, &out)
}

/// Writes a run's exported `tensors` to `dest`, or to the run at `root`'s own
/// `model.safetensors` (holding the run's lock: a run being trained is refused); returns the file
/// written.
pub fn write_run_export(
    root: &Path,
    dest: Option<&Path>,
    tensors: &[NamedTensor],
) -> Result<PathBuf> {
    match dest {
        Some(dest) => {
            write_tensors(dest, tensors)?;
            Ok(dest.to_path_buf())
        }
        None => {
            let run = crate::run::RunDir::new(root);
            let _lock = run.lock()?;
            write_tensors(&run.torch_model(), tensors)?;
            Ok(run.torch_model())
        }
    }
}

/// A Burn layer whose parameters PyTorch names `<name>.weight` and `<name>.bias`, or a bare
/// parameter PyTorch names `<name>`.
pub enum Layer<'a> {
    /// `nn.Linear` (weight transposed between the two).
    Linear(&'a mut Linear),
    /// `nn.Conv2d`.
    Conv(&'a mut Conv2d),
    /// `nn.ConvTranspose2d`.
    Deconv(&'a mut ConvTranspose2d),
    /// `nn.GroupNorm` (affine).
    GroupNorm(&'a mut GroupNorm),
    /// A bare matrix `nn.Parameter`, stored as it is, under the name itself (no suffix).
    Matrix(&'a mut Param<Tensor<2>>),
    /// A bare vector `nn.Parameter`, under the name itself.
    Vector(&'a mut Param<Tensor<1>>),
}

/// A layer under its PyTorch module path (`encoder.0`, `down.1.conv_b`).
pub type NamedLayer<'a> = (String, Layer<'a>);

/// The parameters of one layer as (suffix of the layer's name, shape, values), in PyTorch's
/// layout.
fn layer_tensors(layer: &Layer<'_>) -> Vec<(&'static str, Vec<usize>, TensorData)> {
    fn data<const D: usize>(t: Tensor<D>) -> (Vec<usize>, TensorData) {
        (t.dims().to_vec(), t.into_data())
    }
    let mut out = Vec::new();
    let mut push = |suffix, (shape, d): (Vec<usize>, TensorData)| out.push((suffix, shape, d));
    match layer {
        Layer::Linear(l) => {
            push(".weight", data(l.weight.val().transpose()));
            if let Some(b) = &l.bias {
                push(".bias", data(b.val()));
            }
        }
        Layer::Conv(c) => {
            push(".weight", data(c.weight.val()));
            if let Some(b) = &c.bias {
                push(".bias", data(b.val()));
            }
        }
        Layer::Deconv(c) => {
            push(".weight", data(c.weight.val()));
            if let Some(b) = &c.bias {
                push(".bias", data(b.val()));
            }
        }
        Layer::Matrix(p) => push("", data(p.val())),
        Layer::Vector(p) => push("", data(p.val())),
        Layer::GroupNorm(g) => {
            if let Some(w) = &g.gamma {
                push(".weight", data(w.val()));
            }
            if let Some(b) = &g.beta {
                push(".bias", data(b.val()));
            }
        }
    }
    out
}

/// The layers' parameters under PyTorch's names and layouts, ready for [`write_tensors`].
pub fn export(layers: Vec<NamedLayer<'_>>) -> Vec<NamedTensor> {
    let mut out = Vec::new();
    for (name, layer) in &layers {
        for (suffix, shape, d) in layer_tensors(layer) {
            let values = d.convert::<f32>().try_to_vec::<f32>().unwrap_or_default();
            out.push((format!("{name}{suffix}"), shape, values));
        }
    }
    out
}

/// Replaces the layers' parameters with the file's `<prefix><name>.weight` / `.bias` (a bare
/// parameter: `<prefix><name>`), checking
/// every name and shape before the first is replaced. Tensors of the file that no layer names are
/// left alone (see [`check_no_extra`]).
pub fn import(
    layers: Vec<NamedLayer<'_>>,
    f: &TensorFile,
    prefix: &str,
    device: &Device,
) -> Result<()> {
    // Read and check everything first, so that an error leaves the model as it was.
    let mut loaded = Vec::with_capacity(layers.len());
    for (name, layer) in &layers {
        let mut tensors = Vec::new();
        for (suffix, shape, _) in layer_tensors(layer) {
            tensors.push(f.exact(&format!("{prefix}{name}{suffix}"), &shape)?);
        }
        loaded.push(tensors);
    }
    for ((_, layer), tensors) in layers.into_iter().zip(loaded) {
        // `import` read exactly one tensor per parameter of the layer, in `layer_tensors` order.
        let mut tensors = tensors.into_iter();
        let mut take = || tensors.next().expect("one tensor per parameter");
        let vector = |d: TensorData| Param::from_tensor(Tensor::<1>::from_data(d, device));
        match layer {
            Layer::Linear(l) => {
                let w = Tensor::<2>::from_data(take(), device);
                l.weight = Param::from_tensor(w.transpose());
                l.bias = l.bias.as_ref().map(|_| vector(take()));
            }
            Layer::Conv(c) => {
                c.weight = Param::from_tensor(Tensor::from_data(take(), device));
                c.bias = c.bias.as_ref().map(|_| vector(take()));
            }
            Layer::Deconv(c) => {
                c.weight = Param::from_tensor(Tensor::from_data(take(), device));
                c.bias = c.bias.as_ref().map(|_| vector(take()));
            }
            Layer::Matrix(p) => *p = Param::from_tensor(Tensor::from_data(take(), device)),
            Layer::Vector(p) => *p = vector(take()),
            Layer::GroupNorm(g) => {
                g.gamma = g.gamma.as_ref().map(|_| vector(take()));
                g.beta = g.beta.as_ref().map(|_| vector(take()));
            }
        }
    }
    Ok(())
}

/// Refuses a file holding tensors other than `expected` (a model's [`export`]): a state dict of
/// another architecture or size must not load silently into part of a model.
pub fn check_no_extra(f: &TensorFile, expected: &[NamedTensor], model: &str) -> Result<()> {
    let known: BTreeSet<&str> = expected.iter().map(|(n, _, _)| n.as_str()).collect();
    let extra: Vec<&str> = f.names().filter(|n| !known.contains(n)).collect();
    if extra.is_empty() {
        return Ok(());
    }
    let shown: Vec<String> = extra.iter().take(5).map(|n| format!("`{n}`")).collect();
    let more = if extra.len() > 5 {
        format!(" and {} more", extra.len() - 5)
    } else {
        String::new()
    };
    Err(Error::format(
        f.path(),
        format!(
            "holds {} tensor(s) that the {model} model does not have: {}{more}",
            extra.len(),
            shown.join(", ")
        ),
    ))
}
