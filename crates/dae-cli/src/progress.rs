//! The progress bar of an epoch and the line each finished epoch prints, for every task.

use dae::train::TrainEvent;
use indicatif::{ProgressBar, ProgressStyle};

/// Shows the training loop's events on stderr.
#[derive(Default)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Shows one training event.
    pub fn event(&mut self, event: TrainEvent) {
        match event {
            TrainEvent::EpochStart {
                epoch,
                epochs,
                batches,
            } => {
                let bar = ProgressBar::new(batches as u64);
                bar.set_style(
                    ProgressStyle::with_template(
                        "epoch {prefix} [{bar:30}] {pos}/{len} steps {elapsed_precise} eta {eta} \
                         loss {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                bar.set_prefix(format!("{epoch}/{epochs}"));
                self.bar = Some(bar);
            }
            TrainEvent::Batch { loss } => {
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                    bar.set_message(format!("{loss:.5}"));
                }
            }
            TrainEvent::EpochEnd(record) => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                eprintln!("{record}");
            }
        }
    }

    /// Leaves an unfinished bar on screen (the run stopped mid-epoch).
    pub fn abandon(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.abandon();
        }
    }
}

/// Trains `task` into `run` with the library's loop, drawing the progress bar and printing each
/// epoch's record; the bar is cleared whether training ends or fails.
pub fn fit_with_progress<T: dae::train::Task>(
    task: &T,
    run: &dae::run::RunDir,
    start: dae::train::Start,
) -> dae::Result<()> {
    fit_on_processes(task, run, start, &dae::train::SingleProcess)
}

/// [`fit_with_progress`] on the processes of a data-parallel run; only process 0 shows progress.
pub fn fit_on_processes<T: dae::train::Task>(
    task: &T,
    run: &dae::run::RunDir,
    start: dae::train::Start,
    processes: &dyn dae::train::Collective,
) -> dae::Result<()> {
    let mut progress = Progress::default();
    let lead = processes.rank() == 0;
    let mut observe = |e: dae::train::TrainEvent| {
        if lead {
            progress.event(e)
        }
    };
    let result = dae::train::fit_data_parallel(task, run, start, &mut observe, processes);
    progress.abandon();
    result.map(|_| ())
}
