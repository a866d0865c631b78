//! Row provenance: which import run created or last changed each SMS row
//! (`registrar_row_origins`, a table of Registrar's own), so that a sync removes only rows that
//! came from an earlier import and never rows made in the SMS by hand, the adopted database's
//! own rows or the training data.
//!
//! A run [`mark`]s the tables before it writes (PostgreSQL: `LOCK TABLE ... IN SHARE ROW
//! EXCLUSIVE MODE`, so no other writer inserts until the run ends, readers go on; SQLite's write
//! transaction already excludes other writers) and reads each table's highest id; after
//! loading, [`Marks::record`] stores the range of ids inserted since, and the ids updated
//! (consecutive ids merged into one range). A row whose id is in no range is of unknown origin.
//!
//! Known limit: SQLite reuses the highest id after that row is deleted, so a row the SMS inserts
//! by hand right after a sync deleted the table's last row can take an id inside an earlier
//! run's range (PostgreSQL's sequences never reuse ids).

use crate::{Conn, Result, SMS_TABLES};

/// The highest id of each SMS table when a run began (in [`SMS_TABLES`] order).
#[derive(Debug, Clone, Copy, Default)]
pub struct Marks {
    before: [i64; 5],
}

async fn max_ids(conn: &mut Conn<'_>) -> Result<[i64; 5]> {
    let mut out = [0i64; 5];
    for (i, t) in SMS_TABLES.iter().enumerate() {
        let sql = format!("SELECT COALESCE(MAX(id), 0) FROM {t}");
        out[i] = match conn {
            #[cfg(feature = "postgres")]
            Conn::Pg(c) => {
                sqlx::query_scalar::<_, i64>(&sql)
                    .fetch_one(&mut **c)
                    .await?
            }
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(c) => {
                sqlx::query_scalar::<_, i64>(&sql)
                    .fetch_one(&mut **c)
                    .await?
            }
        };
    }
    Ok(out)
}

/// Locks the SMS tables against other writers (PostgreSQL) and reads their highest ids.
pub async fn mark(conn: &mut Conn<'_>) -> Result<Marks> {
    #[cfg(feature = "postgres")]
    if let Conn::Pg(c) = conn {
        sqlx::query(
            "LOCK TABLE users, courses, enrollments, grades, attendances IN SHARE ROW EXCLUSIVE MODE",
        )
        .execute(&mut **c)
        .await?;
    }
    Ok(Marks {
        before: max_ids(conn).await?,
    })
}

/// Merges sorted ids into inclusive ranges of consecutive ids.
fn ranges(ids: &mut [i64]) -> Vec<(i64, i64)> {
    ids.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::new();
    for &id in ids.iter() {
        match out.last_mut() {
            Some((_, last)) if id <= *last + 1 => *last = (*last).max(id),
            _ => out.push((id, id)),
        }
    }
    out
}

impl Marks {
    /// Records the rows inserted since [`mark`] and the `updated` ids (per table, in
    /// [`SMS_TABLES`] order) as coming from `run_id` (`None`: a run without its own audit row).
    pub async fn record(
        &self,
        conn: &mut Conn<'_>,
        run_id: Option<i64>,
        updated: &[Vec<i64>; 5],
    ) -> Result<()> {
        let after = max_ids(conn).await?;
        let mut rows: Vec<(&str, i64, i64)> = Vec::new();
        for (i, t) in SMS_TABLES.iter().enumerate() {
            if after[i] > self.before[i] {
                rows.push((t, self.before[i] + 1, after[i]));
            }
            let mut ids: Vec<i64> = updated[i]
                .iter()
                .copied()
                .filter(|&id| id <= self.before[i])
                .collect();
            for (a, b) in ranges(&mut ids) {
                rows.push((t, a, b));
            }
        }
        const PER: usize = 5000;
        for chunk in rows.chunks(PER) {
            let mut sql = String::from(
                "INSERT INTO registrar_row_origins (table_name, first_id, last_id, run_id) VALUES ",
            );
            for (i, (t, a, b)) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(',');
                }
                let run = run_id.map_or("NULL".to_owned(), |r| r.to_string());
                sql.push_str(&format!("('{t}', {a}, {b}, {run})"));
            }
            // A range already recorded (the same row updated twice) keeps its first run.
            sql.push_str(" ON CONFLICT DO NOTHING");
            match conn {
                #[cfg(feature = "postgres")]
                Conn::Pg(c) => {
                    sqlx::query(&sql).execute(&mut **c).await?;
                }
                #[cfg(feature = "sqlite")]
                Conn::Sqlite(c) => {
                    sqlx::query(&sql).execute(&mut **c).await?;
                }
            }
        }
        Ok(())
    }
}

/// Forgets every recorded origin (after a restore, ids may name other rows than the runs
/// wrote): every row is then of unknown origin, which a sync never removes.
pub async fn clear(conn: &mut Conn<'_>) -> Result<()> {
    let sql = "DELETE FROM registrar_row_origins";
    match conn {
        #[cfg(feature = "postgres")]
        Conn::Pg(c) => {
            sqlx::query(sql).execute(&mut **c).await?;
        }
        #[cfg(feature = "sqlite")]
        Conn::Sqlite(c) => {
            sqlx::query(sql).execute(&mut **c).await?;
        }
    }
    Ok(())
}

/// Rows of unknown origin (no import created or last changed them) in `table`.
pub async fn unknown_origin_rows(conn: &mut Conn<'_>, table: &str) -> Result<i64> {
    if !SMS_TABLES.contains(&table) {
        return Err(crate::Error::Internal(format!(
            "internal error: {table} is not an SMS table"
        )));
    }
    let sql = format!(
        "SELECT COUNT(*) FROM {table} x WHERE NOT EXISTS (SELECT 1 FROM registrar_row_origins o \
         WHERE o.table_name = '{table}' AND x.id BETWEEN o.first_id AND o.last_id)"
    );
    Ok(match conn {
        #[cfg(feature = "postgres")]
        Conn::Pg(c) => {
            sqlx::query_scalar::<_, i64>(&sql)
                .fetch_one(&mut **c)
                .await?
        }
        #[cfg(feature = "sqlite")]
        Conn::Sqlite(c) => {
            sqlx::query_scalar::<_, i64>(&sql)
                .fetch_one(&mut **c)
                .await?
        }
    })
}

#[cfg(test)]
mod tests {
    use super::ranges;

    #[test]
    fn consecutive_ids_merge_into_ranges() {
        assert_eq!(
            ranges(&mut [5, 3, 4, 9, 10, 12, 12]),
            [(3, 5), (9, 10), (12, 12)]
        );
        assert!(ranges(&mut []).is_empty());
    }
}
