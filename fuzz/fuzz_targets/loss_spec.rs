//! The `--loss` grammar (`dae::tasks::image::Loss::parse`) on arbitrary text; a loss that parses
//! must round-trip through its canonical text (what config.json stores).

#![no_main]

use dae::tasks::image::Loss;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(loss) = Loss::parse(text) else {
        return;
    };
    let canonical = loss.to_string();
    let again = Loss::parse(&canonical)
        .unwrap_or_else(|e| panic!("canonical loss {canonical:?} of {text:?} fails: {e}"));
    assert_eq!(
        again, loss,
        "loss {text:?} does not round-trip through {canonical:?}"
    );
    // The config's check asks this of every loss.
    let _ = loss.is_elementwise();
});
