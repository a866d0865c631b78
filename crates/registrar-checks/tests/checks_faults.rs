//! Each integrity check passes on a clean database and fires on one planted with its fault,
//! on both engines.

mod common;

use common::*;
use registrar_checks::{run_checks, CheckResult, Expectations};
use registrar_db::Database;

async fn results(db: &Database) -> Vec<CheckResult> {
    run_checks(db, &Expectations::default()).await.unwrap()
}

fn get<'a>(r: &'a [CheckResult], name: &str) -> &'a CheckResult {
    r.iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name}"))
}

/// Plants a fault and asserts that `name` fails with `count`, and that the checks in
/// `also` may fail too while every other check passes.
async fn fires(
    eng: Eng,
    test: &str,
    name: &str,
    count: i64,
    also: &[&str],
    plant: &[String],
    unchecked: bool,
) {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = fresh(eng, test, dir.path()).await else {
        return;
    };
    clean_data(&db).await;
    let before = results(&db).await;
    assert!(
        before.iter().all(|c| c.passed),
        "clean database: {before:?}"
    );
    let refs: Vec<&str> = plant.iter().map(String::as_str).collect();
    if unchecked {
        exec_unchecked(&db, &refs).await;
    } else {
        exec(&db, &refs).await;
    }
    let after = results(&db).await;
    let c = get(&after, name);
    assert!(!c.passed, "{name} should fail: {c:?}");
    assert_eq!(c.count, count, "{c:?}");
    assert!(c.detail.contains(&count.to_string()), "{c:?}");
    for other in &after {
        if other.name != name && !also.contains(&other.name.as_str()) {
            assert!(other.passed, "only {name} should fail, but {other:?}");
        }
    }
}

macro_rules! fault_tests {
    ($($test:ident: $name:literal, $count:expr, [$($also:literal),*], $unchecked:expr, $plant:expr;)*) => {
        mod sqlite_engine { use super::*; $(
            #[tokio::test]
            async fn $test() {
                fires(Eng::Sqlite, stringify!($test), $name, $count, &[$($also),*], &$plant, $unchecked).await;
            }
        )* }
        mod postgres_engine { use super::*; $(
            #[tokio::test]
            async fn $test() {
                fires(Eng::Postgres, stringify!($test), $name, $count, &[$($also),*], &$plant, $unchecked).await;
            }
        )* }
    };
}

fault_tests! {
    orphaned_enrollments: "orphaned-enrollments", 2, [], true,
        ["INSERT INTO enrollments (student_id, course_id) VALUES (9999, 1)".to_string(),
         format!("INSERT INTO enrollments (student_id, course_id) VALUES ({}, 9999)", id_of("bob@real.org"))];
    orphaned_grades: "orphaned-grades", 1, ["grades-without-enrollment"], true,
        [format!("INSERT INTO grades (student_id, course_id, score) VALUES ({}, 9999, 50)", id_of("ann@real.org"))];
    orphaned_attendance: "orphaned-attendance", 1, ["attendance-without-enrollment"], true,
        [format!("INSERT INTO attendances (student_id, course_id, attendance_date, status) VALUES (9999, {}, '2026-01-01', 'late')", course_id("MATH101"))];
    invalid_roles: "invalid-roles", 1, [], true,
        [user("hacker@real.org", "superuser")];
    enrollments_of_non_students: "enrollments-of-non-students", 1, [], false,
        [enroll("tina@real.org", "MATH101")];
    grades_without_enrollment: "grades-without-enrollment", 1, [], false,
        [format!("INSERT INTO grades (student_id, course_id, score) VALUES ({}, {}, 70)", id_of("bob@real.org"), course_id("MATH101"))];
    attendance_without_enrollment: "attendance-without-enrollment", 1, [], false,
        [format!("INSERT INTO attendances (student_id, course_id, attendance_date, status) VALUES ({}, {}, '2026-01-01', 'absent')", id_of("ann@real.org"), course_id("ENG201"))];
    training_accounts_left: "training-accounts-left", 2, [], false,
        [user("admin1@school.edu", "admin"), user("student10@school.edu", "student"), user("admin@school.edu", "admin"), user("student1@school.edu.org", "student")];
    non_argon2_passwords: "non-argon2-passwords", 2, [], false,
        ["INSERT INTO users (email, password_hash, role, first_name, last_name) VALUES ('plain@real.org', 'SecurePass123!', 'student', 'P', 'T')".to_string(),
         "INSERT INTO users (email, password_hash, role, first_name, last_name) VALUES ('bcrypt@real.org', '$2b$12$abcdefghijklmnopqrstuv', 'student', 'B', 'C')".to_string()];
}

async fn duplicate_emails(eng: Eng) {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = fresh_without_unique_email(eng, "duplicate_emails", dir.path()).await else {
        return;
    };
    clean_data(&db).await;
    assert!(get(&results(&db).await, "duplicate-emails").passed);
    exec(
        &db,
        &[
            &user("Ann@Real.org", "student"),
            &user("bob@real.org", "student"),
        ],
    )
    .await;
    let r = results(&db).await;
    let c = get(&r, "duplicate-emails");
    assert!(!c.passed);
    assert_eq!(c.count, 2, "two addresses are duplicated: {c:?}");
}

#[tokio::test]
async fn duplicate_emails_sqlite() {
    duplicate_emails(Eng::Sqlite).await;
}

#[tokio::test]
async fn duplicate_emails_postgres() {
    duplicate_emails(Eng::Postgres).await;
}

#[tokio::test]
async fn duplicate_emails_differing_in_case_fire_on_the_stock_postgres_schema() {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = fresh(Eng::Postgres, "dup_case", dir.path()).await else {
        return;
    };
    exec(
        &db,
        &[
            &user("Same@Real.org", "student"),
            &user("same@real.org", "student"),
        ],
    )
    .await;
    assert_eq!(get(&results(&db).await, "duplicate-emails").count, 1);
}

async fn expectations(eng: Eng) {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = fresh(eng, "expectations", dir.path()).await else {
        return;
    };
    clean_data(&db).await;
    let good: Expectations = "students=2,teachers=1,admins=1,courses=2,enrollments=2"
        .parse()
        .unwrap();
    let r = run_checks(&db, &good).await.unwrap();
    let counts: Vec<_> = r
        .iter()
        .filter(|c| c.name.starts_with("expected-"))
        .collect();
    assert_eq!(counts.len(), 5);
    assert!(r.iter().all(|c| c.passed), "{r:?}");
    let bad: Expectations = "students=500,courses=2".parse().unwrap();
    let r = run_checks(&db, &bad).await.unwrap();
    let s = get(&r, "expected-students");
    assert!(!s.passed);
    assert_eq!(s.count, 2);
    assert!(s.detail.contains("expected 500"), "{s:?}");
    assert!(get(&r, "expected-courses").passed);
    assert!(r.iter().all(|c| c.name != "expected-teachers"));
}

#[tokio::test]
async fn expectations_sqlite() {
    expectations(Eng::Sqlite).await;
}

#[tokio::test]
async fn expectations_postgres() {
    expectations(Eng::Postgres).await;
}

#[tokio::test]
async fn results_serialize_to_json() {
    let db = Database::open("sqlite::memory:").await.unwrap();
    let r = results(&db).await;
    assert_eq!(r.len(), 12);
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json[0]["name"], "orphaned-enrollments");
    assert_eq!(json[0]["passed"], true);
    assert_eq!(json[0]["count"], 0);
}

#[tokio::test]
async fn active_admin_check_fires_when_users_have_no_active_admin() {
    let db = Database::open("sqlite::memory:").await.unwrap();
    let Database::Sqlite(pool) = &db else {
        unreachable!()
    };
    let empty = results(&db).await;
    assert!(
        empty
            .iter()
            .find(|c| c.name == "active-admin")
            .unwrap()
            .passed,
        "an empty database passes"
    );
    sqlx::query("INSERT INTO users (email, password_hash, role, first_name, last_name, is_active) VALUES ('a@x.org', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA', 'admin', 'A', 'B', 0)")
        .execute(pool)
        .await
        .unwrap();
    let r = results(&db).await;
    let c = r.iter().find(|c| c.name == "active-admin").unwrap();
    assert!(!c.passed, "an inactive admin alone fails");
    sqlx::query("UPDATE users SET is_active = 1")
        .execute(pool)
        .await
        .unwrap();
    let r = results(&db).await;
    assert!(r.iter().find(|c| c.name == "active-admin").unwrap().passed);
}

/// Issue 14: a legacy hash is reported by `legacy-hashes-left` (and counted per scheme), fails
/// only with `--fail-on-legacy`, and is not an unusable password.
#[tokio::test]
async fn legacy_hashes_are_reported_and_fail_only_with_fail_on_legacy() {
    use registrar_checks::{run_checks_with, CheckOptions};
    let db = Database::open("sqlite::memory:").await.unwrap();
    let Database::Sqlite(pool) = &db else {
        unreachable!()
    };
    for (email, hash) in [
        (
            "a@x.org",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
        ),
        (
            "b@x.org",
            "$2b$10$nHl17pQHEPkq3hIzQgnaJuq2XabAcaeb.8wvF2lt826Si4dRbbmIW",
        ),
        ("c@x.org", "{SSHA}MTIzNDU2Nzg5MDEyMzQ1Njc4OTBzYWx0"),
    ] {
        sqlx::query("INSERT INTO users (email, password_hash, role, first_name, last_name) VALUES (?1, ?2, 'admin', 'A', 'B')")
            .bind(email)
            .bind(hash)
            .execute(pool)
            .await
            .unwrap();
    }
    let r = results(&db).await;
    let legacy = r.iter().find(|c| c.name == "legacy-hashes-left").unwrap();
    assert!(legacy.passed && legacy.count == 2, "{legacy:?}");
    assert!(
        legacy.detail.contains("bcrypt 1") && legacy.detail.contains("ssha 1"),
        "{legacy:?}"
    );
    assert!(!legacy.detail.contains("nHl17"), "{legacy:?}");
    assert!(
        r.iter()
            .find(|c| c.name == "non-argon2-passwords")
            .unwrap()
            .passed
    );
    let strict = CheckOptions {
        fail_on_legacy: true,
    };
    let r = run_checks_with(&db, &Default::default(), &strict)
        .await
        .unwrap();
    let legacy = r.iter().find(|c| c.name == "legacy-hashes-left").unwrap();
    assert!(!legacy.passed && legacy.count == 2, "{legacy:?}");
    let s = registrar_checks::stats(&db).await.unwrap();
    assert_eq!(s.password_hashes.legacy, 2);
    assert_eq!(s.password_hashes.schemes["argon2id"], 1);
    assert_eq!(s.password_hashes.schemes["bcrypt"], 1);
    assert_eq!(s.password_hashes.unusable, 0);
}
