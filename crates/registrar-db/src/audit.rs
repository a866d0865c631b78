//! The audit log: one `import_runs` row per import (or migrate) run, failed runs included.
//!
//! Every row's outcome is a [`RunOutcome`], stored as its stable string ([`RunOutcome::as_str`]).
//!
//! A writing run (`import --execute`, `migrate --execute`) records itself as started
//! ([`start_run`], outcome [`RunOutcome::Running`], no `finished_at`) and commits that row **before** it
//! writes anything, then fills the row in when it ends ([`finish_run`]), after its
//! transaction was committed or rolled back, so the row survives a rollback. The runbook moves
//! its row to [`RunOutcome::Committed`] inside its data transaction, so that the row says whether the data
//! of a run that never finished went in.
//!
//! A run killed before it finished leaves its row `running` (nothing of it was written) or
//! `committed` (its data went in, the steps after the commit did not finish). Such a row is an
//! *unfinished run*: `audit` shows it, `check` fails while one exists (the `unfinished-runs`
//! check), and the next writing run, which holds the run lock and so knows that no other run
//! is going on, marks it [`RunOutcome::Interrupted`] ([`close_interrupted`]) and says so before it goes on.

use crate::{Database, Result};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// How a run ended (or how far it got), as the `outcome` column of `import_runs` and the
/// `outcome` of `migrate`'s JSON hold it: [`RunOutcome::as_str`] is the stored text, which
/// never changes; [`RunOutcome::from_db_str`] reads it back.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RunOutcome {
    /// `running`: the run started and has not finished; nothing of it is committed yet.
    Running,
    /// `committed`: a runbook's data transaction committed; its later steps (post-migration
    /// backup and its verification) have not finished yet.
    Committed,
    /// `interrupted`: the run never finished (it was killed); the next writing run marked it.
    Interrupted,
    /// `success`: the run did all it was asked to.
    Success,
    /// `validated`: a validation run found no error (nothing was written).
    Validated,
    /// `validation-failed`: the data had errors; nothing was written.
    ValidationFailed,
    /// `database-error`: an import failed in the database; its transaction was rolled back.
    DatabaseError,
    /// `refused`: a command was refused (a safety rule, a lock, wrong arguments); nothing
    /// was changed.
    Refused,
    /// `error`: the run failed otherwise (the `error` column says why).
    Error,
    /// `rolled-back`: a runbook failed and nothing of it is left in the database.
    RolledBack,
    /// `rollback-failed`: a runbook failed after its commit and restoring the first backup
    /// failed or did not verify.
    RollbackFailed,
    /// `rollback-refused`: a runbook failed after its commit and was not restored, because the
    /// database changed since it committed.
    RollbackRefused,
    /// `lock-lost`: a runbook lost its run lock and stopped.
    LockLost,
    /// `planned`: `migrate --validate` (never stored: a plan writes no audit row).
    Planned,
    /// A text this version does not know (a row written by another version or tool), kept
    /// as it was read.
    Other(String),
}

impl RunOutcome {
    /// Every outcome this version writes, in no particular order (not [`RunOutcome::Other`]).
    pub const ALL: [RunOutcome; 14] = [
        RunOutcome::Running,
        RunOutcome::Committed,
        RunOutcome::Interrupted,
        RunOutcome::Success,
        RunOutcome::Validated,
        RunOutcome::ValidationFailed,
        RunOutcome::DatabaseError,
        RunOutcome::Refused,
        RunOutcome::Error,
        RunOutcome::RolledBack,
        RunOutcome::RollbackFailed,
        RunOutcome::RollbackRefused,
        RunOutcome::LockLost,
        RunOutcome::Planned,
    ];

    /// The stable text (`success`, `validation-failed`, ...), as stored.
    pub fn as_str(&self) -> &str {
        match self {
            RunOutcome::Running => "running",
            RunOutcome::Committed => "committed",
            RunOutcome::Interrupted => "interrupted",
            RunOutcome::Success => "success",
            RunOutcome::Validated => "validated",
            RunOutcome::ValidationFailed => "validation-failed",
            RunOutcome::DatabaseError => "database-error",
            RunOutcome::Refused => "refused",
            RunOutcome::Error => "error",
            RunOutcome::RolledBack => "rolled-back",
            RunOutcome::RollbackFailed => "rollback-failed",
            RunOutcome::RollbackRefused => "rollback-refused",
            RunOutcome::LockLost => "lock-lost",
            RunOutcome::Planned => "planned",
            RunOutcome::Other(s) => s,
        }
    }

    /// The outcome stored as `s`; a text this version does not know is
    /// [`RunOutcome::Other`].
    pub fn from_db_str(s: &str) -> RunOutcome {
        RunOutcome::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .unwrap_or_else(|| RunOutcome::Other(s.to_owned()))
    }

    /// True for the outcomes of a run that has not finished ([`RunOutcome::Running`],
    /// [`RunOutcome::Committed`]).
    pub fn is_pending(&self) -> bool {
        matches!(self, RunOutcome::Running | RunOutcome::Committed)
    }
}

impl std::fmt::Display for RunOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl std::str::FromStr for RunOutcome {
    type Err = std::convert::Infallible;

    /// [`RunOutcome::from_db_str`].
    fn from_str(s: &str) -> Result<RunOutcome, Self::Err> {
        Ok(RunOutcome::from_db_str(s))
    }
}

impl Serialize for RunOutcome {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl PartialEq<str> for RunOutcome {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for RunOutcome {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One row of `import_runs`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportRun {
    /// The row id.
    pub id: i64,
    /// When the run started (UTC).
    pub started_at: DateTime<Utc>,
    /// When it ended (UTC); `None` for a run that has not finished (or never did: outcome
    /// `running`, `committed` or `interrupted`) and for rows written by other tools.
    pub finished_at: Option<DateTime<Utc>>,
    /// `"validate"`, `"execute"`, `"migrate-execute"`, ...
    pub mode: String,
    /// The OS user who ran it.
    pub operator: String,
    /// Registrar's version.
    pub tool_version: String,
    /// `[{"name", "sha256", "rows"}, ...]`, one object per input file.
    pub files: serde_json::Value,
    /// `{"users": {"inserted", "updated", "skipped", "rejected"}, ...}`.
    pub counts: serde_json::Value,
    /// `success`, `validated`, `validation-failed`, `database-error`, `error`; `refused` for
    /// other writing commands; for migrate also `rolled-back`, `rollback-failed`,
    /// `rollback-refused`, `lock-lost`; [`RunOutcome::Running`] / [`RunOutcome::Committed`]
    /// while a run has not finished, [`RunOutcome::Interrupted`] once the next run found it
    /// unfinished.
    pub outcome: RunOutcome,
    /// The error text of a failed run.
    pub error: Option<String>,
}

impl ImportRun {
    /// True when the run never finished (it is running, or was killed): outcome `running` or
    /// `committed` with no end time.
    pub fn is_unfinished(&self) -> bool {
        self.finished_at.is_none() && self.outcome.is_pending()
    }
}

/// A run to record (the id is assigned by the database).
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun {
    /// When the run started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// The mode (`Mode::as_str`).
    pub mode: String,
    /// The OS user ([`current_operator`]).
    pub operator: String,
    /// The tool version ([`TOOL_VERSION`]).
    pub tool_version: String,
    /// See [`ImportRun::files`].
    pub files: serde_json::Value,
    /// See [`ImportRun::counts`].
    pub counts: serde_json::Value,
    /// See [`ImportRun::outcome`].
    pub outcome: RunOutcome,
    /// See [`ImportRun::error`].
    pub error: Option<String>,
}

/// This crate's version, recorded as `tool_version`.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The OS user running Registrar: `$USER`, else `$LOGNAME`, else `"unknown"`.
pub fn current_operator() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .map(|s| s.trim().to_owned())
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Writes one `import_runs` row (in its own statement, outside any import transaction) and
/// returns its id.
pub async fn record_run(db: &Database, run: &NewRun) -> Result<i64> {
    let files = run.files.to_string();
    let counts = run.counts.to_string();
    let id =
        match db {
            #[cfg(feature = "postgres")]
            Database::Postgres(pool) => sqlx::query_scalar::<_, i64>(
                "INSERT INTO import_runs (started_at, finished_at, mode, operator, tool_version, \
                 files, counts, outcome, error) \
                 VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9) RETURNING id",
            )
            .bind(run.started_at)
            .bind(run.finished_at)
            .bind(&run.mode)
            .bind(&run.operator)
            .bind(&run.tool_version)
            .bind(files)
            .bind(counts)
            .bind(run.outcome.as_str())
            .bind(&run.error)
            .fetch_one(pool)
            .await?,
            #[cfg(feature = "sqlite")]
            Database::Sqlite(pool) => sqlx::query_scalar::<_, i64>(
                "INSERT INTO import_runs (started_at, finished_at, mode, operator, tool_version, \
                 files, counts, outcome, error) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id",
            )
            .bind(sqlite_time(run.started_at))
            .bind(sqlite_time(run.finished_at))
            .bind(&run.mode)
            .bind(&run.operator)
            .bind(&run.tool_version)
            .bind(files)
            .bind(counts)
            .bind(run.outcome.as_str())
            .bind(&run.error)
            .fetch_one(pool)
            .await?,
        };
    Ok(id)
}

/// Records a run as started (outcome [`RunOutcome::Running`], no `finished_at`) and returns its id; the
/// row is committed at once, before the run writes anything.
pub async fn start_run(
    db: &Database,
    started_at: DateTime<Utc>,
    mode: &str,
    files: &serde_json::Value,
) -> Result<i64> {
    let files = files.to_string();
    let operator = current_operator();
    let id = match db {
        #[cfg(feature = "postgres")]
        Database::Postgres(pool) => sqlx::query_scalar::<_, i64>(
            "INSERT INTO import_runs (started_at, mode, operator, tool_version, files, outcome) \
                 VALUES ($1, $2, $3, $4, $5::jsonb, $6) RETURNING id",
        )
        .bind(started_at)
        .bind(mode)
        .bind(&operator)
        .bind(TOOL_VERSION)
        .bind(files)
        .bind(RunOutcome::Running.as_str())
        .fetch_one(pool)
        .await?,
        #[cfg(feature = "sqlite")]
        Database::Sqlite(pool) => sqlx::query_scalar::<_, i64>(
            "INSERT INTO import_runs (started_at, mode, operator, tool_version, files, outcome) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        )
        .bind(sqlite_time(started_at))
        .bind(mode)
        .bind(&operator)
        .bind(TOOL_VERSION)
        .bind(files)
        .bind(RunOutcome::Running.as_str())
        .fetch_one(pool)
        .await?,
    };
    Ok(id)
}

/// Fills in the row of a run recorded with [`start_run`] (end time, files, counts, outcome,
/// error). When that row is gone, writes a new one instead.
pub async fn finish_run(db: &Database, id: i64, run: &NewRun) -> Result<i64> {
    let files = run.files.to_string();
    let counts = run.counts.to_string();
    let updated = match db {
        #[cfg(feature = "postgres")]
        Database::Postgres(pool) => sqlx::query(
            "UPDATE import_runs SET finished_at = $2, files = $3::jsonb, counts = $4::jsonb, \
             outcome = $5, error = $6 WHERE id = $1",
        )
        .bind(id)
        .bind(run.finished_at)
        .bind(files)
        .bind(counts)
        .bind(run.outcome.as_str())
        .bind(&run.error)
        .execute(pool)
        .await?
        .rows_affected(),
        #[cfg(feature = "sqlite")]
        Database::Sqlite(pool) => sqlx::query(
            "UPDATE import_runs SET finished_at = ?2, files = ?3, counts = ?4, outcome = ?5, \
             error = ?6 WHERE id = ?1",
        )
        .bind(id)
        .bind(sqlite_time(run.finished_at))
        .bind(files)
        .bind(counts)
        .bind(run.outcome.as_str())
        .bind(&run.error)
        .execute(pool)
        .await?
        .rows_affected(),
    };
    if updated == 0 {
        return record_run(db, run).await;
    }
    Ok(id)
}

/// Sets the outcome of run `id` on `conn`, inside the caller's transaction (the runbook moves
/// its row to [`RunOutcome::Committed`] in the transaction that writes its data).
pub async fn set_outcome_on(
    conn: &mut crate::Conn<'_>,
    id: i64,
    outcome: &RunOutcome,
) -> Result<()> {
    match conn {
        #[cfg(feature = "postgres")]
        crate::Conn::Pg(c) => {
            sqlx::query("UPDATE import_runs SET outcome = $2 WHERE id = $1")
                .bind(id)
                .bind(outcome.as_str())
                .execute(&mut **c)
                .await?;
        }
        #[cfg(feature = "sqlite")]
        crate::Conn::Sqlite(c) => {
            sqlx::query("UPDATE import_runs SET outcome = ?2 WHERE id = ?1")
                .bind(id)
                .bind(outcome.as_str())
                .execute(&mut **c)
                .await?;
        }
    }
    Ok(())
}

/// The unfinished runs (outcome [`RunOutcome::Running`] or [`RunOutcome::Committed`], no end
/// time), oldest first.
pub async fn unfinished_runs(db: &Database) -> Result<Vec<ImportRun>> {
    let mut runs: Vec<ImportRun> = list_runs(db)
        .await?
        .into_iter()
        .filter(ImportRun::is_unfinished)
        .collect();
    runs.reverse();
    Ok(runs)
}

/// What an unfinished run left behind, in one sentence.
pub fn describe_unfinished(r: &ImportRun) -> String {
    let when = r.started_at.format("%Y-%m-%d %H:%M:%S UTC");
    if r.outcome == RunOutcome::Committed {
        format!(
            "run #{} ({}, started {when}) ended after its data was committed but before it \
             finished (no verified post-migration backup): take a backup now",
            r.id, r.mode
        )
    } else {
        format!(
            "run #{} ({}, started {when}) ended before it finished (killed?); its \
             transaction never committed, so nothing of it was written",
            r.id, r.mode
        )
    }
}

/// Marks every unfinished run [`RunOutcome::Interrupted`] (its `error` says what it left behind) and
/// returns them as they were. Only call this while holding the run lock: then no other run is
/// going on, and an unfinished row belongs to a run that ended without finishing.
pub async fn close_interrupted(db: &Database) -> Result<Vec<ImportRun>> {
    let runs = unfinished_runs(db).await?;
    for r in &runs {
        let error = describe_unfinished(r);
        match db {
            #[cfg(feature = "postgres")]
            Database::Postgres(pool) => {
                sqlx::query(
                    "UPDATE import_runs SET outcome = $2, error = $3 WHERE id = $1 \
                     AND finished_at IS NULL",
                )
                .bind(r.id)
                .bind(RunOutcome::Interrupted.as_str())
                .bind(&error)
                .execute(pool)
                .await?;
            }
            #[cfg(feature = "sqlite")]
            Database::Sqlite(pool) => {
                sqlx::query(
                    "UPDATE import_runs SET outcome = ?2, error = ?3 WHERE id = ?1 \
                     AND finished_at IS NULL",
                )
                .bind(r.id)
                .bind(RunOutcome::Interrupted.as_str())
                .bind(&error)
                .execute(pool)
                .await?;
            }
        }
    }
    Ok(runs)
}

/// A UTC time as SQLite stores it (`2024-05-01T12:00:00.123Z`).
pub(crate) fn sqlite_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn parse_sqlite_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
}

fn json_or_text(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|_| serde_json::Value::String(s.to_owned()))
}

type RunRow = (
    i64,
    String,
    Option<String>,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
);

type PgRunRow = (
    i64,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
);

/// Every recorded run, newest first.
pub async fn list_runs(db: &Database) -> Result<Vec<ImportRun>> {
    Ok(match db {
        #[cfg(feature = "postgres")]
        Database::Postgres(pool) => {
            let rows: Vec<PgRunRow> = sqlx::query_as(
                "SELECT id, started_at, finished_at, mode, operator, tool_version, files::text, \
                 counts::text, outcome, error FROM import_runs ORDER BY started_at DESC, id DESC",
            )
            .fetch_all(pool)
            .await?;
            rows.into_iter()
                .map(|r| ImportRun {
                    id: r.0,
                    started_at: r.1,
                    finished_at: r.2,
                    mode: r.3,
                    operator: r.4,
                    tool_version: r.5,
                    files: json_or_text(&r.6),
                    counts: json_or_text(&r.7),
                    outcome: RunOutcome::from_db_str(&r.8),
                    error: r.9,
                })
                .collect()
        }
        #[cfg(feature = "sqlite")]
        Database::Sqlite(pool) => {
            let rows: Vec<RunRow> = sqlx::query_as(
                "SELECT id, started_at, finished_at, mode, operator, tool_version, files, \
                 counts, outcome, error FROM import_runs ORDER BY started_at DESC, id DESC",
            )
            .fetch_all(pool)
            .await?;
            rows.into_iter()
                .map(|r| ImportRun {
                    id: r.0,
                    started_at: parse_sqlite_time(&r.1).unwrap_or_default(),
                    finished_at: r.2.as_deref().and_then(parse_sqlite_time),
                    mode: r.3,
                    operator: r.4,
                    tool_version: r.5,
                    files: json_or_text(&r.6),
                    counts: json_or_text(&r.7),
                    outcome: RunOutcome::from_db_str(&r.8),
                    error: r.9,
                })
                .collect()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_and_lists_newest_first_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&crate::testing::fresh_sqlite(dir.path()))
            .await
            .unwrap();
        let t0 = Utc::now();
        let mk = |outcome: RunOutcome, secs: i64| NewRun {
            started_at: t0 + chrono::Duration::seconds(secs),
            finished_at: t0 + chrono::Duration::seconds(secs + 1),
            mode: "execute".into(),
            operator: current_operator(),
            tool_version: TOOL_VERSION.into(),
            files: serde_json::json!([{"name": "users.csv", "sha256": "ab", "rows": 3}]),
            counts: serde_json::json!({"users": {"inserted": 3}}),
            outcome,
            error: None,
        };
        let a = record_run(&db, &mk(RunOutcome::Success, 0)).await.unwrap();
        let b = record_run(&db, &mk(RunOutcome::ValidationFailed, 5))
            .await
            .unwrap();
        assert!(b > a);
        let runs = list_runs(&db).await.unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].outcome, "validation-failed");
        assert_eq!(runs[1].files[0]["rows"], 3);
        assert_eq!(runs[1].counts["users"]["inserted"], 3);
        assert_eq!(runs[1].started_at.timestamp_millis(), t0.timestamp_millis());
        assert!(!runs[0].operator.is_empty());
    }

    #[test]
    fn every_outcome_round_trips_through_its_stored_text() {
        for o in RunOutcome::ALL {
            assert_eq!(RunOutcome::from_db_str(o.as_str()), o);
            assert_eq!(o.as_str().parse::<RunOutcome>(), Ok(o.clone()));
            assert_eq!(o.to_string(), o.as_str());
            assert_eq!(
                serde_json::to_value(&o).unwrap(),
                serde_json::Value::String(o.as_str().to_owned())
            );
        }
        let unknown = RunOutcome::from_db_str("made-by-another-tool");
        assert_eq!(unknown, RunOutcome::Other("made-by-another-tool".into()));
        assert_eq!(unknown.as_str(), "made-by-another-tool");
        // The texts tests and operators rely on.
        let texts: Vec<&str> = RunOutcome::ALL.iter().map(RunOutcome::as_str).collect();
        assert_eq!(
            texts,
            [
                "running",
                "committed",
                "interrupted",
                "success",
                "validated",
                "validation-failed",
                "database-error",
                "refused",
                "error",
                "rolled-back",
                "rollback-failed",
                "rollback-refused",
                "lock-lost",
                "planned",
            ]
        );
        assert_eq!(format!("{:<10}|", RunOutcome::Error), "error     |");
    }
}
