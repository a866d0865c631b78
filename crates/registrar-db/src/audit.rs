//! The audit log: one `import_runs` row per import (or migrate) run, failed runs included.
//!
//! A writing run (`import --execute`, `migrate --execute`) records itself as started
//! ([`start_run`], outcome [`RUNNING`], no `finished_at`) and commits that row **before** it
//! writes anything, then fills the row in when it ends ([`finish_run`]), after its
//! transaction was committed or rolled back, so the row survives a rollback. The runbook moves
//! its row to [`COMMITTED`] inside its data transaction, so that the row says whether the data
//! of a run that never finished went in.
//!
//! A run killed before it finished leaves its row `running` (nothing of it was written) or
//! `committed` (its data went in, the steps after the commit did not finish). Such a row is an
//! *unfinished run*: `audit` shows it, `check` fails while one exists (the `unfinished-runs`
//! check), and the next writing run, which holds the run lock and so knows that no other run
//! is going on, marks it [`INTERRUPTED`] ([`close_interrupted`]) and says so before it goes on.

use crate::{Database, Result};
use chrono::{DateTime, Utc};
use serde::Serialize;

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
    /// `"success"`, `"validated"`, `"validation-failed"`, `"database-error"`, `"error"`; for
    /// migrate also `"rolled-back"`, `"rollback-failed"`, `"rollback-refused"`, `"lock-lost"`;
    /// [`RUNNING`] / [`COMMITTED`] while a run has not finished, [`INTERRUPTED`] once the next
    /// run found it unfinished.
    pub outcome: String,
    /// The error text of a failed run.
    pub error: Option<String>,
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
    pub outcome: String,
    /// See [`ImportRun::error`].
    pub error: Option<String>,
}

/// The outcome of a run that started and has not finished (nothing of it was committed yet).
pub const RUNNING: &str = "running";
/// The outcome of a runbook whose data transaction committed and whose later steps (post-
/// migration backup and its verification) have not finished yet.
pub const COMMITTED: &str = "committed";
/// The outcome given to an unfinished run by the next writing run.
pub const INTERRUPTED: &str = "interrupted";

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
            .bind(&run.outcome)
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
            .bind(&run.outcome)
            .bind(&run.error)
            .fetch_one(pool)
            .await?,
        };
    Ok(id)
}

/// Records a run as started (outcome [`RUNNING`], no `finished_at`) and returns its id; the
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
        .bind(RUNNING)
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
        .bind(RUNNING)
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
        .bind(&run.outcome)
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
        .bind(&run.outcome)
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
/// its row to [`COMMITTED`] in the transaction that writes its data).
pub async fn set_outcome_on(conn: &mut crate::Conn<'_>, id: i64, outcome: &str) -> Result<()> {
    match conn {
        #[cfg(feature = "postgres")]
        crate::Conn::Pg(c) => {
            sqlx::query("UPDATE import_runs SET outcome = $2 WHERE id = $1")
                .bind(id)
                .bind(outcome)
                .execute(&mut **c)
                .await?;
        }
        #[cfg(feature = "sqlite")]
        crate::Conn::Sqlite(c) => {
            sqlx::query("UPDATE import_runs SET outcome = ?2 WHERE id = ?1")
                .bind(id)
                .bind(outcome)
                .execute(&mut **c)
                .await?;
        }
    }
    Ok(())
}

/// The unfinished runs (outcome [`RUNNING`] or [`COMMITTED`]), oldest first.
pub async fn unfinished_runs(db: &Database) -> Result<Vec<ImportRun>> {
    let mut runs: Vec<ImportRun> = list_runs(db)
        .await?
        .into_iter()
        .filter(|r| r.finished_at.is_none() && (r.outcome == RUNNING || r.outcome == COMMITTED))
        .collect();
    runs.reverse();
    Ok(runs)
}

/// What an unfinished run left behind, in one sentence.
pub fn describe_unfinished(r: &ImportRun) -> String {
    let when = r.started_at.format("%Y-%m-%d %H:%M:%S UTC");
    if r.outcome == COMMITTED {
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

/// Marks every unfinished run [`INTERRUPTED`] (its `error` says what it left behind) and
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
                .bind(INTERRUPTED)
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
                .bind(INTERRUPTED)
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
                    outcome: r.8,
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
                    outcome: r.8,
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
        let mk = |outcome: &str, secs: i64| NewRun {
            started_at: t0 + chrono::Duration::seconds(secs),
            finished_at: t0 + chrono::Duration::seconds(secs + 1),
            mode: "execute".into(),
            operator: current_operator(),
            tool_version: TOOL_VERSION.into(),
            files: serde_json::json!([{"name": "users.csv", "sha256": "ab", "rows": 3}]),
            counts: serde_json::json!({"users": {"inserted": 3}}),
            outcome: outcome.into(),
            error: None,
        };
        let a = record_run(&db, &mk("success", 0)).await.unwrap();
        let b = record_run(&db, &mk("validation-failed", 5)).await.unwrap();
        assert!(b > a);
        let runs = list_runs(&db).await.unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].outcome, "validation-failed");
        assert_eq!(runs[1].files[0]["rows"], 3);
        assert_eq!(runs[1].counts["users"]["inserted"], 3);
        assert_eq!(runs[1].started_at.timestamp_millis(), t0.timestamp_millis());
        assert!(!runs[0].operator.is_empty());
    }
}
