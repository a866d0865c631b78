//! Shared fixtures for the backup, clean-up and seed tests: a database on either engine
//! holding the runbook's training data plus "real" rows with awkward values.
#![allow(dead_code)]

use registrar_db::{Database, Engine};

/// A fake but well-formed argon2 PHC string (the tests never log in with it).
pub const FAKE_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA";

/// Runs statements one by one.
pub async fn exec(db: &Database, sqls: &[&str]) {
    for sql in sqls {
        match db {
            Database::Postgres(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
            Database::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

/// A count.
pub async fn count(db: &Database, sql: &str) -> i64 {
    match db {
        Database::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        Database::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
    }
}

/// Strings of one column.
pub async fn strings(db: &Database, sql: &str) -> Vec<String> {
    match db {
        Database::Postgres(p) => sqlx::query_scalar(sql).fetch_all(p).await.unwrap(),
        Database::Sqlite(p) => sqlx::query_scalar(sql).fetch_all(p).await.unwrap(),
    }
}

fn enroll(student: &str, course: &str, date: &str) -> String {
    format!(
        "INSERT INTO enrollments (student_id, course_id, enrollment_date) VALUES \
         ((SELECT id FROM users WHERE email = '{student}'), (SELECT id FROM courses WHERE course_code = '{course}'), {date})"
    )
}

/// Real (non-training) rows: an admin, two students, a teacher, a course MATH101 with NULLs
/// and an empty semester, enrollments, grades (float, NULL score) and attendance. When
/// `real_in_training_course`, a real student is also enrolled in CS101.
pub async fn add_real_rows(db: &Database, real_in_training_course: bool) {
    let users = format!(
        "INSERT INTO users (email, password_hash, role, first_name, last_name, is_active) VALUES \
         ('principal@realschool.org', '{FAKE_HASH}', 'admin', 'Pat', 'Principal', TRUE), \
         ('zoe@realschool.org', '{FAKE_HASH}', 'student', 'Zoë', 'O''Brien-Ünal', TRUE), \
         ('sam@realschool.org', '{FAKE_HASH}', 'student', 'Sam', 'Lee', FALSE), \
         ('terry@realschool.org', '{FAKE_HASH}', 'teacher', 'Terry', 'Teach', TRUE)"
    );
    let mut sqls = vec![
        users,
        "INSERT INTO courses (course_code, course_name, description, semester, credits, status) VALUES \
         ('MATH101', 'Calculus I', NULL, '', NULL, 'active'), ('ENG201', 'English, \"Literature\"\n2', 'Survey', 'Fall 2026', 3, 'archived')"
            .to_string(),
        enroll("zoe@realschool.org", "MATH101", "'2026-09-01'"),
        enroll("sam@realschool.org", "MATH101", "NULL"),
        enroll("zoe@realschool.org", "ENG201", "'2024-02-29'"),
        "INSERT INTO grades (student_id, course_id, assessment, score, letter_grade, graded_on) VALUES \
         ((SELECT id FROM users WHERE email = 'zoe@realschool.org'), (SELECT id FROM courses WHERE course_code = 'MATH101'), 'final', 85.5, 'B+', '2026-12-15'), \
         ((SELECT id FROM users WHERE email = 'zoe@realschool.org'), (SELECT id FROM courses WHERE course_code = 'MATH101'), 'midterm', 66.66666666666667, NULL, NULL), \
         ((SELECT id FROM users WHERE email = 'sam@realschool.org'), (SELECT id FROM courses WHERE course_code = 'MATH101'), 'final', NULL, 'P', '2026-12-16')"
            .to_string(),
        "INSERT INTO attendances (student_id, course_id, attendance_date, status) VALUES \
         ((SELECT id FROM users WHERE email = 'zoe@realschool.org'), (SELECT id FROM courses WHERE course_code = 'MATH101'), '2026-09-02', 'present'), \
         ((SELECT id FROM users WHERE email = 'sam@realschool.org'), (SELECT id FROM courses WHERE course_code = 'MATH101'), '2026-09-02', 'late')"
            .to_string(),
    ];
    if real_in_training_course {
        sqls.push(enroll("zoe@realschool.org", "CS101", "'2026-09-01'"));
    }
    let refs: Vec<&str> = sqls.iter().map(String::as_str).collect();
    exec(db, &refs).await;
}

/// Training data: enrollments, grades and attendance of training students in training courses.
pub async fn add_training_rows(db: &Database) {
    let sqls = [
        enroll("student1@school.edu", "CS101", "'2026-01-10'"),
        enroll("student2@school.edu", "CS101", "'2026-01-10'"),
        enroll("student2@school.edu", "WEB201", "NULL"),
        "INSERT INTO grades (student_id, course_id, assessment, score, letter_grade, graded_on) VALUES \
         ((SELECT id FROM users WHERE email = 'student1@school.edu'), (SELECT id FROM courses WHERE course_code = 'CS101'), 'final', 100, 'A+', '2026-01-30')"
            .to_string(),
        "INSERT INTO attendances (student_id, course_id, attendance_date, status) VALUES \
         ((SELECT id FROM users WHERE email = 'student2@school.edu'), (SELECT id FROM courses WHERE course_code = 'WEB201'), '2026-01-11', 'absent')"
            .to_string(),
    ];
    let refs: Vec<&str> = sqls.iter().map(String::as_str).collect();
    exec(db, &refs).await;
}

fn user(email: &str) -> String {
    format!("(SELECT id FROM users WHERE email = '{email}')")
}

fn course(code: &str) -> String {
    format!("(SELECT id FROM courses WHERE course_code = '{code}')")
}

/// External ids and teacher links of the real rows ([`add_real_rows`] first): three sis_ids
/// (one with a quote and a non-ASCII letter) and three links (two teachers, an aide).
pub async fn add_external_ids(db: &Database) {
    let sqls = [
        format!(
            "INSERT INTO registrar_user_sis_ids (user_id, sis_id) VALUES \
             ({}, 'S-0042'), ({}, 'O''Brien-Ü 7'), ({}, 'T-1')",
            user("zoe@realschool.org"),
            user("sam@realschool.org"),
            user("terry@realschool.org")
        ),
        format!(
            "INSERT INTO registrar_course_teachers (course_id, teacher_id, role) VALUES \
             ({}, {}, 'teacher'), ({}, {}, 'aide'), ({}, {}, 'teacher')",
            course("MATH101"),
            user("terry@realschool.org"),
            course("ENG201"),
            user("terry@realschool.org"),
            course("ENG201"),
            user("principal@realschool.org")
        ),
    ];
    let refs: Vec<&str> = sqls.iter().map(String::as_str).collect();
    exec(db, &refs).await;
}

/// The external ids as `email|sis_id`, by email.
pub async fn sis_ids(db: &Database) -> Vec<String> {
    strings(
        db,
        "SELECT u.email || '|' || s.sis_id FROM registrar_user_sis_ids s \
         JOIN users u ON u.id = s.user_id ORDER BY u.email",
    )
    .await
}

/// The teacher links as `course_code|email|role`, by course and email.
pub async fn teacher_links(db: &Database) -> Vec<String> {
    strings(
        db,
        "SELECT c.course_code || '|' || u.email || '|' || t.role FROM registrar_course_teachers t \
         JOIN courses c ON c.id = t.course_id JOIN users u ON u.id = t.teacher_id \
         ORDER BY c.course_code, u.email",
    )
    .await
}

/// A fresh database holding training data, training rows and real rows.
pub async fn populated(db: &Database) {
    registrar_db::seed::seed_training(db).await.unwrap();
    add_training_rows(db).await;
    add_real_rows(db, false).await;
}

/// A fresh SQLite database in `dir`.
pub async fn sqlite(dir: &std::path::Path) -> Database {
    let db = Database::open(&registrar_db::testing::fresh_sqlite(dir))
        .await
        .unwrap();
    assert_eq!(db.engine(), Engine::Sqlite);
    db
}

/// A fresh PostgreSQL database, or None when the tests are not configured for it.
pub async fn postgres(name: &str) -> Option<Database> {
    let url = registrar_db::testing::fresh_postgres(name).await?;
    Some(Database::open(&url).await.unwrap())
}
