//! Embedding without files (issue 11, item 6): records held in memory go through the same
//! driver, rules and all-or-nothing load as files, on both engines.

use registrar::db::testing::{fresh_postgres, fresh_sqlite};
use registrar::model::{
    Attendance, AttendanceStatus, Course, CourseCode, CourseStatus, Email, Enrollment, Password,
    Role, User, Value,
};
use registrar::{validate_input, Entity, Input, IssueCode, Migration, ReaderOptions, Records};

fn user(email: &str, role: Role) -> User {
    User {
        email: Email::new_unchecked(email),
        password: Some(Password::new("Xk29!vmq-Lp")),
        password_hash: None,
        role,
        first_name: "Ana".into(),
        last_name: "Ruiz".into(),
        is_active: true,
        sis_id: None,
    }
}

fn course(code: &str) -> Course {
    Course {
        course_code: CourseCode::new_unchecked(code),
        course_name: "Algebra".into(),
        description: Some("x".into()),
        semester: None,
        credits: Some(3),
        status: CourseStatus::Active,
    }
}

fn day(d: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2024, 9, d).unwrap()
}

async fn records_load_all_or_nothing(url: String) {
    // A duplicate and a record whose course does not exist: nothing is written.
    let bad = Migration::new(&url)
        .records([
            user("ana@school.edu", Role::Student),
            user("ANA@school.edu", Role::Student),
        ])
        .records([Enrollment {
            student_email: Email::new_unchecked("ana@school.edu"),
            course_code: CourseCode::new_unchecked("NOPE1"),
            enrollment_date: None,
        }])
        .execute()
        .await
        .unwrap();
    assert!(!bad.is_ok());
    let found: Vec<(IssueCode, &str, Option<u64>)> = bad
        .issues
        .iter()
        .map(|i| (i.code, i.file.as_str(), i.row))
        .collect();
    assert!(
        found.contains(&(IssueCode::DuplicateKey, "users", Some(2))),
        "{found:?}"
    );
    assert!(
        found.contains(&(IssueCode::UnknownCourse, "enrollments", Some(1))),
        "{found:?}"
    );
    assert_eq!(bad.files.iter().map(|f| f.inserted).sum::<u64>(), 0);

    // Clean records load, passwords hashed, in import order whatever order they were given.
    let ok = Migration::new(&url)
        .records([Attendance {
            student_email: Email::new_unchecked("ana@school.edu"),
            course_code: CourseCode::new_unchecked("MATH101"),
            date: day(3),
            status: AttendanceStatus::Present,
        }])
        .records([course("MATH101")])
        .records([user("ana@school.edu", Role::Student)])
        .records([Enrollment {
            student_email: Email::new_unchecked("ana@school.edu"),
            course_code: CourseCode::new_unchecked("MATH101"),
            enrollment_date: Some(day(2)),
        }])
        .execute()
        .await
        .unwrap();
    assert!(ok.is_ok(), "{:?}", ok.issues);
    let order: Vec<(&str, u64)> = ok
        .files
        .iter()
        .map(|f| (f.file.as_str(), f.inserted))
        .collect();
    assert_eq!(
        order,
        [
            ("users", 1),
            ("courses", 1),
            ("enrollments", 1),
            ("attendance", 1)
        ]
    );
    // The record's plain password was hashed: the account logs in with it.
    let db = registrar::db::Database::open(&url).await.unwrap();
    let logins = registrar::checks::verify_credentials(
        &db,
        [registrar::checks::Credential {
            row: 1,
            email: "ana@school.edu".into(),
            password: Password::new("Xk29!vmq-Lp"),
        }],
        None,
    )
    .await
    .unwrap();
    db.close().await;
    assert_eq!((logins.checked, logins.passed), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_records_load_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    records_load_all_or_nothing(fresh_sqlite(dir.path())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_records_load_all_or_nothing() {
    let Some(url) = fresh_postgres("postgres_records_load_all_or_nothing").await else {
        return;
    };
    records_load_all_or_nothing(url).await;
}

#[test]
fn rows_of_values_are_checked_like_a_file() {
    let rows = Records::from_rows(
        Entity::Courses,
        ["course_code", "course_name", "credits"],
        vec![
            vec![
                Value::Text("math101".into()),
                Value::Text("Algebra".into()),
                Value::Int(3),
            ],
            vec![
                Value::Text("ART1".into()),
                Value::Text("Art".into()),
                Value::Int(99),
            ],
        ],
    );
    let r = validate_input(&Input::Records(vec![rows]), &ReaderOptions::default()).unwrap();
    assert_eq!(r.files.len(), 1);
    assert_eq!((r.files[0].rows, r.files[0].valid), (2, 1));
    assert_eq!(r.issues.len(), 1, "{:?}", r.issues);
    assert_eq!(r.issues[0].file, "courses");
    assert_eq!(r.issues[0].row, Some(2));
    assert_eq!(r.issues[0].column.as_deref(), Some("credits"));

    // A missing required column is a file-level issue, as for a file.
    let rows = Records::from_rows(
        Entity::Courses,
        ["course_code"],
        vec![vec![Value::Text("X1".into())]],
    );
    let r = validate_input(&Input::Records(vec![rows]), &ReaderOptions::default()).unwrap();
    assert!(r.has_file_level_errors(), "{:?}", r.issues);
}
