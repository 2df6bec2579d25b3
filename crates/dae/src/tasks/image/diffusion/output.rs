//! Writing drawn images: one PNG per image, `grid.png`, and `trajectory.png` (one row per kept
//! path, x_T on the left, x_0 on the right). The folder appears whole or not at all: it is
//! assembled under a temporary name beside the destination and renamed into place.

use std::path::{Path, PathBuf};

use super::sample::Samples;
use crate::tasks::image::data::image_folder::write_png_gray;
use crate::tasks::image::grid::write_grid_png;
use crate::{Error, Result};

/// Images per row of `grid.png`.
const GRID_COLUMNS: usize = 8;
/// The most images `grid.png` shows.
const GRID_IMAGES: usize = 64;

/// What [`write_samples`] wrote.
#[derive(Clone, Debug)]
pub struct Written {
    /// The image files, in sample order.
    pub images: Vec<PathBuf>,
    /// `grid.png`.
    pub grid: PathBuf,
    /// `trajectory.png`, when paths were kept.
    pub trajectory: Option<PathBuf>,
}

/// Errors unless `out` can become the samples' folder: missing, or an empty folder. Called before
/// sampling, so that a bad destination costs no computation.
pub fn check_destination(out: &Path) -> Result<()> {
    match std::fs::read_dir(out) {
        Ok(mut entries) => match entries.next() {
            None => Ok(()),
            Some(_) => Err(Error::Config(format!(
                "{} exists and is not empty; give a new or empty folder to -o",
                out.display()
            ))),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => Err(Error::Config(format!(
            "{} is a file; -o takes a folder",
            out.display()
        ))),
        Err(e) => Err(Error::io(out, e)),
    }
}

/// Writes `samples` (images of `h`x`w`) into the folder `out` (see [`check_destination`]):
/// `sample-00000.png`, …, `grid.png` and, if paths were kept, `trajectory.png`.
pub fn write_samples(out: &Path, samples: &Samples, (h, w): (usize, usize)) -> Result<Written> {
    check_destination(out)?;
    let parent = crate::fsio::parent_of(out);
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    let name = out
        .file_name()
        .ok_or_else(|| Error::Config(format!("{}: not a folder name", out.display())))?;
    let staging = parent.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = fill(&staging, samples, (h, w)).and_then(|()| {
        // An empty destination is replaced; rename cannot move a folder onto a folder.
        if out.exists() {
            std::fs::remove_dir(out).map_err(|e| Error::io(out, e))?;
        }
        std::fs::rename(&staging, out).map_err(|e| Error::io(out, e))?;
        crate::fsio::sync_dir(parent)
    });
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    let count = samples.images.len() / (h * w);
    Ok(Written {
        images: (0..count).map(|i| out.join(image_name(i))).collect(),
        grid: out.join("grid.png"),
        trajectory: (!samples.trajectories.is_empty()).then(|| out.join("trajectory.png")),
    })
}

fn image_name(i: usize) -> String {
    format!("sample-{i:05}.png")
}

fn fill(dir: &Path, samples: &Samples, (h, w): (usize, usize)) -> Result<()> {
    std::fs::create_dir(dir).map_err(|e| Error::io(dir, e))?;
    let p = h * w;
    for (i, image) in samples.images.chunks_exact(p).enumerate() {
        write_png_gray(&dir.join(image_name(i)), image, h, w)?;
    }
    let trajectory = dir.join("trajectory.png");
    write_figures(&dir.join("grid.png"), &trajectory, samples, (h, w))?;
    Ok(())
}

/// Writes `grid.png` (the first 64 samples, 8 per row) to `grid` and, if paths were kept, the
/// strip x_T → x_0 (one row per path) to `trajectory`.
pub fn write_figures(
    grid: &Path,
    trajectory: &Path,
    samples: &Samples,
    (h, w): (usize, usize),
) -> Result<()> {
    let p = h * w;
    let shown = &samples.images[..samples.images.len().min(GRID_IMAGES * p)];
    let columns = GRID_COLUMNS.min(shown.len() / p);
    let full_rows = shown.len() / (columns * p);
    let rows: Vec<&[f32]> = shown.chunks_exact(columns * p).take(full_rows).collect();
    write_grid_png(grid, &rows, columns, h, w, 2)?;
    if let Some(first) = samples.trajectories.first() {
        let strips: Vec<Vec<f32>> = samples
            .trajectories
            .iter()
            .map(|path| path.concat())
            .collect();
        let rows: Vec<&[f32]> = strips.iter().map(Vec::as_slice).collect();
        write_grid_png(trajectory, &rows, first.len(), h, w, 2)?;
    }
    Ok(())
}
