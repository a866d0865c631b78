//! Writing commands besides import and migrate (`restore`, `clean --execute`, `set-password`,
//! `force-password-reset`, `seed-training`, `init`): each runs under the database's run lock
//! ([`Database::run_lock`]), so that it can never be applied beside or in the middle of a
//! runbook, and each is one row of the audit log (`import_runs`), recorded as started before
//! it writes and finished with its outcome.
//!
//! ```no_run
//! # async fn f(db: &registrar_db::Database) -> registrar_db::Result<()> {
//! use registrar_db::command::{WritingRun, RESTORE};
//! let run = WritingRun::begin(db, RESTORE, serde_json::json!([])).await?;
//! let result = registrar_db::backup::restore(db, std::path::Path::new("b.registrar.gz")).await;
//! run.finish_with(db, &result, serde_json::json!({})).await?;
//! # Ok(()) }
//! ```

use crate::audit::{self, ImportRun, NewRun, RunOutcome};
use crate::{Database, Error, Result, RunLock};
use chrono::{DateTime, Utc};

/// The audit mode of `restore`.
pub const RESTORE: &str = "restore";
/// The audit mode of `clean --execute`.
pub const CLEAN: &str = "clean-execute";
/// The audit mode of `set-password`.
pub const SET_PASSWORD: &str = "set-password";
/// The audit mode of `force-password-reset`.
pub const FORCE_PASSWORD_RESET: &str = "force-password-reset";
/// The audit mode of `seed-training`.
pub const SEED_TRAINING: &str = "seed-training";
/// The audit mode of `init`.
pub const INIT: &str = "init";

/// A writing command in progress: it holds the run lock and its audit row until
/// [`WritingRun::finish`].
#[derive(Debug)]
pub struct WritingRun {
    lock: RunLock,
    id: i64,
    started_at: DateTime<Utc>,
    mode: String,
    files: serde_json::Value,
    /// Runs that had started and never finished (killed), marked interrupted when this run
    /// took the lock; the caller may tell the operator about them.
    pub interrupted: Vec<ImportRun>,
}

impl WritingRun {
    /// Takes the run lock (refused with [`Error::Locked`] when another run holds it), marks
    /// unfinished runs interrupted, and records this run as started.
    pub async fn begin(db: &Database, mode: &str, files: serde_json::Value) -> Result<WritingRun> {
        let lock = db.run_lock().await?;
        let interrupted = audit::close_interrupted(db).await?;
        let started_at = Utc::now();
        let id = audit::start_run(db, started_at, mode, &files).await?;
        Ok(WritingRun {
            lock,
            id,
            started_at,
            mode: mode.to_owned(),
            files,
            interrupted,
        })
    }

    /// Records how the run ended (`outcome`: [`RunOutcome::Success`], [`RunOutcome::Refused`]
    /// or [`RunOutcome::Error`]), then releases the lock.
    pub async fn finish(
        self,
        db: &Database,
        outcome: RunOutcome,
        counts: serde_json::Value,
        error: Option<String>,
    ) -> Result<()> {
        let run = NewRun {
            started_at: self.started_at,
            finished_at: Utc::now(),
            mode: self.mode.clone(),
            operator: audit::current_operator(),
            tool_version: audit::TOOL_VERSION.to_owned(),
            files: self.files.clone(),
            counts,
            outcome,
            error,
        };
        let r = audit::finish_run(db, self.id, &run).await;
        drop(self.lock);
        r.map(|_| ())
    }

    /// [`WritingRun::finish`] from a result: [`RunOutcome::Success`], else
    /// [`RunOutcome::Refused`] for an error of this crate that changed nothing because it was
    /// refused ([`Error::Refused`], [`Error::Locked`], [`Error::Usage`]) and
    /// [`RunOutcome::Error`] for any other error, with its message.
    pub async fn finish_with<T, E: std::fmt::Display + 'static>(
        self,
        db: &Database,
        result: &std::result::Result<T, E>,
        counts: serde_json::Value,
    ) -> Result<()> {
        let (outcome, error) = match result {
            Ok(_) => (RunOutcome::Success, None),
            Err(e) => {
                let refused = (e as &dyn std::any::Any)
                    .downcast_ref::<Error>()
                    .is_some_and(|e| {
                        matches!(e, Error::Refused(_) | Error::Locked(_) | Error::Usage(_))
                    });
                (
                    if refused {
                        RunOutcome::Refused
                    } else {
                        RunOutcome::Error
                    },
                    Some(e.to_string()),
                )
            }
        };
        self.finish(db, outcome, counts, error).await
    }
}

/// The `files` column of a command that reads one file (a backup): its name and SHA-256.
pub fn file_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::json!([{
        "name": path.display().to_string(),
        "sha256": sha256_file(path),
    }])
}

/// The SHA-256 of a regular file, hex (`None` when it cannot be read, or is not a regular file:
/// a FIFO or device is never opened, so this never blocks). The audit log's file checksums.
pub fn sha256_file(path: &std::path::Path) -> Option<String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    if !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let mut f = std::fs::File::open(path).ok()?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Some(hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn restore_takes_no_run_lock_and_writes_no_audit_row_is_fixed_a_writing_run_is_locked_and_audited(
    ) {
        let dir = tempfile::tempdir().unwrap();
        let url = crate::testing::fresh_sqlite(dir.path());
        let db = Database::open(&url).await.unwrap();
        let run = WritingRun::begin(&db, RESTORE, serde_json::json!([]))
            .await
            .unwrap();
        // While it runs: the lock is held and the row says running.
        let other = Database::open(&url).await.unwrap();
        assert!(matches!(other.run_lock().await, Err(Error::Locked(_))));
        let runs = audit::list_runs(&db).await.unwrap();
        assert_eq!(runs[0].mode, RESTORE);
        assert_eq!(runs[0].outcome, RunOutcome::Running);
        let result: std::result::Result<(), Error> = Err(Error::Refused("no".into()));
        run.finish_with(&db, &result, serde_json::json!({}))
            .await
            .unwrap();
        let runs = audit::list_runs(&db).await.unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].outcome, "refused");
        assert!(runs[0].finished_at.is_some());
        other.run_lock().await.unwrap();
    }
}
