//! The masked language model under the names of its PyTorch twin, `TextMlm` in
//! `scripts/mlm_torch.py` (docs/torch.md): `token_embedding` and (learned positions)
//! `position_embedding` (`nn.Embedding`), `encoder.layers.{i}` (`nn.TransformerEncoderLayer` with
//! `norm_first=True`, `batch_first=True`, exact GELU), `norm` (`nn.LayerNorm`) and `head`
//! (`nn.Linear`). Sinusoidal positions are fixed, not parameters: the twin computes them as Burn
//! does and keeps them out of its `state_dict()`.
//!
//! Two places where the layouts differ:
//! - PyTorch packs an attention layer's query, key and value projections into one
//!   `self_attn.in_proj_weight` `[3d, d]` (rows q, then k, then v, each `[out, in]`) and
//!   `in_proj_bias` `[3d]`; Burn keeps three `Linear`s (`[in, out]`).
//! - In a pre-norm layer Burn normalizes with `norm_2` before attention and `norm_1` before the
//!   feed-forward block; PyTorch with `norm1` and `norm2`: Burn's `norm_2` is PyTorch's `norm1`.

use burn::module::Param;
use burn::nn::attention::MultiHeadAttention;
use burn::nn::LayerNorm;
use burn::prelude::*;

use super::model::MaskedLanguageModel;
use crate::torch::{Layer, NamedLayer, NamedTensor, TensorFile};
use crate::{Error, Result};

/// The module path of encoder layer `i`.
fn layer_path(i: usize) -> String {
    format!("encoder.layers.{i}")
}

/// A layer norm's scale and shift, PyTorch's `<name>.weight` and `<name>.bias`.
fn push_norm<'a>(out: &mut Vec<NamedLayer<'a>>, name: String, norm: &'a mut LayerNorm) {
    out.push((format!("{name}.weight"), Layer::Vector(&mut norm.gamma)));
    if let Some(beta) = norm.beta.as_mut() {
        out.push((format!("{name}.bias"), Layer::Vector(beta)));
    }
}

/// Every parameter of `m` but the packed attention projections (see [`export_torch`]), under
/// its PyTorch twin's names.
pub fn named_layers(m: &mut MaskedLanguageModel) -> Vec<NamedLayer<'_>> {
    let mut out: Vec<NamedLayer<'_>> = Vec::new();
    out.push((
        "token_embedding.weight".into(),
        Layer::Matrix(&mut m.token_embedding.weight),
    ));
    if let Some(pos) = m.learned_positions.as_mut() {
        out.push((
            "position_embedding.weight".into(),
            Layer::Matrix(&mut pos.weight),
        ));
    }
    for (i, l) in m.encoder.layers.iter_mut().enumerate() {
        let path = layer_path(i);
        out.push((
            format!("{path}.self_attn.out_proj"),
            Layer::Linear(&mut l.mha.output),
        ));
        out.push((
            format!("{path}.linear1"),
            Layer::Linear(&mut l.pwff.linear_inner),
        ));
        out.push((
            format!("{path}.linear2"),
            Layer::Linear(&mut l.pwff.linear_outer),
        ));
        // Pre-norm: Burn's norm_2 comes before attention (PyTorch's norm1), norm_1 before the
        // feed-forward block (norm2).
        push_norm(&mut out, format!("{path}.norm1"), &mut l.norm_2);
        push_norm(&mut out, format!("{path}.norm2"), &mut l.norm_1);
    }
    push_norm(&mut out, "norm".into(), &mut m.norm);
    out.push(("head".into(), Layer::Linear(&mut m.head)));
    out
}

/// The values of a 2-D or 1-D tensor, row-major.
fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap_or_default()
}

/// One attention layer's `in_proj_weight` `[3d, d]` (q, k, v rows, PyTorch's `[out, in]`) and,
/// when the projections have biases, `in_proj_bias` `[3d]`.
fn packed(path: &str, mha: &MultiHeadAttention) -> Vec<NamedTensor> {
    let parts = [&mha.query, &mha.key, &mha.value];
    let d = mha.d_model;
    let weight = parts
        .iter()
        .flat_map(|l| values(l.weight.val().transpose()))
        .collect();
    let mut out = vec![(
        format!("{path}.self_attn.in_proj_weight"),
        vec![3 * d, d],
        weight,
    )];
    let biases: Option<Vec<Tensor<1>>> = parts
        .iter()
        .map(|l| l.bias.as_ref().map(|b| b.val()))
        .collect();
    if let Some(biases) = biases {
        let bias = biases.into_iter().flat_map(values).collect();
        out.push((format!("{path}.self_attn.in_proj_bias"), vec![3 * d], bias));
    }
    out
}

/// The model's parameters under PyTorch's names and layouts.
pub fn export_torch(m: &MaskedLanguageModel) -> Vec<NamedTensor> {
    let mut out = Vec::new();
    for (i, l) in m.encoder.layers.iter().enumerate() {
        out.extend(packed(&layer_path(i), &l.mha));
    }
    // Naming the parameters takes them mutably; a clone shares their storage.
    let mut m = m.clone();
    out.extend(crate::torch::export(named_layers(&mut m)));
    out
}

/// The file's tensor `name` with exactly the shape `want`; an error naming both otherwise.
fn exact<'f>(f: &'f TensorFile, name: &str, want: &[usize]) -> Result<&'f [f32]> {
    let (shape, v) = f.get(name).ok_or_else(|| {
        Error::format(
            f.path(),
            format!("no tensor named `{name}` (the model needs one of shape {want:?})"),
        )
    })?;
    if shape != want {
        return Err(Error::format(
            f.path(),
            format!("tensor `{name}` has shape {shape:?}, the model needs {want:?}"),
        ));
    }
    Ok(v)
}

/// One attention layer's projections read from the packed tensors: q, k, v weights in Burn's
/// `[in, out]` and their biases (when the model has them).
struct Projections {
    weights: [Tensor<2>; 3],
    biases: Option<[Tensor<1>; 3]>,
}

fn read_packed(
    f: &TensorFile,
    path: &str,
    mha: &MultiHeadAttention,
    device: &Device,
) -> Result<Projections> {
    let d = mha.d_model;
    let name = format!("{path}.self_attn.in_proj_weight");
    let w = exact(f, &name, &[3 * d, d])?;
    let w = Tensor::<2>::from_data(TensorData::new(w.to_vec(), [3 * d, d]), device);
    let weights = [0, 1, 2].map(|k| w.clone().narrow(0, k * d, d).transpose());
    let biases = if mha.query.bias.is_some() {
        let b = exact(f, &format!("{path}.self_attn.in_proj_bias"), &[3 * d])?;
        let b = Tensor::<1>::from_data(TensorData::new(b.to_vec(), [3 * d]), device);
        Some([0, 1, 2].map(|k| b.clone().narrow(0, k * d, d)))
    } else {
        None
    };
    Ok(Projections { weights, biases })
}

/// Replaces the model's parameters with the file's `<prefix><name>` tensors, checking every name
/// and shape before the first is replaced.
pub fn import_torch(
    mut m: MaskedLanguageModel,
    f: &TensorFile,
    prefix: &str,
    device: &Device,
) -> Result<MaskedLanguageModel> {
    let packed = m
        .encoder
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| read_packed(f, &format!("{prefix}{}", layer_path(i)), &l.mha, device))
        .collect::<Result<Vec<_>>>()?;
    // Checks the rest before replacing anything; the packed tensors are already checked.
    crate::torch::import(named_layers(&mut m), f, prefix, device)?;
    for (l, p) in m.encoder.layers.iter_mut().zip(packed) {
        let mha = &mut l.mha;
        let [wq, wk, wv] = p.weights;
        mha.query.weight = Param::from_tensor(wq);
        mha.key.weight = Param::from_tensor(wk);
        mha.value.weight = Param::from_tensor(wv);
        if let Some([bq, bk, bv]) = p.biases {
            mha.query.bias = Some(Param::from_tensor(bq));
            mha.key.bias = Some(Param::from_tensor(bk));
            mha.value.bias = Some(Param::from_tensor(bv));
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::super::model::{token_tensor, Positions, TransformerConfig};
    use super::*;

    fn config(positions: Positions) -> TransformerConfig {
        TransformerConfig {
            vocab_size: 13,
            max_len: 6,
            d_model: 8,
            n_heads: 2,
            n_layers: 2,
            d_ff: 20,
            dropout: 0.0,
            positions,
        }
    }

    #[test]
    fn names_and_shapes_are_the_twins_state_dict() {
        let device = Device::flex();
        for positions in [Positions::Learned, Positions::Sinusoidal] {
            let c = config(positions);
            let exported = export_torch(&c.init(&device));
            let mut got: Vec<(String, Vec<usize>)> =
                exported.into_iter().map(|(n, s, _)| (n, s)).collect();
            got.sort();
            let mut want: Vec<(String, Vec<usize>)> = vec![
                ("token_embedding.weight".into(), vec![13, 8]),
                ("norm.weight".into(), vec![8]),
                ("norm.bias".into(), vec![8]),
                ("head.weight".into(), vec![13, 8]),
                ("head.bias".into(), vec![13]),
            ];
            if positions == Positions::Learned {
                want.push(("position_embedding.weight".into(), vec![6, 8]));
            }
            for i in 0..2 {
                let p = |s: &str| format!("encoder.layers.{i}.{s}");
                want.extend([
                    (p("self_attn.in_proj_weight"), vec![24, 8]),
                    (p("self_attn.in_proj_bias"), vec![24]),
                    (p("self_attn.out_proj.weight"), vec![8, 8]),
                    (p("self_attn.out_proj.bias"), vec![8]),
                    (p("linear1.weight"), vec![20, 8]),
                    (p("linear1.bias"), vec![20]),
                    (p("linear2.weight"), vec![8, 20]),
                    (p("linear2.bias"), vec![8]),
                    (p("norm1.weight"), vec![8]),
                    (p("norm1.bias"), vec![8]),
                    (p("norm2.weight"), vec![8]),
                    (p("norm2.bias"), vec![8]),
                ]);
            }
            want.sort();
            assert_eq!(got, want, "{positions}");
            assert_eq!(
                got.iter()
                    .map(|(_, s)| s.iter().product::<usize>())
                    .sum::<usize>() as u128,
                c.param_count().unwrap()
            );
        }
    }

    #[test]
    fn export_then_import_is_the_same_model() {
        let device = Device::flex();
        for positions in [Positions::Learned, Positions::Sinusoidal] {
            let c = config(positions);
            device.seed(3);
            let source = c.init(&device);
            // Norms start at ones and zeros: give them values that a swap of norm1 and norm2
            // would change.
            let source = import_torch(
                source.clone(),
                &file_of(&perturbed(export_torch(&source))),
                "",
                &device,
            )
            .unwrap();
            let exported = export_torch(&source);
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("m.safetensors");
            crate::torch::write_tensors(&path, &exported).unwrap();
            let file = TensorFile::read(&path).unwrap();
            let imported = import_torch(c.init(&device), &file, "", &device).unwrap();
            assert_eq!(export_torch(&imported), exported, "{positions}");
            let ids = [3u32, 4, 5, 6, 7, 8, 12, 11, 10, 9, 2, 1];
            let logits =
                |m: &MaskedLanguageModel| values(m.logits(token_tensor(&ids, 2, 6, &device)));
            for (a, b) in logits(&source).iter().zip(logits(&imported)) {
                assert!((a - b).abs() <= 1e-5 * a.abs().max(1.0), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn a_misshapen_packed_projection_is_refused_by_name() {
        let device = Device::flex();
        let c = config(Positions::Learned);
        let mut tensors = export_torch(&c.init(&device));
        for (name, shape, _) in tensors.iter_mut() {
            if name == "encoder.layers.1.self_attn.in_proj_weight" {
                *shape = vec![8, 24];
            }
        }
        let f = file_of(&tensors);
        let e = import_torch(c.init(&device), &f, "", &device)
            .expect_err("refused")
            .to_string();
        assert!(e.contains("in_proj_weight") && e.contains("[24, 8]"), "{e}");
    }

    /// Every value moved by a different small amount, so that no two tensors are alike.
    fn perturbed(mut tensors: Vec<NamedTensor>) -> Vec<NamedTensor> {
        for (k, (_, _, v)) in tensors.iter_mut().enumerate() {
            for (j, x) in v.iter_mut().enumerate() {
                *x += 0.01 * ((k * 31 + j * 7) % 17) as f32 - 0.08;
            }
        }
        tensors
    }

    fn file_of(tensors: &[NamedTensor]) -> TensorFile {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.safetensors");
        crate::torch::write_tensors(&path, tensors).unwrap();
        TensorFile::read(&path).unwrap()
    }
}
