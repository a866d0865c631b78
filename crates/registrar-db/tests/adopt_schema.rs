//! `init` adopts an SMS database that already has its tables: it checks the columns it needs,
//! names the missing ones, adds only its own tables, and never drops or rewrites the SMS's.

use registrar_db::testing::{fresh_postgres, fresh_sqlite};
use registrar_db::{Database, Error};

const SMS_USERS_SQLITE: &str = "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, \
    password_hash TEXT NOT NULL, role TEXT NOT NULL, first_name TEXT NOT NULL, last_name TEXT NOT NULL, \
    is_active INTEGER NOT NULL DEFAULT 1, password_reset_required INTEGER NOT NULL DEFAULT 0, \
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, \
    phone TEXT)";
const SMS_USERS_PG: &str = "CREATE TABLE users (id BIGSERIAL PRIMARY KEY, email TEXT NOT NULL UNIQUE, \
    password_hash TEXT NOT NULL, role TEXT NOT NULL, first_name TEXT NOT NULL, last_name TEXT NOT NULL, \
    is_active BOOLEAN NOT NULL DEFAULT TRUE, password_reset_required BOOLEAN NOT NULL DEFAULT FALSE, \
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(), updated_at TIMESTAMPTZ NOT NULL DEFAULT now(), \
    phone TEXT)";
const SMS_COURSES_MISSING_STATUS: &str =
    "CREATE TABLE courses (id INTEGER PRIMARY KEY, course_code TEXT NOT NULL UNIQUE, \
    course_name TEXT NOT NULL, description TEXT, semester TEXT)";
const INSERT_USER: &str = "INSERT INTO users (email, password_hash, role, first_name, last_name, phone) \
    VALUES ('keep.me@district.example.org', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA', 'admin', 'Keep', 'Me', '555-0100')";

async fn exec(db: &Database, sql: &str) {
    match db {
        Database::Postgres(p) => {
            sqlx::query(sql).execute(p).await.unwrap();
        }
        Database::Sqlite(p) => {
            sqlx::query(sql).execute(p).await.unwrap();
        }
    }
}

async fn adopts_existing_tables_and_keeps_their_rows(url: &str, users_ddl: &str) {
    let db = Database::connect(url).await.unwrap();
    exec(&db, users_ddl).await;
    exec(&db, INSERT_USER).await;
    db.init()
        .await
        .expect("an SMS users table with every needed column is adopted");
    // Its own tables were added, the SMS's column and row are still there.
    assert!(db
        .columns_of("import_runs")
        .await
        .unwrap()
        .contains(&"outcome".to_string()));
    assert!(db
        .columns_of("users")
        .await
        .unwrap()
        .contains(&"phone".to_string()));
    let n: i64 = match &db {
        Database::Postgres(p) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE phone = '555-0100'")
                .fetch_one(p)
                .await
                .unwrap()
        }
        Database::Sqlite(p) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE phone = '555-0100'")
                .fetch_one(p)
                .await
                .unwrap()
        }
    };
    assert_eq!(n, 1, "init never drops or rewrites the SMS's rows");
    db.init().await.expect("init is idempotent");
    db.close().await;
}

async fn names_missing_columns(url: &str) {
    let db = Database::connect(url).await.unwrap();
    exec(&db, SMS_COURSES_MISSING_STATUS).await;
    let err = db.init().await.unwrap_err();
    match &err {
        Error::IncompatibleSchema { table, missing } => {
            assert_eq!(table, "courses");
            assert_eq!(missing, &vec!["credits".to_string(), "status".to_string()]);
        }
        other => panic!("expected IncompatibleSchema, got {other}"),
    }
    assert!(err.to_string().contains("credits, status"), "{err}");
    // Nothing was created beside it.
    assert!(db.columns_of("import_runs").await.unwrap().is_empty());
    db.close().await;
}

#[tokio::test]
async fn sqlite_adopts_existing_sms_tables() {
    let dir = tempfile::tempdir().unwrap();
    adopts_existing_tables_and_keeps_their_rows(&fresh_sqlite(dir.path()), SMS_USERS_SQLITE).await;
}

#[tokio::test]
async fn sqlite_init_names_missing_columns() {
    let dir = tempfile::tempdir().unwrap();
    names_missing_columns(&fresh_sqlite(dir.path())).await;
}

#[tokio::test]
async fn postgres_adopts_existing_sms_tables() {
    let Some(url) = fresh_postgres("postgres_adopts_existing_sms_tables").await else {
        return;
    };
    adopts_existing_tables_and_keeps_their_rows(&url, SMS_USERS_PG).await;
}

#[tokio::test]
async fn postgres_init_names_missing_columns() {
    let Some(url) = fresh_postgres("postgres_init_names_missing_columns").await else {
        return;
    };
    names_missing_columns(&url).await;
}
