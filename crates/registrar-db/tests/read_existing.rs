//! `load_existing` reads every stored row with its values, on both engines. SQLite reads the
//! link tables in chunks of 20,000 rows (one hand-off per chunk instead of one per row), so the
//! regression test holds more than two chunks and checks every row and value came back.

#[path = "backup_common/mod.rs"]
mod common;

use chrono::NaiveDate;
use common::*;
use registrar_db::load::load_existing;
use registrar_db::Database;
use registrar_model::AttendanceStatus;

/// More than two of SQLite's chunks, and not a multiple of the chunk size.
const ROWS: i64 = 45_123;

async fn reads_every_row_across_chunks(db: Database) {
    exec(
        &db,
        &[
            "INSERT INTO users (email, password_hash, role, first_name, last_name, is_active) \
             VALUES ('Kid@School.org', 'x', 'student', 'Kid', 'One', TRUE)",
            "INSERT INTO courses (course_code, course_name, semester, credits, status) \
             VALUES ('HIST1', 'History', 'Fall', 3, 'active')",
            "INSERT INTO enrollments (student_id, course_id, enrollment_date) \
             SELECT u.id, c.id, '2025-09-01' FROM users u, courses c",
            "INSERT INTO grades (student_id, course_id, assessment, score, letter_grade, graded_on) \
             SELECT u.id, c.id, 'Final', 91.5, 'A', '2025-12-01' FROM users u, courses c",
        ],
    )
    .await;
    // ROWS attendance rows, one per day from 2000-01-01, alternating present / late.
    let sql = format!(
        "INSERT INTO attendances (student_id, course_id, attendance_date, status) \
         SELECT u.id, c.id, d.day, CASE WHEN d.n % 2 = 0 THEN 'present' ELSE 'late' END \
         FROM users u, courses c, ({}) d",
        match db.engine() {
            registrar_db::Engine::Sqlite => format!(
                "WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n + 1 < {ROWS}) \
                 SELECT n, date('2000-01-01', '+' || n || ' days') AS day FROM s"
            ),
            _ => format!(
                "SELECT n, DATE '2000-01-01' + n AS day FROM generate_series(0, {} ) AS n",
                ROWS - 1
            ),
        }
    );
    exec(&db, &[&sql]).await;
    let existing = load_existing(&db).await.unwrap();
    assert_eq!(existing.attendance.len() as i64, ROWS);
    let start = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
    let kid = existing.user_ids["kid@school.org"];
    let hist = existing.course_ids["HIST1"];
    let by_day: std::collections::HashMap<NaiveDate, Option<AttendanceStatus>> = existing
        .attendance
        .iter()
        .map(|l| {
            assert_eq!((l.student_id, l.course_id), (kid, hist));
            assert!(!l.stored.imported, "no import made it");
            (l.key, l.stored.values)
        })
        .collect();
    assert_eq!(by_day.len() as i64, ROWS, "every row once");
    for n in [0, 1, 19_999, 20_000, 20_001, 40_000, ROWS - 1] {
        let day = start + chrono::Days::new(n as u64);
        let got = by_day
            .get(&day)
            .unwrap_or_else(|| panic!("attendance row {n} ({day}) was not read"));
        let want = if n % 2 == 0 {
            AttendanceStatus::Present
        } else {
            AttendanceStatus::Late
        };
        assert_eq!(*got, Some(want), "row {n}");
    }
    assert_eq!(existing.enrollments.len(), 1);
    let e = &existing.enrollments[0];
    assert_eq!((e.student_id, e.course_id), (kid, hist));
    assert_eq!(e.stored.values, NaiveDate::from_ymd_opt(2025, 9, 1));
    let g = &existing.grades[0];
    assert_eq!(g.key, "final");
    assert_eq!(g.stored.values.score, Some(91.5));
    assert_eq!(
        g.stored.values.graded_on,
        NaiveDate::from_ymd_opt(2025, 12, 1)
    );
    // The digest is stable: the same rows give the same digest.
    assert_eq!(load_existing(&db).await.unwrap().digest, existing.digest);
}

#[tokio::test]
async fn regression_sqlite_reads_existing_rows_in_chunks_without_losing_one() {
    let dir = tempfile::tempdir().unwrap();
    reads_every_row_across_chunks(sqlite(dir.path()).await).await;
}

#[tokio::test]
async fn postgres_reads_the_same_existing_rows() {
    let Some(db) = postgres("read_existing_chunks").await else {
        return;
    };
    reads_every_row_across_chunks(db).await;
}
