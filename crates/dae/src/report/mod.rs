//! Figures and the report page, for any task: plots (line charts, the latent-space map) and the
//! self-contained HTML page that the tasks fill with their sections.

pub(crate) mod charts;
pub mod latent_map;
pub(crate) mod page;
pub(crate) mod plot;

pub use latent_map::write_latent_map;
