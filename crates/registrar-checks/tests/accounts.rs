//! Account lock-down and login verification, and stats, on both engines.

mod common;

use common::*;
use registrar_checks::{force_password_reset, set_password, stats, verify_logins, Error};
use registrar_db::hash::verify_password;
use registrar_db::seed::seed_training;
use registrar_formats::ReaderOptions;
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

async fn logins(eng: Eng) {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = fresh(eng, "logins", dir.path()).await else {
        return;
    };
    seed_training(&db).await.unwrap();
    let file = dir.path().join("users.csv");
    std::fs::write(
        &file,
        "Email,Password,role\n\
         admin1@school.edu,AdminPass123!,admin\n\
         TEACHER2@school.edu,TeacherPass123!,teacher\n\
         student3@school.edu,NotTheRightOne1!,student\n\
         ghost@real.org,GhostPass123!,student\n\
         student4@school.edu,,student\n\
         student5@school.edu,StudentPass123!,student\n",
    )
    .unwrap();
    let r = verify_logins(&db, &file, &ReaderOptions::default(), None)
        .await
        .unwrap();
    assert_eq!((r.candidates, r.checked, r.passed, r.skipped), (5, 5, 3, 1));
    assert!(!r.ok());
    let failed: Vec<_> = r.failed.iter().map(|f| (f.email.as_str(), f.row)).collect();
    assert_eq!(
        failed,
        vec![("student3@school.edu", 4), ("ghost@real.org", 5)]
    );
    let json = serde_json::to_string(&r).unwrap();
    for secret in [
        "AdminPass123!",
        "NotTheRightOne1!",
        "GhostPass123!",
        "$argon2",
    ] {
        assert!(!json.contains(secret) && !format!("{r:?}").contains(secret));
    }
    // A sample: first and last, spread evenly.
    let s = verify_logins(&db, &file, &ReaderOptions::default(), Some(2))
        .await
        .unwrap();
    assert_eq!((s.checked, s.passed), (2, 2));
    // A file without passwords cannot be used.
    let nopw = dir.path().join("nopw.csv");
    std::fs::write(&nopw, "email,role\na@b.org,student\n").unwrap();
    assert!(matches!(
        verify_logins(&db, &nopw, &ReaderOptions::default(), None).await,
        Err(Error::Refused(_))
    ));
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

both!(force_reset, change_password, logins, counts_and_sizes);
