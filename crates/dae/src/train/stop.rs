//! A request to stop a run early ([`super::fit_until`]), set from any thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A flag that asks a training run to stop before its next optimizer step. Clones share one flag,
/// so a clone can be handed to another thread (a signal handler, an interpreter's interrupt
/// check) while the loop reads the original.
#[derive(Clone, Debug, Default)]
pub struct StopRequest(Arc<AtomicBool>);

impl StopRequest {
    /// A request not yet made.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the run to stop; it does at its next step or epoch boundary.
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was requested, through this value or any clone of it.
    pub fn is_requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_through_a_clone_is_seen_by_the_original() {
        let stop = StopRequest::new();
        let handle = stop.clone();
        assert!(!stop.is_requested());
        std::thread::spawn(move || handle.request()).join().unwrap();
        assert!(stop.is_requested());
    }
}
