//! Weight interchange with PyTorch: safetensors files whose tensor names are those of the
//! document's `nn.Sequential` models (`encoder.0.weight`, `decoder.2.bias`, ...).
//!
//! PyTorch's `nn.Linear` stores its weight as `[out, in]`, Burn's as `[in, out]`: linear weights
//! are transposed on the way in and out. Convolution weights share PyTorch's layout.

use std::collections::BTreeMap;
use std::path::Path;

use burn::module::Param;
use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::nn::Linear;
use burn::prelude::*;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use super::Denoiser;
use crate::{Error, Result};

/// A named set of f32 tensors read from (or for) a safetensors file.
pub struct TensorFile {
    path: std::path::PathBuf,
    tensors: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
}

impl TensorFile {
    /// Reads every f32 tensor of the safetensors file at `path`.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = crate::fsio::read_input(path)?;
        let st = SafeTensors::deserialize(&bytes)
            .map_err(|e| Error::format(path, format!("not a safetensors file: {e}")))?;
        let mut tensors = BTreeMap::new();
        for (name, view) in st.tensors() {
            if view.dtype() != Dtype::F32 {
                return Err(Error::format(
                    path,
                    format!("tensor `{name}` is {:?}, expected F32", view.dtype()),
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
}

/// Writes `tensors` (name, shape, values) to a safetensors file, atomically.
pub fn write_tensors(path: &Path, tensors: &[(String, Vec<usize>, Vec<f32>)]) -> Result<()> {
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

fn check_shape<const D: usize>(
    t: &Tensor<D>,
    want: [usize; D],
    name: &str,
    file: &Path,
) -> Result<()> {
    if t.dims() != want {
        return Err(Error::format(
            file,
            format!(
                "tensor `{name}` has shape {:?}, the model needs {want:?}",
                t.dims()
            ),
        ));
    }
    Ok(())
}

fn load_linear(l: &mut Linear, f: &TensorFile, prefix: &str, device: &Device) -> Result<()> {
    let [d_in, d_out] = l.weight.val().dims();
    let w = f.tensor::<2>(&format!("{prefix}.weight"), device)?;
    check_shape(&w, [d_out, d_in], &format!("{prefix}.weight"), &f.path)?;
    l.weight = Param::from_tensor(w.transpose());
    let b = f.tensor::<1>(&format!("{prefix}.bias"), device)?;
    check_shape(&b, [d_out], &format!("{prefix}.bias"), &f.path)?;
    l.bias = Some(Param::from_tensor(b));
    Ok(())
}

fn load_conv_weights(
    weight: &mut Param<Tensor<4>>,
    bias: &mut Option<Param<Tensor<1>>>,
    f: &TensorFile,
    prefix: &str,
    device: &Device,
) -> Result<()> {
    let want = weight.val().dims();
    let w = f.tensor::<4>(&format!("{prefix}.weight"), device)?;
    check_shape(&w, want, &format!("{prefix}.weight"), &f.path)?;
    *weight = Param::from_tensor(w);
    let b = f.tensor::<1>(&format!("{prefix}.bias"), device)?;
    let n_out = bias.as_ref().map(|b| b.val().dims()[0]).unwrap_or(0);
    check_shape(&b, [n_out], &format!("{prefix}.bias"), &f.path)?;
    *bias = Some(Param::from_tensor(b));
    Ok(())
}

fn load_conv(c: &mut Conv2d, f: &TensorFile, prefix: &str, device: &Device) -> Result<()> {
    load_conv_weights(&mut c.weight, &mut c.bias, f, prefix, device)
}

fn load_deconv(
    c: &mut ConvTranspose2d,
    f: &TensorFile,
    prefix: &str,
    device: &Device,
) -> Result<()> {
    load_conv_weights(&mut c.weight, &mut c.bias, f, prefix, device)
}

/// Replaces the model's weights with those PyTorch saved (`model.state_dict()` written with
/// `safetensors.torch.save_file`), checking every name and shape. `prefix` is prepended to every
/// name (empty for a plain state dict).
pub fn import_torch(
    model: Denoiser,
    f: &TensorFile,
    prefix: &str,
    device: &Device,
) -> Result<Denoiser> {
    match model {
        Denoiser::Mlp(mut m) => {
            // nn.Sequential puts a ReLU after every Linear: Linear i has index 2i.
            for (i, l) in m.encoder.layers_mut().iter_mut().enumerate() {
                load_linear(l, f, &format!("{prefix}encoder.{}", 2 * i), device)?;
            }
            for (i, l) in m.decoder.layers_mut().iter_mut().enumerate() {
                load_linear(l, f, &format!("{prefix}decoder.{}", 2 * i), device)?;
            }
            Ok(Denoiser::Mlp(m))
        }
        Denoiser::Conv(mut m) => {
            load_conv(&mut m.enc_conv1, f, &format!("{prefix}encoder.0"), device)?;
            load_conv(&mut m.enc_conv2, f, &format!("{prefix}encoder.3"), device)?;
            load_deconv(&mut m.dec_deconv1, f, &format!("{prefix}decoder.0"), device)?;
            load_deconv(&mut m.dec_deconv2, f, &format!("{prefix}decoder.2"), device)?;
            Ok(Denoiser::Conv(m))
        }
        Denoiser::Unet(_) | Denoiser::Dncnn(_) => Err(Error::Config(
            "PyTorch weights can be loaded only into the mlp and conv models (the document's); \
             unet and dncnn have no PyTorch counterpart here"
                .into(),
        )),
    }
}

fn values<const D: usize>(t: Tensor<D>) -> (Vec<usize>, Vec<f32>) {
    let data = t.into_data();
    let shape = data.shape().to_vec();
    (shape, data.try_to_vec::<f32>().unwrap_or_default())
}

/// The model's weights under PyTorch's names and layouts, ready for [`write_tensors`]. Empty for
/// the models that have no counterpart in the document (unet, dncnn).
pub fn export_torch(model: &Denoiser) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let mut out = Vec::new();
    let mut push = |name: String, (shape, v): (Vec<usize>, Vec<f32>)| out.push((name, shape, v));
    match model {
        Denoiser::Mlp(m) => {
            for (side, stack) in [("encoder", &m.encoder), ("decoder", &m.decoder)] {
                for (i, l) in stack.layers().iter().enumerate() {
                    push(
                        format!("{side}.{}.weight", 2 * i),
                        values(l.weight.val().transpose()),
                    );
                    if let Some(b) = &l.bias {
                        push(format!("{side}.{}.bias", 2 * i), values(b.val()));
                    }
                }
            }
        }
        Denoiser::Conv(m) => {
            let convs = [("encoder.0", &m.enc_conv1), ("encoder.3", &m.enc_conv2)];
            for (name, c) in convs {
                push(format!("{name}.weight"), values(c.weight.val()));
                if let Some(b) = &c.bias {
                    push(format!("{name}.bias"), values(b.val()));
                }
            }
            let deconvs = [("decoder.0", &m.dec_deconv1), ("decoder.2", &m.dec_deconv2)];
            for (name, c) in deconvs {
                push(format!("{name}.weight"), values(c.weight.val()));
                if let Some(b) = &c.bias {
                    push(format!("{name}.bias"), values(b.val()));
                }
            }
        }
        Denoiser::Unet(_) | Denoiser::Dncnn(_) => {}
    }
    out
}
