//! Rows out of a live database as canonical lines, each value serialised straight into the
//! output and the table's hasher: what a backup writes, and the checksums of a live database
//! ([`table_checksums`]) to compare with a backup's.

use super::format::*;
use super::TableChecksum;
use crate::{Database, Error, Result};
use chrono::{DateTime, NaiveDate, Utc};
use futures::TryStreamExt;
use serde::Serialize;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
#[cfg(feature = "postgres")]
use sqlx::postgres::PgRow;
#[cfg(feature = "sqlite")]
use sqlx::sqlite::SqliteRow;
#[cfg(feature = "postgres")]
use sqlx::PgConnection;
use sqlx::Row;
#[cfg(feature = "sqlite")]
use sqlx::SqliteConnection;
use std::io::Write;

/// One consistent, read-only snapshot on PostgreSQL.
pub(super) const PG_SNAPSHOT: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

#[cfg(feature = "sqlite")]
/// A row whose text columns hold more than this many bytes is read on its own (SQLite): the
/// rows around it are read in ranges that stop short of it, so that the reader never fetches
/// a huge row ahead while another is being written.
const BIG_ROW: i64 = 1024 * 1024;

/// The context of an I/O error while a row is written ([`super::write::LineWriter::with_context`] names the
/// file instead).
pub(super) const ROW_CONTEXT: &str = "cannot write a row";

/// Writes the bytes of row lines to `out` and hashes them (the table's checksum), counting
/// rows; each value is serialised straight into it, never into a line or a `String` first.
pub(super) struct RowOut<'a> {
    hasher: Sha256,
    out: &'a mut dyn Write,
    count: u64,
}

impl Write for RowOut<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.hasher.update(buf);
        self.out.write_all(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

impl<'a> RowOut<'a> {
    fn new(out: &'a mut dyn Write) -> Self {
        RowOut {
            hasher: Sha256::new(),
            out,
            count: 0,
        }
    }

    /// Writes one value of a row (`first`: no comma before it), in the canonical form.
    fn value<T: Serialize + ?Sized>(&mut self, first: bool, v: &T) -> Result<()> {
        if !first {
            self.raw(b",")?;
        }
        serde_json::to_writer(&mut *self, v).map_err(|e| {
            if let Some(kind) = e.io_error_kind() {
                Error::io(ROW_CONTEXT, std::io::Error::new(kind, e.to_string()))
            } else {
                Error::BadBackup(format!("cannot encode a row: {e}"))
            }
        })
    }

    fn raw(&mut self, b: &[u8]) -> Result<()> {
        self.write_all(b).map_err(|e| Error::io(ROW_CONTEXT, e))
    }

    fn finish(self, spec: &TableSpec) -> TableChecksum {
        TableChecksum {
            table: spec.name.to_string(),
            rows: self.count,
            sha256: hex::encode(self.hasher.finalize()),
        }
    }
}

#[cfg(feature = "postgres")]
/// Writes one PostgreSQL row as a canonical line (`[v, v, ...]\n`), text borrowed from the
/// row.
fn pg_row(row: &PgRow, spec: &TableSpec, out: &mut RowOut<'_>) -> Result<()> {
    out.raw(b"[")?;
    for (i, (_, kind)) in spec.columns.iter().enumerate() {
        let first = i == 0;
        match kind {
            Text => out.value(first, &row.try_get::<Option<&str>, _>(i)?)?,
            Int8 => out.value(first, &row.try_get::<Option<i64>, _>(i)?)?,
            Int4 => out.value(first, &row.try_get::<Option<i32>, _>(i)?)?,
            Bool => out.value(first, &row.try_get::<Option<bool>, _>(i)?)?,
            Float => out.value(first, &opt(row.try_get::<Option<f64>, _>(i)?, float_json))?,
            Date => out.value(
                first,
                &opt(row.try_get::<Option<NaiveDate>, _>(i)?, |d| {
                    Json::String(d.format("%Y-%m-%d").to_string())
                }),
            )?,
            Timestamp => out.value(
                first,
                &opt(row.try_get::<Option<DateTime<Utc>>, _>(i)?, |t| {
                    Json::String(canonical_timestamp(t))
                }),
            )?,
        }
    }
    out.raw(b"]\n")?;
    out.count += 1;
    Ok(())
}

#[cfg(feature = "sqlite")]
/// Writes one SQLite row as a canonical line, text borrowed from the row.
fn sqlite_row(row: &SqliteRow, spec: &TableSpec, out: &mut RowOut<'_>) -> Result<()> {
    use sqlx::ValueRef;
    out.raw(b"[")?;
    for (i, (_, kind)) in spec.columns.iter().enumerate() {
        let first = i == 0;
        if row.try_get_raw(i)?.is_null() {
            out.value(first, &Json::Null)?;
            continue;
        }
        // Unchecked: SQLite's storage classes are loose (a REAL column may hold an integer).
        match kind {
            Text => out.value(first, row.try_get_unchecked::<&str, _>(i)?)?,
            Int8 | Int4 => out.value(first, &row.try_get_unchecked::<i64, _>(i)?)?,
            Bool => out.value(first, &(row.try_get_unchecked::<i64, _>(i)? != 0))?,
            Float => out.value(first, &float_json(row.try_get_unchecked::<f64, _>(i)?))?,
            Date => out.value(
                first,
                &canonical_date_text(row.try_get_unchecked::<String, _>(i)?),
            )?,
            Timestamp => out.value(
                first,
                &canonical_timestamp_text(row.try_get_unchecked::<String, _>(i)?),
            )?,
        }
    }
    out.raw(b"]\n")?;
    out.count += 1;
    Ok(())
}

#[cfg(feature = "postgres")]
/// Whether `spec`'s table exists on PostgreSQL (in the current schema, as
/// [`crate::Database::columns_of`] looks); only a table newer than schema v1 can be missing.
pub(super) async fn pg_has_table(conn: &mut PgConnection, spec: &TableSpec) -> Result<bool> {
    if spec.since_schema <= 1 {
        return Ok(true);
    }
    Ok(sqlx::query_scalar::<_, bool>(
        "SELECT EXISTS (SELECT 1 FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_name = $1)",
    )
    .bind(spec.name)
    .fetch_one(&mut *conn)
    .await?)
}

#[cfg(feature = "sqlite")]
/// Whether `spec`'s table exists on SQLite; only a table newer than schema v1 can be missing.
pub(super) async fn sqlite_has_table(
    conn: &mut SqliteConnection,
    spec: &TableSpec,
) -> Result<bool> {
    if spec.since_schema <= 1 {
        return Ok(true);
    }
    Ok(sqlx::query_scalar::<_, bool>(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
    )
    .bind(spec.name)
    .fetch_one(&mut *conn)
    .await?)
}

#[cfg(feature = "postgres")]
/// Streams one table's rows as canonical lines to `out` (each value serialised straight into
/// it and into the table's hasher); returns its count and checksum. A table that the
/// database's schema predates reads as empty.
pub(super) async fn stream_pg(
    conn: &mut PgConnection,
    spec: &TableSpec,
    out: &mut dyn Write,
) -> Result<TableChecksum> {
    if !pg_has_table(conn, spec).await? {
        return Ok(RowOut::new(out).finish(spec));
    }
    let sql = spec.select_sql();
    let mut rows = sqlx::query(&sql).fetch(&mut *conn);
    let mut w = RowOut::new(out);
    while let Some(row) = rows.try_next().await? {
        pg_row(&row, spec, &mut w)?;
    }
    Ok(w.finish(spec))
}

#[cfg(feature = "sqlite")]
/// The SQLite counterpart of `stream_pg`. sqlx's SQLite worker fetches a row ahead of the reader, so rows
/// whose text is larger than [`BIG_ROW`] are found first (by `octet_length`, which does not
/// read the text) and each is read on its own, the rows between them in id ranges: at most
/// one huge row is in memory at a time. The tables without an `id` (external ids, teacher
/// links) hold short rows only (a `sis_id` is at most 255 characters) and are read in one
/// query. A table that the database's schema predates reads as empty.
pub(super) async fn stream_sqlite(
    conn: &mut SqliteConnection,
    spec: &TableSpec,
    out: &mut dyn Write,
) -> Result<TableChecksum> {
    if !sqlite_has_table(conn, spec).await? {
        return Ok(RowOut::new(out).finish(spec));
    }
    if !spec.keyed_by_id() {
        let sql = spec.select_sql();
        let mut w = RowOut::new(out);
        let mut rows = sqlx::query(&sql).fetch(&mut *conn);
        while let Some(row) = rows.try_next().await? {
            sqlite_row(&row, spec, &mut w)?;
        }
        return Ok(w.finish(spec));
    }
    let size: Vec<String> = spec
        .columns
        .iter()
        .filter(|(_, k)| matches!(k, Text | Date | Timestamp))
        .map(|(c, _)| format!("COALESCE(octet_length({c}), 0)"))
        .collect();
    let big: Vec<i64> = sqlx::query_scalar(&format!(
        "SELECT id FROM {} WHERE {} > {BIG_ROW} ORDER BY id",
        spec.name,
        size.join(" + ")
    ))
    .fetch_all(&mut *conn)
    .await?;
    let mut w = RowOut::new(out);
    if big.is_empty() {
        let sql = spec.select_sql();
        let mut rows = sqlx::query(&sql).fetch(&mut *conn);
        while let Some(row) = rows.try_next().await? {
            sqlite_row(&row, spec, &mut w)?;
        }
        return Ok(w.finish(spec));
    }
    let cols = spec.column_names().join(", ");
    let range = format!(
        "SELECT {cols} FROM {} WHERE id > ?1 AND id < ?2 ORDER BY id",
        spec.name
    );
    let one = format!("SELECT {cols} FROM {} WHERE id = ?1", spec.name);
    let rest = format!("SELECT {cols} FROM {} WHERE id > ?1 ORDER BY id", spec.name);
    let mut after: Option<i64> = None;
    for id in big {
        {
            let q = match after {
                Some(a) => sqlx::query(&range).bind(a).bind(id),
                None => sqlx::query(&range).bind(i64::MIN).bind(id),
            };
            let mut rows = q.fetch(&mut *conn);
            while let Some(row) = rows.try_next().await? {
                sqlite_row(&row, spec, &mut w)?;
            }
        }
        if let Some(row) = sqlx::query(&one)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
        {
            sqlite_row(&row, spec, &mut w)?;
        }
        after = Some(id);
    }
    let mut rows = sqlx::query(&rest)
        .bind(after.unwrap_or(i64::MIN))
        .fetch(&mut *conn);
    while let Some(row) = rows.try_next().await? {
        sqlite_row(&row, spec, &mut w)?;
    }
    Ok(w.finish(spec))
}

/// Computes the row counts and checksums of the tables a backup holds
/// ([`BACKUP_TABLES`](super::BACKUP_TABLES)) in a live database, in the same canonical form
/// as a backup (one read transaction).
pub async fn table_checksums(db: &Database) -> Result<Vec<TableChecksum>> {
    let mut out = Vec::with_capacity(TABLES.len());
    match db {
        #[cfg(feature = "postgres")]
        Database::Postgres(pool) => {
            let mut tx = pool.begin_with(PG_SNAPSHOT).await?;
            for spec in &TABLES {
                out.push(stream_pg(&mut tx, spec, &mut std::io::sink()).await?);
            }
            tx.rollback().await?;
        }
        #[cfg(feature = "sqlite")]
        Database::Sqlite(pool) => {
            let mut tx = pool.begin().await?;
            for spec in &TABLES {
                out.push(stream_sqlite(&mut tx, spec, &mut std::io::sink()).await?);
            }
            tx.rollback().await?;
        }
    }
    Ok(out)
}

/// [`table_checksums`] on `conn`, inside the caller's transaction (the runbook records the
/// state its data transaction is about to commit, so that it can later tell whether anything
/// changed the database since).
pub async fn table_checksums_on(conn: &mut crate::Conn<'_>) -> Result<Vec<TableChecksum>> {
    let mut out = Vec::with_capacity(TABLES.len());
    for spec in &TABLES {
        out.push(match conn {
            #[cfg(feature = "postgres")]
            crate::Conn::Pg(c) => stream_pg(c, spec, &mut std::io::sink()).await?,
            #[cfg(feature = "sqlite")]
            crate::Conn::Sqlite(c) => stream_sqlite(c, spec, &mut std::io::sink()).await?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::format::tests::row_line;

    /// The streaming writer (values serialised straight into the gzip stream and the hasher)
    /// writes exactly the bytes of the old `Vec<Json>` line, so old backups still verify.
    #[test]
    fn streamed_rows_are_the_canonical_lines_byte_for_byte() {
        let text = "a \"quoted\" \\ line\nwith\ttabs, \u{1} and é ✓";
        let mut buf = Vec::new();
        let mut w = RowOut::new(&mut buf);
        w.raw(b"[").unwrap();
        w.value(true, &Some(7i64)).unwrap();
        w.value(false, text).unwrap();
        w.value(false, &None::<&str>).unwrap();
        w.value(false, &Some(-3i32)).unwrap();
        w.value(false, &Some(true)).unwrap();
        w.value(false, &float_json(92.5)).unwrap();
        w.value(false, &float_json(f64::NAN)).unwrap();
        w.value(false, &Some("")).unwrap();
        w.raw(b"]\n").unwrap();
        let expected = row_line(&[
            Json::from(7i64),
            Json::String(text.into()),
            Json::Null,
            Json::from(-3i32),
            Json::Bool(true),
            float_json(92.5),
            Json::Null,
            Json::String(String::new()),
        ])
        .unwrap();
        assert_eq!(String::from_utf8(buf).unwrap(), expected);
    }
}
