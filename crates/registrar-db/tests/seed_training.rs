//! `seed-training`: the runbook's 18 accounts and 5 courses, argon2id-hashed, idempotent.

#[path = "backup_common/mod.rs"]
mod common;

use common::*;
use registrar_db::hash::{is_argon2_hash, verify_password};
use registrar_db::seed::seed_training;
use registrar_db::Database;

async fn seeds_once(db: Database) {
    let s = seed_training(&db).await.unwrap();
    assert_eq!(
        (
            s.users_inserted,
            s.users_skipped,
            s.courses_inserted,
            s.courses_skipped
        ),
        (18, 0, 5, 0)
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM users WHERE role = 'admin'").await,
        3
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM users WHERE role = 'teacher'").await,
        5
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM users WHERE role = 'student'").await,
        10
    );
    assert_eq!(
        strings(
            &db,
            "SELECT course_name FROM courses WHERE course_code = 'CS101'"
        )
        .await,
        vec!["Introduction to Computer Science"]
    );
    let hashes = strings(&db, "SELECT password_hash FROM users").await;
    assert!(hashes
        .iter()
        .all(|h| is_argon2_hash(h) && h.starts_with("$argon2id$")));
    let admin1 = strings(
        &db,
        "SELECT password_hash FROM users WHERE email = 'admin1@school.edu'",
    )
    .await;
    assert!(verify_password("AdminPass123!", &admin1[0]));
    let s10 = strings(
        &db,
        "SELECT password_hash FROM users WHERE email = 'student10@school.edu'",
    )
    .await;
    assert!(verify_password("StudentPass123!", &s10[0]));
    // Again: everything is skipped and nothing changes.
    let again = seed_training(&db).await.unwrap();
    assert_eq!(
        (
            again.users_inserted,
            again.users_skipped,
            again.courses_inserted,
            again.courses_skipped
        ),
        (0, 18, 0, 5)
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM users").await, 18);
    assert_eq!(
        strings(
            &db,
            "SELECT password_hash FROM users WHERE email = 'admin1@school.edu'"
        )
        .await,
        admin1
    );
}

#[tokio::test]
async fn sqlite_seeds_once() {
    let dir = tempfile::tempdir().unwrap();
    seeds_once(sqlite(dir.path()).await).await;
}

#[tokio::test]
async fn postgres_seeds_once() {
    let Some(db) = postgres("seeds_once").await else {
        return;
    };
    seeds_once(db).await;
}
