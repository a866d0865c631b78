//! Progress callbacks: how a long run tells its caller (the CLI's bars) how far it got.

/// What a phase counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProgressUnit {
    /// Rows (of a file, or written to the database).
    #[default]
    Rows,
    /// Bytes of a file read so far.
    Bytes,
    /// Passwords hashed.
    Hashes,
}

/// Progress callbacks. Called from several threads; every method must be cheap.
pub trait Progress: Send + Sync {
    /// A new phase begins (`"users.csv"`, `"hashing passwords"`, ...), with its size in rows
    /// when known.
    fn phase(&self, name: &str, total: Option<u64>);
    /// `n` more rows (or hashes) done in the current phase.
    fn advance(&self, n: u64);
    /// The run is over.
    fn finish(&self);
    /// A new phase counted in `unit`, with its size when known (a file's length in bytes).
    /// By default the same as [`Progress::phase`].
    fn phase_in(&self, name: &str, unit: ProgressUnit, total: Option<u64>) {
        let _ = unit;
        self.phase(name, total);
    }
    /// The current phase reached `pos` (in its unit), for phases whose position is known
    /// rather than counted (bytes read). By default ignored.
    fn set_position(&self, pos: u64) {
        let _ = pos;
    }
    /// A new phase of the database side (`"writing users"`, `"hashing passwords"`), which
    /// runs while files are still being read: a caller may show it beside the reading phase.
    /// By default the same as [`Progress::phase_in`].
    fn write_phase(&self, name: &str, unit: ProgressUnit, total: Option<u64>) {
        self.phase_in(name, unit, total);
    }
    /// `n` more rows written (or hashes done) in the current write phase. By default the same
    /// as [`Progress::advance`].
    fn write_advance(&self, n: u64) {
        self.advance(n);
    }
}
