//! Model files (`dae::run::checkpoint::load_module`, Burn's burnpack format) on hostile bytes,
//! loaded into a tiny model (dae_fuzz::Tiny) so that each input costs the parse, not the
//! building of a real denoiser: the model is built once and cloned (its parameters are shared
//! until the load replaces them; building it anew initialized its weights for every input, a
//! third of the time per input). A model that loads must serialize again.

#![no_main]

use dae::run::checkpoint::{load_module, model_bytes};
use libfuzzer_sys::fuzz_target;

thread_local! {
    static FRESH: dae_fuzz::Tiny = dae_fuzz::Tiny::new(&dae_fuzz::cpu());
}

fuzz_target!(|data: &[u8]| {
    let path = dae_fuzz::scratch_file("model.bpk", data);
    let fresh = FRESH.with(|m| m.clone());
    let Ok(model) = load_module(&path, fresh, "tiny") else {
        return;
    };
    model_bytes(&model).expect("a loaded model serializes");
});
