//! Verifying a backup: the file checked, then restored into a scratch database (a temporary
//! SQLite file by default; a given one must hold no rows unless its data may be replaced) and
//! compared table by table.

use super::read::read_header;
use super::restore::restore;
use super::stream::table_checksums;
use super::VerifyReport;
use crate::{Database, Error, Result, SMS_TABLES};
use std::path::Path;

/// Checks a backup file and restores it into a scratch database, then compares counts and
/// checksums with the file's. The scratch database is `scratch_url`, or by default a
/// temporary SQLite file (beside the backup, else in the system's temporary folder), removed
/// afterwards: a file, not memory, so that any backup verifies in bounded memory.
///
/// A `scratch_url` database whose SMS tables hold any row is refused ([`Error::Refused`])
/// before anything is written to it: use [`verify_backup_with`] to replace its data.
/// A file that cannot be read or restored gives `ok: false` with the reason; `Err` is only for
/// failures to reach the scratch database and for that refusal.
pub async fn verify_backup(file: &Path, scratch_url: Option<&str>) -> Result<VerifyReport> {
    verify_backup_with(file, scratch_url, false).await
}

/// [`verify_backup`]; with `replace_scratch_data` a non-empty `scratch_url` database is
/// accepted and its SMS tables' data replaced by the backup's (`verify-backup --yes`).
pub async fn verify_backup_with(
    file: &Path,
    scratch_url: Option<&str>,
    replace_scratch_data: bool,
) -> Result<VerifyReport> {
    let summary = match read_header(file) {
        Ok(s) => s,
        Err(Error::BadBackup(m)) => {
            return Ok(VerifyReport {
                ok: false,
                problems: vec![m],
                summary: None,
            })
        }
        Err(e) => return Err(e),
    };
    // The default scratch: a temporary SQLite file (removed when `_scratch_dir` drops).
    let (_scratch_dir, url) = match scratch_url {
        Some(u) => (None, u.to_owned()),
        None => {
            let beside = file
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let dir = tempfile::Builder::new()
                .prefix(".registrar-verify-")
                .tempdir_in(beside)
                .or_else(|_| {
                    tempfile::Builder::new()
                        .prefix("registrar-verify-")
                        .tempdir()
                })
                .map_err(|e| Error::io("cannot create a scratch folder to verify the backup", e))?;
            let url = format!("sqlite://{}", dir.path().join("scratch.db").display());
            (Some(dir), url)
        }
    };
    let scratch = Database::connect(&url).await?;
    if scratch_url.is_some() && !replace_scratch_data {
        let rows = match sms_rows(&scratch).await {
            Ok(n) => n,
            Err(e) => {
                scratch.close().await;
                return Err(e);
            }
        };
        if rows > 0 {
            scratch.close().await;
            return Err(Error::Refused(format!(
                "the scratch database {} is not empty ({rows} row(s) in its SMS tables) and \
                 verify-backup would replace them; use an empty database, or give --yes to \
                 replace its data",
                crate::mask_url(&url)
            )));
        }
    }
    if let Err(e) = scratch.init().await {
        scratch.close().await;
        return Err(e);
    }
    let mut problems = Vec::new();
    match restore(&scratch, file).await {
        Ok(_) => {
            let live = table_checksums(&scratch).await?;
            for (e, a) in summary.tables.iter().zip(&live) {
                if e.rows != a.rows {
                    problems.push(format!(
                        "table {}: the file has {} rows, the restored copy {}",
                        e.table, e.rows, a.rows
                    ));
                } else if e.sha256 != a.sha256 {
                    problems.push(format!(
                        "table {}: the restored copy's checksum differs from the file's",
                        e.table
                    ));
                }
            }
        }
        Err(Error::BadBackup(m)) => problems.push(m),
        Err(e) => problems.push(format!("restoring into the scratch database failed: {e}")),
    }
    scratch.close().await;
    Ok(VerifyReport {
        ok: problems.is_empty(),
        problems,
        summary: Some(summary),
    })
}

/// The number of rows in the SMS tables that exist in `db`.
async fn sms_rows(db: &Database) -> Result<i64> {
    let mut total = 0i64;
    for t in SMS_TABLES {
        if db.columns_of(t).await?.is_empty() {
            continue;
        }
        let sql = format!("SELECT COUNT(*) FROM {t}");
        total += match db {
            #[cfg(feature = "postgres")]
            Database::Postgres(pool) => sqlx::query_scalar::<_, i64>(&sql).fetch_one(pool).await?,
            #[cfg(feature = "sqlite")]
            Database::Sqlite(pool) => sqlx::query_scalar::<_, i64>(&sql).fetch_one(pool).await?,
        };
    }
    Ok(total)
}
