//! Fixtures: databases on both engines, and ways to plant faults the schema would refuse.
#![allow(dead_code)]

use registrar_db::Database;

pub const FAKE_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA";

/// Which engine a test runs on.
#[derive(Clone, Copy, Debug)]
pub enum Eng {
    Sqlite,
    Postgres,
}

/// A fresh, initialised database; None when PostgreSQL tests are not configured.
pub async fn fresh(eng: Eng, name: &str, dir: &std::path::Path) -> Option<Database> {
    match eng {
        Eng::Sqlite => Some(
            Database::open(&registrar_db::testing::fresh_sqlite(dir))
                .await
                .unwrap(),
        ),
        Eng::Postgres => {
            let url = registrar_db::testing::fresh_postgres(name).await?;
            Some(Database::open(&url).await.unwrap())
        }
    }
}

/// A fresh database whose `users.email` is not unique (to plant duplicate emails on SQLite,
/// whose schema has a case-insensitive UNIQUE). The table is created before `init` adopts it.
pub async fn fresh_without_unique_email(
    eng: Eng,
    name: &str,
    dir: &std::path::Path,
) -> Option<Database> {
    if let Eng::Postgres = eng {
        let db = fresh(eng, name, dir).await?;
        exec(&db, &["ALTER TABLE users DROP CONSTRAINT users_email_key"]).await;
        return Some(db);
    }
    let db = Database::connect(&registrar_db::testing::fresh_sqlite(dir))
        .await
        .unwrap();
    exec(&db, &["CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, password_hash TEXT NOT NULL, \
        role TEXT NOT NULL, first_name TEXT NOT NULL, last_name TEXT NOT NULL, is_active BOOLEAN NOT NULL DEFAULT TRUE, \
        password_reset_required BOOLEAN NOT NULL DEFAULT FALSE, created_at TEXT NOT NULL DEFAULT 'x', updated_at TEXT NOT NULL DEFAULT 'x')"]).await;
    db.init().await.unwrap();
    Some(db)
}

pub async fn exec(db: &Database, sqls: &[&str]) {
    for sql in sqls {
        match db {
            Database::Postgres(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
            Database::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

/// Runs statements on one connection with foreign keys (and, on SQLite, CHECK constraints)
/// switched off, to plant orphans and invalid values.
pub async fn exec_unchecked(db: &Database, sqls: &[&str]) {
    match db {
        Database::Sqlite(p) => {
            let mut c = p.acquire().await.unwrap();
            sqlx::query("PRAGMA foreign_keys = OFF")
                .execute(&mut *c)
                .await
                .unwrap();
            sqlx::query("PRAGMA ignore_check_constraints = ON")
                .execute(&mut *c)
                .await
                .unwrap();
            for sql in sqls {
                sqlx::query(sql)
                    .execute(&mut *c)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
            sqlx::query("PRAGMA foreign_keys = ON")
                .execute(&mut *c)
                .await
                .unwrap();
            sqlx::query("PRAGMA ignore_check_constraints = OFF")
                .execute(&mut *c)
                .await
                .unwrap();
        }
        Database::Postgres(p) => {
            let mut c = p.acquire().await.unwrap();
            sqlx::query("SET session_replication_role = replica")
                .execute(&mut *c)
                .await
                .unwrap();
            sqlx::query("ALTER TABLE users DROP CONSTRAINT IF EXISTS users_role_check")
                .execute(&mut *c)
                .await
                .unwrap();
            for sql in sqls {
                sqlx::query(sql)
                    .execute(&mut *c)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
            sqlx::query("RESET session_replication_role")
                .execute(&mut *c)
                .await
                .unwrap();
        }
    }
}

pub async fn count(db: &Database, sql: &str) -> i64 {
    match db {
        Database::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        Database::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
    }
}

pub async fn strings(db: &Database, sql: &str) -> Vec<String> {
    match db {
        Database::Postgres(p) => sqlx::query_scalar(sql).fetch_all(p).await.unwrap(),
        Database::Sqlite(p) => sqlx::query_scalar(sql).fetch_all(p).await.unwrap(),
    }
}

pub fn user(email: &str, role: &str) -> String {
    format!(
        "INSERT INTO users (email, password_hash, role, first_name, last_name) VALUES ('{email}', '{FAKE_HASH}', '{role}', 'F', 'L')"
    )
}

pub fn course(code: &str) -> String {
    format!("INSERT INTO courses (course_code, course_name) VALUES ('{code}', 'Course {code}')")
}

pub fn id_of(email: &str) -> String {
    format!("(SELECT id FROM users WHERE email = '{email}')")
}

pub fn course_id(code: &str) -> String {
    format!("(SELECT id FROM courses WHERE course_code = '{code}')")
}

pub fn enroll(email: &str, code: &str) -> String {
    format!(
        "INSERT INTO enrollments (student_id, course_id) VALUES ({}, {})",
        id_of(email),
        course_id(code)
    )
}

/// A small, clean, real database: an admin, a teacher, two students, two courses, enrollments,
/// a grade and an attendance row.
pub async fn clean_data(db: &Database) {
    let g = format!(
        "INSERT INTO grades (student_id, course_id, score) VALUES ({}, {}, 90)",
        id_of("ann@real.org"),
        course_id("MATH101")
    );
    let a = format!(
        "INSERT INTO attendances (student_id, course_id, attendance_date, status) VALUES ({}, {}, '2026-09-02', 'present')",
        id_of("bob@real.org"),
        course_id("ENG201")
    );
    exec(
        db,
        &[
            &user("boss@real.org", "admin"),
            &user("tina@real.org", "teacher"),
            &user("ann@real.org", "student"),
            &user("bob@real.org", "student"),
            &course("MATH101"),
            &course("ENG201"),
            &enroll("ann@real.org", "MATH101"),
            &enroll("bob@real.org", "ENG201"),
            &g,
            &a,
        ],
    )
    .await;
}
