//! Test support: a fresh database per test, on either engine.
//!
//! PostgreSQL tests read the server's URL from `REGISTRAR_TEST_POSTGRES`
//! (e.g. `postgres://postgres@127.0.0.1:5432/postgres`). Without it they print a loud
//! `SKIPPED` line and return; CI always sets it.

use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable holding the PostgreSQL server URL for tests.
pub const POSTGRES_ENV: &str = "REGISTRAR_TEST_POSTGRES";

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_name(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Creates a new, empty PostgreSQL database on the server named by `REGISTRAR_TEST_POSTGRES`
/// and returns its URL; `None` (after printing why, loudly) when the variable is not set.
/// Panics when the variable is set but the server cannot be reached: CI must not skip silently.
pub async fn fresh_postgres(test_name: &str) -> Option<String> {
    let Ok(server) = std::env::var(POSTGRES_ENV) else {
        eprintln!("SKIPPED {test_name}: set {POSTGRES_ENV}=postgres://postgres@127.0.0.1:5432/postgres to run the PostgreSQL tests");
        return None;
    };
    #[cfg(not(feature = "postgres"))]
    {
        eprintln!("SKIPPED {test_name}: this build has no PostgreSQL support (feature `postgres`); {server} is not used");
        None
    }
    #[cfg(feature = "postgres")]
    fresh_postgres_database(&server).await
}

#[cfg(feature = "postgres")]
async fn fresh_postgres_database(server: &str) -> Option<String> {
    let name = unique_name("registrar_test");
    let admin = sqlx::postgres::PgPool::connect(server)
        .await
        .unwrap_or_else(|e| panic!("{POSTGRES_ENV} is set but the server cannot be reached: {e}"));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .expect("create test database");
    admin.close().await;
    let mut url = url::Url::parse(server).expect("REGISTRAR_TEST_POSTGRES is a URL");
    url.set_path(&format!("/{name}"));
    Some(url.to_string())
}

/// A new SQLite database file in `dir`, as a URL.
pub fn fresh_sqlite(dir: &std::path::Path) -> String {
    format!(
        "sqlite://{}",
        dir.join(format!("{}.db", unique_name("t"))).display()
    )
}
