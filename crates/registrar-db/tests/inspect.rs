//! The narrow queries of `registrar_db::inspect` (behind registrar-checks' checks, stats and
//! account steps), on both engines, on a pooled connection and inside a write transaction.

#[path = "backup_common/mod.rs"]
mod common;

#[macro_use]
mod engines;

use common::*;
use registrar_db::hash::{hash_password, verify_password};
use registrar_db::inspect::{self, Count, SizeMethod};
use registrar_db::{Database, Engine};
use registrar_model::{EmailPattern, Password, Role};

/// `populated`: 22 users (4 admins, 6 teachers, 12 students), 7 courses, 6 enrollments,
/// 4 grades, 3 attendance rows, all consistent.
async fn counts_of_a_consistent_database(db: Database) {
    populated(&db).await;
    let mut pooled = db.acquire().await.unwrap();
    let mut conn = pooled.conn();
    let expected = [
        (Count::OrphanedEnrollments, 0),
        (Count::OrphanedGrades, 0),
        (Count::OrphanedAttendance, 0),
        (Count::DuplicateEmails, 0),
        (Count::InvalidRoles, 0),
        (Count::EnrollmentsOfNonStudents, 0),
        (Count::GradesWithoutEnrollment, 0),
        (Count::AttendanceWithoutEnrollment, 0),
        (Count::NonArgon2Passwords, 0),
        (Count::ActiveAdmins, 4),
        (Count::Users, 22),
        (Count::UsersWithRole(Role::Admin), 4),
        (Count::UsersWithRole(Role::Teacher), 6),
        (Count::UsersWithRole(Role::Student), 12),
        (Count::UsersWithRole(Role::Viewer), 0),
        (Count::Courses, 7),
        (Count::Enrollments, 6),
    ];
    for (what, n) in expected {
        assert_eq!(
            inspect::count(&mut conn, what).await.unwrap(),
            n,
            "{what:?}"
        );
    }
}

/// Faults the schema lets in: a teacher enrolled, a grade and an attendance row outside any
/// enrollment, a plain-text password, an inactive admin.
async fn counts_find_planted_faults(db: Database) {
    populated(&db).await;
    let teacher = "(SELECT id FROM users WHERE email = 'terry@realschool.org')";
    let sam = "(SELECT id FROM users WHERE email = 'sam@realschool.org')";
    let eng = "(SELECT id FROM courses WHERE course_code = 'ENG201')";
    exec(
        &db,
        &[
            &format!("INSERT INTO enrollments (student_id, course_id) VALUES ({teacher}, {eng})"),
            &format!("INSERT INTO grades (student_id, course_id, score) VALUES ({sam}, {eng}, 50)"),
            &format!(
                "INSERT INTO attendances (student_id, course_id, attendance_date, status) \
                 VALUES ({sam}, {eng}, '2026-01-01', 'late')"
            ),
            "INSERT INTO users (email, password_hash, role, first_name, last_name) VALUES \
             ('plain@real.org', 'SecurePass123!', 'student', 'P', 'T')",
            "UPDATE users SET is_active = FALSE WHERE email = 'principal@realschool.org'",
        ],
    )
    .await;
    let mut pooled = db.acquire().await.unwrap();
    let mut conn = pooled.conn();
    for (what, n) in [
        (Count::EnrollmentsOfNonStudents, 1),
        (Count::GradesWithoutEnrollment, 1),
        (Count::AttendanceWithoutEnrollment, 1),
        (Count::NonArgon2Passwords, 1),
        (Count::ActiveAdmins, 3),
        (Count::UsersWithRole(Role::Admin), 4),
        (Count::Users, 23),
        (Count::Enrollments, 7),
    ] {
        assert_eq!(
            inspect::count(&mut conn, what).await.unwrap(),
            n,
            "{what:?}"
        );
    }
}

async fn emails_matching_a_pattern(db: Database) {
    populated(&db).await;
    exec(
        &db,
        &["INSERT INTO users (email, password_hash, role, first_name, last_name) VALUES \
           (' Admin9@School.EDU', 'x', 'admin', 'A', 'B'), ('admin@school.edu', 'x', 'admin', 'A', 'B')"],
    )
    .await;
    let mut pooled = db.acquire().await.unwrap();
    let mut conn = pooled.conn();
    let training = EmailPattern::training();
    assert_eq!(
        inspect::count_emails_matching(&mut conn, training)
            .await
            .unwrap(),
        19,
        "the 18 training accounts and ' Admin9@School.EDU' (trimmed, any case)"
    );
    let real = EmailPattern::new(r"@realschool\.org$").unwrap();
    assert_eq!(
        inspect::count_emails_matching(&mut conn, &real)
            .await
            .unwrap(),
        4
    );
}

async fn roles_and_sizes(db: Database) {
    populated(&db).await;
    let mut pooled = db.acquire().await.unwrap();
    let mut conn = pooled.conn();
    let mut roles = inspect::users_per_role(&mut conn).await.unwrap();
    roles.sort();
    assert_eq!(
        roles,
        vec![
            ("admin".to_string(), 4),
            ("student".to_string(), 12),
            ("teacher".to_string(), 6)
        ]
    );
    let sizes = inspect::table_sizes(&mut conn).await.unwrap();
    let rows: Vec<_> = sizes.tables.iter().map(|t| (t.table, t.rows)).collect();
    assert_eq!(
        rows,
        vec![
            ("users", 22),
            ("courses", 7),
            ("enrollments", 6),
            ("grades", 4),
            ("attendances", 3),
            ("import_runs", 0)
        ]
    );
    assert_eq!(
        inspect::measured_tables().collect::<Vec<_>>(),
        rows.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    assert!(sizes.database_bytes > 0);
    let method = match db.engine() {
        Engine::Postgres => SizeMethod::PgTotalRelationSize,
        Engine::Sqlite => SizeMethod::Dbstat,
    };
    assert_eq!(sizes.method, method);
    assert!(
        sizes.tables[..5]
            .iter()
            .all(|t| t.size_bytes.is_some_and(|b| b > 0)),
        "{sizes:?}"
    );
}

async fn password_hashes_by_email(db: Database) {
    populated(&db).await;
    exec(
        &db,
        &[&format!(
            "INSERT INTO users (email, password_hash, role, first_name, last_name) VALUES \
             ('Mixed@Real.org', '{FAKE_HASH}', 'student', 'M', 'C')"
        )],
    )
    .await;
    let mut pooled = db.acquire().await.unwrap();
    let mut conn = pooled.conn();
    let admin = inspect::password_of(&mut conn, "admin1@school.edu")
        .await
        .unwrap()
        .expect("admin1 exists");
    assert!(verify_password("AdminPass123!", &admin.hash));
    let debug = format!("{admin:?}");
    assert!(!debug.contains("argon2"), "{debug}");
    let mixed = inspect::password_of(&mut conn, "mixed@real.org")
        .await
        .unwrap()
        .expect("matched in lower case");
    assert_eq!(mixed.hash, FAKE_HASH);
    assert_ne!(mixed.user_id, admin.user_id);
    assert!(inspect::password_of(&mut conn, "nobody@real.org")
        .await
        .unwrap()
        .is_none());
    // More emails than one query asks for (500), most without a user.
    let mut wanted: Vec<String> = (0..1200).map(|i| format!("ghost{i}@real.org")).collect();
    wanted.insert(3, "admin1@school.edu".into());
    wanted.insert(700, "mixed@real.org".into());
    wanted.push("student10@school.edu".into());
    let refs: Vec<&str> = wanted.iter().map(String::as_str).collect();
    let hashes = inspect::password_hashes(&mut conn, &refs).await.unwrap();
    let mut found: Vec<&str> = hashes.keys().map(String::as_str).collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            "admin1@school.edu",
            "mixed@real.org",
            "student10@school.edu"
        ]
    );
    assert_eq!(hashes["admin1@school.edu"], admin.hash);
    assert!(inspect::password_hashes(&mut conn, &[])
        .await
        .unwrap()
        .is_empty());
}

async fn reset_flags_and_a_new_hash(db: Database) {
    populated(&db).await;
    let flagged = "SELECT COUNT(*) FROM users WHERE password_reset_required";
    let mut pooled = db.acquire().await.unwrap();
    assert_eq!(
        inspect::force_password_reset(&mut pooled.conn(), Some(Role::Admin))
            .await
            .unwrap(),
        18
    );
    assert_eq!(count(&db, flagged).await, 18);
    assert_eq!(
        inspect::force_password_reset(&mut pooled.conn(), None)
            .await
            .unwrap(),
        22
    );
    let admin = inspect::password_of(&mut pooled.conn(), "admin2@school.edu")
        .await
        .unwrap()
        .unwrap();
    let phc = hash_password(&Password::new("NewSecurePassword456!"));
    assert_eq!(
        inspect::store_password_hash(&mut pooled.conn(), admin.user_id, &phc)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        inspect::store_password_hash(&mut pooled.conn(), -1, &phc)
            .await
            .unwrap(),
        0,
        "no such user"
    );
    drop(pooled);
    assert_eq!(
        count(&db, flagged).await,
        21,
        "the changed user's flag is cleared"
    );
    let stored = strings(
        &db,
        "SELECT password_hash FROM users WHERE email = 'admin2@school.edu'",
    )
    .await;
    assert!(verify_password("NewSecurePassword456!", &stored[0]));
}

async fn force_reset_inside_a_transaction(db: Database) {
    populated(&db).await;
    let flagged = "SELECT COUNT(*) FROM users WHERE password_reset_required";
    let mut tx = db.begin_write().await.unwrap();
    let n = inspect::force_password_reset(&mut tx.conn().unwrap(), Some(Role::Student))
        .await
        .unwrap();
    assert_eq!(n, 10);
    tx.rollback().await.unwrap();
    assert_eq!(count(&db, flagged).await, 0, "rolled back");
    let mut tx = db.begin_write().await.unwrap();
    let mut conn = tx.conn().unwrap();
    assert_eq!(
        inspect::force_password_reset(&mut conn, Some(Role::Student))
            .await
            .unwrap(),
        10
    );
    assert_eq!(
        inspect::count(&mut conn, Count::Users).await.unwrap(),
        22,
        "counts run inside the transaction too"
    );
    tx.commit().await.unwrap();
    assert_eq!(count(&db, flagged).await, 10);
}

both_engines!(
    counts_of_a_consistent_database,
    counts_find_planted_faults,
    emails_matching_a_pattern,
    roles_and_sizes,
    password_hashes_by_email,
    reset_flags_and_a_new_hash,
    force_reset_inside_a_transaction
);
