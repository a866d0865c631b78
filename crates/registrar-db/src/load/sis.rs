//! External ids (`registrar_user_sis_ids`): recorded for the users a run wrote, in one
//! set-based statement per batch (never one per row).

use crate::{Conn, Result};

/// Rows per SQLite statement (two bind parameters a row, under the 32,766 limit).
#[cfg(feature = "sqlite")]
const SQLITE_ROWS: usize = 16_000;

/// Records `(user id, sis_id)` pairs, replacing a user's earlier sis_id.
pub(super) async fn write_sis_ids(conn: &mut Conn<'_>, pairs: &[(i64, String)]) -> Result<()> {
    match conn {
        #[cfg(feature = "postgres")]
        Conn::Pg(c) => {
            for chunk in pairs.chunks(super::writer::PG_UPDATE_ROWS) {
                let ids: Vec<i64> = chunk.iter().map(|p| p.0).collect();
                let sis: Vec<&str> = chunk.iter().map(|p| p.1.as_str()).collect();
                sqlx::query(
                    "INSERT INTO registrar_user_sis_ids (user_id, sis_id) \
                     SELECT * FROM UNNEST($1::bigint[], $2::text[]) \
                     ON CONFLICT (user_id) DO UPDATE SET sis_id = EXCLUDED.sis_id",
                )
                .bind(ids)
                .bind(sis)
                .execute(&mut **c)
                .await?;
            }
        }
        #[cfg(feature = "sqlite")]
        Conn::Sqlite(c) => {
            for chunk in pairs.chunks(SQLITE_ROWS) {
                let mut sql =
                    String::from("INSERT INTO registrar_user_sis_ids (user_id, sis_id) VALUES ");
                for i in 0..chunk.len() {
                    sql.push_str(if i == 0 { "(?, ?)" } else { ", (?, ?)" });
                }
                sql.push_str(" ON CONFLICT (user_id) DO UPDATE SET sis_id = excluded.sis_id");
                let mut q = sqlx::query(&sql);
                for (id, s) in chunk {
                    q = q.bind(*id).bind(s.as_str());
                }
                q.execute(&mut **c).await?;
            }
        }
    }
    Ok(())
}
