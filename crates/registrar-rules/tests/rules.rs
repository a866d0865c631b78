//! Row rules and cross-file rules, through an in-memory row source.

mod common;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use common::*;
use registrar_model::{
    AttendanceStatus, Entity, Issue, IssueCode, OnExisting, Role, Severity, Stored, StoredCourse,
    StoredGrade, StoredUser,
};
use registrar_model::{Event, Row, Value};
use registrar_rules::{Existing, ValidationOptions};
use std::collections::BTreeSet;

const HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

// ------------------------------------------------------------------------------------------
// users

#[test]
fn valid_users_are_typed_records() {
    let (r, seen) = run_default(vec![users(&[
        &student(" Ann.Lee@Example.ORG "),
        "bob@example.org,Zz9!long-enough,Teacher,Bob,Ray,no",
        "carl@example.org,Zz9!long-enough,admin,Carl,Ito,",
    ])]);
    assert!(r.is_ok(), "{:#?}", r.issues);
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|s| s.valid && !s.existing));
    let rec = seen[0].record.as_deref().unwrap();
    assert!(rec.contains("ann.lee@example.org"), "{rec}");
    assert!(rec.contains("Password(***)"), "{rec}");
    assert!(!rec.contains(GOOD_PW));
    assert!(seen[1]
        .record
        .as_deref()
        .unwrap()
        .contains("is_active: false"));
    assert!(seen[2]
        .record
        .as_deref()
        .unwrap()
        .contains("is_active: true"));
    let f = r.file("users.csv").unwrap();
    assert_eq!((f.rows, f.valid, f.invalid), (3, 3, 0));
    assert_eq!(f.entity, Entity::Users);
    assert_eq!(f.format, "csv");
}

#[test]
fn invalid_email_says_why() {
    // In the users file no raw value is echoed (a value in the wrong column may be a password).
    let (r, _) = run_default(vec![users(&[&student("carol@school")])]);
    let i = one(&r, IssueCode::InvalidEmail);
    assert_eq!(
        (i.file.as_str(), i.row, i.column.as_deref()),
        ("users.csv", Some(2), Some("email"))
    );
    assert!(i.message.contains("domain needs a dot"), "{}", i.message);
    assert!(!i.message.contains("carol@school"), "{}", i.message);
    // Elsewhere the value is quoted.
    let (r, _) = run_default(vec![enrollments(&["carol@school,MATH101,"])]);
    let i = one(&r, IssueCode::InvalidEmail);
    assert_eq!(i.column.as_deref(), Some("student_email"));
    assert!(i.message.contains("'carol@school'"), "{}", i.message);
}

#[test]
fn every_error_of_a_row_is_reported() {
    let (r, seen) = run_default(vec![users(&["bad-email,short,janitor,,Lee,perhaps"])]);
    let mut codes = codes_at(&r, "users.csv", 2);
    codes.sort();
    assert_eq!(
        codes,
        vec![
            IssueCode::MissingValue,
            IssueCode::InvalidEmail,
            IssueCode::WeakPassword,
            IssueCode::InvalidRole,
            IssueCode::InvalidBoolean,
        ]
    );
    assert!(!seen[0].valid);
    let f = r.file("users.csv").unwrap();
    assert_eq!((f.rows, f.valid, f.invalid), (1, 0, 1));
}

#[test]
fn password_required_unless_hash_given() {
    let row = |e: &str, h: &str| {
        vec![
            cell(e),
            cell(""),
            cell(h),
            cell("student"),
            cell("A"),
            cell("B"),
        ]
    };
    let src = value_source(
        "users.csv",
        &[
            "email",
            "password",
            "password_hash",
            "role",
            "first_name",
            "last_name",
        ],
        vec![
            row("a@example.org", ""),
            row("b@example.org", HASH),
            row("c@example.org", "$2b$12$abcdefghijklmnopqrstuv"),
        ],
    );
    let (r, seen) = run_default(vec![(Entity::Users, src)]);
    let m = one(&r, IssueCode::MissingValue);
    assert_eq!((m.row, m.column.as_deref()), (Some(2), Some("password")));
    assert!(seen[1].valid, "{:#?}", r.issues);
    assert!(seen[1].record.as_deref().unwrap().contains("argon2id"));
    let h = one(&r, IssueCode::InvalidHash);
    assert_eq!(
        (h.row, h.column.as_deref()),
        (Some(4), Some("password_hash"))
    );
    assert!(
        !h.message.contains("abcdefghijklmnopqrstuv"),
        "{}",
        h.message
    );
}

#[test]
fn weak_passwords() {
    let (r, _) = run_default(vec![users(&[
        "a1@example.org,Sh0rt!,student,A,A,",
        "a2@example.org,iloveyou,student,A,A,",
        "carol@example.org,MyCarolPass-99,student,A,A,",
    ])]);
    let w = with_code(&r, IssueCode::WeakPassword);
    assert_eq!(w.len(), 3, "{:#?}", r.issues);
    assert!(w[0].message.contains("at least 8"));
    assert!(w[1].message.contains("common"));
    assert!(w[2].message.contains("email"));
    for i in &w {
        assert!(!i.message.contains("Sh0rt!"));
        assert!(!i.message.contains("iloveyou"));
        assert!(!i.message.contains("MyCarolPass-99"));
    }
}

#[test]
fn names_too_long() {
    let long = "x".repeat(101);
    let ok = "y".repeat(100);
    let (r, seen) = run_default(vec![users(&[
        &format!("a@example.org,{GOOD_PW},student,{long},Lee,"),
        &format!("b@example.org,{GOOD_PW},student,{ok},Lee,"),
    ])]);
    let i = one(&r, IssueCode::TooLong);
    assert_eq!((i.row, i.column.as_deref()), (Some(2), Some("first_name")));
    assert!(i.message.contains("100"));
    assert!(seen[1].valid);
}

#[test]
fn training_accounts_are_refused() {
    let (r, seen) = run_default(vec![users(&[
        &student("student12@school.edu"),
        &student("Admin1@School.edu"),
        &student("student@school.edu"),
        &student("student12@school.edu.au"),
    ])]);
    let t = with_code(&r, IssueCode::TrainingAccount);
    assert_eq!(t.len(), 2, "{:#?}", r.issues);
    assert_eq!(t[0].row, Some(2));
    assert_eq!(t[1].row, Some(3));
    assert!(seen[2].valid && seen[3].valid);
}

#[test]
fn duplicate_email_names_first_valid_row_case_insensitively() {
    let (r, seen) = run_default(vec![users(&[
        "ann@example.org,x,student,Ann,Lee,", // invalid (weak password): not the first occurrence
        &student("ann@example.org"),
        &student("ANN@example.org"),
    ])]);
    let dup = one(&r, IssueCode::DuplicateKey);
    assert_eq!((dup.row, dup.column.as_deref()), (Some(4), Some("email")));
    assert!(dup.message.contains("row 3"), "{}", dup.message);
    assert!(!seen[0].valid && seen[1].valid && !seen[2].valid);
}

#[test]
fn header_problems() {
    // Missing column: file-level, rows not validated but counted invalid.
    let (r, seen) = run_default(vec![(
        Entity::Users,
        csv_source(
            "users.csv",
            "Email,password,role,first_name\nann@example.org,x,student,Ann\n",
        ),
    )]);
    let m = one(&r, IssueCode::MissingColumn);
    assert_eq!((m.row, m.column.as_deref()), (None, Some("last_name")));
    assert!(m.message.contains("last_name"));
    assert_eq!(seen.len(), 1);
    assert!(!seen[0].valid);
    assert!(with_code(&r, IssueCode::WeakPassword).is_empty());
    let f = r.file("users.csv").unwrap();
    assert_eq!((f.rows, f.valid, f.invalid), (1, 0, 1));

    // Neither password nor password_hash.
    let (r, _) = run_default(vec![(
        Entity::Users,
        csv_source("users.csv", "email,role,first_name,last_name\n"),
    )]);
    let m = one(&r, IssueCode::MissingColumn);
    assert_eq!(m.column.as_deref(), Some("password"));
    assert!(m.message.contains("password_hash"));

    // Duplicate column, unknown column (warning), headers trimmed and case-insensitive.
    let (r, _) = run_default(vec![(
        Entity::Courses,
        csv_source(
            "courses.csv",
            " COURSE_CODE ,course_name,nickname,Course_Name\nMATH101,Calc,x,Calc\n",
        ),
    )]);
    let dup = one(&r, IssueCode::DuplicateColumn);
    assert!(dup.message.contains("columns 2 and 4"), "{}", dup.message);
    let unk = one(&r, IssueCode::UnknownColumn);
    assert_eq!(unk.severity, Severity::Warning);
    assert_eq!(unk.column.as_deref(), Some("nickname"));

    // An unknown column alone is only a warning.
    let (r, seen) = run_default(vec![(
        Entity::Courses,
        csv_source(
            "courses.csv",
            "course_code,course_name,room\nMATH101,Calc,B12\n",
        ),
    )]);
    assert!(r.is_ok());
    assert_eq!(r.warning_count(), 1);
    assert!(seen[0].valid);
}

// ------------------------------------------------------------------------------------------
// courses

#[test]
fn course_rules() {
    let long = "n".repeat(201);
    let (r, seen) = run_default(vec![courses(&[
        " math101 ,Calculus I,Limits,Fall 2024,4.0,Active",
        "101MATH,Bad code,,,,",
        "PHYS1,Physics,,,4.5,",
        "PHYS2,Physics,,,21,",
        "PHYS3,Physics,,,,closed",
        &format!("PHYS4,{long},,,,"),
        "MATH101,Duplicate,,,,",
        "CHEM1,,,,,",
    ])]);
    assert!(seen[0].valid);
    let rec = seen[0].record.as_deref().unwrap();
    assert!(
        rec.contains("\"MATH101\"") && rec.contains("credits: Some(4)") && rec.contains("Active"),
        "{rec}"
    );
    assert_eq!(codes_at(&r, "courses.csv", 3), vec![IssueCode::InvalidCode]);
    assert_eq!(
        codes_at(&r, "courses.csv", 4),
        vec![IssueCode::InvalidNumber]
    );
    assert_eq!(codes_at(&r, "courses.csv", 5), vec![IssueCode::OutOfRange]);
    assert_eq!(
        codes_at(&r, "courses.csv", 6),
        vec![IssueCode::InvalidStatus]
    );
    assert_eq!(codes_at(&r, "courses.csv", 7), vec![IssueCode::TooLong]);
    assert_eq!(
        codes_at(&r, "courses.csv", 8),
        vec![IssueCode::DuplicateKey]
    );
    assert!(one(&r, IssueCode::DuplicateKey).message.contains("row 2"));
    assert_eq!(
        codes_at(&r, "courses.csv", 9),
        vec![IssueCode::MissingValue]
    );
}

#[test]
fn numeric_and_error_cells() {
    let src = value_source(
        "courses.xlsx",
        &["course_code", "course_name", "credits", "semester"],
        vec![
            vec![
                cell("A1"),
                cell("Algebra"),
                Value::Float(3.0),
                Value::Int(2024),
            ],
            vec![
                cell("A2"),
                cell("Algebra"),
                Value::Error("#N/A".into()),
                Value::Empty,
            ],
            vec![
                cell("A3"),
                Value::Error("#REF!".into()),
                Value::Int(3),
                Value::Empty,
            ],
        ],
    );
    let (r, seen) = run_default(vec![(Entity::Courses, src)]);
    assert!(seen[0].valid, "{:#?}", r.issues);
    assert!(seen[0]
        .record
        .as_deref()
        .unwrap()
        .contains("credits: Some(3)"));
    assert!(seen[0].record.as_deref().unwrap().contains("\"2024\""));
    let n = one(&r, IssueCode::InvalidNumber);
    assert_eq!((n.row, n.column.as_deref()), (Some(3), Some("credits")));
    assert!(n.message.contains("#N/A"));
    let m = one(&r, IssueCode::MissingValue);
    assert_eq!((m.row, m.column.as_deref()), (Some(4), Some("course_name")));
    assert!(m.message.contains("#REF!"));
}

// ------------------------------------------------------------------------------------------
// enrollments

fn base() -> Vec<(Entity, common::MemSource)> {
    vec![
        users(&[
            &student("ann@example.org"),                        // 2
            "bob@example.org,Zz9!long-enough,teacher,Bob,Ray,", // 3
            "eve@example,Zz9!long-enough,student,Eve,Ng,",      // 4: invalid
            &student("dan@example.org"),                        // 5
        ]),
        courses(&[
            "MATH101,Calculus,,,4,", // 2
            "BAD CODE,Nope,,,,",     // 3: invalid code → not referable (and code unparsable)
            "PHYS1,Physics,,,99,",   // 4: invalid credits → rejected
        ]),
    ]
}

#[test]
fn enrollment_references() {
    let mut files = base();
    files.push(enrollments(&[
        "ann@example.org,MATH101,2024-09-01", // 2 ok
        "Ann@Example.org,math101,",           // 3 duplicate of 2
        "bob@example.org,MATH101,",           // 4 not a student
        "zed@example.org,MATH101,",           // 5 unknown student
        "eve@example.org,MATH101,",           // 6 unknown student (never valid; different email)
        "ann@example.org,PHYS1,",             // 7 unknown course: rejected
        "ann@example.org,CHEM9,",             // 8 unknown course
        "ann@example.org,MATH101,09/01/2024", // 9 invalid date (and duplicate not checked)
        "dan@example.org,MATH101,2024-09-01", // 10 ok
    ]));
    let (r, seen) = run_default(files);
    let e = |row| codes_at(&r, "enrollments.csv", row);
    assert!(e(2).is_empty());
    assert_eq!(e(3), vec![IssueCode::DuplicateKey]);
    assert_eq!(e(4), vec![IssueCode::NotAStudent]);
    assert_eq!(e(5), vec![IssueCode::UnknownStudent]);
    assert_eq!(e(6), vec![IssueCode::UnknownStudent]);
    assert_eq!(e(7), vec![IssueCode::UnknownCourse]);
    assert_eq!(e(8), vec![IssueCode::UnknownCourse]);
    assert_eq!(e(9), vec![IssueCode::InvalidDate]);
    assert!(e(10).is_empty());
    let rejected_course = r
        .issues
        .iter()
        .find(|i| i.row == Some(7) && i.file == "enrollments.csv")
        .unwrap();
    assert!(
        rejected_course
            .message
            .contains("courses.csv row 4 was rejected"),
        "{}",
        rejected_course.message
    );
    let f = r.file("enrollments.csv").unwrap();
    assert_eq!((f.rows, f.valid, f.invalid), (9, 2, 7));
    assert_eq!(
        seen.iter()
            .filter(|s| s.file == "enrollments.csv" && s.valid)
            .count(),
        2
    );
}

#[test]
fn invalid_user_makes_enrollment_unknown_student_saying_rejected() {
    let (r, _) = run_default(vec![
        users(&[
            &student("ann@example.org"),
            "carol@example.org,password,student,Carol,Lee,",
        ]),
        courses(&["MATH101,Calculus,,,,"]),
        enrollments(&["carol@example.org,MATH101,"]),
    ]);
    let u = one(&r, IssueCode::UnknownStudent);
    assert_eq!((u.file.as_str(), u.row), ("enrollments.csv", Some(2)));
    assert!(
        u.message
            .contains("users.csv row 3 was rejected; fix it first"),
        "{}",
        u.message
    );
}

// ------------------------------------------------------------------------------------------
// grades and attendance

fn enrolled() -> Vec<(Entity, common::MemSource)> {
    let mut files = base();
    files.push(enrollments(&[
        "ann@example.org,MATH101,",           // 2
        "dan@example.org,MATH101,not-a-date", // 3 rejected
    ]));
    files
}

#[test]
fn grade_rules() {
    let mut files = enrolled();
    files.push(grades(&[
        "ann@example.org,MATH101,,91.5,A-,2024-12-01", // 2 ok, assessment final
        "ann@example.org,MATH101,Final,80,,",          // 3 duplicate of 2 (case-folded)
        "ann@example.org,MATH101,Midterm,,b+,",        // 4 ok
        "ann@example.org,MATH101,quiz,,,",             // 5 missing score/letter
        "ann@example.org,MATH101,quiz2,101,,",         // 6 out of range
        "ann@example.org,MATH101,quiz3,,E,",           // 7 invalid grade
        "dan@example.org,MATH101,,50,,",               // 8 not enrolled: enrollment rejected
        "bob@example.org,MATH101,,50,,",               // 9 teacher: not a student
        "ann@example.org,MATH101,quiz4,50,,31/12/2024", // 10 invalid date
    ]));
    let (r, seen) = run_default(files);
    let g = |row| codes_at(&r, "grades.csv", row);
    assert!(g(2).is_empty() && g(4).is_empty(), "{:#?}", r.issues);
    let first = seen
        .iter()
        .find(|s| s.file == "grades.csv" && s.row == 2)
        .unwrap();
    let rec = first.record.as_deref().unwrap();
    assert!(
        rec.contains("assessment: \"final\"")
            && rec.contains("Some(91.5)")
            && rec.contains("\"A-\""),
        "{rec}"
    );
    assert_eq!(g(3), vec![IssueCode::DuplicateKey]);
    let missing = with_code(&r, IssueCode::MissingValue);
    assert_eq!(missing.len(), 1);
    assert_eq!(
        (missing[0].row, missing[0].column.as_deref()),
        (Some(5), Some("score"))
    );
    assert_eq!(g(6), vec![IssueCode::OutOfRange]);
    assert_eq!(g(7), vec![IssueCode::InvalidGrade]);
    assert_eq!(g(8), vec![IssueCode::NotEnrolled]);
    let ne = one(&r, IssueCode::NotEnrolled);
    assert!(
        ne.message
            .contains("enrollments.csv row 3 was rejected; fix it first"),
        "{}",
        ne.message
    );
    assert_eq!(g(9), vec![IssueCode::NotAStudent]);
    assert_eq!(g(10), vec![IssueCode::InvalidDate]);
}

#[test]
fn attendance_rules() {
    let mut files = enrolled();
    files.push(attendance(&[
        "ann@example.org,MATH101,2024-09-02,present", // 2
        "ANN@example.org,math101,2024-09-02,late",    // 3 duplicate
        "ann@example.org,MATH101,2024-09-03,asleep",  // 4 invalid status
        "ann@example.org,MATH101,2024-02-30,absent",  // 5 invalid date
        "ann@example.org,MATH101,,absent",            // 6 missing date
        "dan@example.org,MATH101,2024-09-02,present", // 7 not enrolled
        "zed@example.org,NOPE1,2024-09-02,present",   // 8 unknown student + course
    ]));
    let (r, _) = run_default(files);
    let a = |row| codes_at(&r, "attendance.csv", row);
    assert!(a(2).is_empty());
    assert_eq!(a(3), vec![IssueCode::DuplicateKey]);
    assert!(one(&r, IssueCode::DuplicateKey).message.contains("row 2"));
    assert_eq!(a(4), vec![IssueCode::InvalidStatus]);
    assert_eq!(a(5), vec![IssueCode::InvalidDate]);
    assert_eq!(a(6), vec![IssueCode::MissingValue]);
    assert_eq!(a(7), vec![IssueCode::NotEnrolled]);
    assert_eq!(
        a(8),
        vec![IssueCode::UnknownStudent, IssueCode::UnknownCourse]
    );
    let f = r.file("attendance.csv").unwrap();
    assert_eq!((f.rows, f.valid, f.invalid), (7, 1, 6));
}

#[test]
fn spreadsheet_dates() {
    let day = d("2024-09-02");
    let src = value_source(
        "attendance.xlsx",
        &["student_email", "course_code", "date", "status"],
        vec![
            vec![
                cell("ann@example.org"),
                cell("MATH101"),
                Value::Date(day),
                cell("present"),
            ],
            vec![
                cell("ann@example.org"),
                cell("MATH101"),
                Value::DateTime(NaiveDateTime::new(d("2024-09-03"), NaiveTime::MIN)),
                cell("present"),
            ],
            vec![
                cell("ann@example.org"),
                cell("MATH101"),
                Value::Error("#N/A".into()),
                cell("present"),
            ],
        ],
    );
    let mut files = enrolled();
    files.push((Entity::Attendance, src));
    let (r, seen) = run_default(files);
    let att: Vec<_> = seen
        .iter()
        .filter(|s| s.file == "attendance.xlsx")
        .collect();
    assert!(att[0].valid && att[1].valid, "{:#?}", r.issues);
    assert!(att[1].record.as_deref().unwrap().contains("2024-09-03"));
    let inv = with_code(&r, IssueCode::InvalidDate);
    let i = inv.iter().find(|i| i.file == "attendance.xlsx").unwrap();
    assert_eq!((i.row, i.column.as_deref()), (Some(4), Some("date")));
    assert!(i.message.contains("#N/A"));
}

// ------------------------------------------------------------------------------------------
// the database (Existing) and --on-existing

/// The database of these tests: each row's stored values differ from `db_files`' rows.
fn existing() -> Existing {
    let mut ex = Existing::default();
    let user = |role| Stored::imported(StoredUser::with_role(role));
    ex.insert_user("old@example.org", user(Role::Student));
    ex.insert_user("teach@example.org", user(Role::Teacher));
    ex.insert_course("HIST1", Stored::new(StoredCourse::default()));
    ex.insert_enrollment(
        "old@example.org",
        "HIST1",
        Stored::new(Some(d("2024-09-01"))),
    );
    ex.insert_grade(
        "old@example.org",
        "HIST1",
        "final",
        Stored::new(StoredGrade::default()),
    );
    ex.insert_attendance(
        "old@example.org",
        "HIST1",
        d("2024-09-02"),
        Stored::new(Some(AttendanceStatus::Absent)),
    );
    ex
}

/// The database holding exactly `db_files`' first rows.
fn existing_same() -> Existing {
    let mut ex = existing();
    let (e, h) = ("old@example.org".to_owned(), "HIST1".to_owned());
    if let Some(u) = ex.users.get_mut(&e) {
        u.values.first_name = "Ann".into();
        u.values.last_name = "Lee".into();
    }
    if let Some(c) = ex.courses.get_mut(&h) {
        c.values.course_name = "History".into();
    }
    ex.enrollments[0].stored = Stored::new(None);
    ex.grades[0].stored = Stored::new(StoredGrade {
        score: Some(70.0),
        ..StoredGrade::default()
    });
    ex.attendance = ex
        .attendance
        .iter()
        .map(|mut l| {
            l.stored = Stored::new(Some(AttendanceStatus::Present));
            l
        })
        .collect();
    ex
}

#[test]
fn regression_a_row_the_database_holds_unchanged_is_not_already_exists() {
    let (r, seen) = run(
        db_files(),
        ValidationOptions {
            update_passwords: false,
            on_existing: OnExisting::Error,
            existing: Some(existing_same()),
            ..Default::default()
        },
    );
    assert!(r.is_ok(), "{:#?}", r.issues);
    let unchanged: Vec<(&str, u64)> = seen
        .iter()
        .filter(|s| s.existing)
        .map(|s| (s.file.as_str(), s.row))
        .collect();
    assert_eq!(
        unchanged,
        vec![
            ("users.csv", 2),
            ("courses.csv", 2),
            ("enrollments.csv", 2),
            ("grades.csv", 2),
            ("attendance.csv", 2),
        ]
    );
    assert!(seen
        .iter()
        .filter(|s| s.existing)
        .all(|s| s.change == "Unchanged"));
}

fn db_files() -> Vec<(Entity, common::MemSource)> {
    vec![
        users(&[&student("Old@Example.org"), &student("new@example.org")]),
        courses(&["hist1,History,,,,", "ART1,Art,,,,"]),
        enrollments(&["old@example.org,HIST1,", "new@example.org,HIST1,"]),
        grades(&[
            "old@example.org,HIST1,FINAL,70,,",
            "new@example.org,HIST1,,70,,",
        ]),
        attendance(&[
            "old@example.org,HIST1,2024-09-02,present",
            "old@example.org,HIST1,2024-09-03,present",
        ]),
    ]
}

#[test]
fn already_exists_with_on_existing_error() {
    let (r, seen) = run(
        db_files(),
        ValidationOptions {
            update_passwords: false,
            on_existing: OnExisting::Error,
            existing: Some(existing()),
            ..Default::default()
        },
    );
    let ae = with_code(&r, IssueCode::AlreadyExists);
    let at: Vec<(&str, Option<u64>)> = ae.iter().map(|i| (i.file.as_str(), i.row)).collect();
    assert_eq!(
        at,
        vec![
            ("users.csv", Some(2)),
            ("courses.csv", Some(2)),
            ("enrollments.csv", Some(2)),
            ("grades.csv", Some(2)),
            ("attendance.csv", Some(2)),
        ]
    );
    assert!(ae[0].message.contains("--on-existing"));
    // The rest is valid: references resolve against the database (old user, HIST1, enrollment).
    assert_eq!(r.error_count(), 5, "{:#?}", r.issues);
    assert_eq!(seen.iter().filter(|s| s.valid).count(), 5);
}

#[test]
fn skip_and_update_make_existing_rows_valid() {
    for mode in [OnExisting::Skip, OnExisting::Update] {
        let (r, seen) = run(
            db_files(),
            ValidationOptions {
                update_passwords: false,
                on_existing: mode,
                existing: Some(existing()),
                ..Default::default()
            },
        );
        assert!(r.is_ok(), "{mode:?}: {:#?}", r.issues);
        let existing_rows: Vec<(&str, u64)> = seen
            .iter()
            .filter(|s| s.existing)
            .map(|s| (s.file.as_str(), s.row))
            .collect();
        assert_eq!(
            existing_rows,
            vec![
                ("users.csv", 2),
                ("courses.csv", 2),
                ("enrollments.csv", 2),
                ("grades.csv", 2),
                ("attendance.csv", 2),
            ]
        );
        assert_eq!(seen.iter().filter(|s| s.valid).count(), 10);
    }
}

#[test]
fn database_references_and_roles() {
    let (r, _) = run(
        vec![enrollments(&[
            "teach@example.org,HIST1,",
            "old@example.org,ART9,",
        ])],
        ValidationOptions {
            update_passwords: false,
            on_existing: OnExisting::Error,
            existing: Some(existing()),
            ..Default::default()
        },
    );
    assert_eq!(
        codes_at(&r, "enrollments.csv", 2),
        vec![IssueCode::NotAStudent]
    );
    assert_eq!(
        codes_at(&r, "enrollments.csv", 3),
        vec![IssueCode::UnknownCourse]
    );
    // A grade for an enrollment already in the database is fine.
    let (r, _) = run(
        vec![grades(&["old@example.org,HIST1,midterm,50,,"])],
        ValidationOptions {
            update_passwords: false,
            on_existing: OnExisting::Error,
            existing: Some(existing()),
            ..Default::default()
        },
    );
    assert!(r.is_ok(), "{:#?}", r.issues);
}

// ------------------------------------------------------------------------------------------
// reader issues, blank rows, secrets

#[test]
fn reader_issues_count_as_invalid_rows() {
    let mut src = csv_source("courses.csv", "course_code,course_name\nMATH1,Math\n");
    let mut events: Vec<_> = src.events.by_ref().collect();
    events.push(Ok(Event::Issue(Issue::error(
        IssueCode::MalformedRow,
        "courses.csv",
        Some(3),
        None,
        "3 fields, expected 2",
    ))));
    events.push(Ok(Event::Row(Row {
        row: 4,
        values: vec![Value::Text("  ".into()), Value::Empty],
    })));
    events.push(Ok(Event::Row(Row {
        row: 5,
        values: vec![cell("MATH2"), cell("More math")],
    })));
    src.events = events.into_iter();
    let (r, seen) = run_default(vec![(Entity::Courses, src)]);
    let f = r.file("courses.csv").unwrap();
    assert_eq!((f.rows, f.valid, f.invalid), (3, 2, 1));
    assert_eq!(one(&r, IssueCode::MalformedRow).row, Some(3));
    let rows: Vec<(u64, bool)> = seen.iter().map(|s| (s.row, s.valid)).collect();
    assert_eq!(rows, vec![(2, true), (3, false), (5, true)]);
}

#[test]
fn no_password_or_hash_in_any_message() {
    let secrets = [
        "Zebra-Quartz-1177",
        "Secret#Alpha-9",
        "carolSecret-77",
        "P@ssw0rd-Orchid",
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$bogus!!",
        "$bcrypt$notreally-0042",
        "Nightly*Falcon-31",
    ];
    let [s0, s1, s2, s3, s4, s5, s6] = secrets;
    let headers = [
        "email",
        "password",
        "password_hash",
        "role",
        "first_name",
        "last_name",
        "is_active",
    ];
    let row = |v: [&str; 7]| v.iter().map(|s| cell(s)).collect::<Vec<_>>();
    let src = value_source(
        "users.csv",
        &headers,
        vec![
            row(["carol@school", s0, "", "student", "C", "L", ""]),
            row(["", s1, "", "", "", "", ""]),
            row(["carol@example.org", s2, "", "studnet", "C", "L", "maybe"]),
            row(["dave@example.org", "x9", s4, "student", "D", "L", ""]),
            row(["erin@example.org", "", s5, "student", "E", "L", ""]),
            // Values in the wrong columns.
            row([s0, s1, s0, s1, s0, s1, s0]),
            row([s3, "ann@example.org", "", s6, "Ann", "Lee", s6]),
            row(["student1@school.edu", s0, "", "student", "S", "L", ""]),
            row(["dup@example.org", s6, "", "student", "S", "L", ""]),
            row(["dup@example.org", s6, "", "student", "S", "L", ""]),
        ],
    );
    // A users file without a header line: the first data line is taken as the header.
    let headerless = value_source(
        "users2.csv",
        &["ann@example.org", s6, "student", "Ann", "Lee"],
        vec![vec![
            cell("bob@example.org"),
            cell(s3),
            cell("student"),
            cell("B"),
            cell("L"),
        ]],
    );
    let (r, _) = run_default(vec![(Entity::Users, src), (Entity::Users, headerless)]);
    assert!(r.error_count() >= 12, "{:#?}", r.issues);
    assert!(with_code(&r, IssueCode::MissingColumn)[0]
        .message
        .contains("looks like data"));
    let all = serde_json::to_string(&r).unwrap();
    for s in secrets {
        assert!(!all.contains(s), "secret {s} leaked: {all}");
    }
    for i in &r.issues {
        assert!(!i.message.contains("x9"), "{}", i.message);
        assert!(!i.to_string().contains("Falcon"), "{i}");
    }
}

/// Every rule-level code of SPEC §3 is produced by the rules (the reader-level codes
/// unreadable-file, unsupported-format, invalid-encoding, duplicate-file, malformed-file and
/// malformed-row come from registrar-formats).
#[test]
fn every_rule_code_is_produced() {
    let mut files = enrolled();
    files.push(grades(&[
        "ann@example.org,MATH101,,,E,",
        "ann@example.org,MATH101,x,,,",
        "dan@example.org,MATH101,,50,,",
        "bob@example.org,MATH101,,50,,",
    ]));
    files.push(attendance(&[
        "ann@example.org,MATH101,2024-09-02,present",
        "ann@example.org,MATH101,2024-09-02,present",
        "zed@example.org,NOPE,2024-09-02,present",
    ]));
    let (mut r, _) = run_default(files);
    let more = [
        users(&[
            "x@example.org,Zz9!long-enough,student,A,B,maybe",
            "w@example.org,short,boss,A,B,",
            "y@example.org,Zz9!long-enough,student,A,B,",
            "y@example.org,Zz9!long-enough,student,A,B,",
            "v@example.org, Zz9!long-enough,student,A,B,",
            "u@example.org,Zz9!long-enough,student,A\u{1}a,B,",
            &student("admin1@school.edu"),
        ]),
        (
            Entity::Users,
            csv_source(
                "users2.csv",
                &format!("email,password_hash,role,first_name,last_name,x,x\nz@example.org,nohash,student,{},B,,\n", "n".repeat(101)),
            ),
        ),
        courses(&["ab#cd,Name,,,,", "Phys 100 - 1,Name,,,,", "Q1,Name,,,x,", "Q2,Name,,,50,", "Q3,Name,,,,gone"]),
        (Entity::Courses, csv_source("courses2.csv", "course_code,course_code\n")),
        (Entity::Courses, csv_source("courses3.csv", "course_name\n")),
    ];
    for (e, src) in more {
        let (r2, _) = run_default(vec![(e, src)]);
        r.issues.extend(r2.issues);
    }
    let (r3, _) = run(
        vec![users(&[&student("old@example.org")])],
        ValidationOptions {
            update_passwords: false,
            on_existing: OnExisting::Error,
            existing: Some(existing()),
            ..Default::default()
        },
    );
    r.issues.extend(r3.issues);
    // The hash policy's codes (see tests/hashes.rs).
    let hashes = "email,password_hash,role,first_name,last_name\n\
        h1@example.org,$2b$17$abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz0,student,A,B\n\
        h2@example.org,5f4dcc3b5aa765d61d8327deb882cf99,student,A,B\n\
        h3@example.org,$1$saltsalt$abcdefghijklmnopqrstuv,student,A,B\n";
    let (r4, _) = run(
        vec![(Entity::Users, csv_source("users3.csv", hashes))],
        ValidationOptions {
            hash_policy: registrar_hashes::HashPolicy {
                legacy: registrar_hashes::LegacyHashes::Refuse,
                accept_unsalted: false,
            },
            ..Default::default()
        },
    );
    r.issues.extend(r4.issues);
    // A mapping file's skip (see crates/registrar-cli/tests/header_mapping.rs).
    let mapping = registrar_rules::mapping::Mapping::from_toml(
        "[users.values.role]\nguardian = \"skip\"\n",
        "m.toml",
    )
    .unwrap();
    let (r5, _) = run(
        vec![users(&[
            &student("g@example.org").replace(",student,", ",guardian,")
        ])],
        ValidationOptions {
            mapping: Some(std::sync::Arc::new(mapping)),
            ..Default::default()
        },
    );
    assert_eq!(r5.files[0].excluded, 1);
    assert_eq!(r5.files[0].valid + r5.files[0].invalid, 0);
    r.issues.extend(r5.issues);

    let got: BTreeSet<&str> = r.issues.iter().map(|i| i.code.as_str()).collect();
    let reader_level = [
        "unreadable-file",
        "unsupported-format",
        "invalid-encoding",
        "duplicate-file",
        "malformed-file",
        "malformed-row",
        "no-data-files",
        // Run-level codes of a sync, made by the facade (tested in tests/sync.rs).
        "too-many-changes",
        "unknown-origin",
        "sync-incomplete",
        // OneRoster bundle structure, made by registrar-formats' `oneroster::check`
        // (tested there).
        "missing-file",
        "invalid-manifest",
        "column-order",
        "invalid-vocabulary",
        "unknown-reference",
        "ignored-file",
    ];
    let want: BTreeSet<&str> = IssueCode::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !reader_level.contains(c))
        .collect();
    let missing: Vec<_> = want.difference(&got).collect();
    assert!(missing.is_empty(), "codes never produced: {missing:?}");
}

/// Issue 16: attendance keys live in a compact table that numbers rows across the run's
/// attendance files; a duplicate in a second file must still name the first file's row.
#[test]
fn attendance_duplicate_in_a_second_file_names_the_first_files_row() {
    let mut files = enrolled();
    files.push(attendance(&[
        "ann@example.org,MATH101,2024-09-02,present", // 2
        "ann@example.org,MATH101,2024-09-03,present", // 3
        "ann@example.org,MATH101,2024-09-04,present", // 4
    ]));
    let (entity, mut second) = attendance(&[
        "ann@example.org,MATH101,2024-09-05,late",   // 2
        "ann@example.org,MATH101,2024-09-04,absent", // 3 duplicate of attendance.csv row 4
        "ann@example.org,MATH101,2024-09-05,late",   // 4 duplicate of row 2 of this file
    ]);
    second.file = "attendance-term2.csv".into();
    files.push((entity, second));
    let (r, _) = run_default(files);
    let dups = with_code(&r, IssueCode::DuplicateKey);
    assert_eq!(dups.len(), 2, "{:?}", r.issues);
    assert!(
        dups[0].message.contains("row 4 of attendance.csv"),
        "{}",
        dups[0].message
    );
    assert_eq!(dups[0].row, Some(3));
    assert!(dups[1].message.contains("on row 2;"), "{}", dups[1].message);
}
