//! The graph autoencoders under the names of their PyTorch twin, `GraphAutoencoder` in
//! `scripts/graph_torch.py` (docs/torch.md).
//!
//! GCN: `layer1`, `layer2`, `log_std` (VGAE), `decoder` (feature decoder), each with `.weight`
//! `[in, out]` (as both store it: no transpose) and `.bias`, and the bare `mask_token`
//! `[1, input_dim]`; with `--gcn-activation prelu`, `prelu.weight` `[1]` (the twin has no PReLU
//! yet: such a model imports only into dae).
//!
//! GAT: `layer1`, `layer2`, `log_std`, `decoder`, each with `.weight` `[in, heads · head_dim]`,
//! `.attention_source` and `.attention_destination` `[heads, head_dim]`, `.bias`; the bare
//! `mask_token` and `encoder_to_decoder` `[code, code]` (stored `[in, out]`); with PReLU,
//! `prelu1.weight` and `prelu2.weight`.

use burn::prelude::*;

use super::gat::GatLayer;
use super::gat_model::GatAutoencoder;
use super::model::{GcnLayer, GraphAutoencoder};
use super::network::GraphModel;
use crate::torch::{Layer, NamedLayer, NamedTensor, TensorFile};
use crate::Result;

/// A graph model whose parameters have PyTorch names: the GCN and GAT autoencoders and the run's
/// [`GraphModel`] (either).
pub trait TorchNamed: Clone {
    /// Every parameter, under its PyTorch twin's name.
    fn named_layers(&mut self) -> Vec<NamedLayer<'_>>;
}

fn gcn<'a>(out: &mut Vec<NamedLayer<'a>>, name: &str, l: &'a mut GcnLayer) {
    out.push((format!("{name}.weight"), Layer::Matrix(&mut l.weight)));
    out.push((format!("{name}.bias"), Layer::Vector(&mut l.bias)));
}

fn gat<'a>(out: &mut Vec<NamedLayer<'a>>, name: &str, l: &'a mut GatLayer) {
    out.push((format!("{name}.weight"), Layer::Matrix(&mut l.weight)));
    out.push((
        format!("{name}.attention_source"),
        Layer::Matrix(&mut l.attention_source),
    ));
    out.push((
        format!("{name}.attention_destination"),
        Layer::Matrix(&mut l.attention_destination),
    ));
    out.push((format!("{name}.bias"), Layer::Vector(&mut l.bias)));
}

impl TorchNamed for GraphAutoencoder {
    fn named_layers(&mut self) -> Vec<NamedLayer<'_>> {
        let m = self;
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
}

impl TorchNamed for GatAutoencoder {
    fn named_layers(&mut self) -> Vec<NamedLayer<'_>> {
        let m = self;
        let mut out = Vec::new();
        gat(&mut out, "layer1", &mut m.layer1);
        gat(&mut out, "layer2", &mut m.layer2);
        if let Some(l) = &mut m.log_std {
            gat(&mut out, "log_std", l);
        }
        if let Some(t) = &mut m.mask_token {
            out.push(("mask_token".into(), Layer::Matrix(t)));
        }
        if let Some(t) = &mut m.encoder_to_decoder {
            out.push(("encoder_to_decoder".into(), Layer::Matrix(t)));
        }
        if let Some(l) = &mut m.decoder {
            gat(&mut out, "decoder", l);
        }
        for (name, p) in [("prelu1", &mut m.prelu1), ("prelu2", &mut m.prelu2)] {
            if let Some(p) = p {
                out.push((format!("{name}.weight"), Layer::Vector(&mut p.alpha)));
            }
        }
        out
    }
}

impl TorchNamed for GraphModel {
    fn named_layers(&mut self) -> Vec<NamedLayer<'_>> {
        match self {
            GraphModel::Gcn(m) => m.named_layers(),
            GraphModel::Gat(m) => m.named_layers(),
        }
    }
}

/// Every parameter of `m`, under its PyTorch twin's names.
pub fn named_layers<M: TorchNamed>(m: &mut M) -> Vec<NamedLayer<'_>> {
    m.named_layers()
}

/// Replaces the model's parameters with the file's `<prefix><name>` tensors, checking every name
/// and shape first.
pub fn import_torch<M: TorchNamed>(
    mut m: M,
    f: &TensorFile,
    prefix: &str,
    device: &Device,
) -> Result<M> {
    crate::torch::import(m.named_layers(), f, prefix, device)?;
    Ok(m)
}

/// The model's parameters under PyTorch's names.
pub fn export_torch<M: TorchNamed>(m: &M) -> Vec<NamedTensor> {
    // Naming the parameters takes them mutably; a clone shares their storage.
    let mut m = m.clone();
    crate::torch::export(m.named_layers())
}
