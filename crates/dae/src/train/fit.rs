//! The one training loop, generic over a [`Task`]: corrupt, predict, compare, step AdamW; after
//! each epoch, evaluate, append to `metrics.jsonl` and checkpoint; at the end, save the model.

use std::time::Instant;

use burn::module::{Module, ModuleMapper, Param, ParamId};
use burn::tensor::Tensor;
use rand::seq::SliceRandom;

use super::ahead::fold_batches;
use super::collective::{Collective, SingleProcess};
use super::data_parallel::{draw_shard, gradients};
use super::settings::TaskConfig;
use super::stop::StopRequest;
use super::task::{EpochTotals, Start, Task, TrainEvent};
use crate::fsio::write_atomic;
use crate::perf;
use crate::run::checkpoint::{completed_epochs, model_bytes};
use crate::run::metrics::{read_record_lines, record_line, write_lines, EpochRecord};
use crate::run::RunDir;
use crate::seed::{self, Purpose};
use crate::{Error, Result};

/// Held while a run trains (see [`fit`]).
static ONE_RUN_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Trains `task` into `run`, from scratch or from its last checkpoint. Returns the records of the
/// epochs run by this call. A new run's directory appears whole ([`RunDir::create_new`]: only a
/// missing or empty folder becomes one); the run is locked against a second writer while it
/// trains. A non-finite loss, weights or validation loss stop the run with [`Error::Diverged`];
/// the checkpoint of the last sound epoch stays in place, and no non-finite model is ever saved.
/// Same seed and data, same numbers; a resumed run computes what an uninterrupted one would,
/// whenever the previous process died. Runs started from several threads of one process train one
/// after the other. To stop a run from another thread or from `observer`, use [`fit_until`].
pub fn fit<T: Task>(
    task: &T,
    run: &RunDir,
    start: Start,
    observer: &mut dyn FnMut(TrainEvent),
) -> Result<Vec<T::Record>> {
    run_fit(
        task,
        run,
        start,
        observer,
        &SingleProcess,
        &StopRequest::new(),
    )
}

/// [`fit`], stopping early once `stop` is requested (by another thread, a signal handler or
/// `observer` itself). The request is honoured before the next optimizer step or epoch: the
/// epoch in progress is abandoned (its steps are not kept) and `fit_until` returns
/// [`Error::Stopped`], naming the checkpoint kept, the one of the last completed epoch. Nothing
/// is written for the abandoned epoch, so `--resume` redoes it from that checkpoint and computes
/// what an uninterrupted run would, as after a killed process. A request that arrives after the
/// last epoch's checkpoint lets the run finish.
pub fn fit_until<T: Task>(
    task: &T,
    run: &RunDir,
    start: Start,
    observer: &mut dyn FnMut(TrainEvent),
    stop: &StopRequest,
) -> Result<Vec<T::Record>> {
    run_fit(task, run, start, observer, &SingleProcess, stop)
}

/// [`fit`] on the processes of `processes` together (data parallelism, docs/distributed.md):
/// every process runs this with the same task and run, draws every global batch and keeps its
/// share of the samples; the gradients are averaged over the processes each step, so every
/// process applies the same AdamW step to the same weights. Process 0 alone creates and locks the
/// run, evaluates, writes metrics, checkpoints and the final model, and returns the records (the
/// others return none); on resume every process reads the last checkpoint. With one process this
/// is [`fit`], bit for bit. (No stop request: a process that left the step alone would leave the
/// others waiting in the gradient sum.)
pub fn fit_data_parallel<T: Task>(
    task: &T,
    run: &RunDir,
    start: Start,
    observer: &mut dyn FnMut(TrainEvent),
    processes: &dyn Collective,
) -> Result<Vec<T::Record>> {
    run_fit(task, run, start, observer, processes, &StopRequest::new())
}

/// The loop behind [`fit`], [`fit_until`] and [`fit_data_parallel`].
fn run_fit<T: Task>(
    task: &T,
    run: &RunDir,
    start: Start,
    observer: &mut dyn FnMut(TrainEvent),
    processes: &dyn Collective,
    stop: &StopRequest,
) -> Result<Vec<T::Record>> {
    let lead = processes.rank() == 0;
    // Burn seeds a device's generator for the whole process: two runs training at once would
    // draw each other's initial weights and dropout masks. One trains at a time, so the same seed
    // gives the same numbers whatever else the process does. (A poisoned lock only means another
    // run panicked; the generator is reseeded below all the same.)
    let _one_run_at_a_time = ONE_RUN_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if processes.size() > 1 {
        task.check_data_parallel()?;
    }
    let settings = task.config().settings();
    let base = settings.device.device()?;
    let device = base.clone().autodiff();
    let optimizer = settings.optimizer();
    // The config is written last into a new run, so a directory with a config.json holds a
    // whole start; it is written again on resume, which may extend the epochs or change the rate.
    let _writer = match (start, lead) {
        (_, false) => None,
        (Start::Fresh, true) => Some(run.create_new(|new| {
            task.write_new_run_files(new)?;
            write_atomic(&new.metrics(), b"")?;
            new.write_config(task.config())
        })?),
        (Start::Resume, true) => {
            let lock = run.lock()?;
            run.write_config(task.config())?;
            Some(lock)
        }
    };
    // Another process's fresh run starts from the seed without reading the folder process 0 is
    // creating.
    let completed = match (start, lead) {
        (Start::Fresh, false) => None,
        _ => completed_epochs(run)?,
    };
    let (mut model, mut optim, done) = match completed {
        Some(_) => run.load_checkpoint(task.init_model(&device), &task.model_name(), optimizer)?,
        // A new run, or one that died before its first checkpoint: it starts from its seed.
        None => {
            device.seed(seed::derive(settings.seed, Purpose::Init, 0));
            (numbered_params(task.init_model(&device)), optimizer, 0)
        }
    };
    // The lines of the epochs kept are copied as written, not re-encoded.
    let mut lines = match lead {
        true => read_record_lines::<T::Record>(run, done)?,
        false => Vec::new(),
    };

    let n = task.train_len();
    let batches = n.div_ceil(settings.batch_size);
    let (rank, size) = (processes.rank(), processes.size());
    let draw = |indices: &[usize], rng: &mut crate::corrupt::Rng| {
        draw_shard(task, indices, rng, rank, size)
    };
    let mut new_records = Vec::new();
    for epoch in done + 1..=settings.epochs {
        if stop.is_requested() {
            return Err(stopped(run, epoch, 0, batches));
        }
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
                if stop.is_requested() {
                    return Err(stopped(run, epoch, b, batches));
                }
                let (model, grads, value) =
                    gradients(task, model, batch, processes, &device, &base)?;
                if !value.is_finite() {
                    return Err(diverged(run, epoch, &format!("the loss became {value}")));
                }
                let lr =
                    settings
                        .lr_schedule
                        .rate_at(settings.lr, epoch, b, batches, settings.epochs);
                observer(TrainEvent::Batch { loss: value });
                let step = ((epoch - 1) * batches + b + 1) as u64;
                let optim = &mut optim;
                let stepped = perf::on_kernel_threads(move || {
                    task.after_step(optim.step(lr, model, grads), step)
                });
                Ok((stepped, loss_sum + value))
            },
        )?;
        model = stepped;
        let valid = model.valid();
        if !all_finite(&valid) {
            return Err(diverged(run, epoch, "the weights became non-finite"));
        }
        if !lead {
            continue;
        }
        let totals = EpochTotals {
            epoch,
            train_loss: loss_sum / batches as f64,
            train_seconds: timer.elapsed().as_secs_f64(),
        };
        let record = task.record(&valid, &base, totals)?;
        if let Some(loss) = record.validation_loss().filter(|l| !l.is_finite()) {
            return Err(diverged(
                run,
                epoch,
                &format!("the validation loss became {loss}"),
            ));
        }
        // Metrics before the checkpoint: a run killed between the two redoes the epoch and
        // writes its line again; the reverse order would lose the line.
        lines.push(record_line(&record)?);
        write_lines(run, &lines)?;
        run.save_checkpoint(&model, &optim, epoch)?;
        observer(TrainEvent::EpochEnd(&record));
        new_records.push(record);
    }

    if lead {
        let valid = model.valid();
        write_atomic(&run.model(), &model_bytes(&valid)?)?;
        task.finish(run, &valid, &base)?;
    }
    Ok(new_records)
}

/// `model` with its parameters numbered 1, 2, … in the module's order. Burn gives each parameter
/// a random id, saved with the weights (and keying the optimizer's state): numbered instead, two
/// runs of one seed write the same model and checkpoint files, byte for byte.
fn numbered_params<M: Module>(model: M) -> M {
    struct Numbered(u64);
    impl ModuleMapper for Numbered {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            self.0 += 1;
            let (_, value, mapper) = param.consume();
            Param::from_mapped_value(ParamId::from(self.0), value, mapper)
        }
    }
    model.map(&mut Numbered(0))
}

/// Whether every float parameter of `model` is finite.
fn all_finite<M: Module>(model: &M) -> bool {
    struct Finite(bool);
    impl burn::module::ModuleVisitor for Finite {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if self.0 {
                self.0 = param.val().is_finite().all().into_scalar::<bool>();
            }
        }
    }
    let mut check = Finite(true);
    model.visit(&mut check);
    check.0
}

/// The error of a run that became unsound (`what`) in `epoch`, saying which checkpoint is kept.
fn diverged(run: &RunDir, epoch: usize, what: &str) -> Error {
    Error::Diverged(format!(
        "{what} in epoch {epoch}; {}. Try a lower --lr.",
        checkpoint_kept(run, epoch)
    ))
}

/// The error of a run stopped on request before step `step` (0-based) of `epoch`.
fn stopped(run: &RunDir, epoch: usize, step: usize, steps: usize) -> Error {
    Error::Stopped(format!(
        "training stopped on request in epoch {epoch} after {step} of {steps} steps; {}; \
         `dae train --resume {}` continues it",
        checkpoint_kept(run, epoch),
        run.root.display()
    ))
}

/// Which checkpoint a run that stops in `epoch` keeps, in words.
fn checkpoint_kept(run: &RunDir, epoch: usize) -> String {
    match epoch - 1 {
        0 => "no epoch had completed, so no checkpoint was written".to_string(),
        e => format!(
            "the checkpoint of epoch {e} in {} is kept",
            run.checkpoint_dir().display()
        ),
    }
}
