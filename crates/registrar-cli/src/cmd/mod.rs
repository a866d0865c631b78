//! One small function per command: facade call in, rendering out, a [`Verdict`] back to
//! `main`'s one exit-code mapping.

pub mod accounts;
pub mod backup;
pub mod clean;
pub mod docs;
pub mod import;
pub mod inspect;
pub mod migrate;
pub mod schema;

/// How a command ended, when it did not fail with an error (exit code 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Exit code 0.
    Success,
    /// Exit code 1: the data or the database failed a check, or a step was refused.
    Failed,
}

impl From<bool> for Verdict {
    fn from(ok: bool) -> Verdict {
        if ok {
            Verdict::Success
        } else {
            Verdict::Failed
        }
    }
}
