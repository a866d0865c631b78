//! Account lock-down and login verification, and stats, on both engines.

mod common;

use common::*;
use registrar_checks::{
    force_password_reset, set_password, stats, verify_credentials, Credential, Error, NOT_SHOWN,
};
use registrar_db::hash::verify_password;
use registrar_db::seed::seed_training;
use registrar_model::{Password, Role};

async fn force_reset(eng: Eng) {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = fresh(eng, "force_reset", dir.path()).await else {
        return;
    };
    seed_training(&db).await.unwrap();
    assert_eq!(
        force_password_reset(&db, Some(Role::Admin)).await.unwrap(),
        15
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM users WHERE password_reset_required AND role = 'admin'"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM users WHERE password_reset_required"
        )
        .await,
        15
    );
    assert_eq!(force_password_reset(&db, None).await.unwrap(), 18);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM users WHERE password_reset_required"
        )
        .await,
        18
    );
}

async fn change_password(eng: Eng) {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = fresh(eng, "change_password", dir.path()).await else {
        return;
    };
    seed_training(&db).await.unwrap();
    force_password_reset(&db, None).await.unwrap();
    let email = "admin1@school.edu";
    let hash_of = |db| async move {
        strings(
            db,
            "SELECT password_hash FROM users WHERE email = 'admin1@school.edu'",
        )
        .await
        .remove(0)
    };
    let original = hash_of(&db).await;
    let cur = Password::new("AdminPass123!");
    let secret_wrong = "WrongPass999!";
    // Wrong current password.
    let e = set_password(
        &db,
        email,
        &Password::new(secret_wrong),
        &Password::new("NewSecurePassword456!"),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&e, Error::Refused(m) if m.contains("current password")),
        "{e}"
    );
    assert!(!e.to_string().contains(secret_wrong));
    // Weak new passwords, with messages that never hold them.
    for weak in ["short1!", "qwertyuiop", "Admin1IsMyName!!"] {
        let e = set_password(&db, email, &cur, &Password::new(weak))
            .await
            .unwrap_err();
        assert!(
            matches!(&e, Error::Refused(m) if m.contains("too weak")),
            "{weak}: {e}"
        );
        assert!(!e.to_string().contains(weak));
        assert!(!format!("{e:?}").contains(weak));
    }
    let e = set_password(&db, email, &cur, &cur).await.unwrap_err();
    assert!(matches!(e, Error::Refused(_)));
    let e = set_password(
        &db,
        "nobody@real.org",
        &cur,
        &Password::new("NewSecurePassword456!"),
    )
    .await
    .unwrap_err();
    assert!(matches!(&e, Error::Refused(m) if m.contains("no user")));
    assert_eq!(hash_of(&db).await, original, "refusals change nothing");
    // The runbook's change.
    set_password(
        &db,
        " Admin1@School.edu ",
        &cur,
        &Password::new("NewSecurePassword456!"),
    )
    .await
    .unwrap();
    let h = hash_of(&db).await;
    assert!(h.starts_with("$argon2id$"));
    assert!(verify_password("NewSecurePassword456!", &h));
    assert!(!verify_password("AdminPass123!", &h));
    assert_eq!(count(&db, "SELECT COUNT(*) FROM users WHERE password_reset_required AND email = 'admin1@school.edu'").await, 0);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM users WHERE password_reset_required"
        )
        .await,
        17
    );
}

/// Logins handed over as credentials (the facade's `registrar::verify_logins` reads them from a
/// users file; its own tests are in the root `tests/logins.rs`).
async fn credentials(eng: Eng) {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = fresh(eng, "credentials", dir.path()).await else {
        return;
    };
    seed_training(&db).await.unwrap();
    let given = [
        (2, "admin1@school.edu", "AdminPass123!"),
        (3, " TEACHER2@school.edu", "TeacherPass123!"),
        (4, "student3@school.edu", "NotTheRightOne1!"),
        (5, "ghost@real.org", "GhostPass123!"),
        (6, "SwappedSecret9!", "student4@school.edu"),
        (7, "student5@school.edu", "StudentPass123!"),
    ];
    let creds = || {
        given.iter().map(|(row, email, password)| Credential {
            row: *row,
            email: email.to_string(),
            password: Password::new(*password),
        })
    };
    let r = verify_credentials(&db, creds(), None).await.unwrap();
    assert_eq!((r.candidates, r.checked, r.passed, r.skipped), (6, 6, 3, 0));
    let failed: Vec<_> = r.failed.iter().map(|f| (f.email.as_str(), f.row)).collect();
    assert_eq!(
        failed,
        vec![
            ("student3@school.edu", 4),
            ("ghost@real.org", 5),
            (NOT_SHOWN, 6)
        ]
    );
    let json = serde_json::to_string(&r).unwrap();
    for secret in [
        "AdminPass123!",
        "NotTheRightOne1!",
        "GhostPass123!",
        "SwappedSecret9!",
        "$argon2",
    ] {
        assert!(!json.contains(secret) && !format!("{r:?}").contains(secret));
    }
    let debug = format!("{:?}", creds().collect::<Vec<_>>());
    assert!(!debug.contains("SwappedSecret9!") && !debug.contains("AdminPass123!"));
    // A sample: the first and the last.
    let s = verify_credentials(&db, creds(), Some(2)).await.unwrap();
    assert_eq!((s.candidates, s.checked, s.passed), (6, 2, 2));
    // Nothing given, nothing tried.
    let none = verify_credentials(&db, Vec::new(), None).await.unwrap();
    assert_eq!((none.candidates, none.checked), (0, 0));
    assert!(none.ok());
}

async fn counts_and_sizes(eng: Eng) {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = fresh(eng, "stats", dir.path()).await else {
        return;
    };
    seed_training(&db).await.unwrap();
    clean_data(&db).await;
    let s = stats(&db).await.unwrap();
    assert_eq!(s.roles["admin"], 4);
    assert_eq!(s.roles["teacher"], 6);
    assert_eq!(s.roles["student"], 12);
    assert_eq!(s.roles["viewer"], 0);
    let rows: Vec<_> = s
        .tables
        .iter()
        .map(|t| (t.table.as_str(), t.rows))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("users", 22),
            ("courses", 7),
            ("enrollments", 2),
            ("grades", 1),
            ("attendances", 1),
            ("import_runs", 0)
        ]
    );
    assert!(s.database_size_bytes > 0);
    assert!(
        s.tables
            .iter()
            .all(|t| t.size_bytes.is_some_and(|b| b > 0) || t.rows == 0),
        "{s:?}"
    );
    assert!(s.tables[0].size_bytes.unwrap() > 0);
    let expected_method = match eng {
        Eng::Sqlite => "dbstat",
        Eng::Postgres => "pg_total_relation_size",
    };
    assert_eq!(s.size_method, expected_method);
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["roles"]["student"], 12);
}

macro_rules! both {
    ($($f:ident),*) => {
        mod sqlite_engine { use super::*; $( #[tokio::test] async fn $f() { super::$f(Eng::Sqlite).await; } )* }
        mod postgres_engine { use super::*; $( #[tokio::test] async fn $f() { super::$f(Eng::Postgres).await; } )* }
    };
}

both!(force_reset, change_password, credentials, counts_and_sizes);
