//! The bridge from denoising autoencoders to diffusion models (issue 12).
//!
//! A denoiser trained at many noise levels knows the score ∇log p_σ of the noised data: for
//! Gaussian noise the best denoiser satisfies Tweedie's formula E[x | x̃] = x̃ + σ²∇log p_σ(x̃).
//! [`score`] checks that on 2-D data whose score is known in closed form.

pub mod score;
