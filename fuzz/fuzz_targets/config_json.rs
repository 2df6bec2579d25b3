//! Run configs: the input is written as a run directory's `config.json` and read the ways the
//! library reads it (`RunDir::read_task_config` as an image and as a text config, then
//! `TaskConfig::check`; `TaskKind::of_run`; `RunDir::task_name`).
//!
//! Known until fixed in tasks/text/corrupt.rs: a text config with `tokens:rate=1` makes the
//! check search for a sequence length forever (libFuzzer reports a timeout).

#![no_main]

use dae::run::RunDir;
use dae::tasks::image::ImageConfig;
use dae::tasks::text::MlmConfig;
use dae::tasks::TaskKind;
use dae::train::TaskConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = dae_fuzz::scratch_dir().join("run");
    std::fs::create_dir_all(&dir).expect("creating the scratch run directory");
    let run = RunDir::new(&dir);
    std::fs::write(run.config(), data).expect("writing config.json");
    let image = run.read_task_config::<ImageConfig>(ImageConfig::TASK, ImageConfig::RUN_NAME);
    let text = run.read_task_config::<MlmConfig>(MlmConfig::TASK, MlmConfig::RUN_NAME);
    assert!(
        image.is_err() || text.is_err(),
        "one config.json read as both tasks"
    );
    if let Ok(c) = image {
        if c.check().is_ok() {
            round_trip(&run, &c);
        }
    }
    if let Ok(c) = text {
        if c.check().is_ok() {
            round_trip(&run, &c);
        }
    }
    let _ = TaskKind::of_run(&dir);
    let _ = run.task_name();
});

/// A checked config written back must read back equal: `config.json` is the run's record.
fn round_trip<C: TaskConfig + PartialEq + std::fmt::Debug>(run: &RunDir, c: &C) {
    run.write_config(c).expect("writing config.json");
    let back: C = run
        .read_task_config(C::TASK, C::RUN_NAME)
        .expect("a written config reads back");
    assert_eq!(&back, c, "config.json does not round-trip");
}
