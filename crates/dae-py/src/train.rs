//! `dae.train(...)`: the settings of `dae train --task image` from a dict or keyword arguments,
//! the library's training loop with the GIL released, Ctrl-C as a stop request, and the progress
//! callback.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyDictMethods};

use dae::run::RunDir;
use dae::tasks::image::model::{ModelConfig, ModelKind, ModelOptions};
use dae::tasks::image::{self, EpochMetrics, ImageConfig, ImageTask};
use dae::train::{fit_until, ResumeOverrides, Start, StopRequest, TrainEvent};

use crate::{config_error, to_py};

/// The settings `dae.train` takes: the flags of `dae train` for image runs, `-` read as `_`.
const SETTINGS: [&str; 23] = [
    "data",
    "noise",
    "epochs",
    "batch_size",
    "lr",
    "lr_schedule",
    "weight_decay",
    "seed",
    "train_limit",
    "val_limit",
    "dropout",
    "device",
    "out",
    "resume",
    "threads",
    "model",
    "hidden",
    "latent_dim",
    "width",
    "depth",
    "residual",
    "loss",
    "masked_loss",
];

/// The settings a resumed run may change (as `dae train --resume`).
const RESUME_TAKES: [&str; 5] = ["resume", "epochs", "lr", "lr_schedule", "threads"];

/// The given settings, by name.
struct Settings<'py> {
    given: Bound<'py, PyDict>,
}

impl<'py> Settings<'py> {
    /// `config` and the keyword arguments together; a name given in both, or one `dae train`
    /// does not take, is refused by name.
    fn merge(
        py: Python<'py>,
        config: Option<&Bound<'py, PyDict>>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Self> {
        let given = PyDict::new(py);
        for dict in [config, kwargs].into_iter().flatten() {
            for (key, value) in dict.iter() {
                let name: String = key
                    .extract()
                    .map_err(|_| config_error(format!("setting names are strings, got {key}")))?;
                let name = name.replace('-', "_");
                if !SETTINGS.contains(&name.as_str()) {
                    return Err(config_error(format!(
                        "unknown setting `{name}`; dae.train takes the \
                         flags of `dae train` for image runs: {}",
                        SETTINGS.join(", ")
                    )));
                }
                if given.contains(&name)? {
                    return Err(config_error(format!(
                        "`{name}` is given both in the config dict and as \
                         a keyword argument"
                    )));
                }
                given.set_item(name, value)?;
            }
        }
        Ok(Settings { given })
    }

    /// The value of `name` as a `T`, if given and not None; `what` names the type expected.
    fn get<T: for<'a> FromPyObject<'a, 'py>>(&self, name: &str, what: &str) -> PyResult<Option<T>> {
        match self.given.get_item(name)? {
            Some(value) if !value.is_none() => value
                .extract()
                .map(Some)
                .map_err(|_| config_error(format!("`{name}` must be {what}, got {value}"))),
            _ => Ok(None),
        }
    }

    /// A string setting parsed by the library's own parser.
    fn parsed<T: std::str::FromStr<Err = dae::Error>>(&self, name: &str) -> PyResult<Option<T>> {
        self.get::<String>(name, "a string")?
            .map(|s| s.parse().map_err(to_py))
            .transpose()
    }

    fn flag(&self, name: &str) -> PyResult<bool> {
        Ok(self.get::<bool>(name, "True or False")?.unwrap_or(false))
    }

    fn names(&self) -> Vec<String> {
        self.given.keys().iter().map(|k| k.to_string()).collect()
    }

    /// The model kind, by the name `dae train --model` takes.
    fn model_kind(&self) -> PyResult<ModelKind> {
        let kinds = [
            ModelKind::Conv,
            ModelKind::Mlp,
            ModelKind::Unet,
            ModelKind::Dncnn,
        ];
        match self.get::<String>("model", "a string")? {
            None => Ok(ModelKind::Conv),
            Some(name) => kinds
                .into_iter()
                .find(|k| k.to_string() == name)
                .ok_or_else(|| {
                    config_error(format!(
                        "unknown model `{name}`; expected conv, mlp, unet \
                         or dncnn"
                    ))
                }),
        }
    }

    /// A new run's config, as `dae train` builds it from the same flags, for images of
    /// `height x width`.
    fn image_config(&self, (height, width): (usize, usize)) -> PyResult<ImageConfig> {
        let options = ModelOptions {
            hidden: self.get("hidden", "a list of integers")?,
            latent_dim: self.get("latent_dim", "an integer")?,
            dropout: self.get("dropout", "a number")?,
            width: self.get("width", "an integer")?,
            depth: self.get("depth", "an integer")?,
            residual: self.flag("residual")?,
        };
        let model = ModelConfig::with_options(self.model_kind()?, (1, height, width), &options)
            .map_err(to_py)?;
        let mut config = ImageConfig::new(model);
        if let Some(spec) = self.get::<String>("noise", "a noise spec string")? {
            config.noise = dae::tasks::parse_image_noise(&spec).map_err(to_py)?;
        }
        config.loss = self.parsed("loss")?.unwrap_or_default();
        config.masked_loss = self.flag("masked_loss")?;
        let s = &mut config.run;
        s.epochs = self.get("epochs", "an integer")?.unwrap_or(s.epochs);
        s.batch_size = self
            .get("batch_size", "an integer")?
            .unwrap_or(s.batch_size);
        s.lr = self.get("lr", "a number")?.unwrap_or(s.lr);
        s.lr_schedule = self.parsed("lr_schedule")?.unwrap_or(s.lr_schedule);
        let decay = self.get("weight_decay", "a number")?;
        s.adamw.weight_decay = decay.unwrap_or(s.adamw.weight_decay);
        s.seed = self.get("seed", "an integer")?.unwrap_or(s.seed);
        s.train_limit = self.get("train_limit", "an integer")?;
        s.val_limit = self.get("val_limit", "an integer")?;
        // Stored absolute, as `dae train` stores it, so that `--resume` finds the data from
        // any directory.
        s.data = self.data()?;
        s.device = self.parsed("device")?.unwrap_or(s.device);
        Ok(config)
    }

    fn data(&self) -> PyResult<Option<PathBuf>> {
        Ok(self
            .get::<PathBuf>("data", "a path")?
            .map(|d| std::path::absolute(&d).unwrap_or(d)))
    }

    fn overrides(&self) -> PyResult<ResumeOverrides> {
        Ok(ResumeOverrides {
            epochs: self.get("epochs", "an integer")?,
            lr: self.get("lr", "a number")?,
            lr_schedule: self.parsed("lr_schedule")?,
        })
    }
}

/// Trains an image denoiser as `dae train` does with the same settings, into a new run directory
/// (`out`, default `runs/<model>-<unix time>`) or continuing one (`resume`), and returns the run
/// directory. Ctrl-C stops the run before its next step: the checkpoint of the last completed
/// epoch stays, and `KeyboardInterrupt` is raised; `dae.train(resume=run_dir)` continues it.
#[pyfunction]
#[pyo3(signature = (config = None, *, progress = None, progress_steps = false, **kwargs))]
pub fn train<'py>(
    py: Python<'py>,
    config: Option<&Bound<'py, PyDict>>,
    progress: Option<Py<PyAny>>,
    progress_steps: bool,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<PathBuf> {
    let settings = Settings::merge(py, config, kwargs)?;
    if let Some(threads) = settings.get::<usize>("threads", "an integer")? {
        dae::perf::set_threads(threads).map_err(to_py)?;
    }
    let resume = settings.get::<PathBuf>("resume", "a path")?;
    let (config, run, data, start) = match &resume {
        Some(dir) => {
            let refused: Vec<String> = settings
                .names()
                .into_iter()
                .filter(|n| !RESUME_TAKES.contains(&n.as_str()))
                .collect();
            if !refused.is_empty() {
                return Err(config_error(format!(
                    "{} cannot change a run being resumed: it continues \
                     with the data, noise, model and settings stored in its config.json (resume \
                     takes epochs, lr, lr_schedule and threads)",
                    refused.join(", ")
                )));
            }
            let overrides = settings.overrides()?;
            let (config, data) = py
                .detach(|| {
                    dae::tasks::TaskKind::Image.expect_run(dir)?;
                    image::task::prepare_resume(dir, &overrides)
                })
                .map_err(to_py)?;
            (config, RunDir::new(dir), data, Start::Resume)
        }
        None => {
            let data_dir = settings.data()?;
            let data = py
                .detach(|| image::data::load(data_dir.as_deref()))
                .map_err(to_py)?;
            let config = settings.image_config((data.train.height, data.train.width))?;
            let out = match settings.get::<PathBuf>("out", "a path")? {
                Some(out) => out,
                None => default_out(config.model.kind()),
            };
            (config, RunDir::new(out), data, Start::Fresh)
        }
    };
    let task = ImageTask::new(config, &data).map_err(to_py)?;
    let stop = StopRequest::new();
    // The first error of the callback, or the KeyboardInterrupt of a signal, to raise once the
    // loop has stopped cleanly.
    let mut pending: Option<PyErr> = None;
    let mut observe = |event: TrainEvent| {
        Python::attach(|py| {
            if pending.is_some() {
                return;
            }
            let reported = report(py, &event, &run, progress.as_ref(), progress_steps);
            // Signals are handled on the main thread between steps: Ctrl-C becomes a stop.
            if let Err(e) = reported.and_then(|()| py.check_signals()) {
                pending = Some(e);
                stop.request();
            }
        })
    };
    let result = py.detach(|| fit_until(&task, &run, start, &mut observe, &stop));
    match (result, pending) {
        (Err(dae::Error::Stopped(message)), Some(e)) => {
            // The stop's message (which checkpoint is kept) as the interrupt's cause.
            e.set_cause(py, Some(crate::DaeError::new_err(message)));
            Err(e)
        }
        (Err(e), _) => Err(to_py(e)),
        (Ok(_), Some(e)) => Err(e),
        (Ok(_), None) => {
            py.detach(|| image::experiment::final_diagnostics(&run, &data))
                .map_err(to_py)?;
            Ok(run.root)
        }
    }
}

/// Calls `progress` with the event as a dict: every epoch's end (its `metrics.jsonl` record,
/// with `"event": "epoch_end"`), and, with `steps`, every epoch's start and every step.
fn report(
    py: Python<'_>,
    event: &TrainEvent,
    run: &RunDir,
    progress: Option<&Py<PyAny>>,
    steps: bool,
) -> PyResult<()> {
    let Some(progress) = progress else {
        return Ok(());
    };
    let dict = PyDict::new(py);
    match *event {
        TrainEvent::EpochStart {
            epoch,
            epochs,
            batches,
        } if steps => {
            dict.set_item("event", "epoch_start")?;
            dict.set_item("epoch", epoch)?;
            dict.set_item("epochs", epochs)?;
            dict.set_item("steps", batches)?;
        }
        TrainEvent::Batch { loss } if steps => {
            dict.set_item("event", "step")?;
            dict.set_item("loss", loss)?;
        }
        TrainEvent::EpochEnd(_) => {
            // The record the loop has just written to metrics.jsonl, field by field.
            let records: Vec<EpochMetrics> =
                dae::run::metrics::read_records(run, usize::MAX).map_err(to_py)?;
            if let Some(last) = records.last() {
                let json = dae::json::to_string(last)
                    .map_err(|e| config_error(format!("epoch record: {e}")))?;
                let fields = py.import("json")?.call_method1("loads", (json,))?;
                dict.update(fields.cast()?)?;
            }
            dict.set_item("event", "epoch_end")?;
        }
        _ => return Ok(()),
    }
    progress.call1(py, (dict,))?;
    Ok(())
}

/// `runs/<model>-<unix time>`, the run directory `dae train` picks without `--out`.
fn default_out(kind: ModelKind) -> PathBuf {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    PathBuf::from(format!("runs/{kind}-{secs}"))
}
