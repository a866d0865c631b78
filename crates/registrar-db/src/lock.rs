//! The run lock: one `migrate --execute` (or `import --execute` from the command line) at a
//! time per database, across processes.
//!
//! An import alone is already safe (its one transaction takes an advisory transaction lock on
//! PostgreSQL and SQLite's write lock), but the runbook is several transactions: backup,
//! clean-up, import, checks, backup, and on failure a restore of the first backup. A second
//! runbook running beside it could take its own first backup before the first one's import
//! commits, fail, and then "roll back" to that backup, wiping the other run's work. The run
//! lock makes the second run refuse at once instead.
//!
//! - PostgreSQL: a session advisory lock (`pg_try_advisory_lock`) held on a connection of its
//!   own for as long as the [`RunLock`] lives. The server releases it when that connection
//!   closes, including when the process is killed. That connection sits idle, so it is kept
//!   alive: `idle_session_timeout` and `idle_in_transaction_session_timeout` are set to 0 on it.
//!   It can still be cut (`pg_terminate_backend`, a restarted server, a network failure), and
//!   then the lock is gone while the run goes on: a run calls [`RunLock::ensure_held`] before
//!   every step and before any restore, which asks the server on the lock's own connection
//!   whether this session still holds the lock, and stops with [`Error::LockLost`] when not.
//! - SQLite: an exclusive `flock` on `<database file>.registrar-lock` (created 0600 beside the
//!   database, left in place; it holds nothing), where the database file is its *canonical*
//!   path (symlinks, `.` and `..` resolved): `real.db`, `./real.db`, `/abs/real.db` and a
//!   symlink `current.db -> real.db` all share one lock. The kernel releases it when the
//!   process ends, however it ends. In-memory databases need no lock. (Two hard links to one
//!   file are two paths the lock cannot tell apart; SQLite's own write lock still keeps each
//!   transaction whole.)

use crate::{Database, Error, Result};
use std::path::PathBuf;

/// The advisory lock key of the run lock (distinct from the import's transaction lock key).
pub const PG_RUN_LOCK_KEY: i64 = 0x7265_6769_7374_7275;

const REFUSED: &str = "another registrar run (migrate or import) is using this database; wait \
                       for it to finish, then run again";

/// Holds the database's run lock until dropped.
#[derive(Debug)]
pub struct RunLock {
    _inner: Inner,
}

#[derive(Debug)]
#[allow(dead_code)] // the fields are held for their lifetime, never read
enum Inner {
    /// The connection holding the session advisory lock; closing it releases the lock.
    #[cfg(feature = "postgres")]
    Pg(sqlx::PgConnection),
    /// The open, locked file.
    File(std::fs::File, PathBuf),
    /// Nothing to lock (an in-memory database).
    None,
}

impl Database {
    /// Takes the run lock of this database, or refuses ([`Error::Locked`], whose message says
    /// another run is going on) when another process holds it (PostgreSQL: after retrying for
    /// 5 s, so that a just-killed run's lock is released first).
    pub async fn run_lock(&self) -> Result<RunLock> {
        match self {
            #[cfg(feature = "postgres")]
            Database::Postgres(pool) => {
                let mut conn = pool.acquire().await?.detach();
                // A run killed a moment ago holds the lock until its server process sees the
                // closed connection: retry for a few seconds before refusing.
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
                let locked = loop {
                    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                        .bind(PG_RUN_LOCK_KEY)
                        .fetch_one(&mut conn)
                        .await?;
                    if locked || std::time::Instant::now() >= deadline {
                        break locked;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                };
                if !locked {
                    return Err(Error::Locked(REFUSED.into()));
                }
                // The lock lives as long as this idle session: never let a server-side idle
                // timeout end it (`idle_session_timeout` exists from PostgreSQL 14 on; older
                // servers have no such timeout, so an error here is ignored).
                for setting in [
                    "SET idle_session_timeout = 0",
                    "SET idle_in_transaction_session_timeout = 0",
                ] {
                    let _ = sqlx::query(setting).execute(&mut conn).await;
                }
                Ok(RunLock {
                    _inner: Inner::Pg(conn),
                })
            }
            #[cfg(feature = "sqlite")]
            Database::Sqlite(pool) => {
                let file = pool.connect_options().get_filename().to_path_buf();
                if !file.is_file() {
                    return Ok(RunLock {
                        _inner: Inner::None,
                    });
                }
                let path = sqlite_lock_path(&file)?;
                let f = lock_file(&path)?;
                Ok(RunLock {
                    _inner: Inner::File(f, path),
                })
            }
        }
    }
}

/// The lock file of a SQLite database file: `<canonical path>.registrar-lock`, so that every
/// name of one file (relative, absolute, through a symlink) maps to the same lock.
pub(crate) fn sqlite_lock_path(file: &std::path::Path) -> Result<PathBuf> {
    let canonical = std::fs::canonicalize(file).map_err(|e| {
        Error::io(
            format!("cannot resolve the database file {}", file.display()),
            e,
        )
    })?;
    let mut name = canonical.into_os_string();
    name.push(".registrar-lock");
    Ok(PathBuf::from(name))
}

const LOST: &str = "the run lock was lost (its PostgreSQL connection was closed: terminated \
                    by an administrator, an idle timeout, a server restart or a network failure)";

impl RunLock {
    /// Checks that the lock is still held; [`Error::LockLost`] when it is not.
    ///
    /// PostgreSQL: asks the server, on the lock's own connection, whether this session still
    /// holds the advisory lock (a closed connection or a lock no longer held both mean lost).
    /// SQLite: the `flock` lasts as long as the open file, so it is always held.
    pub async fn ensure_held(&mut self) -> Result<()> {
        match &mut self._inner {
            #[cfg(feature = "postgres")]
            Inner::Pg(conn) => {
                let held: std::result::Result<bool, sqlx::Error> = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' \
                     AND pid = pg_backend_pid() AND granted AND objsubid = 1 \
                     AND classid::bigint = $1 AND objid::bigint = $2)",
                )
                .bind(PG_RUN_LOCK_KEY >> 32)
                .bind(PG_RUN_LOCK_KEY & 0xffff_ffff)
                .fetch_one(&mut *conn)
                .await;
                match held {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(Error::LockLost(format!(
                        "{LOST}; this run stopped so that it cannot undo another run's work"
                    ))),
                    Err(e) => Err(Error::LockLost(format!(
                        "{LOST} ({e}); this run stopped so that it cannot undo another run's work"
                    ))),
                }
            }
            Inner::File(..) | Inner::None => Ok(()),
        }
    }
}

#[cfg(unix)]
fn lock_file(path: &std::path::Path) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::io::AsRawFd;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io(format!("cannot open the lock file {}", path.display()), e))?;
    // SAFETY: flock on a file descriptor we own and keep open for the lock's lifetime.
    let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        let e = std::io::Error::last_os_error();
        return Err(if e.kind() == std::io::ErrorKind::WouldBlock {
            Error::Locked(REFUSED.into())
        } else {
            Error::io(format!("cannot lock {}", path.display()), e)
        });
    }
    Ok(f)
}

#[cfg(not(unix))]
fn lock_file(path: &std::path::Path) -> Result<std::fs::File> {
    // No advisory file lock without Unix: the lock file is still opened, and SQLite's own
    // write lock keeps each transaction whole.
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| Error::io(format!("cannot open the lock file {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_lock_on_the_same_sqlite_file_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let url = crate::testing::fresh_sqlite(dir.path());
        let a = Database::open(&url).await.unwrap();
        let b = Database::open(&url).await.unwrap();
        let held = a.run_lock().await.unwrap();
        match b.run_lock().await {
            Err(Error::Locked(m)) => assert!(m.contains("another registrar run"), "{m}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
        drop(held);
        b.run_lock().await.unwrap();
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn sqlite_locks_by_path_not_by_database_is_fixed_a_symlink_and_a_relative_path_share_the_lock(
    ) {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.db");
        let real_url = format!("sqlite://{}", real.display());
        let a = Database::open(&real_url).await.unwrap();
        let link = dir.path().join("current.db");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let b = Database::open(&format!("sqlite://{}", link.display()))
            .await
            .unwrap();
        // The same file by a path with `.` and `..` in it.
        let dotted = dir.path().join(".").join("sub").join("..").join("real.db");
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let c = Database::open(&format!("sqlite://{}", dotted.display()))
            .await
            .unwrap();
        let held = a.run_lock().await.unwrap();
        for (name, db) in [("symlink", &b), ("dotted path", &c)] {
            match db.run_lock().await {
                Err(Error::Locked(m)) => assert!(m.contains("another registrar run"), "{m}"),
                other => panic!("{name}: expected a refusal, got {other:?}"),
            }
        }
        drop(held);
        let by_link = b.run_lock().await.unwrap();
        assert!(matches!(a.run_lock().await, Err(Error::Locked(_))));
        drop(by_link);
        // One lock file, beside the real file; none beside the symlink.
        assert!(dir.path().join("real.db.registrar-lock").exists());
        assert!(!dir.path().join("current.db.registrar-lock").exists());
    }

    #[tokio::test]
    async fn in_memory_databases_need_no_lock() {
        let db = Database::open("sqlite::memory:").await.unwrap();
        let _a = db.run_lock().await.unwrap();
        let _b = db.run_lock().await.unwrap();
    }

    /// Item 1 of issue 10: a database-wide `idle_session_timeout` must not end the idle lock
    /// session, and a terminated lock session must be noticed.
    #[tokio::test]
    async fn postgres_the_run_lock_survives_an_idle_timeout_and_a_terminated_lock_is_noticed() {
        let Some(url) = crate::testing::fresh_postgres("run_lock_keepalive").await else {
            return;
        };
        let db = Database::open(&url).await.unwrap();
        let Database::Postgres(pool) = &db else {
            unreachable!()
        };
        let name: String = sqlx::query_scalar("SELECT current_database()")
            .fetch_one(pool)
            .await
            .unwrap();
        sqlx::query(&format!(
            "ALTER DATABASE {name} SET idle_session_timeout = '1s'"
        ))
        .execute(pool)
        .await
        .unwrap();
        // A fresh pool, so that its sessions start with the database's setting.
        db.close().await;
        let db = Database::open(&url).await.unwrap();
        let mut lock = db.run_lock().await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        lock.ensure_held()
            .await
            .expect("still held after 2.5 s idle");
        // Cut the lock's session: the next check says so.
        let Database::Postgres(pool) = &db else {
            unreachable!()
        };
        let mut admin = pool.acquire().await.unwrap().detach();
        let cut: i64 = sqlx::query_scalar(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' \
             AND objsubid = 1 AND classid::bigint = $1 AND objid::bigint = $2 \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .bind(PG_RUN_LOCK_KEY >> 32)
        .bind(PG_RUN_LOCK_KEY & 0xffff_ffff)
        .fetch_one(&mut admin)
        .await
        .unwrap();
        assert_eq!(cut, 1);
        match lock.ensure_held().await {
            Err(Error::LockLost(m)) => assert!(m.contains("run lock was lost"), "{m}"),
            other => panic!("expected LockLost, got {other:?}"),
        }
    }
}
