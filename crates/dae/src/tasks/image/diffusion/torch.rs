//! The level-conditioned U-Net under the names of its PyTorch twin, `TimeUnet` in
//! `scripts/diffusion_torch.py` (docs/torch.md): `embed_a`, `embed_b`, `stem`,
//! `down.{i}.{norm_a,conv_a,level,norm_b,conv_b,shortcut}`, `middle.{norm,query,key,value,output}`,
//! `up.{i}`, `merge.{i}.…`, `head_norm`, `head`; the optional layers (group norms, shortcut,
//! attention) only where the settings have them, as in the twin's `state_dict()`.

use burn::prelude::*;

use super::model::{ResBlock, TimeUnet};
use crate::torch::{Layer, NamedLayer, NamedTensor, TensorFile};
use crate::Result;

fn block<'a>(out: &mut Vec<NamedLayer<'a>>, name: &str, b: &'a mut ResBlock) {
    if let Some(g) = &mut b.norm_a {
        out.push((format!("{name}.norm_a"), Layer::GroupNorm(g)));
    }
    out.push((format!("{name}.conv_a"), Layer::Conv(&mut b.conv_a)));
    out.push((format!("{name}.level"), Layer::Linear(&mut b.level)));
    if let Some(g) = &mut b.norm_b {
        out.push((format!("{name}.norm_b"), Layer::GroupNorm(g)));
    }
    out.push((format!("{name}.conv_b"), Layer::Conv(&mut b.conv_b)));
    if let Some(c) = &mut b.shortcut {
        out.push((format!("{name}.shortcut"), Layer::Conv(c)));
    }
}

/// Every layer of `m` with weights, under its PyTorch twin's module path.
pub fn named_layers(m: &mut TimeUnet) -> Vec<NamedLayer<'_>> {
    let mut out: Vec<NamedLayer<'_>> = vec![
        ("embed_a".into(), Layer::Linear(&mut m.embed_a)),
        ("embed_b".into(), Layer::Linear(&mut m.embed_b)),
        ("stem".into(), Layer::Conv(&mut m.stem)),
    ];
    for (i, b) in m.down.iter_mut().enumerate() {
        block(&mut out, &format!("down.{i}"), b);
    }
    if let Some(a) = &mut m.middle {
        out.push(("middle.norm".into(), Layer::GroupNorm(&mut a.norm)));
        let mha = &mut a.attention;
        out.push(("middle.query".into(), Layer::Linear(&mut mha.query)));
        out.push(("middle.key".into(), Layer::Linear(&mut mha.key)));
        out.push(("middle.value".into(), Layer::Linear(&mut mha.value)));
        out.push(("middle.output".into(), Layer::Linear(&mut mha.output)));
    }
    for (i, c) in m.up.iter_mut().enumerate() {
        out.push((format!("up.{i}"), Layer::Deconv(c)));
    }
    for (i, b) in m.merge.iter_mut().enumerate() {
        block(&mut out, &format!("merge.{i}"), b);
    }
    if let Some(g) = &mut m.head_norm {
        out.push(("head_norm".into(), Layer::GroupNorm(g)));
    }
    out.push(("head".into(), Layer::Conv(&mut m.head)));
    out
}

/// Replaces the network's weights with the file's `<prefix><name>` tensors, checking every name
/// and shape first.
pub fn import_torch(
    mut m: TimeUnet,
    f: &TensorFile,
    prefix: &str,
    device: &Device,
) -> Result<TimeUnet> {
    crate::torch::import(named_layers(&mut m), f, prefix, device)?;
    Ok(m)
}

/// The network's weights under PyTorch's names and layouts.
pub fn export_torch(m: &TimeUnet) -> Vec<NamedTensor> {
    // Naming the layers takes them mutably; a clone shares the weights' storage.
    let mut m = m.clone();
    crate::torch::export(named_layers(&mut m))
}
