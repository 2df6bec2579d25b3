//! Reports: image grids of clean, noisy and denoised examples.

pub mod grid;

pub use grid::write_grid_png;
