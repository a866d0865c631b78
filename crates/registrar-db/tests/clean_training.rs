//! Clean-up (SPEC §7): exactly the 18 training accounts and 5 sample courses with their rows,
//! nothing else; refusals without `--force`; on both engines.

#[path = "backup_common/mod.rs"]
mod common;

#[macro_use]
mod engines;

use common::*;
use registrar_db::backup::table_checksums;
use registrar_db::clean::{execute, plan, CleanOptions};
use registrar_db::{Database, Error};

async fn totals(db: &Database) -> Vec<i64> {
    let mut v = Vec::new();
    for t in registrar_db::SMS_TABLES {
        v.push(count(db, &format!("SELECT COUNT(*) FROM {t}")).await);
    }
    v
}

async fn deletes_exactly_the_training_data(db: Database) {
    populated(&db).await;
    let before = totals(&db).await;
    assert_eq!(before, vec![22, 7, 6, 4, 3]);
    let p = plan(&db, &CleanOptions::default()).await.unwrap();
    assert!(!p.executed);
    assert_eq!(p.users.len(), 18);
    assert_eq!(
        p.courses,
        vec!["CS101", "CS102", "DB301", "NET202", "WEB201"]
    );
    assert_eq!((p.enrollments, p.grades, p.attendances), (3, 1, 1));
    assert_eq!(p.active_admins_left, 1);
    assert!(p.refusals.is_empty(), "{:?}", p.refusals);
    assert_eq!(totals(&db).await, before, "a plan changes nothing");

    let r = execute(&db, &CleanOptions::default()).await.unwrap();
    assert!(r.executed);
    assert_eq!(r.users, p.users);
    assert_eq!((r.enrollments, r.grades, r.attendances), (3, 1, 1));
    assert_eq!(totals(&db).await, vec![4, 2, 3, 3, 2]);
    let mut left = strings(&db, "SELECT email FROM users ORDER BY email").await;
    left.sort();
    assert_eq!(
        left,
        vec![
            "principal@realschool.org",
            "sam@realschool.org",
            "terry@realschool.org",
            "zoe@realschool.org"
        ]
    );
    assert_eq!(
        strings(&db, "SELECT course_code FROM courses ORDER BY course_code").await,
        vec!["ENG201", "MATH101"]
    );
    // Running it again finds nothing.
    let again = execute(&db, &CleanOptions::default()).await.unwrap();
    assert!(again.users.is_empty() && again.courses.is_empty());
}

async fn refuses_to_delete_real_enrollments(db: Database) {
    registrar_db::seed::seed_training(&db).await.unwrap();
    add_training_rows(&db).await;
    add_real_rows(&db, true).await; // zoe (real) is enrolled in CS101
    let before = table_checksums(&db).await.unwrap();
    let p = plan(&db, &CleanOptions::default()).await.unwrap();
    assert_eq!(p.refusals.len(), 1);
    assert!(p.refusals[0].contains("CS101"), "{:?}", p.refusals);
    match execute(&db, &CleanOptions::default()).await {
        Err(Error::Refused(m)) => assert!(m.contains("CS101") && m.contains("--force"), "{m}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(
        table_checksums(&db).await.unwrap(),
        before,
        "a refusal changes nothing"
    );
    let forced = execute(
        &db,
        &CleanOptions {
            force: true,
            ..CleanOptions::default()
        },
    )
    .await
    .unwrap();
    assert!(forced.executed);
    assert_eq!(forced.enrollments, 4);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM users WHERE email = 'zoe@realschool.org'"
        )
        .await,
        1
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM enrollments").await, 3);
}

async fn refuses_to_leave_no_active_admin(db: Database) {
    registrar_db::seed::seed_training(&db).await.unwrap();
    // An inactive real admin does not count.
    exec(&db, &[&format!("INSERT INTO users (email, password_hash, role, first_name, last_name, is_active) VALUES ('old.admin@realschool.org', '{FAKE_HASH}', 'admin', 'Old', 'Admin', FALSE)")]).await;
    let p = plan(&db, &CleanOptions::default()).await.unwrap();
    assert_eq!(p.active_admins_left, 0);
    assert!(p.refusals.iter().any(|r| r.contains("no active admin")));
    assert!(
        matches!(execute(&db, &CleanOptions::default()).await, Err(Error::Refused(m)) if m.contains("no active admin"))
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM users").await, 19);
    let r = execute(
        &db,
        &CleanOptions {
            force: true,
            ..CleanOptions::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(r.users.len(), 18);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM users").await, 1);
}

async fn custom_pattern_and_codes(db: Database) {
    populated(&db).await;
    let o = CleanOptions {
        pattern: r"^student\d+@school\.edu$".into(),
        course_codes: vec!["web201".into()],
        force: false,
    };
    let r = execute(&db, &o).await.unwrap();
    assert_eq!(r.users.len(), 10);
    assert_eq!(r.courses, vec!["WEB201"]);
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM users WHERE role = 'admin'").await,
        4
    );
    let bad = CleanOptions {
        pattern: "([".into(),
        ..CleanOptions::default()
    };
    assert!(matches!(plan(&db, &bad).await, Err(Error::Usage(_))));
}

both_engines!(
    deletes_exactly_the_training_data,
    refuses_to_delete_real_enrollments,
    refuses_to_leave_no_active_admin,
    custom_pattern_and_codes
);
