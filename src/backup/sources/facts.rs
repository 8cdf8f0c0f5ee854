//! What a source learns about what it streams (archive entries, tables, versions), kept for
//! the manifest.

use std::sync::{Arc, Mutex};

use crate::backup::manifest::Contents;

/// Shared between a source, which fills it while it streams, and the engine, which reads it
/// once the stream is done.
#[derive(Debug, Clone, Default)]
pub struct Facts(Arc<Mutex<Contents>>);

impl Facts {
    pub fn record(&self, fill: impl FnOnce(&mut Contents)) {
        if let Ok(mut contents) = self.0.lock() {
            fill(&mut contents);
        }
    }

    /// What was recorded; `None` when nothing was.
    pub fn contents(&self) -> Option<Contents> {
        let contents = self.0.lock().ok()?.clone();
        (contents != Contents::default()).then_some(contents)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_never_recorded_are_no_contents() {
        let facts = Facts::default();
        assert_eq!(facts.contents(), None);

        facts.record(|contents| contents.pages = Some(4));

        assert_eq!(facts.contents().and_then(|c| c.pages), Some(4));
    }
}
