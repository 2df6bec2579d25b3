//! Reports: image grids of clean, noisy and denoised examples, plots, and the latent-space map.

pub mod grid;
pub mod latent_map;
pub mod plot;

pub use grid::write_grid_png;
pub use latent_map::write_latent_map;
