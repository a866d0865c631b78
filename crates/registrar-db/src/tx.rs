//! A write transaction that the caller owns across several steps.
//!
//! `registrar migrate` makes the database side of its runbook one unit: clean-up, import,
//! integrity checks and the forced password reset run in ONE transaction ([`WriteTx`]) that
//! commits together, so a run killed (or failing) anywhere before the commit leaves the database
//! exactly as before. `import --execute` uses the same transaction for its single step.
//!
//! - PostgreSQL: `BEGIN`, then the import's advisory transaction lock
//!   ([`crate::load::PG_LOCK_KEY`], waited for up to 20 s), so two writing runs never
//!   interleave.
//! - SQLite: `BEGIN IMMEDIATE` (the write lock up front) on one pooled connection, with the bulk
//!   settings `PRAGMA synchronous = NORMAL` and a 16 MiB page cache for the transaction's
//!   lifetime; both are restored when it ends. A `WriteTx` dropped without
//!   [`WriteTx::commit`] / [`WriteTx::rollback`] closes that connection, which rolls it back.

use crate::{Database, Error, Result};
#[cfg(feature = "sqlite")]
use sqlx::pool::PoolConnection;
#[cfg(feature = "postgres")]
use sqlx::PgConnection;
#[cfg(feature = "sqlite")]
use sqlx::{Sqlite, SqliteConnection};
use std::time::Duration;
#[cfg(feature = "postgres")]
use std::time::Instant;

/// A connection of either engine, usually inside a transaction the caller owns.
pub enum Conn<'c> {
    /// PostgreSQL.
    #[cfg(feature = "postgres")]
    Pg(&'c mut PgConnection),
    /// SQLite.
    #[cfg(feature = "sqlite")]
    Sqlite(&'c mut SqliteConnection),
}

impl Conn<'_> {
    /// The same connection, borrowed again.
    pub fn reborrow(&mut self) -> Conn<'_> {
        match self {
            #[cfg(feature = "postgres")]
            Conn::Pg(c) => Conn::Pg(c),
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(c) => Conn::Sqlite(c),
        }
    }
}

/// A connection taken from a [`Database`]'s pool ([`Database::acquire`]); it goes back to the
/// pool when dropped. [`PooledConn::conn`] lends it as a [`Conn`], so one function can run on
/// the pool and inside a caller's transaction alike.
pub struct PooledConn {
    inner: PooledInner,
}

enum PooledInner {
    #[cfg(feature = "postgres")]
    Pg(sqlx::pool::PoolConnection<sqlx::Postgres>),
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::pool::PoolConnection<sqlx::Sqlite>),
}

impl std::fmt::Debug for PooledConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.inner {
            #[cfg(feature = "postgres")]
            PooledInner::Pg(_) => "PooledConn(postgres)",
            #[cfg(feature = "sqlite")]
            PooledInner::Sqlite(_) => "PooledConn(sqlite)",
        })
    }
}

impl PooledConn {
    /// The connection, lent as a [`Conn`].
    pub fn conn(&mut self) -> Conn<'_> {
        match &mut self.inner {
            #[cfg(feature = "postgres")]
            PooledInner::Pg(c) => Conn::Pg(c),
            #[cfg(feature = "sqlite")]
            PooledInner::Sqlite(c) => Conn::Sqlite(c),
        }
    }
}

impl Database {
    /// Takes one connection from the pool (outside any transaction).
    pub async fn acquire(&self) -> Result<PooledConn> {
        Ok(PooledConn {
            inner: match self {
                #[cfg(feature = "postgres")]
                Database::Postgres(p) => PooledInner::Pg(p.acquire().await?),
                #[cfg(feature = "sqlite")]
                Database::Sqlite(p) => PooledInner::Sqlite(p.acquire().await?),
            },
        })
    }
}

/// How long a write transaction waits for another run's advisory lock before refusing.
const LOCK_WAIT: Duration = Duration::from_secs(20);

/// An open write transaction (see the module docs).
pub struct WriteTx {
    inner: Inner,
}

enum Inner {
    #[cfg(feature = "postgres")]
    Pg(sqlx::Transaction<'static, sqlx::Postgres>),
    #[cfg(feature = "sqlite")]
    Sqlite {
        /// `None` once the transaction ended.
        conn: Option<PoolConnection<Sqlite>>,
        sync: i64,
        cache: i64,
    },
    /// The transaction ended (committed or rolled back).
    Ended,
}

impl std::fmt::Debug for WriteTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.inner {
            #[cfg(feature = "postgres")]
            Inner::Pg(_) => "WriteTx(postgres)",
            #[cfg(feature = "sqlite")]
            Inner::Sqlite { .. } => "WriteTx(sqlite)",
            Inner::Ended => "WriteTx(ended)",
        })
    }
}

pub(crate) fn is_sqlite_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => matches!(d.code().as_deref(), Some("5") | Some("6")),
        _ => false,
    }
}

impl Database {
    /// Opens a write transaction: PostgreSQL `BEGIN` plus the import's advisory transaction
    /// lock (waiting up to 20 s for a just-killed run's lock, then [`Error::Locked`]); SQLite
    /// `BEGIN IMMEDIATE` with the bulk settings ([`Error::Locked`] when another program holds
    /// the write lock past the busy timeout).
    pub async fn begin_write(&self) -> Result<WriteTx> {
        match self {
            #[cfg(feature = "postgres")]
            Database::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                // A run killed a moment ago may still hold the lock until its server process
                // notices the dead client (`client_connection_check_interval`, a few seconds).
                let deadline = Instant::now() + LOCK_WAIT;
                let locked = loop {
                    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
                        .bind(crate::load::PG_LOCK_KEY)
                        .fetch_one(&mut *tx)
                        .await?;
                    if locked || Instant::now() >= deadline {
                        break locked;
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                };
                if !locked {
                    let _ = tx.rollback().await;
                    return Err(Error::Locked(
                        "another registrar run holds the lock on this database; wait for it to \
                         finish, then run again"
                            .into(),
                    ));
                }
                Ok(WriteTx {
                    inner: Inner::Pg(tx),
                })
            }
            #[cfg(feature = "sqlite")]
            Database::Sqlite(pool) => {
                let mut conn = pool.acquire().await?;
                let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
                    .fetch_one(&mut *conn)
                    .await?;
                let cache: i64 = sqlx::query_scalar("PRAGMA cache_size")
                    .fetch_one(&mut *conn)
                    .await?;
                sqlx::query("PRAGMA synchronous = NORMAL")
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("PRAGMA cache_size = -16384")
                    .execute(&mut *conn)
                    .await?;
                if let Err(e) = sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await {
                    restore_pragmas(&mut conn, sync, cache).await;
                    return Err(if is_sqlite_busy(&e) {
                        Error::Locked(
                            "another program (or registrar run) is writing to this SQLite \
                             database; wait for it to finish, then run again"
                                .into(),
                        )
                    } else {
                        e.into()
                    });
                }
                Ok(WriteTx {
                    inner: Inner::Sqlite {
                        conn: Some(conn),
                        sync,
                        cache,
                    },
                })
            }
        }
    }
}

#[cfg(feature = "sqlite")]
async fn restore_pragmas(conn: &mut SqliteConnection, sync: i64, cache: i64) {
    let _ = sqlx::query(&format!("PRAGMA synchronous = {sync}"))
        .execute(&mut *conn)
        .await;
    let _ = sqlx::query(&format!("PRAGMA cache_size = {cache}"))
        .execute(&mut *conn)
        .await;
}

fn ended() -> Error {
    Error::Internal("internal error: the transaction already ended".into())
}

impl WriteTx {
    /// Takes the PostgreSQL transaction out, leaving an ended one behind.
    #[cfg(feature = "postgres")]
    fn take_pg(&mut self) -> Option<sqlx::Transaction<'static, sqlx::Postgres>> {
        match std::mem::replace(&mut self.inner, Inner::Ended) {
            #[cfg(feature = "postgres")]
            Inner::Pg(tx) => Some(tx),
            other => {
                self.inner = other;
                None
            }
        }
    }

    /// The transaction's connection.
    pub fn conn(&mut self) -> Result<Conn<'_>> {
        Ok(match &mut self.inner {
            #[cfg(feature = "postgres")]
            Inner::Pg(tx) => Conn::Pg(&mut *tx),
            #[cfg(feature = "sqlite")]
            Inner::Sqlite { conn, .. } => Conn::Sqlite(conn.as_deref_mut().ok_or_else(ended)?),
            Inner::Ended => return Err(ended()),
        })
    }

    /// Commits.
    pub async fn commit(mut self) -> Result<()> {
        match &mut self.inner {
            #[cfg(feature = "postgres")]
            Inner::Pg(_) => {
                self.take_pg().ok_or_else(ended)?.commit().await?;
                Ok(())
            }
            #[cfg(feature = "sqlite")]
            Inner::Sqlite { conn, sync, cache } => {
                let mut c = conn.take().ok_or_else(ended)?;
                let r = sqlx::query("COMMIT").execute(&mut *c).await;
                if r.is_err() {
                    let _ = sqlx::query("ROLLBACK").execute(&mut *c).await;
                }
                restore_pragmas(&mut c, *sync, *cache).await;
                r?;
                Ok(())
            }
            Inner::Ended => Err(ended()),
        }
    }

    /// Rolls back.
    pub async fn rollback(mut self) -> Result<()> {
        match &mut self.inner {
            #[cfg(feature = "postgres")]
            Inner::Pg(_) => {
                self.take_pg().ok_or_else(ended)?.rollback().await?;
                Ok(())
            }
            #[cfg(feature = "sqlite")]
            Inner::Sqlite { conn, sync, cache } => {
                let mut c = conn.take().ok_or_else(ended)?;
                let r = sqlx::query("ROLLBACK").execute(&mut *c).await;
                restore_pragmas(&mut c, *sync, *cache).await;
                if r.is_err() {
                    // Never hand a connection in an unknown state back to the pool.
                    drop(c.detach());
                }
                r?;
                Ok(())
            }
            Inner::Ended => Err(ended()),
        }
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        #[cfg(feature = "sqlite")]
        if let Inner::Sqlite { conn, .. } = &mut self.inner {
            if let Some(c) = conn.take() {
                // Closing the connection rolls the open transaction back.
                drop(c.detach());
            }
        }
        // PostgreSQL: sqlx's `Transaction` rolls back when dropped.
    }
}
