//! Counts and sizes (`registrar stats`).

use crate::Result;
use registrar_db::{inspect, Database};
use registrar_model::Role;
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
    /// Accounts per password hash scheme, legacy hashes left and unusable values.
    pub password_hashes: crate::HashCensus,
}

/// Gathers [`Stats`] (through [`registrar_db::inspect::users_per_role`] and
/// [`registrar_db::inspect::table_sizes`]).
pub async fn stats(db: &Database) -> Result<Stats> {
    let mut roles: BTreeMap<String, i64> = Role::ALL
        .iter()
        .map(|r| (r.as_str().to_string(), 0))
        .collect();
    let mut pooled = db.acquire().await?;
    let mut conn = pooled.conn();
    roles.extend(inspect::users_per_role(&mut conn).await?);
    let sizes = inspect::table_sizes(&mut conn).await?;
    let password_hashes = crate::hash_census_on(&mut conn).await?;
    Ok(Stats {
        engine: db.engine().as_str().to_string(),
        roles,
        tables: sizes
            .tables
            .into_iter()
            .map(|t| TableStats {
                table: t.table.to_string(),
                rows: t.rows,
                size_bytes: t.size_bytes,
            })
            .collect(),
        database_size_bytes: sizes.database_bytes,
        size_method: sizes.method.as_str().to_string(),
        password_hashes,
    })
}
