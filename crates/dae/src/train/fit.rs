//! The one training loop, generic over a [`Task`]: corrupt, predict, compare, step AdamW; after
//! each epoch, evaluate, append to `metrics.jsonl` and checkpoint; at the end, save the model.

use std::time::Instant;

use burn::module::Module;
use burn::optim::GradientsParams;
use rand::seq::SliceRandom;

use super::ahead::fold_batches;
use super::settings::TaskConfig;
use super::task::{EpochTotals, Start, Task, TrainEvent};
use crate::fsio::write_atomic;
use crate::run::checkpoint::model_bytes;
use crate::run::metrics::{read_records, write_records};
use crate::run::RunDir;
use crate::seed::{self, Purpose};
use crate::{Error, Result};

/// Held while a run trains (see [`fit`]).
static ONE_RUN_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Trains `task` into `run`, from scratch or from its last checkpoint. Returns the records of the
/// epochs run by this call. A non-finite loss stops the run with [`Error::Diverged`]; the
/// checkpoint of the last good epoch stays in place. Same seed and data, same numbers; a resumed
/// run computes what an uninterrupted one would. Runs started from several threads of one process
/// train one after the other.
pub fn fit<T: Task>(
    task: &T,
    run: &RunDir,
    start: Start,
    observer: &mut dyn FnMut(TrainEvent),
) -> Result<Vec<T::Record>> {
    // Burn seeds a device's generator for the whole process: two runs training at once would
    // draw each other's initial weights and dropout masks. One trains at a time, so the same seed
    // gives the same numbers whatever else the process does. (A poisoned lock only means another
    // run panicked; the generator is reseeded below all the same.)
    let _one_run_at_a_time = ONE_RUN_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let settings = task.config().settings();
    let base = settings.device.device()?;
    let device = base.clone().autodiff();
    let optimizer = settings.optimizer();
    let (mut model, mut optim, done) = match start {
        Start::Fresh => {
            if run.has_checkpoint() {
                return Err(Error::Config(format!(
                    "{} already holds a run; use --resume to continue it or choose another --out",
                    run.root.display()
                )));
            }
            run.create()?;
            task.write_new_run_files(run)?;
            write_atomic(&run.metrics(), b"")?;
            device.seed(seed::derive(settings.seed, Purpose::Init, 0));
            (task.init_model(&device), optimizer, 0)
        }
        Start::Resume => {
            run.load_checkpoint(task.init_model(&device), &task.model_name(), optimizer)?
        }
    };
    // Written for a new run and again on resume: a resumed run may extend the epochs or change
    // the learning rate.
    run.write_config(task.config())?;
    let mut history: Vec<T::Record> = read_records(run, done)?;

    let n = task.train_len();
    let batches = n.div_ceil(settings.batch_size);
    let draw = |indices: &[usize], rng: &mut crate::corrupt::Rng| task.draw_batch(indices, rng);
    let mut new_records = Vec::new();
    for epoch in done + 1..=settings.epochs {
        observer(TrainEvent::EpochStart {
            epoch,
            epochs: settings.epochs,
            batches,
        });
        // Every per-epoch draw comes from the run seed and the epoch alone, so a resumed run
        // draws what an uninterrupted one would: dropout, the order, the corruption.
        device.seed(seed::derive(settings.seed, Purpose::Backend, epoch as u64));
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut seed::rng(
            settings.seed,
            Purpose::Shuffle,
            epoch as u64,
        ));
        let mut noise_rng = seed::rng(settings.seed, Purpose::TrainNoise, epoch as u64);
        let timer = Instant::now();
        let ahead = rayon::current_num_threads() > 1;
        let (stepped, loss_sum) = fold_batches(
            &order,
            settings.batch_size,
            &draw,
            &mut noise_rng,
            ahead,
            (model, 0.0),
            |(model, loss_sum), b, batch| {
                let loss = task.loss(&model, batch, &device);
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                let value = loss.into_scalar::<f32>() as f64;
                if !value.is_finite() {
                    return Err(diverged(run, epoch, value));
                }
                let lr =
                    settings
                        .lr_schedule
                        .rate_at(settings.lr, epoch, b, batches, settings.epochs);
                observer(TrainEvent::Batch { loss: value });
                Ok((optim.step(lr, model, grads), loss_sum + value))
            },
        )?;
        model = stepped;
        let totals = EpochTotals {
            epoch,
            train_loss: loss_sum / batches as f64,
            train_seconds: timer.elapsed().as_secs_f64(),
        };
        let record = task.record(&model.valid(), &base, totals)?;
        run.save_checkpoint(&model, &optim, epoch)?;
        history.push(record.clone());
        write_records(run, &history)?;
        observer(TrainEvent::EpochEnd(&record));
        new_records.push(record);
    }

    let valid = model.valid();
    write_atomic(&run.model(), &model_bytes(&valid)?)?;
    task.finish(run, &valid, &base)?;
    Ok(new_records)
}

/// The error of a loss that became `value` in `epoch`, saying which checkpoint is kept.
fn diverged(run: &RunDir, epoch: usize, value: f64) -> Error {
    let kept = match epoch - 1 {
        0 => "no epoch had completed, so no checkpoint was written".to_string(),
        e => format!(
            "the checkpoint of epoch {e} in {} is kept",
            run.checkpoint_dir().display()
        ),
    };
    Error::Diverged(format!(
        "loss became {value} in epoch {epoch}; {kept}. Try a lower --lr."
    ))
}
