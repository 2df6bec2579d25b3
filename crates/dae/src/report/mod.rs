//! Reports: image grids of clean, noisy and denoised examples, plots (heat maps, line charts)
//! and the self-contained HTML report.

pub mod canvas;
pub mod charts;
pub mod grid;
pub mod heatmap;
pub mod html;

pub use grid::write_grid_png;
