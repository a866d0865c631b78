//! Restoring a backup: the whole file checked first, then every table a backup holds (the
//! SMS tables, external ids and teacher links) replaced in one
//! transaction, rows streamed from the file in bounded batches, checksums compared before the
//! commit.

use super::format::*;
use super::read::{read_header, scan, RowValues};
use super::stream::*;
use super::{BackupSummary, TableChecksum};
use crate::{Database, Error, Result, SMS_TABLES};
use chrono::NaiveDate;
use serde_json::Value as Json;
#[cfg(feature = "postgres")]
use sqlx::Postgres;
use sqlx::QueryBuilder;
#[cfg(feature = "sqlite")]
use sqlx::Sqlite;
use std::path::Path;

/// Rows per multi-row INSERT during a restore (at most).
const INSERT_BATCH: usize = 500;
/// Bytes of row lines per multi-row INSERT during a restore (at most, but at least one row):
/// batches are bounded by bytes as well as rows, so that rows holding huge text restore in
/// bounded memory.
const BATCH_BYTES: usize = 4 * 1024 * 1024;

fn bad_value(table: &str, col: &str) -> Error {
    Error::BadBackup(format!(
        "a value of {table}.{col} cannot be stored in this database"
    ))
}

fn json_i64(v: &Json) -> Option<i64> {
    v.as_i64()
}

fn json_str(v: &Json) -> Option<&str> {
    v.as_str()
}

#[cfg(feature = "postgres")]
fn push_pg_values(
    qb: &mut QueryBuilder<'_, Postgres>,
    spec: &TableSpec,
    rows: Vec<RowValues>,
) -> Result<()> {
    let mut err = None;
    qb.push_values(rows, |mut b, row| {
        for ((col, kind), v) in spec.columns.iter().zip(row) {
            match kind {
                Int8 => {
                    b.push_bind(json_i64(&v));
                }
                Int4 => {
                    let x = json_i64(&v).map(i32::try_from).transpose();
                    match x {
                        Ok(x) => {
                            b.push_bind(x);
                        }
                        Err(_) => {
                            err = Some(bad_value(spec.name, col));
                            b.push_bind(None::<i32>);
                        }
                    }
                }
                Text => {
                    // Moved, not copied: a huge text is held once.
                    b.push_bind(match v {
                        Json::String(s) => Some(s),
                        _ => None,
                    });
                }
                Bool => {
                    b.push_bind(v.as_bool());
                }
                Float => {
                    b.push_bind(v.as_f64());
                }
                Date => {
                    let d =
                        json_str(&v).and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok());
                    if d.is_none() && !v.is_null() {
                        err = Some(bad_value(spec.name, col));
                    }
                    b.push_bind(d);
                }
                Timestamp => {
                    let t = json_str(&v).and_then(parse_timestamp);
                    if t.is_none() && !v.is_null() {
                        err = Some(bad_value(spec.name, col));
                    }
                    b.push_bind(t);
                }
            }
        }
    });
    match err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(feature = "sqlite")]
fn push_sqlite_values(qb: &mut QueryBuilder<'_, Sqlite>, spec: &TableSpec, rows: Vec<RowValues>) {
    qb.push_values(rows, |mut b, row| {
        for ((_, kind), v) in spec.columns.iter().zip(row) {
            match kind {
                Int8 | Int4 => {
                    b.push_bind(json_i64(&v));
                }
                Text | Date | Timestamp => {
                    // Moved, not copied: a huge text is held once.
                    b.push_bind(match v {
                        Json::String(s) => Some(s),
                        _ => None,
                    });
                }
                Bool => {
                    b.push_bind(v.as_bool().map(i64::from));
                }
                Float => {
                    b.push_bind(v.as_f64());
                }
            }
        }
    });
}

fn insert_prefix(spec: &TableSpec) -> String {
    format!(
        "INSERT INTO {} ({}) ",
        spec.name,
        spec.column_names().join(", ")
    )
}

/// Replaces the data of every table a backup holds ([`BACKUP_TABLES`](super::BACKUP_TABLES))
/// in `db` with the backup in `from`.
///
/// The whole file is checked first ([`read_header`]); a damaged, truncated, inconsistent or
/// newer-schema file is refused with [`Error::BadBackup`] before anything is written. Then, in
/// one transaction: every table's rows are deleted (children first: teacher links, external
/// ids, then the SMS tables from attendances to users), the backup's rows are inserted with
/// their ids (parents first), PostgreSQL sequences are moved past the largest id, and the
/// tables' checksums are recomputed and compared with the file's before the commit. A backup
/// of format version 1 holds no external ids or teacher links: those tables are left empty
/// (checked before the commit as well).
pub async fn restore(db: &Database, from: &Path) -> Result<BackupSummary> {
    let summary = read_header(from)?;
    let target_version = db.schema_version().await?;
    if summary.schema_version > target_version {
        return Err(Error::BadBackup(format!(
            "the backup is from schema version {} but the database is at version {target_version}; run `registrar init` first",
            summary.schema_version
        )));
    }
    // The rows are read again from the file (streaming), in batches, and inserted.
    // At most one batch waits in the channel; after a batch of BATCH_BYTES or more the reader
    // waits until it was inserted before it reads on, so huge rows never pile up in memory.
    let (tx_rows, mut rx_rows) = tokio::sync::mpsc::channel::<(usize, Vec<RowValues>)>(1);
    let (ack_tx, mut ack_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let path = from.to_path_buf();
    let reader = tokio::task::spawn_blocking(move || -> Result<BackupSummary> {
        let mut batch: Vec<RowValues> = Vec::new();
        let mut bytes = 0usize;
        let mut current = 0usize;
        let mut sent = 0u64;
        let mut acked = 0u64;
        let mut send = |ti: usize, b: Vec<RowValues>, big: bool| -> Result<()> {
            tx_rows
                .blocking_send((ti, b))
                .map_err(|_| Error::BadBackup("the restore was interrupted".into()))?;
            sent += 1;
            if big {
                while acked < sent {
                    ack_rx
                        .blocking_recv()
                        .ok_or_else(|| Error::BadBackup("the restore was interrupted".into()))?;
                    acked += 1;
                }
            }
            Ok(())
        };
        let s = scan(&path, |ti, row, len| {
            if ti != current && !batch.is_empty() {
                send(current, std::mem::take(&mut batch), bytes >= BATCH_BYTES)?;
                bytes = 0;
            }
            current = ti;
            batch.push(row);
            bytes += len;
            if batch.len() >= INSERT_BATCH || bytes >= BATCH_BYTES {
                send(current, std::mem::take(&mut batch), bytes >= BATCH_BYTES)?;
                bytes = 0;
            }
            Ok(())
        })?;
        if !batch.is_empty() {
            send(current, batch, false)?;
        }
        Ok(s)
    });

    let result = match db {
        #[cfg(feature = "postgres")]
        Database::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            // Children first: the teacher links and external ids (which would cascade
            // anyway), then the SMS tables.
            for spec in TABLES.iter().rev() {
                if pg_has_table(&mut tx, spec).await? {
                    sqlx::query(&format!("DELETE FROM {}", spec.name))
                        .execute(&mut *tx)
                        .await?;
                }
            }
            // The restored ids may name other rows than the recorded runs wrote: every row is
            // of unknown origin afterwards (which a sync never removes).
            sqlx::query("DELETE FROM registrar_row_origins")
                .execute(&mut *tx)
                .await?;
            while let Some((ti, rows)) = rx_rows.recv().await {
                let spec = &TABLES[ti];
                let mut qb = QueryBuilder::<Postgres>::new(insert_prefix(spec));
                push_pg_values(&mut qb, spec, rows)?;
                qb.build().execute(&mut *tx).await?;
                drop(qb);
                let _ = ack_tx.send(());
            }
            finish_reader(reader, &summary).await?;
            for t in SMS_TABLES {
                sqlx::query(&format!(
                    "SELECT setval(pg_get_serial_sequence('{t}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {t}"
                ))
                .execute(&mut *tx)
                .await?;
            }
            let mut after = Vec::new();
            for spec in &TABLES {
                after.push(stream_pg(&mut tx, spec, &mut std::io::sink()).await?);
            }
            compare(&summary.tables, &after)?;
            tx.commit().await?;
            Ok(summary.clone())
        }
        #[cfg(feature = "sqlite")]
        Database::Sqlite(pool) => {
            // IMMEDIATE: take the write lock now (waiting up to the busy timeout) rather than
            // fail to upgrade a read transaction later.
            let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
            // Children first: the teacher links and external ids (which would cascade
            // anyway), then the SMS tables.
            for spec in TABLES.iter().rev() {
                if sqlite_has_table(&mut tx, spec).await? {
                    sqlx::query(&format!("DELETE FROM {}", spec.name))
                        .execute(&mut *tx)
                        .await?;
                }
            }
            // The restored ids may name other rows than the recorded runs wrote: every row is
            // of unknown origin afterwards (which a sync never removes).
            sqlx::query("DELETE FROM registrar_row_origins")
                .execute(&mut *tx)
                .await?;
            while let Some((ti, rows)) = rx_rows.recv().await {
                let spec = &TABLES[ti];
                let mut qb = QueryBuilder::<Sqlite>::new(insert_prefix(spec));
                push_sqlite_values(&mut qb, spec, rows);
                qb.build().execute(&mut *tx).await?;
                drop(qb);
                let _ = ack_tx.send(());
            }
            finish_reader(reader, &summary).await?;
            let mut after = Vec::new();
            for spec in &TABLES {
                after.push(stream_sqlite(&mut tx, spec, &mut std::io::sink()).await?);
            }
            compare(&summary.tables, &after)?;
            tx.commit().await?;
            Ok(summary.clone())
        }
    };
    result
}

async fn finish_reader(
    reader: tokio::task::JoinHandle<Result<BackupSummary>>,
    first: &BackupSummary,
) -> Result<()> {
    let second = reader
        .await
        .map_err(|e| Error::BadBackup(format!("reading the backup failed: {e}")))??;
    if second.tables != first.tables {
        return Err(Error::BadBackup(
            "the file changed while it was being restored".into(),
        ));
    }
    Ok(())
}

/// Compares the restored tables (`actual`, every table of `TABLES`) with the file's
/// (`expected`, a prefix for an older format); a table the file does not hold must be empty.
fn compare(expected: &[TableChecksum], actual: &[TableChecksum]) -> Result<()> {
    for a in actual.iter().skip(expected.len()) {
        if a.rows != 0 {
            return Err(Error::BadBackup(format!(
                "after restoring, table {} (which the backup does not hold) has {} rows instead of none; nothing was changed",
                a.table, a.rows
            )));
        }
    }
    for (e, a) in expected.iter().zip(actual) {
        if e.table != a.table {
            return Err(Error::BadBackup(format!(
                "the backup's table {} is not where table {} belongs",
                e.table, a.table
            )));
        }
        if e.rows != a.rows {
            return Err(Error::BadBackup(format!(
                "after restoring, table {} has {} rows instead of {}; nothing was changed",
                e.table, a.rows, e.rows
            )));
        }
        if e.sha256 != a.sha256 {
            return Err(Error::BadBackup(format!(
                "after restoring, the checksum of table {} differs from the backup's; nothing was changed",
                e.table
            )));
        }
    }
    Ok(())
}
