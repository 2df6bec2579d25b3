//! NumPy arrays in and out: a float32 array of any layout becomes the row-major values the
//! library takes; the library's values become an array of the caller's shape.

use numpy::{Element, PyArray1, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;

use crate::shape_error;

/// A float32 array read into row-major values.
pub(crate) struct Input {
    /// The values, row-major.
    pub values: Vec<f32>,
    /// The array's shape.
    pub dims: Vec<usize>,
}

impl Input {
    /// Reads `x`, which must be a float32 NumPy array; anything else is a `DaeError` naming
    /// what was given.
    pub fn read(x: &Bound<'_, PyAny>) -> PyResult<Input> {
        let array: PyReadonlyArrayDyn<'_, f32> = x.extract().map_err(|_| {
            let given = match x.getattr("dtype") {
                Ok(dtype) => format!("an array of dtype {dtype}"),
                Err(_) => format!(
                    "a {}",
                    x.get_type().name().map_or("?".into(), |n| n.to_string())
                ),
            };
            shape_error(format!(
                "expected a float32 NumPy array, got {given}; convert it with \
                 x.astype(numpy.float32)"
            ))
        })?;
        let dims = array.shape().to_vec();
        // A contiguous array is copied in one go; another layout (a slice, a transpose) is read
        // in row-major order.
        let values = match array.as_slice() {
            Ok(slice) => slice.to_vec(),
            Err(_) => array.as_array().iter().copied().collect(),
        };
        Ok(Input { values, dims })
    }
}

/// `values` as a NumPy array of shape `dims`.
pub(crate) fn output<'py, T: Element>(
    py: Python<'py>,
    values: Vec<T>,
    dims: &[usize],
) -> PyResult<Bound<'py, PyAny>> {
    Ok(PyArray1::from_vec(py, values)
        .reshape(dims.to_vec())?
        .into_any())
}
