//! The graph autoencoder under the names of its PyTorch twin, `GraphAutoencoder` in
//! `scripts/graph_torch.py` (docs/torch.md): `layer1`, `layer2`, `log_std` (VGAE), `decoder`
//! (feature decoder), each with `.weight` `[in, out]` (as both store it: no transpose) and `.bias`,
//! and the bare `mask_token` `[1, input_dim]`; with `--gcn-activation prelu`, `prelu.weight` `[1]`
//! (the twin has no PReLU yet: such a model imports only into dae).

use burn::prelude::*;

use super::model::{GcnLayer, GraphAutoencoder};
use crate::torch::{Layer, NamedLayer, NamedTensor, TensorFile};
use crate::Result;

fn gcn<'a>(out: &mut Vec<NamedLayer<'a>>, name: &str, l: &'a mut GcnLayer) {
    out.push((format!("{name}.weight"), Layer::Matrix(&mut l.weight)));
    out.push((format!("{name}.bias"), Layer::Vector(&mut l.bias)));
}

/// Every parameter of `m`, under its PyTorch twin's names.
pub fn named_layers(m: &mut GraphAutoencoder) -> Vec<NamedLayer<'_>> {
    let mut out = Vec::new();
    gcn(&mut out, "layer1", &mut m.layer1);
    gcn(&mut out, "layer2", &mut m.layer2);
    if let Some(l) = &mut m.log_std {
        gcn(&mut out, "log_std", l);
    }
    if let Some(t) = &mut m.mask_token {
        out.push(("mask_token".into(), Layer::Matrix(t)));
    }
    if let Some(l) = &mut m.decoder {
        gcn(&mut out, "decoder", l);
    }
    if let Some(p) = &mut m.prelu {
        // `nn.PReLU()`'s one slope, under its parameter's name.
        out.push(("prelu.weight".into(), Layer::Vector(&mut p.alpha)));
    }
    out
}

/// Replaces the model's parameters with the file's `<prefix><name>` tensors, checking every name
/// and shape first.
pub fn import_torch(
    mut m: GraphAutoencoder,
    f: &TensorFile,
    prefix: &str,
    device: &Device,
) -> Result<GraphAutoencoder> {
    crate::torch::import(named_layers(&mut m), f, prefix, device)?;
    Ok(m)
}

/// The model's parameters under PyTorch's names.
pub fn export_torch(m: &GraphAutoencoder) -> Vec<NamedTensor> {
    // Naming the parameters takes them mutably; a clone shares their storage.
    let mut m = m.clone();
    crate::torch::export(named_layers(&mut m))
}
