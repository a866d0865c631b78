//! Issue 12, item 6: the values real exports hold, imported through the `registrar` binary on
//! both engines: `Active`/`disabled` for is_active, `tardy` for late, ISO date-times as their
//! date, slash dates with `--date-order` (refused without it, naming the option), course
//! codes written with spaces normalised the same in every file (with a
//! `course-code-normalized` warning), and half credits refused with the reason. The stored
//! rows are read back.

mod common;

use common::*;
use std::path::Path;

fn write(dir: &Path) {
    let files = [
        (
            "users.csv",
            "email,password,role,first_name,last_name,is_active\n\
             ann@lincoln.example.org,Quartz-Lantern-91,student,Ann,Lee,Active\n\
             bob@lincoln.example.org,Quartz-Lantern-92,student,Bob,Ray,disabled\n\
             cy@lincoln.example.org,Quartz-Lantern-93,student,Cy,Lund,ENABLED\n",
        ),
        (
            "courses.csv",
            "course_code,course_name,credits\n\
             Phys 100 - 1,Physics,4\n\
             MATH 101,Calculus,3\n",
        ),
        (
            "enrollments.csv",
            "student_email,course_code,enrollment_date\n\
             ann@lincoln.example.org,PHYS-100-1,2026-09-01T08:30:00+02:00\n\
             ann@lincoln.example.org,math 101,9/1/2026\n\
             bob@lincoln.example.org,Phys 100 - 1,2026-09-01T00:00:00Z\n\
             cy@lincoln.example.org,Phys 100 - 1,2026-09-01 00:00:00\n",
        ),
        (
            "grades.csv",
            "student_email,course_code,score,graded_on\n\
             ann@lincoln.example.org,Phys 100 - 1,91,12/18/2026\n",
        ),
        (
            "attendance.csv",
            "student_email,course_code,date,status\n\
             ann@lincoln.example.org,Phys 100 - 1,2026-09-02,Tardy\n\
             bob@lincoln.example.org,Phys 100 - 1,2026-09-02T07:55:00-05:00,present\n\
             ann@lincoln.example.org,MATH 101,9/3/2026,tardy\n",
        ),
    ];
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

/// Rows of `sql` (every column read as text) on either engine.
fn rows(url: &str, sql: &str) -> Vec<Vec<String>> {
    rt().block_on(async {
        use sqlx::Row;
        if url.starts_with("sqlite:") {
            let pool = sqlx::sqlite::SqlitePool::connect(url).await.unwrap();
            let r = sqlx::query(sql).fetch_all(&pool).await.unwrap();
            pool.close().await;
            r.iter()
                .map(|row| (0..row.len()).map(|i| row.get::<String, _>(i)).collect())
                .collect()
        } else {
            let pool = sqlx::postgres::PgPool::connect(url).await.unwrap();
            let r = sqlx::query(sql).fetch_all(&pool).await.unwrap();
            pool.close().await;
            r.iter()
                .map(|row| (0..row.len()).map(|i| row.get::<String, _>(i)).collect())
                .collect()
        }
    })
}

fn real_values(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = fresh(engine, dir.path(), "real_values") else {
        return;
    };
    let data = dir.path().join("export");
    std::fs::create_dir_all(&data).unwrap();
    write(&data);

    // Without --date-order the slash dates are errors naming the option; nothing is written.
    let o = run(&[
        "import",
        "--data",
        s(&data),
        "--execute",
        "--database",
        &url,
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    let v = json(&o);
    let dates: Vec<(String, u64)> = v["issues"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["code"] == "invalid-date")
        .map(|i| {
            assert!(
                i["message"].as_str().unwrap().contains("--date-order"),
                "{i}"
            );
            (
                i["file"].as_str().unwrap().to_owned(),
                i["row"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        dates,
        [
            ("enrollments.csv".to_owned(), 3),
            ("grades.csv".to_owned(), 2),
            ("attendance.csv".to_owned(), 4)
        ]
    );
    assert!(rows(&url, "SELECT email FROM users").is_empty());

    // With it, everything imports.
    let o = run(&[
        "import",
        "--data",
        s(&data),
        "--execute",
        "--database",
        &url,
        "--date-order",
        "mdy",
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let v = json(&o);
    let normalized: Vec<(String, u64)> = v["issues"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["code"] == "course-code-normalized")
        .map(|i| {
            assert_eq!(i["severity"], "warning");
            (
                i["file"].as_str().unwrap().to_owned(),
                i["row"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(normalized.len(), 7, "{normalized:?}");
    assert!(v["issues"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["severity"] == "warning"));

    assert_eq!(
        rows(
            &url,
            "SELECT email, CASE WHEN is_active THEN 'true' ELSE 'false' END FROM users ORDER BY email"
        ),
        [
            ["ann@lincoln.example.org", "true"],
            ["bob@lincoln.example.org", "false"],
            ["cy@lincoln.example.org", "true"],
        ]
    );
    assert_eq!(
        rows(
            &url,
            "SELECT course_code, CAST(credits AS TEXT) FROM courses ORDER BY course_code"
        ),
        [["MATH-101", "3"], ["PHYS-100-1", "4"]]
    );
    assert_eq!(
        rows(
            &url,
            "SELECT u.email, c.course_code, CAST(e.enrollment_date AS TEXT) FROM enrollments e \
             JOIN users u ON u.id = e.student_id JOIN courses c ON c.id = e.course_id \
             ORDER BY u.email, c.course_code"
        ),
        [
            ["ann@lincoln.example.org", "MATH-101", "2026-09-01"],
            ["ann@lincoln.example.org", "PHYS-100-1", "2026-09-01"],
            ["bob@lincoln.example.org", "PHYS-100-1", "2026-09-01"],
            ["cy@lincoln.example.org", "PHYS-100-1", "2026-09-01"],
        ]
    );
    assert_eq!(
        rows(&url, "SELECT CAST(graded_on AS TEXT) FROM grades"),
        [["2026-12-18"]]
    );
    assert_eq!(
        rows(
            &url,
            "SELECT u.email, c.course_code, CAST(a.attendance_date AS TEXT), a.status \
             FROM attendances a JOIN users u ON u.id = a.student_id \
             JOIN courses c ON c.id = a.course_id ORDER BY u.email, a.attendance_date"
        ),
        [
            [
                "ann@lincoln.example.org",
                "PHYS-100-1",
                "2026-09-02",
                "late"
            ],
            ["ann@lincoln.example.org", "MATH-101", "2026-09-03", "late"],
            [
                "bob@lincoln.example.org",
                "PHYS-100-1",
                "2026-09-02",
                "present"
            ],
        ]
    );

    // A re-run of the same export changes nothing (the codes normalise to what is stored).
    let o = run(&[
        "import",
        "--data",
        s(&data),
        "--execute",
        "--database",
        &url,
        "--date-order",
        "mdy",
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let v = json(&o);
    for f in v["files"].as_array().unwrap() {
        assert_eq!(f["inserted"], 0, "{f}");
        assert_eq!(f["updated"], 0, "{f}");
    }

    // Half credits: refused, saying why.
    let half = dir.path().join("half");
    std::fs::create_dir_all(&half).unwrap();
    std::fs::write(
        half.join("courses.csv"),
        "course_code,course_name,credits\nBIO1,Biology,0.5\n",
    )
    .unwrap();
    let o = run(&["validate", "--data", s(&half), "--format", "json"]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    let v = json(&o);
    assert_eq!(v["issues"][0]["code"], "invalid-number", "{v}");
    assert!(
        v["issues"][0]["message"]
            .as_str()
            .unwrap()
            .contains("INTEGER"),
        "{v}"
    );
}

#[test]
fn sqlite_real_values_import() {
    real_values(Engine::Sqlite);
}

#[test]
fn postgres_real_values_import() {
    real_values(Engine::Postgres);
}
