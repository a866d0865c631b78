//! The runbook's training data, so a whole migration can be rehearsed on a fresh database.
//!
//! [`seed_training`] inserts the 18 training accounts and 5 sample courses of the runbook
//! ("Training Data Inventory"):
//!
//! | accounts | role | password |
//! |---|---|---|
//! | `admin1@school.edu` .. `admin3@school.edu` | admin | `AdminPass123!` (the runbook's) |
//! | `teacher1@school.edu` .. `teacher5@school.edu` | teacher | `TeacherPass123!` |
//! | `student1@school.edu` .. `student10@school.edu` | student | `StudentPass123!` |
//!
//! Names are `Admin` / `Teacher` / `Student` and the number (`Student 7`); every account is
//! active. Passwords are stored as argon2id hashes, never as text. These passwords are public
//! (they are in this documentation): the accounts exist only to be deleted by `clean`.
//!
//! Courses: CS101 Introduction to Computer Science, CS102 Data Structures, WEB201 Web
//! Development, DB301 Database Systems, NET202 Computer Networks (3 credits, `Spring 2026`,
//! active). As in the runbook there are no enrollments, grades or attendance.
//!
//! Seeding is idempotent: an account or course that already exists (same email / code) is
//! skipped and left as it is.

use crate::{Database, Result};
use registrar_model::Password;
use serde::Serialize;

/// The training accounts: (prefix, role, count, password).
pub const TRAINING_ACCOUNTS: [(&str, &str, u32, &str); 3] = [
    ("admin", "admin", 3, "AdminPass123!"),
    ("teacher", "teacher", 5, "TeacherPass123!"),
    ("student", "student", 10, "StudentPass123!"),
];

/// The sample courses: (code, name).
pub const SAMPLE_COURSES: [(&str, &str); 5] = [
    ("CS101", "Introduction to Computer Science"),
    ("CS102", "Data Structures"),
    ("WEB201", "Web Development"),
    ("DB301", "Database Systems"),
    ("NET202", "Computer Networks"),
];

/// What [`seed_training`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct SeedSummary {
    /// Accounts inserted.
    pub users_inserted: u64,
    /// Accounts that were already there.
    pub users_skipped: u64,
    /// Courses inserted.
    pub courses_inserted: u64,
    /// Courses that were already there.
    pub courses_skipped: u64,
}

/// Every training account as (email, role, first name, last name, password).
pub fn training_accounts() -> Vec<(String, &'static str, String, String, Password)> {
    let mut out = Vec::new();
    for (prefix, role, n, pw) in TRAINING_ACCOUNTS {
        let mut first = prefix.to_string();
        first[..1].make_ascii_uppercase();
        for i in 1..=n {
            out.push((
                format!("{prefix}{i}@school.edu"),
                role,
                first.clone(),
                format!("{first} {i}"),
                Password::new(pw),
            ));
        }
    }
    out
}

/// Inserts the runbook's training accounts and sample courses (see the module docs); skips
/// the ones already there. One transaction.
pub async fn seed_training(db: &Database) -> Result<SeedSummary> {
    let accounts = training_accounts();
    // Hash only what is missing (argon2 is slow by design).
    let mut missing = Vec::new();
    for a in &accounts {
        if !user_exists(db, &a.0).await? {
            missing.push(a);
        }
    }
    let hashes: Vec<String> = missing
        .iter()
        .map(|a| crate::hash::hash_password(&a.4))
        .collect();
    let mut s = SeedSummary {
        users_skipped: (accounts.len() - missing.len()) as u64,
        ..SeedSummary::default()
    };
    macro_rules! insert_all {
        ($pool:expr, $begin:literal, $user_sql:literal, $course_sql:literal) => {{
            let mut tx = $pool.begin_with($begin).await?;
            for (a, h) in missing.iter().zip(&hashes) {
                let r = sqlx::query($user_sql)
                    .bind(&a.0)
                    .bind(h)
                    .bind(a.1)
                    .bind(&a.2)
                    .bind(&a.3)
                    .execute(&mut *tx)
                    .await?;
                if r.rows_affected() == 1 {
                    s.users_inserted += 1;
                } else {
                    s.users_skipped += 1;
                }
            }
            for (code, name) in SAMPLE_COURSES {
                let r = sqlx::query($course_sql)
                    .bind(code)
                    .bind(name)
                    .execute(&mut *tx)
                    .await?;
                if r.rows_affected() == 1 {
                    s.courses_inserted += 1;
                } else {
                    s.courses_skipped += 1;
                }
            }
            tx.commit().await?;
        }};
    }
    match db {
        #[cfg(feature = "postgres")]
        Database::Postgres(pool) => insert_all!(
            pool,
            "BEGIN",
            "INSERT INTO users (email, password_hash, role, first_name, last_name, is_active) \
             VALUES ($1, $2, $3, $4, $5, TRUE) ON CONFLICT DO NOTHING",
            "INSERT INTO courses (course_code, course_name, description, semester, credits, status) \
             VALUES ($1, $2, 'Training sample course', 'Spring 2026', 3, 'active') ON CONFLICT DO NOTHING"
        ),
        #[cfg(feature = "sqlite")]
        Database::Sqlite(pool) => insert_all!(
            pool,
            "BEGIN IMMEDIATE",
            "INSERT INTO users (email, password_hash, role, first_name, last_name, is_active) \
             VALUES (?1, ?2, ?3, ?4, ?5, 1) ON CONFLICT DO NOTHING",
            "INSERT INTO courses (course_code, course_name, description, semester, credits, status) \
             VALUES (?1, ?2, 'Training sample course', 'Spring 2026', 3, 'active') ON CONFLICT DO NOTHING"
        ),
    }
    Ok(s)
}

async fn user_exists(db: &Database, email: &str) -> Result<bool> {
    let n: i64 = match db {
        #[cfg(feature = "postgres")]
        Database::Postgres(pool) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE lower(email) = $1")
                .bind(email)
                .fetch_one(pool)
                .await?
        }
        #[cfg(feature = "sqlite")]
        Database::Sqlite(pool) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE lower(email) = ?1")
                .bind(email)
                .fetch_one(pool)
                .await?
        }
    };
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eighteen_accounts_with_the_runbook_pattern() {
        let a = training_accounts();
        assert_eq!(a.len(), 18);
        let re = regex::Regex::new(crate::clean::DEFAULT_PATTERN).unwrap();
        assert!(a.iter().all(|x| re.is_match(&x.0)));
        assert_eq!(a.iter().filter(|x| x.1 == "admin").count(), 3);
        assert_eq!(a.iter().filter(|x| x.1 == "student").count(), 10);
        assert_eq!(a[0].3, "Admin 1");
    }
}
