//! External ids (issue 12, part 2): users carry a `sis_id` (a student number or a OneRoster
//! sourcedId), and enrollments, grades and attendance may name a student by `student_sis_id`
//! instead of `student_email`. On the real binary and both engines.
//!
//! PostgreSQL cases run when `REGISTRAR_TEST_POSTGRES` is set (they print SKIPPED otherwise).

mod common;

use common::*;
use std::path::{Path, PathBuf};

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

fn engines(name: &str, test: impl Fn(&str, &Path)) {
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let dir = tempfile::tempdir().unwrap();
        let Some(url) = fresh(engine, dir.path(), &format!("{name}_{engine:?}")) else {
            continue;
        };
        test(&url, dir.path());
    }
}

fn import(url: &str, data: &Path, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let mut args = vec![
        "import",
        "--data",
        s(data),
        "--execute",
        "--database",
        url,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let o = run(&args);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let json = serde_json::from_str(&out).unwrap_or(serde_json::Value::Null);
    (code(&o), json, text(&o))
}

/// Pairs of text columns `sql` returns.
fn pairs(url: &str, sql: &str) -> Vec<(String, String)> {
    rt().block_on(async {
        if url.starts_with("sqlite:") {
            let pool = sqlx::sqlite::SqlitePool::connect(url).await.unwrap();
            let rows = sqlx::query_as(sql).fetch_all(&pool).await.expect(sql);
            pool.close().await;
            rows
        } else {
            let pool = sqlx::postgres::PgPool::connect(url).await.unwrap();
            let rows = sqlx::query_as(sql).fetch_all(&pool).await.expect(sql);
            pool.close().await;
            rows
        }
    })
}

fn write_school(dir: &Path) -> PathBuf {
    let d = dir.join("school");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("users.csv"),
        "email,password,role,first_name,last_name,sis_id\n\
         ana@realschool.org,Plain-Pass-1-xyz!,student,Ana,Ruiz,S1001\n\
         ben@realschool.org,Plain-Pass-2-xyz!,student,Ben,Okafor,S1002\n\
         cy@realschool.org,Plain-Pass-3-xyz!,teacher,Cy,Lam,\n",
    )
    .unwrap();
    std::fs::write(
        d.join("courses.csv"),
        "course_code,course_name\nHIST1,History\n",
    )
    .unwrap();
    // Students named by their number only.
    std::fs::write(
        d.join("enrollments.csv"),
        "student_sis_id,course_code,enrollment_date\nS1001,HIST1,2025-09-01\nS1002,HIST1,2025-09-01\n",
    )
    .unwrap();
    std::fs::write(
        d.join("grades.csv"),
        "student_sis_id,course_code,score\nS1001,HIST1,91\n",
    )
    .unwrap();
    // Both columns: they must agree.
    std::fs::write(
        d.join("attendance.csv"),
        "student_email,student_sis_id,course_code,date,status\n\
         ben@realschool.org,S1002,HIST1,2025-09-02,present\n",
    )
    .unwrap();
    d
}

#[test]
fn students_named_by_sis_id_are_enrolled_graded_and_marked() {
    engines("sis_ok", |url, dir| {
        let data = write_school(dir);
        let (c, _, t) = import(url, &data, &[]);
        assert_eq!(c, 0, "{t}");
        assert_eq!(
            pairs(
                url,
                "SELECT u.email, s.sis_id FROM registrar_user_sis_ids s \
                 JOIN users u ON u.id = s.user_id ORDER BY u.email"
            ),
            [
                ("ana@realschool.org".to_owned(), "S1001".to_owned()),
                ("ben@realschool.org".to_owned(), "S1002".to_owned())
            ]
        );
        assert_eq!(
            pairs(
                url,
                "SELECT u.email, c.course_code FROM enrollments e JOIN users u ON u.id = e.student_id \
                 JOIN courses c ON c.id = e.course_id ORDER BY u.email"
            )
            .len(),
            2
        );
        assert_eq!(
            pairs(
                url,
                "SELECT u.email, g.assessment FROM grades g JOIN users u ON u.id = g.student_id"
            ),
            [("ana@realschool.org".to_owned(), "final".to_owned())]
        );
        // A second run of the same files writes nothing and succeeds.
        let (c, r, t) = import(url, &data, &[]);
        assert_eq!(c, 0, "{t}");
        let inserted: u64 = r["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["inserted"].as_u64().unwrap_or(0) + f["updated"].as_u64().unwrap_or(0))
            .sum();
        assert_eq!(inserted, 0, "{t}");
        // A later file names the stored students by number alone.
        let later = dir.join("later");
        std::fs::create_dir_all(&later).unwrap();
        std::fs::write(
            later.join("attendance.csv"),
            "student_sis_id,course_code,date,status\nS1001,HIST1,2025-09-03,late\n",
        )
        .unwrap();
        let (c, _, t) = import(url, &later, &[]);
        assert_eq!(c, 0, "{t}");
        // A new sis_id for a stored student is a change: refused by default, applied with update.
        std::fs::write(
            later.join("users.csv"),
            "email,password,role,first_name,last_name,sis_id\nana@realschool.org,Plain-Pass-1-xyz!,student,Ana,Ruiz,S2001\n",
        )
        .unwrap();
        std::fs::remove_file(later.join("attendance.csv")).unwrap();
        let (c, _, t) = import(url, &later, &[]);
        assert_ne!(c, 0, "{t}");
        assert!(t.contains("sis_id"), "{t}");
        let (c, _, t) = import(
            url,
            &later,
            &["--on-existing", "update", "--max-changes", "50"],
        );
        assert_eq!(c, 0, "{t}");
        assert_eq!(
            pairs(
                url,
                "SELECT u.email, s.sis_id FROM registrar_user_sis_ids s \
                 JOIN users u ON u.id = s.user_id WHERE u.email LIKE 'ana%'"
            ),
            [("ana@realschool.org".to_owned(), "S2001".to_owned())]
        );
    });
}

#[test]
fn a_shared_or_unknown_sis_id_is_an_error_naming_its_column() {
    engines("sis_bad", |url, dir| {
        let data = write_school(dir);
        std::fs::write(
            data.join("users.csv"),
            "email,password,role,first_name,last_name,sis_id\n\
             ana@realschool.org,Plain-Pass-1-xyz!,student,Ana,Ruiz,S1001\n\
             ben@realschool.org,Plain-Pass-2-xyz!,student,Ben,Okafor,S1001\n",
        )
        .unwrap();
        std::fs::write(
            data.join("enrollments.csv"),
            "student_sis_id,course_code\nS1001,HIST1\nS9999,HIST1\n",
        )
        .unwrap();
        std::fs::remove_file(data.join("grades.csv")).unwrap();
        std::fs::remove_file(data.join("attendance.csv")).unwrap();
        let (c, r, t) = import(url, &data, &[]);
        assert_ne!(c, 0, "{t}");
        let issues = r["issues"].as_array().cloned().unwrap_or_default();
        let dup = issues
            .iter()
            .find(|i| i["code"] == "duplicate-key")
            .unwrap_or_else(|| panic!("{t}"));
        assert_eq!(dup["column"], "sis_id");
        assert_eq!(dup["row"], 3);
        assert!(dup["message"]
            .as_str()
            .unwrap()
            .contains("ana@realschool.org"));
        let unknown = issues
            .iter()
            .find(|i| i["code"] == "unknown-student")
            .unwrap_or_else(|| panic!("{t}"));
        assert_eq!(unknown["column"], "student_sis_id");
        assert_eq!(unknown["row"], 3);
        assert!(unknown["message"].as_str().unwrap().contains("S9999"));
        // Nothing was written.
        assert!(pairs(url, "SELECT email, role FROM users").is_empty());
    });
}
