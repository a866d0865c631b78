//! Values read right and secrets kept (issue 10, items 3, 13, 15, 16, 17, 18, 19), through the
//! real `registrar` binary on both engines where a database is involved.

mod common;

use common::*;
use std::path::Path;

/// Runs SQL statements on either engine (as an SMS would have written the rows).
fn sql(url: &str, statements: &[&str]) {
    rt().block_on(async {
        if url.starts_with("sqlite:") {
            let pool = sqlx::sqlite::SqlitePool::connect(url)
                .await
                .expect("connect");
            for s in statements {
                sqlx::query(s).execute(&pool).await.expect("sql");
            }
            pool.close().await;
        } else {
            let pool = sqlx::postgres::PgPool::connect(url).await.expect("connect");
            for s in statements {
                sqlx::query(s).execute(&pool).await.expect("sql");
            }
            pool.close().await;
        }
    })
}

/// The emails stored, sorted.
fn emails(url: &str) -> Vec<String> {
    rt().block_on(async {
        let mut v: Vec<String> = if url.starts_with("sqlite:") {
            let pool = sqlx::sqlite::SqlitePool::connect(url)
                .await
                .expect("connect");
            let v = sqlx::query_scalar("SELECT email FROM users")
                .fetch_all(&pool)
                .await
                .expect("sql");
            pool.close().await;
            v
        } else {
            let pool = sqlx::postgres::PgPool::connect(url).await.expect("connect");
            let v = sqlx::query_scalar("SELECT email FROM users")
                .fetch_all(&pool)
                .await
                .expect("sql");
            pool.close().await;
            v
        };
        v.sort();
        v
    })
}

fn check_json(url: &str) -> (i32, serde_json::Value) {
    let o = run(&["check", "--database", url, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("check output is not JSON ({e}):\n{}", text(&o)));
    (code(&o), v)
}

fn training_left(v: &serde_json::Value) -> i64 {
    v["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == "training-accounts-left")
        .expect("the training check")["count"]
        .as_i64()
        .expect("count")
}

// -- item 3 -----------------------------------------------------------------------------------

fn training_accounts_in_another_case_or_with_spaces_are_found_and_cleaned(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = fresh(engine, dir.path(), "training_case") else {
        return;
    };
    import_ok(&url, &write_base(dir.path()));
    let h = one_hash();
    let odd = [
        "Admin1@School.edu",
        " admin2@school.edu",
        "TEACHER1@SCHOOL.EDU",
        "student7@school.edu ",
    ];
    let inserts: Vec<String> = odd
        .iter()
        .map(|e| format!("INSERT INTO users (email, password_hash, role, first_name, last_name) VALUES ('{e}', '{h}', 'teacher', 'T', 'A')"))
        .collect();
    sql(
        &url,
        &inserts.iter().map(String::as_str).collect::<Vec<_>>(),
    );

    let (c, v) = check_json(&url);
    assert_eq!(training_left(&v), 4, "{v}");
    assert_ne!(
        c, 0,
        "check must fail while training accounts are left: {v}"
    );

    // The runbook's dry run sees them too.
    let o = run(&[
        "migrate",
        "--data",
        write_base(dir.path()).to_str().unwrap(),
        "--database",
        &url,
        "--clean-training-data",
        "--validate",
        "--backup-dir",
        dir.path().join("backups").to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(
        text(&o).contains("4 training user(s)"),
        "migrate --clean-training-data plan:\n{}",
        text(&o)
    );

    let o = run(&["clean", "--execute", "--database", &url, "--format", "json"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let left = emails(&url);
    for e in odd {
        assert!(
            !left.iter().any(|l| l == e),
            "{e:?} survived clean: {left:?}"
        );
    }
    assert_eq!(left.len(), 4, "{left:?}");
    let (c, v) = check_json(&url);
    assert_eq!(training_left(&v), 0, "{v}");
    assert_eq!(c, 0, "{v}");
}

#[test]
fn sqlite_training_accounts_in_another_case_or_with_spaces_are_found_and_cleaned() {
    training_accounts_in_another_case_or_with_spaces_are_found_and_cleaned(Engine::Sqlite);
}

#[test]
fn postgres_training_accounts_in_another_case_or_with_spaces_are_found_and_cleaned() {
    training_accounts_in_another_case_or_with_spaces_are_found_and_cleaned(Engine::Postgres);
}

#[allow(dead_code)]
fn write(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}
