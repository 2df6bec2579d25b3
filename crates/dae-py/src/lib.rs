//! The Python package `dae`: the library's image runs from Python (docs/python.md).
//!
//! The bindings turn NumPy arrays and Python values into library values and the library's results
//! and errors back, nothing more: loading a run, denoising, encoding and corrupting batches
//! ([`dae::tasks::image::batch`]), and training ([`dae::train::fit_until`]) are the library's.

#![warn(missing_docs)]

mod arrays;
mod model;
mod train;

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

use dae::corrupt::SampleShape;
use dae::tasks::image::batch::corrupt_images;

create_exception!(
    dae,
    DaeError,
    PyException,
    "An error of the dae library; its message is the one the `dae` command prints."
);

/// A library error as a Python `DaeError` with dae's message.
pub(crate) fn to_py(e: dae::Error) -> PyErr {
    DaeError::new_err(e.to_string())
}

/// What the bindings check themselves (a NumPy dtype, an array's axes) as the library's
/// [`dae::Error::Shape`], so that it reads as the library's shape errors do.
pub(crate) fn shape_error(message: String) -> PyErr {
    to_py(dae::Error::Shape(message))
}

/// A setting the bindings check themselves as the library's [`dae::Error::Config`].
pub(crate) fn config_error(message: String) -> PyErr {
    to_py(dae::Error::Config(message))
}

/// Corrupts `x` with the noise spec `noise` (the grammar of `dae train --noise`), drawn from
/// `seed`: returns x̃ (float32, the shape of `x`) and the mask M (bool, True where the corruption
/// changed or hid the entry). The first axis counts samples: (N, C, H, W), (N, H, W), (N, D), or
/// one sample of shape (D,).
#[pyfunction]
#[pyo3(signature = (x, noise, seed = 0))]
fn corrupt<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    noise: &str,
    seed: u64,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let spec = dae::tasks::parse_image_noise(noise).map_err(to_py)?;
    let input = arrays::Input::read(x)?;
    let sample = match input.dims[..] {
        [d] => SampleShape::new(1, 1, d),
        [_, d] => SampleShape::new(1, 1, d),
        [_, h, w] => SampleShape::new(1, h, w),
        [_, c, h, w] => SampleShape::new(c, h, w),
        _ => {
            return Err(shape_error(format!(
                "dae.corrupt takes arrays of 1 to 4 axes (samples first), got \
                 shape {:?}",
                input.dims
            )))
        }
    };
    let out = py
        .detach(|| corrupt_images(&spec, &input.values, sample, seed))
        .map_err(to_py)?;
    let noisy = arrays::output(py, out.noisy, &input.dims)?;
    let mask = arrays::output(py, out.corrupted, &input.dims)?;
    Ok((noisy, mask))
}

/// Sets the number of CPU threads the tensor kernels use, for the rest of the process (the CLI's
/// `--threads`): call it before any other dae function; a second call fails.
#[pyfunction]
fn set_threads(threads: usize) -> PyResult<()> {
    dae::perf::set_threads(threads).map_err(to_py)
}

/// Makes glibc keep freed memory for reuse instead of handing it back to the OS, with the
/// settings the `dae` binary starts with (crates/dae-cli/src/main.rs says why): every inference
/// batch allocates its activations afresh, and with glibc's defaults their pages fault in again
/// each time. In this process, conv inference on 10k images went from 2,700 to 3,450-3,700
/// images/s at 1 thread (BENCHMARKS.md, "Python package"). Python's own small objects come from
/// its allocator and are unaffected.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    // SAFETY: mallopt only sets allocator parameters; by the time a module is imported glibc's
    // allocator is initialized, and mallopt takes the arena lock. A refusal (return 0) leaves
    // glibc's defaults, which are correct, only slower.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
        libc::mallopt(libc::M_TOP_PAD, 256 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}

/// The native module `dae._dae`; `dae/__init__.py` re-exports it.
#[pymodule]
fn _dae(m: &Bound<'_, PyModule>) -> PyResult<()> {
    keep_freed_memory();
    m.add("DaeError", m.py().get_type::<DaeError>())?;
    m.add_function(wrap_pyfunction!(model::load, m)?)?;
    m.add_class::<model::Model>()?;
    m.add_function(wrap_pyfunction!(corrupt, m)?)?;
    m.add_function(wrap_pyfunction!(train::train, m)?)?;
    m.add_function(wrap_pyfunction!(set_threads, m)?)?;
    Ok(())
}
