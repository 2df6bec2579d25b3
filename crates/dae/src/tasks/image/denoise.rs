//! Denoising images of any size with a trained model: pad to a size the model takes (repeating
//! the edge), denoise, crop back.

use super::model::ModelConfig;
use super::Predictor;
use crate::corrupt::SampleShape;
use crate::Result;

/// Pads a `h x w` image on the bottom and right by repeating the edge, to `ph x pw`.
fn pad_edge(img: &[f32], h: usize, w: usize, ph: usize, pw: usize) -> Vec<f32> {
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
    fn padding_repeats_the_last_row_and_column() {
        let img = [1.0, 2.0, 3.0, 4.0];
        let padded = pad_edge(&img, 2, 2, 3, 4);
        assert_eq!(
            padded,
            [1.0, 2.0, 2.0, 2.0, 3.0, 4.0, 4.0, 4.0, 3.0, 4.0, 4.0, 4.0]
        );
    }
}
