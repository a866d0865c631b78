//! Counts and sizes (`registrar stats`).

use crate::Result;
use registrar_db::{Database, SMS_TABLES};
use serde::Serialize;
use std::collections::BTreeMap;

/// One table's row count and size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableStats {
    /// The table.
    pub table: String,
    /// Its rows.
    pub rows: i64,
    /// Bytes on disk including its indexes, when the engine can tell (see [`Stats::size_method`]).
    pub size_bytes: Option<i64>,
}

/// Counts per role and per table, and sizes.
///
/// Sizes: on PostgreSQL `pg_database_size(current_database())` and, per table,
/// `pg_total_relation_size` (table, indexes and TOAST). On SQLite the database size is
/// `page_count * page_size` and a table's size is the sum of the pages of the table and its
/// indexes from the `dbstat` virtual table (compiled into the bundled SQLite); when `dbstat` is
/// not available the per-table sizes are `None`. `size_method` says which was used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// `"postgres"` or `"sqlite"`.
    pub engine: String,
    /// Users per role (every role present, plus the four known roles with 0).
    pub roles: BTreeMap<String, i64>,
    /// The SMS tables and `import_runs`, in that order.
    pub tables: Vec<TableStats>,
    /// The whole database in bytes.
    pub database_size_bytes: i64,
    /// How sizes were measured: `pg_total_relation_size`, `dbstat` or `page_count*page_size`.
    pub size_method: String,
}

/// Gathers [`Stats`].
pub async fn stats(db: &Database) -> Result<Stats> {
    let mut roles: BTreeMap<String, i64> = ["admin", "teacher", "student", "viewer"]
        .iter()
        .map(|r| (r.to_string(), 0))
        .collect();
    let role_sql = "SELECT role, COUNT(*) FROM users GROUP BY role";
    let role_rows: Vec<(String, i64)> = match db {
        Database::Postgres(p) => sqlx::query_as(role_sql).fetch_all(p).await?,
        Database::Sqlite(p) => sqlx::query_as(role_sql).fetch_all(p).await?,
    };
    roles.extend(role_rows);
    let mut tables = Vec::new();
    let names: Vec<&str> = SMS_TABLES.iter().copied().chain(["import_runs"]).collect();
    let (database_size_bytes, size_method) = match db {
        Database::Postgres(p) => {
            for t in &names {
                let (rows, size): (i64, i64) = sqlx::query_as(&format!(
                    "SELECT (SELECT COUNT(*) FROM {t}), pg_total_relation_size('{t}')::bigint"
                ))
                .fetch_one(p)
                .await?;
                tables.push(TableStats {
                    table: t.to_string(),
                    rows,
                    size_bytes: Some(size),
                });
            }
            let size: i64 =
                sqlx::query_scalar("SELECT pg_database_size(current_database())::bigint")
                    .fetch_one(p)
                    .await?;
            (size, "pg_total_relation_size".to_string())
        }
        Database::Sqlite(p) => {
            let mut dbstat = true;
            for t in &names {
                let rows: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {t}"))
                    .fetch_one(p)
                    .await?;
                let size = if dbstat {
                    match sqlx::query_scalar::<_, i64>(
                        "SELECT COALESCE(SUM(d.pgsize), 0) FROM dbstat d \
                         JOIN sqlite_master m ON m.name = d.name WHERE m.tbl_name = ?1",
                    )
                    .bind(t)
                    .fetch_one(p)
                    .await
                    {
                        Ok(n) => Some(n),
                        Err(sqlx::Error::Database(_)) => {
                            dbstat = false; // SQLite built without dbstat
                            None
                        }
                        Err(e) => return Err(e.into()),
                    }
                } else {
                    None
                };
                tables.push(TableStats {
                    table: t.to_string(),
                    rows,
                    size_bytes: size,
                });
            }
            let size: i64 = sqlx::query_scalar(
                "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
            )
            .fetch_one(p)
            .await?;
            let method = if dbstat {
                "dbstat"
            } else {
                "page_count*page_size"
            };
            (size, method.to_string())
        }
    };
    Ok(Stats {
        engine: db.engine().as_str().to_string(),
        roles,
        tables,
        database_size_bytes,
        size_method,
    })
}
