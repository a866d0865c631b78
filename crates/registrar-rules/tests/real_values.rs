//! Issue 12, items 5 and 6, through the whole validation pass: a users file without password
//! columns under `--missing-password`, and the values real exports hold (`active`, `tardy`,
//! ISO date-times, slash dates with `--date-order`, course codes written with spaces) accepted
//! where they are unambiguous, with the same course code in every file that names it and one
//! `course-code-normalized` warning per file and spelling.

mod common;

use common::*;
use registrar_model::{Entity, IssueCode, MissingPassword, Severity};
use registrar_rules::parse::DateOrder;
use registrar_rules::ValidationOptions;

fn files() -> Vec<(Entity, MemSource)> {
    vec![
        users(&[
            &format!("ann@example.org,{GOOD_PW},student,Ann,Lee,Active"),
            &format!("bob@example.org,{GOOD_PW},student,Bob,Ray,disabled"),
        ]),
        courses(&["Phys 100 - 1,Physics,,,4,", "MATH 101,Calculus,,,3,"]),
        enrollments(&[
            "ann@example.org,PHYS-100-1,2026-09-01T08:30:00+02:00",
            "ann@example.org,math 101,9/1/2026",
            "bob@example.org,Phys 100 - 1,2026-09-01 00:00:00",
        ]),
        grades(&["ann@example.org,Phys  100 -  1,,90,,2026-12-18T00:00:00Z"]),
        attendance(&[
            "ann@example.org,Phys 100 - 1,2026-09-02,Tardy",
            "ann@example.org,Phys 100 - 1,2026-09-03,present",
            "ann@example.org,MATH-101,2026-09-02,absent",
        ]),
    ]
}

#[test]
fn real_values_validate_with_a_date_order() {
    let (report, seen) = run(
        files(),
        ValidationOptions {
            date_order: Some(DateOrder::Mdy),
            ..Default::default()
        },
    );
    let errors: Vec<_> = report.issues.iter().filter(|i| i.is_error()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(seen.iter().all(|s| s.valid));
    let records: Vec<&str> = seen.iter().filter_map(|s| s.record.as_deref()).collect();
    assert!(records[0].contains("is_active: true"), "{}", records[0]);
    assert!(records[1].contains("is_active: false"), "{}", records[1]);
    assert!(records[2].contains("\"PHYS-100-1\""), "{}", records[2]);
    assert!(records[3].contains("\"MATH-101\""), "{}", records[3]);
    // 9/1/2026 read month first.
    assert!(records[5].contains("2026-09-01"), "{}", records[5]);
    assert!(records.iter().any(|r| r.contains("Late")), "{records:?}");

    // One warning per file and spelling, naming the original and the result.
    let warnings: Vec<(String, u64, String)> = with_code(&report, IssueCode::CourseCodeNormalized)
        .into_iter()
        .map(|i| {
            assert_eq!(i.severity, Severity::Warning);
            assert_eq!(i.column.as_deref(), Some("course_code"));
            (i.file.clone(), i.row.unwrap_or(0), i.message.clone())
        })
        .collect();
    let at: Vec<(&str, u64)> = warnings.iter().map(|(f, r, _)| (f.as_str(), *r)).collect();
    assert_eq!(
        at,
        [
            ("courses.csv", 2),
            ("courses.csv", 3),
            ("enrollments.csv", 3),
            ("enrollments.csv", 4),
            ("grades.csv", 2),
            ("attendance.csv", 2),
        ],
        "{warnings:#?}"
    );
    assert!(
        warnings[0]
            .2
            .contains("'Phys 100 - 1' is read as 'PHYS-100-1'"),
        "{}",
        warnings[0].2
    );
}

#[test]
fn slash_dates_without_a_date_order_name_the_option() {
    let (report, _) = run_default(files());
    let e = one(&report, IssueCode::InvalidDate);
    assert_eq!((e.file.as_str(), e.row), ("enrollments.csv", Some(3)));
    assert!(e.message.contains("--date-order"), "{}", e.message);
    // Day first, the same file reads 9 January.
    let (report, seen) = run(
        files(),
        ValidationOptions {
            date_order: Some(DateOrder::Dmy),
            ..Default::default()
        },
    );
    assert!(report.is_ok(), "{:#?}", report.issues);
    assert!(seen
        .iter()
        .filter_map(|s| s.record.as_deref())
        .any(|r| r.contains("2026-01-09")));
}

#[test]
fn a_users_file_without_password_columns_needs_the_policy() {
    let text = "email,role,first_name,last_name\nann@example.org,student,Ann,Lee\n";
    let (report, _) = run_default(vec![(Entity::Users, csv_source("users.csv", text))]);
    let e = one(&report, IssueCode::MissingColumn);
    assert!(e.message.contains("--missing-password"), "{}", e.message);
    for policy in [MissingPassword::Reset, MissingPassword::Generate] {
        let (report, seen) = run(
            vec![(Entity::Users, csv_source("users.csv", text))],
            ValidationOptions {
                missing_password: policy,
                ..Default::default()
            },
        );
        assert!(report.is_ok(), "{policy:?}: {:#?}", report.issues);
        let r = seen[0].record.as_deref().unwrap();
        assert!(
            r.contains("password: None") && r.contains("password_hash: None"),
            "{r}"
        );
    }
    // A password column with a blank cell: an error by default (the message names the
    // option), a valid row under the policy; a weak password is still refused.
    let text = format!(
        "email,password,role,first_name,last_name\nann@example.org,,student,Ann,Lee\nbob@example.org,short,student,Bob,Ray\ncy@example.org,{GOOD_PW},student,Cy,Lund\n"
    );
    let (report, _) = run_default(vec![(Entity::Users, csv_source("users.csv", &text))]);
    let e = one(&report, IssueCode::MissingValue);
    assert!(
        e.message.contains("--missing-password reset"),
        "{}",
        e.message
    );
    let (report, seen) = run(
        vec![(Entity::Users, csv_source("users.csv", &text))],
        ValidationOptions {
            missing_password: MissingPassword::Reset,
            ..Default::default()
        },
    );
    assert_eq!(
        seen.iter().map(|s| s.valid).collect::<Vec<_>>(),
        [true, false, true]
    );
    one(&report, IssueCode::WeakPassword);
}

#[test]
fn half_credits_and_unknown_words_stay_errors() {
    let (report, _) = run_default(vec![
        courses(&["BIO1,Biology,,,0.5,"]),
        users(&[&format!(
            "ann@example.org,{GOOD_PW},student,Ann,Lee,suspended"
        )]),
    ]);
    let e = one(&report, IssueCode::InvalidNumber);
    assert!(e.message.contains("INTEGER"), "{}", e.message);
    let e = one(&report, IssueCode::InvalidBoolean);
    assert!(
        e.message.contains("active/inactive") && !e.message.contains("suspended"),
        "{}",
        e.message
    );
}
