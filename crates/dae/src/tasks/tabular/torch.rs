//! The table DAE under the names of its PyTorch twin, `TabularDae` in `scripts/torch_load.py`
//! (docs/torch.md): `encoder.<i>` and `decoder.<i>`, one `nn.Linear` each (weight `[out, in]`,
//! transposed from Burn's `[in, out]`), in order; ReLU after every encoder layer and between the
//! decoder's. Input dropout has no parameters.

use burn::prelude::*;

use super::model::TabularDae;
use crate::torch::{Layer, NamedLayer, NamedTensor, TensorFile};
use crate::Result;

/// Every parameter of `m`, under its PyTorch twin's names.
pub fn named_layers(m: &mut TabularDae) -> Vec<NamedLayer<'_>> {
    let mut out: Vec<NamedLayer<'_>> = Vec::new();
    for (i, l) in m.encoder.iter_mut().enumerate() {
        out.push((format!("encoder.{i}"), Layer::Linear(l)));
    }
    for (i, l) in m.decoder.iter_mut().enumerate() {
        out.push((format!("decoder.{i}"), Layer::Linear(l)));
    }
    out
}

/// Replaces the model's parameters with the file's `<prefix><name>` tensors, checking every name
/// and shape first.
pub fn import_torch(
    mut m: TabularDae,
    f: &TensorFile,
    prefix: &str,
    device: &Device,
) -> Result<TabularDae> {
    crate::torch::import(named_layers(&mut m), f, prefix, device)?;
    Ok(m)
}

/// The model's parameters under PyTorch's names.
pub fn export_torch(m: &TabularDae) -> Vec<NamedTensor> {
    // Naming the parameters takes them mutably; a clone shares their storage.
    let mut m = m.clone();
    crate::torch::export(named_layers(&mut m))
}

#[cfg(test)]
mod tests {
    use super::super::model::{Layout, TabularModelConfig};
    use super::*;

    #[test]
    fn export_then_import_is_the_same_model_under_the_twins_names() {
        let device = Device::default();
        // Three columns: numeric, 3 labels, numeric: 5 slots, input 5 + 3 indicators.
        let layout = Layout {
            offsets: vec![0, 1, 4],
            widths: vec![1, 3, 1],
            slots: 5,
        };
        let config = TabularModelConfig {
            hidden: 6,
            layers: 1,
            code: 4,
            input_dropout: 0.0,
        };
        let source = config.init(&layout, &device);
        let exported = export_torch(&source);
        let names: Vec<(&str, &[usize])> = exported
            .iter()
            .map(|(n, s, _)| (n.as_str(), s.as_slice()))
            .collect();
        let want: [(&str, &[usize]); 8] = [
            ("encoder.0.weight", &[6, 8]),
            ("encoder.0.bias", &[6]),
            ("encoder.1.weight", &[4, 6]),
            ("encoder.1.bias", &[4]),
            ("decoder.0.weight", &[6, 4]),
            ("decoder.0.bias", &[6]),
            ("decoder.1.weight", &[5, 6]),
            ("decoder.1.bias", &[5]),
        ];
        for (name, shape) in want {
            assert!(
                names.contains(&(name, shape)),
                "{name} {shape:?} in {names:?}"
            );
        }
        assert_eq!(names.len(), want.len());

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.safetensors");
        crate::torch::write_tensors(&path, &exported).unwrap();
        let file = TensorFile::read(&path).unwrap();
        // Into a differently initialised model: every weight is replaced by the file's.
        let other = config.init(&layout, &device);
        let imported = import_torch(other, &file, "", &device).unwrap();
        assert_eq!(export_torch(&imported), exported);
        let x = Tensor::<2>::from_data(TensorData::new(vec![0.25f32; 16], [2, 8]), &device);
        // The same weights, but an imported weight is laid out as the file had it (PyTorch's
        // [out, in], transposed in place): the GEMM may sum in another order, a last-bit change.
        let a = source
            .forward(x.clone())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let b = imported.forward(x).into_data().try_to_vec::<f32>().unwrap();
        for (u, v) in a.iter().zip(&b) {
            assert!((u - v).abs() <= 1e-6 * u.abs().max(1.0), "{u} vs {v}");
        }
    }
}
