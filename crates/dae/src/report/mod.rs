//! Reports: image grids of clean, noisy and denoised examples, plots (heat maps, line charts,
//! the latent-space map) and the self-contained HTML report.

pub mod canvas;
pub mod charts;
pub mod grid;
pub mod heatmap;
pub mod html;
pub mod latent_map;
pub mod plot;

pub use grid::write_grid_png;
pub use latent_map::write_latent_map;
