//! The models of the other tasks under their PyTorch twins' `state_dict()` names: each twin's
//! committed fixture snapshot (written by `scripts/graph_torch.py` and `scripts/audio_torch.py`)
//! imports into dae's model and exports again name for name, bit for bit. No PyTorch runs here.

use std::path::Path;

use burn::prelude::*;
use dae::torch::{NamedTensor, TensorFile};

fn fixture(name: &str) -> TensorFile {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    TensorFile::read(&path).expect("fixture readable")
}

fn values(f: &TensorFile, name: &str) -> (Vec<usize>, Vec<f32>) {
    let (shape, v) = f
        .get(name)
        .unwrap_or_else(|| panic!("fixture lacks {name}"));
    (shape.to_vec(), v.to_vec())
}

/// `exported` is exactly the fixture's tensors under `prefix`: names, shapes and values.
fn assert_state_dict(f: &TensorFile, prefix: &str, exported: Vec<NamedTensor>) {
    let state: Vec<&str> = f.names().filter(|n| n.starts_with(prefix)).collect();
    assert_eq!(exported.len(), state.len(), "{prefix}: tensor count");
    for (key, shape, v) in exported {
        let (want_shape, want) = values(f, &format!("{prefix}{key}"));
        assert_eq!(shape, want_shape, "{prefix}{key}: shape");
        assert_eq!(v, want, "{prefix}{key}: values");
    }
}

#[test]
fn graph_names_are_the_twins_state_dict_names() {
    use dae::tasks::graph::model::GraphModelConfig;
    use dae::tasks::graph::torch as graph_torch;
    // Snapshots of GraphAutoencoder(10, 8, 4)'s state_dict() in scripts/graph_torch.py's fixture:
    // with the feature decoder (mask token and decoder), and the VGAE (log_std).
    let f = fixture("torch_graph.safetensors");
    let device = Device::flex();
    for (prefix, variational, feature_decoder) in
        [("both.step1.", false, true), ("vgae.step1.", true, false)]
    {
        let config = GraphModelConfig {
            input_dim: 10,
            hidden_dim: 8,
            code_dim: 4,
            variational,
            feature_decoder,
            dropout: 0.0,
            activation: Default::default(),
        };
        let m = graph_torch::import_torch(config.init(&device), &f, prefix, &device).unwrap();
        assert_state_dict(&f, prefix, graph_torch::export_torch(&m));
    }
}

#[test]
fn audio_names_are_the_twins_state_dict_names() {
    use dae::tasks::audio::model::AudioModelConfig;
    use dae::tasks::audio::torch as audio_torch;
    let f = fixture("torch_audio.safetensors");
    let device = Device::flex();
    let size =
        |name: &str| -> Vec<usize> { values(&f, name).1.iter().map(|&v| v as usize).collect() };
    let (w, m) = (size("sizes.wave"), size("sizes.mask"));
    let wave = AudioModelConfig::Wave {
        width: w[0],
        depth: w[1],
        kernel: w[2],
        decoder_kernel: w[3],
    };
    let mask = AudioModelConfig::Spectral {
        n_fft: m[0],
        hop: m[1],
        context: m[2],
        hidden: m[3],
    };
    for (prefix, config) in [("wave.init.", wave), ("mask.init.", mask)] {
        let model = audio_torch::import_torch(config.init(&device), &f, prefix, &device).unwrap();
        assert_state_dict(&f, prefix, audio_torch::export_torch(&model));
    }
}

#[test]
fn text_names_are_the_twins_state_dict_names() {
    use dae::tasks::text::model::{Positions, TransformerConfig};
    use dae::tasks::text::torch as text_torch;
    // TextMlm's state_dict() after one AdamW step in scripts/mlm_torch.py's fixture, with learned
    // positions and with sinusoids (which no state dict holds): the packed attention projections
    // are split into dae's three and packed again, bit for bit.
    let f = fixture("mlm_torch.safetensors");
    let device = Device::flex();
    let s: Vec<usize> = values(&f, "sizes").1.iter().map(|&v| v as usize).collect();
    for (prefix, positions) in [
        ("learned.step1.", Positions::Learned),
        ("sinusoidal.step1.", Positions::Sinusoidal),
    ] {
        let config = TransformerConfig {
            vocab_size: s[0],
            max_len: s[1],
            d_model: s[3],
            n_heads: s[4],
            n_layers: s[5],
            d_ff: s[6],
            dropout: 0.0,
            positions,
        };
        let m = text_torch::import_torch(config.init(&device), &f, prefix, &device).unwrap();
        assert_state_dict(&f, prefix, text_torch::export_torch(&m));
    }
}
