//! `dae.load(run_dir)` and the `Model` it returns: an image run's model denoising and encoding
//! NumPy batches.

use std::path::PathBuf;

use pyo3::prelude::*;

use dae::tasks::image::batch::{denoise_images, encode_images, BatchShape};
use dae::tasks::image::{LoadedRun, Precision, Predictor};

use crate::arrays::{output, Input};
use crate::{shape_error, to_py};

/// A trained image run loaded for inference (see `dae.load`).
#[pyclass(module = "dae", frozen)]
pub struct Model {
    run: LoadedRun,
    run_dir: PathBuf,
}

/// Loads the image run at `run_dir` (a directory written by `dae train` or `dae.train`): its
/// final model, or its last checkpoint's if it has not finished. `device` is the compute device
/// (`"cpu"`, or a GPU where dae was built with one); default: the run's.
#[pyfunction]
#[pyo3(signature = (run_dir, device = None))]
pub fn load(py: Python<'_>, run_dir: PathBuf, device: Option<&str>) -> PyResult<Model> {
    let device = device
        .map(|d| d.parse::<dae::device::DeviceSpec>())
        .transpose()
        .map_err(to_py)?;
    let run = py
        .detach(|| dae::tasks::load_image_run(&run_dir, device))
        .map_err(to_py)?;
    Ok(Model { run, run_dir })
}

impl Model {
    /// The batch layout of `input`: (N, C, H, W) as given, or (N, D) read as N images of the
    /// run's own size (D = C * H * W).
    fn batch_shape(&self, input: &Input) -> PyResult<BatchShape> {
        let model = &self.run.config.model;
        match input.dims[..] {
            [count, channels, height, width] => Ok(BatchShape {
                count,
                channels,
                height,
                width,
            }),
            [count, d] if d == model.channels * model.height * model.width => Ok(BatchShape {
                count,
                channels: model.channels,
                height: model.height,
                width: model.width,
            }),
            _ => Err(shape_error(format!(
                "expected images of shape (N, {c}, H, W), or (N, {d}) flat for \
                 the run's {c}x{h}x{w} images, got shape {dims:?}",
                c = model.channels,
                h = model.height,
                w = model.width,
                d = model.channels * model.height * model.width,
                dims = input.dims
            ))),
        }
    }
}

#[pymethods]
impl Model {
    /// Denoises float32 images in [0, 1], shaped (N, C, H, W) or (N, D) flat; returns x̂ in the
    /// same shape. Each image is processed as `dae denoise` processes a PNG of it (padded by
    /// repeating the edge to a size the model takes, cropped back).
    #[pyo3(signature = (x, batch_size = 256, precision = "f32"))]
    fn denoise<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        batch_size: usize,
        precision: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let input = Input::read(x)?;
        let shape = self.batch_shape(&input)?;
        let precision: Precision = precision.parse().map_err(to_py)?;
        let run = &self.run;
        let denoised = py
            .detach(|| {
                let predictor = Predictor::new(&run.model, &run.device, precision)?;
                denoise_images(run, &predictor, &input.values, shape, batch_size)
            })
            .map_err(to_py)?;
        output(py, denoised, &input.dims)
    }

    /// The codes z of clean float32 images shaped (N, C, H, W) or (N, D) flat, as `dae probe`
    /// computes them: a float32 array of shape (N, code dimension).
    #[pyo3(signature = (x, batch_size = 500))]
    fn encode<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        batch_size: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let input = Input::read(x)?;
        let shape = self.batch_shape(&input)?;
        let run = &self.run;
        let (codes, dim) = py
            .detach(|| encode_images(run, &input.values, shape, batch_size))
            .map_err(to_py)?;
        output(py, codes, &[shape.count, dim])
    }

    /// The architecture: "conv", "mlp", "unet" or "dncnn".
    #[getter]
    fn kind(&self) -> String {
        self.run.config.model.kind().to_string()
    }

    /// The image shape the run trained on, (C, H, W).
    #[getter]
    fn image_shape(&self) -> (usize, usize, usize) {
        let m = &self.run.config.model;
        (m.channels, m.height, m.width)
    }

    /// The training noise spec, as `config.json` stores it.
    #[getter]
    fn noise(&self) -> String {
        self.run.config.noise.as_str().to_string()
    }

    /// The run directory the model was loaded from.
    #[getter]
    fn run_dir(&self) -> PathBuf {
        self.run_dir.clone()
    }

    fn __repr__(&self) -> String {
        let (c, h, w) = self.image_shape();
        format!(
            "dae.Model({} on {c}x{h}x{w} images, noise {}, from {})",
            self.kind(),
            self.noise(),
            self.run_dir.display()
        )
    }
}
