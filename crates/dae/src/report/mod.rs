//! Figures and the report page, for any task: plots (line charts, the latent-space map) and the
//! self-contained HTML page that the tasks fill with their sections.

pub mod charts;
pub mod latent_map;
pub mod page;
pub mod plot;

pub use latent_map::write_latent_map;
