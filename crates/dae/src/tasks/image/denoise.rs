//! Denoising images of any size with a trained model: pad to a size the model takes (repeating
//! the edge), denoise, crop back.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::model::ModelConfig;
use super::Predictor;
use crate::corrupt::SampleShape;
use crate::{Error, Result};

/// Where `dae denoise` writes each input: `out/<the input's file name>`. Errors, before anything
/// is written, if two inputs share a file name (one result would replace the other) or if an
/// output resolves to an input file (`-o` the inputs' own folder, or a symlink to an input).
pub fn output_paths(inputs: &[PathBuf], out: &Path) -> Result<Vec<PathBuf>> {
    let mut by_name: HashMap<&std::ffi::OsStr, &PathBuf> = HashMap::new();
    let mut canonical_inputs = HashMap::new();
    let mut outputs = Vec::with_capacity(inputs.len());
    for input in inputs {
        let name = input
            .file_name()
            .ok_or_else(|| Error::Config(format!("{}: not a file name", input.display())))?;
        if let Some(first) = by_name.insert(name, input) {
            return Err(Error::Config(format!(
                "{} and {} have the same file name: both results would be written to {}; \
                 denoise them in two runs with different -o",
                first.display(),
                input.display(),
                out.join(name).display()
            )));
        }
        let canonical = input.canonicalize().map_err(|e| Error::io(input, e))?;
        canonical_inputs.insert(canonical, input);
        outputs.push(out.join(name));
    }
    for dest in &outputs {
        if let Some(input) = resolve(dest).and_then(|d| canonical_inputs.get(&d)) {
            return Err(Error::Config(format!(
                "the output {} would overwrite the input {}; choose another -o",
                dest.display(),
                input.display()
            )));
        }
    }
    Ok(outputs)
}

/// The file `dest` names once symlinks are followed, or `None` when neither it nor its folder
/// exists yet (then it cannot be an existing input).
fn resolve(dest: &Path) -> Option<PathBuf> {
    dest.canonicalize().ok().or_else(|| {
        let parent = dest.parent()?.canonicalize().ok()?;
        Some(parent.join(dest.file_name()?))
    })
}

/// Pads a `h x w` image on the bottom and right by repeating the edge, to `ph x pw`.
pub(super) fn pad_edge(img: &[f32], h: usize, w: usize, ph: usize, pw: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(ph * pw);
    for y in 0..ph {
        let row = &img[y.min(h - 1) * w..][..w];
        out.extend((0..pw).map(|x| row[x.min(w - 1)]));
    }
    out
}

/// Checks that `model` can denoise a `h x w` image once padded; the error says why not.
pub fn check_size(model: &ModelConfig, h: usize, w: usize) -> Result<()> {
    let (ph, pw) = model.padded_size(h, w);
    model.accepts(ph, pw)?;
    model.check_activations(1, ph, pw)
}

/// Denoises one grayscale `h x w` image (`h * w` values in \[0,1\], row-major): pads it to the
/// model's size multiple, reconstructs, and crops the output back to `h x w`.
pub fn denoise_image(
    predictor: &Predictor,
    model: &ModelConfig,
    pixels: &[f32],
    h: usize,
    w: usize,
) -> Result<Vec<f32>> {
    check_size(model, h, w)?;
    if pixels.len() != h * w || h == 0 || w == 0 {
        return Err(crate::Error::Shape(format!(
            "an image of {h}x{w} needs {} values, got {}",
            h * w,
            pixels.len()
        )));
    }
    let (ph, pw) = model.padded_size(h, w);
    let padded = pad_edge(pixels, h, w, ph, pw);
    let out = predictor.reconstruct(&padded, SampleShape::new(1, ph, pw));
    Ok((0..h)
        .flat_map(|y| out[y * pw..y * pw + w].to_vec())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_that_would_replace_each_other_or_an_input_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        for p in [a.join("x.png"), b.join("x.png"), a.join("y.png")] {
            std::fs::write(p, b"png").unwrap();
        }
        let out = dir.path().join("out");
        let ok = output_paths(&[a.join("x.png"), a.join("y.png")], &out).unwrap();
        assert_eq!(ok, [out.join("x.png"), out.join("y.png")]);

        let e = output_paths(&[a.join("x.png"), b.join("x.png")], &out)
            .unwrap_err()
            .to_string();
        assert!(e.contains("a/x.png and") && e.contains("b/x.png have the same file name"));

        // -o the inputs' own folder, spelled differently.
        let e = output_paths(&[a.join("y.png")], &b.join("../a"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("would overwrite the input") && e.contains("a/y.png"),
            "{e}"
        );
        // The other input folder is fine: b/y.png does not exist.
        assert!(output_paths(&[a.join("y.png")], &b).is_ok());
        #[cfg(unix)]
        {
            // An output that is a symlink to an input.
            std::os::unix::fs::symlink(a.join("y.png"), b.join("y.png")).unwrap();
            assert!(output_paths(&[a.join("y.png")], &b).is_err());
        }
    }

    #[test]
    fn padding_repeats_the_last_row_and_column() {
        let img = [1.0, 2.0, 3.0, 4.0];
        let padded = pad_edge(&img, 2, 2, 3, 4);
        assert_eq!(
            padded,
            [1.0, 2.0, 2.0, 2.0, 3.0, 4.0, 4.0, 4.0, 3.0, 4.0, 4.0, 4.0]
        );
    }
}
