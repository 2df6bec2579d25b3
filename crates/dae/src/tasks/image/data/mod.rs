//! Data sets: the IDX (MNIST-format) and PNG-folder readers, and the embedded default data.
//!
//! Everything here is plain Rust: an [`ImageSet`] is a flat `Vec<f32>` of single-channel images
//! in \[0,1\]. [`load_default`] needs no files at all: the Fashion-MNIST test split (10,000 images
//! of 28x28, MIT licence, see `data/fashion-mnist/` in the repository) is compiled into the
//! library and split 8,000 train / 2,000 held-out.

pub mod idx;
pub mod image_folder;

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Class names of Fashion-MNIST, indexed by label.
pub const FASHION_MNIST_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// Number of training images in the default split of the embedded 10k set (the rest are held out).
pub const DEFAULT_TRAIN_SIZE: usize = 8000;

/// Fraction held out when a source has one split only (an image folder, or IDX files of one
/// split): the last 20% of the images, at least one.
pub const HOLDOUT_FRACTION: f64 = 0.2;

const EMBEDDED_IMAGES: &[u8] =
    include_bytes!("../../../../../../data/fashion-mnist/t10k-images-idx3-ubyte.gz");
const EMBEDDED_LABELS: &[u8] =
    include_bytes!("../../../../../../data/fashion-mnist/t10k-labels-idx1-ubyte.gz");

/// A set of single-channel images with values in \[0,1\], row-major, and optional labels.
#[derive(Clone, Debug)]
pub struct ImageSet {
    /// All pixels, image after image, each `height * width` values in row-major order.
    pub images: Vec<f32>,
    /// One class label per image, where the source has them.
    pub labels: Option<Vec<u8>>,
    /// Image height in pixels.
    pub height: usize,
    /// Image width in pixels.
    pub width: usize,
}

impl ImageSet {
    /// Builds a set, checking that `images` holds a whole number of `height`x`width` images and
    /// that `labels`, if given, has one entry per image.
    pub fn new(
        images: Vec<f32>,
        labels: Option<Vec<u8>>,
        height: usize,
        width: usize,
    ) -> Result<Self> {
        let ppi = height * width;
        if ppi == 0 || !images.len().is_multiple_of(ppi) {
            return Err(Error::Shape(format!(
                "{} values are not a whole number of {height}x{width} images",
                images.len()
            )));
        }
        if let Some(l) = &labels {
            if l.len() != images.len() / ppi {
                return Err(Error::Shape(format!(
                    "{} labels for {} images",
                    l.len(),
                    images.len() / ppi
                )));
            }
        }
        Ok(Self {
            images,
            labels,
            height,
            width,
        })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.images
            .len()
            .checked_div(self.pixels_per_image())
            .unwrap_or(0)
    }

    /// Whether the set holds no images.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `height * width`.
    pub fn pixels_per_image(&self) -> usize {
        self.height * self.width
    }

    /// The pixels of image `i`.
    ///
    /// # Panics
    /// If `i >= self.len()`.
    pub fn image(&self, i: usize) -> &[f32] {
        let ppi = self.pixels_per_image();
        &self.images[i * ppi..(i + 1) * ppi]
    }

    /// First `n` images (or all if fewer).
    pub fn take(&self, n: usize) -> ImageSet {
        self.slice(0..n.min(self.len()))
    }

    /// Images `range.start..range.end`, with their labels.
    ///
    /// # Panics
    /// If the range is decreasing or ends past `self.len()`, as slice indexing does.
    pub fn slice(&self, range: Range<usize>) -> ImageSet {
        let ppi = self.pixels_per_image();
        ImageSet {
            images: self.images[range.start * ppi..range.end * ppi].to_vec(),
            labels: self.labels.as_ref().map(|l| l[range].to_vec()),
            height: self.height,
            width: self.width,
        }
    }

    /// Deterministic split: first `n_first` images (all if fewer), then the rest; no shuffle.
    /// The default data split is 8k train / 2k validation of the shipped 10k test split.
    pub fn split_at(&self, n_first: usize) -> (ImageSet, ImageSet) {
        let n = n_first.min(self.len());
        (self.slice(0..n), self.slice(n..self.len()))
    }

    /// Splits off the last [`HOLDOUT_FRACTION`] (at least one image) as held-out data.
    fn holdout_split(self, name: &Path) -> Result<Splits> {
        let n = self.len();
        if n < 2 {
            return Err(Error::format(
                name,
                format!("{n} image(s): need at least 2 to hold one out for evaluation"),
            ));
        }
        let n_test = ((n as f64 * HOLDOUT_FRACTION).round() as usize).clamp(1, n - 1);
        let (train, test) = self.split_at(n - n_test);
        Ok(Splits { train, test })
    }
}

/// The train and held-out sets of a data source.
#[derive(Clone, Debug)]
pub struct Splits {
    /// Images to train on.
    pub train: ImageSet,
    /// Held-out images for evaluation.
    pub test: ImageSet,
}

/// Finds `<split>-<kind>-ubyte` (e.g. `t10k-images-idx3-ubyte`) in `dir`, raw or `.gz`; also the
/// spelling `t10k-images.idx3-ubyte` that some mirrors use.
fn find_idx(dir: &Path, split: &str, kind: &str) -> Option<PathBuf> {
    [
        format!("{split}-{kind}-ubyte"),
        format!("{split}-{kind}-ubyte.gz"),
        format!("{split}-{}", kind.replacen('-', ".", 1) + "-ubyte"),
        format!("{split}-{}", kind.replacen('-', ".", 1) + "-ubyte.gz"),
    ]
    .iter()
    .map(|f| dir.join(f))
    .find(|p| p.is_file())
}

/// Loads `--data DIR`.
///
/// - An MNIST-format directory (`train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`,
///   `t10k-images-idx3-ubyte[.gz]`, `t10k-labels-idx1-ubyte[.gz]`; label files optional): train =
///   the train split, test = the t10k split. Both must have the same image size.
/// - Only one of the two splits present (say only the t10k files): its last
///   [`HOLDOUT_FRACTION`] (at least one image) is held out, the rest is for training; for the
///   10k test split that is the same 8,000 / 2,000 split as [`load_default`].
/// - No IDX files but some `*.png`: an image folder ([`image_folder::load_image_folder`]), no
///   labels, split the same way.
///
/// A missing directory is an I/O error naming it; a directory with neither IDX files nor PNGs is
/// a format error listing what was expected.
pub fn load_dir(dir: &Path) -> Result<Splits> {
    std::fs::metadata(dir).map_err(|e| Error::io(dir, e))?;
    let read = |split: &str| -> Result<Option<(ImageSet, PathBuf)>> {
        let Some(images) = find_idx(dir, split, "images-idx3") else {
            return Ok(None);
        };
        let labels = find_idx(dir, split, "labels-idx1");
        Ok(Some((
            idx::read_idx_pair(&images, labels.as_deref())?,
            images,
        )))
    };
    match (read("train")?, read("t10k")?) {
        (Some((train, train_path)), Some((test, test_path))) => {
            if (test.height, test.width) != (train.height, train.width) {
                return Err(Error::format(
                    &test_path,
                    format!(
                        "images are {}x{} but {} holds {}x{} images; both splits must match",
                        test.height,
                        test.width,
                        train_path.display(),
                        train.height,
                        train.width
                    ),
                ));
            }
            Ok(Splits { train, test })
        }
        (Some((set, path)), None) | (None, Some((set, path))) => set.holdout_split(&path),
        (None, None) => {
            if image_folder::png_files(dir)?.is_empty() {
                return Err(Error::format(
                    dir,
                    "no data found: expected MNIST-format IDX files (train-images-idx3-ubyte[.gz], \
                     train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], \
                     t10k-labels-idx1-ubyte[.gz]) or a folder of .png images",
                ));
            }
            image_folder::load_image_folder(dir)?.holdout_split(dir)
        }
    }
}

/// The data of a run: `data` (see [`load_dir`]) or, for `None`, the embedded default.
pub fn load(data: Option<&Path>) -> Result<Splits> {
    match data {
        Some(dir) => load_dir(dir),
        None => load_default(),
    }
}

/// Where the data of a run come from, for messages.
pub fn describe(data: Option<&Path>) -> String {
    match data {
        Some(p) => p.display().to_string(),
        None => "embedded Fashion-MNIST 10k test split (8k train / 2k held-out)".into(),
    }
}

/// The embedded default: the shipped Fashion-MNIST 10k test split, split 8000 train / 2000
/// held-out (first 8,000 images / last 2,000, no shuffle), with labels.
pub fn load_default() -> Result<Splits> {
    let set = idx::parse_idx_pair(
        EMBEDDED_IMAGES,
        Path::new("<embedded>/data/fashion-mnist/t10k-images-idx3-ubyte.gz"),
        Some((
            EMBEDDED_LABELS,
            Path::new("<embedded>/data/fashion-mnist/t10k-labels-idx1-ubyte.gz"),
        )),
    )?;
    let (train, test) = set.split_at(DEFAULT_TRAIN_SIZE);
    Ok(Splits { train, test })
}

#[cfg(test)]
mod tests {
    use super::idx::tests::{gzip, idx_images, idx_labels};
    use super::*;

    #[test]
    fn default_is_8000_2000_fashion_mnist() {
        let s = load_default().unwrap();
        assert_eq!((s.train.len(), s.test.len()), (8000, 2000));
        for set in [&s.train, &s.test] {
            assert_eq!((set.height, set.width), (28, 28));
            let labels = set.labels.as_ref().unwrap();
            assert_eq!(labels.len(), set.len());
            assert!(labels.iter().all(|&l| l < 10));
            assert!(set.images.iter().all(|v| (0.0..=1.0).contains(v)));
        }
        // Every class occurs in both splits, and some pixel is fully on.
        assert!((0..10).all(|c| s.test.labels.as_ref().unwrap().contains(&c)));
        assert!(s.train.images.contains(&1.0));
    }

    #[test]
    fn image_set_slicing() {
        let set = ImageSet::new(
            (0..12).map(|v| v as f32).collect(),
            Some(vec![0, 1, 2]),
            2,
            2,
        )
        .unwrap();
        assert_eq!((set.len(), set.pixels_per_image()), (3, 4));
        assert_eq!(set.image(1), &[4.0, 5.0, 6.0, 7.0]);
        assert_eq!(set.take(10).len(), 3);
        let (a, b) = set.split_at(2);
        assert_eq!((a.len(), b.len()), (2, 1));
        assert_eq!(b.labels, Some(vec![2]));
        assert_eq!(set.slice(1..2).images, vec![4.0, 5.0, 6.0, 7.0]);
        assert!(ImageSet::new(vec![0.0; 5], None, 2, 2).is_err());
        assert!(ImageSet::new(vec![0.0; 8], Some(vec![1]), 2, 2).is_err());
    }

    #[test]
    fn dir_with_both_splits() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        std::fs::write(p("train-images-idx3-ubyte.gz"), gzip(&idx_images(6, 3, 3))).unwrap();
        std::fs::write(p("train-labels-idx1-ubyte"), idx_labels(6)).unwrap();
        std::fs::write(p("t10k-images-idx3-ubyte"), idx_images(2, 3, 3)).unwrap();
        let s = load_dir(dir.path()).unwrap();
        assert_eq!((s.train.len(), s.test.len()), (6, 2));
        assert!(s.train.labels.is_some() && s.test.labels.is_none());
        std::fs::write(p("t10k-labels-idx1-ubyte"), idx_labels(3)).unwrap();
        let e = load_dir(dir.path()).unwrap_err().to_string();
        assert!(e.contains("t10k-labels-idx1-ubyte: holds 3 labels"), "{e}");
        std::fs::remove_file(p("t10k-labels-idx1-ubyte")).unwrap();
        std::fs::write(p("t10k-images-idx3-ubyte"), idx_images(2, 4, 4)).unwrap();
        let e = load_dir(dir.path()).unwrap_err().to_string();
        assert!(e.contains("images are 4x4 but"), "{e}");
    }

    #[test]
    fn dir_with_t10k_only_holds_out_20_percent() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t10k-images-idx3-ubyte.gz");
        std::fs::write(&p, gzip(&idx_images(10, 2, 2))).unwrap();
        let s = load_dir(dir.path()).unwrap();
        assert_eq!((s.train.len(), s.test.len()), (8, 2));
        std::fs::write(&p, idx_images(1, 2, 2)).unwrap();
        assert!(load_dir(dir.path()).is_err());
    }

    #[test]
    fn dir_of_pngs() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..3 {
            let path = dir.path().join(format!("{i}.png"));
            image_folder::write_png_gray(&path, &[i as f32 / 2.0; 4], 2, 2).unwrap();
        }
        let s = load_dir(dir.path()).unwrap();
        assert_eq!((s.train.len(), s.test.len()), (2, 1));
        assert_eq!(s.test.image(0), &[1.0; 4]);
    }

    #[test]
    fn missing_and_empty_dirs() {
        let e = load_dir(Path::new("/nonexistent/dae-data")).unwrap_err();
        assert!(matches!(e, Error::Io { .. }));
        assert!(e.to_string().contains("/nonexistent/dae-data"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("readme.txt"), "hi").unwrap();
        let e = load_dir(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("no data found") && e.contains("t10k-images-idx3-ubyte"),
            "{e}"
        );
    }
}
