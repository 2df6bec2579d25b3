//! The image sets `dae fid` compares: a folder of PNGs, or one split of an MNIST-format folder,
//! checked to be 28x28 (the extractor's size).

use std::path::Path;

use super::extractor::IMAGE_SIDE;
use crate::tasks::image::data::{idx, image_folder, ImageSet};
use crate::{Error, Result};

/// Which split of an MNIST-format folder to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum IdxSplit {
    /// `t10k-images-idx3-ubyte[.gz]`.
    #[default]
    Test,
    /// `train-images-idx3-ubyte[.gz]`.
    Train,
}

impl IdxSplit {
    fn prefix(self) -> &'static str {
        match self {
            IdxSplit::Test => "t10k",
            IdxSplit::Train => "train",
        }
    }
}

impl std::str::FromStr for IdxSplit {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "test" | "t10k" => Ok(IdxSplit::Test),
            "train" => Ok(IdxSplit::Train),
            other => Err(Error::Config(format!(
                "unknown split `{other}` (expected test or train)"
            ))),
        }
    }
}

/// The images file of `split` in `dir`, if it holds one (raw or gzipped).
fn idx_images(dir: &Path, split: IdxSplit) -> Option<std::path::PathBuf> {
    let name = format!("{}-images-idx3-ubyte", split.prefix());
    [name.clone(), format!("{name}.gz")]
        .into_iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file())
}

/// Files of a PNG folder that are not read as images: the grid and the trajectory strip that
/// `dae sample` writes beside its samples.
pub const SAMPLE_FIGURES: [&str; 2] = ["grid.png", "trajectory.png"];

/// Reads the images of `dir`: its `split` if it is an MNIST-format folder (it holds IDX image
/// files), else every `*.png` in it; keeps the first `limit` images if given. Errors name the
/// folder or file: missing, no images, unreadable, or not 28x28.
/// PNG folders skip [`SAMPLE_FIGURES`].
pub fn load_images(dir: &Path, split: IdxSplit, limit: Option<usize>) -> Result<ImageSet> {
    let meta = std::fs::metadata(dir).map_err(|e| Error::io(dir, e))?;
    if !meta.is_dir() {
        return Err(Error::format(
            dir,
            "not a folder (expected PNG images or IDX files)",
        ));
    }
    let set = match idx_images(dir, split) {
        Some(images) => idx::read_idx_pair(&images, None)?,
        None if idx_images(dir, IdxSplit::Train).is_some()
            || idx_images(dir, IdxSplit::Test).is_some() =>
        {
            return Err(Error::format(
                dir,
                format!(
                    "an MNIST-format folder without {}-images-idx3-ubyte[.gz]",
                    split.prefix()
                ),
            ));
        }
        None => {
            // The figures `dae sample` writes beside its images are not part of the set.
            let files: Vec<_> = image_folder::png_files(dir)?
                .into_iter()
                .filter(|f| {
                    !SAMPLE_FIGURES
                        .iter()
                        .any(|n| f.file_name() == Some(n.as_ref()))
                })
                .collect();
            if files.is_empty() {
                return Err(Error::format(dir, "no .png files in this folder"));
            }
            image_folder::load_image_files(dir, &files)?
        }
    };
    let set = match limit {
        Some(n) => set.take(n),
        None => set,
    };
    if (set.height, set.width) != (IMAGE_SIDE, IMAGE_SIDE) {
        return Err(Error::format(
            dir,
            format!(
                "images are {}x{}; the Fashion-MNIST feature extractor takes 28x28 images",
                set.height, set.width
            ),
        ));
    }
    if set.is_empty() {
        return Err(Error::format(dir, "no images"));
    }
    Ok(set)
}
