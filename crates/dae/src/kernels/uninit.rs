//! Output buffers written once, chunk by chunk on the threads that use them, instead of zeroed
//! up front.
//!
//! `vec![0f32; n]` for a kernel's output zeroes it on the calling thread before the parallel
//! loop starts: for the conv DAE's first layer that is 12.8 MB per step, written to memory by one
//! thread and read back into cache by the kernel (a profile of conv training put `memset` at
//! 6.5%). Here each chunk is first written by its own task, in cache, with what the kernel needs
//! there anyway (the bias of each output row, or zeros where the kernel accumulates).

use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::thread::LocalKey;

use rayon::prelude::*;

/// A chunk of an output buffer not yet written.
pub(super) type Uninit = [MaybeUninit<f32>];

/// Builds a vector of `len` values in chunks of `chunk` (the last may be shorter), in parallel
/// when `parallel`. `init(i, c)` receives chunk `i` unwritten and returns it written, as the
/// slice that [`fill`] or [`fill_rows`] made of it.
///
/// # Panics
/// If `init` returns any slice other than its chunk.
pub(super) fn build(
    len: usize,
    chunk: usize,
    parallel: bool,
    init: impl for<'a> Fn(usize, &'a mut Uninit) -> &'a mut [f32] + Sync,
) -> Vec<f32> {
    let mut out = Vec::with_capacity(len);
    if len == 0 {
        return out;
    }
    let run = |(i, c): (usize, &mut Uninit)| {
        let (start, n) = (c.as_ptr() as *const f32, c.len());
        let written = init(i, c);
        // A `&mut [f32]` over exactly this chunk can only come from writing every element of it
        // (`fill`, `fill_rows`): what makes `set_len` below sound.
        assert!(
            std::ptr::eq(written.as_ptr(), start) && written.len() == n,
            "uninit::build: the chunk returned is not the chunk given"
        );
    };
    let spare = &mut out.spare_capacity_mut()[..len];
    if parallel {
        spare.par_chunks_mut(chunk.max(1)).enumerate().for_each(run);
    } else {
        spare.chunks_mut(chunk.max(1)).enumerate().for_each(run);
    }
    // SAFETY: every chunk of the first `len` elements was written (checked above), and a panic
    // in `init` leaves before this line with `out` still empty.
    unsafe { out.set_len(len) };
    out
}

/// Writes `value` into every element of `chunk` and returns it as written.
pub(super) fn fill(chunk: &mut Uninit, value: f32) -> &mut [f32] {
    chunk.fill(MaybeUninit::new(value));
    // SAFETY: every element was just written.
    unsafe { assume_written(chunk) }
}

/// Writes the slices of `pieces` one after another into `chunk`, which they must fill exactly,
/// and returns it as written.
///
/// # Panics
/// If the pieces are longer or shorter than the chunk.
pub(super) fn fill_from<'a, 'p>(
    chunk: &'a mut Uninit,
    pieces: impl IntoIterator<Item = &'p [f32]>,
) -> &'a mut [f32] {
    let mut at = 0;
    for piece in pieces {
        let dst = &mut chunk[at..][..piece.len()];
        for (d, &v) in dst.iter_mut().zip(piece) {
            d.write(v);
        }
        at += piece.len();
    }
    assert_eq!(
        at,
        chunk.len(),
        "uninit::fill_from: the pieces do not fill the chunk"
    );
    // SAFETY: the pieces were written back to back from the start and end at the chunk's end.
    unsafe { assume_written(chunk) }
}

/// Writes `values[r]` into every element of row `r` of `chunk` (rows of `width`, one value per
/// row, as many rows as values) and returns it as written.
///
/// # Panics
/// If `chunk` is not `values.len()` rows of `width`.
pub(super) fn fill_rows<'a>(chunk: &'a mut Uninit, width: usize, values: &[f32]) -> &'a mut [f32] {
    assert_eq!(
        chunk.len(),
        width * values.len(),
        "uninit::fill_rows: chunk is not whole rows"
    );
    if width > 0 {
        for (row, &v) in chunk.chunks_exact_mut(width).zip(values) {
            row.fill(MaybeUninit::new(v));
        }
    }
    // SAFETY: the rows cover the chunk (asserted) and each was just written.
    unsafe { assume_written(chunk) }
}

/// Writes `row` into every row of `chunk` (rows of `row.len()`) and returns it as written.
///
/// # Panics
/// If `chunk` is not whole rows.
pub(super) fn tile_rows<'a>(chunk: &'a mut Uninit, row: &[f32]) -> &'a mut [f32] {
    let width = row.len().max(1);
    assert_eq!(
        chunk.len() % width,
        0,
        "uninit::tile_rows: chunk is not whole rows"
    );
    if !row.is_empty() {
        for dst in chunk.chunks_exact_mut(width) {
            for (d, &v) in dst.iter_mut().zip(row) {
                d.write(v);
            }
        }
    }
    // SAFETY: the rows cover the chunk (asserted; an empty row means an empty chunk) and each
    // was just written.
    unsafe { assume_written(chunk) }
}

/// # Safety
/// Every element of `chunk` must have been written.
unsafe fn assume_written(chunk: &mut Uninit) -> &mut [f32] {
    // SAFETY: `MaybeUninit<f32>` has the layout of `f32`, and the caller vouches for the values.
    unsafe { &mut *(chunk as *mut Uninit as *mut [f32]) }
}

/// A per-thread working buffer: a kernel's `thread_local!` of this type, reused across calls
/// instead of allocated for every piece of work rayon splits off.
pub(super) type Scratch = RefCell<Vec<f32>>;

/// Runs `f` on this thread's `scratch`, sized to `len` (contents unspecified). Grown, never
/// shrunk: a resize down and back up would zero the regrown part each time layers of different
/// sizes alternate.
///
/// # Panics
/// If `f` reaches the same scratch again (a kernel's buffers are not shared with its callees).
pub(super) fn with_scratch<R>(
    scratch: &'static LocalKey<Scratch>,
    len: usize,
    f: impl FnOnce(&mut [f32]) -> R,
) -> R {
    scratch.with_borrow_mut(|buffer| {
        if buffer.len() < len {
            buffer.resize(len, 0.0);
        }
        f(&mut buffer[..len])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_writes_every_chunk_with_what_its_task_puts_there() {
        for parallel in [false, true] {
            let v = build(10, 4, parallel, |i, c| fill(c, i as f32));
            assert_eq!(v, [0., 0., 0., 0., 1., 1., 1., 1., 2., 2.]);
            let rows = build(12, 6, parallel, |_, c| fill_rows(c, 2, &[7.0, 8.0, 9.0]));
            assert_eq!(rows, [7., 7., 8., 8., 9., 9., 7., 7., 8., 8., 9., 9.]);
            let tiled = build(8, 4, parallel, |_, c| tile_rows(c, &[1.0, 2.0]));
            assert_eq!(tiled, [1., 2., 1., 2., 1., 2., 1., 2.]);
            assert!(build(0, 0, parallel, |_, c| fill(c, 1.0)).is_empty());
        }
    }

    #[test]
    #[should_panic(expected = "not the chunk given")]
    fn build_refuses_a_slice_other_than_the_chunk() {
        let other: &'static mut [f32] = Box::leak(vec![0f32; 4].into_boxed_slice());
        let other = std::sync::Mutex::new(Some(other));
        build(4, 4, false, |_, _| other.lock().unwrap().take().unwrap());
    }

    #[test]
    fn fill_from_writes_the_pieces_in_order_and_refuses_a_gap() {
        let v = build(5, 5, false, |_, c| {
            fill_from(c, [&[1.0, 2.0][..], &[3.0, 4.0, 5.0]])
        });
        assert_eq!(v, [1.0, 2.0, 3.0, 4.0, 5.0]);
        let short =
            std::panic::catch_unwind(|| build(3, 3, false, |_, c| fill_from(c, [&[1.0][..]])));
        assert!(short.is_err(), "pieces shorter than the chunk");
    }
}
