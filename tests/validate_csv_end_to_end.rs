//! End to end: real CSV files read by `registrar-formats`, validated by the rules.

use registrar::formats::{DataFile, Format, ReaderOptions};
use registrar::model::{Entity, IssueCode};
use registrar::rules::ValidationOptions;
use registrar::{validate_file, validate_files, Error};
use std::path::Path;

const USERS: &str = "\u{feff}Email , Password,role,first_name,last_name,is_active\r\n\
ann@example.org,Kq7!mZ2#wLp9,student,Ann,Lee,yes\r\n\
bob@example.org,Kq7!mZ2#wLp9,teacher,Bob,\"Ray, Jr.\",\r\n\
carol@school,Kq7!mZ2#wLp9,student,Carol,King,\r\n\
dan@example.org,Vivid-Otter-5521,student,Dan,Wu,\r\n\
\r\n\
erin@example.org,hunter2,student,Erin,Moss,\r\n";

const COURSES: &str = "course_code;course_name;credits\nmath101;Calculus;4.0\nPHYS1;Physics;25\n";

const ENROLLMENTS: &str = "student_email,course_code,enrollment_date\n\
ann@example.org,MATH101,2024-09-01\n\
carol@school.edu,MATH101,\n\
bob@example.org,MATH101,\n\
dan@example.org,PHYS1,\n\
dan@example.org,MATH101,2024-02-30\n";

const ATTENDANCE: &str = "student_email\tcourse_code\tdate\tstatus\n\
ann@example.org\tMATH101\t2024-09-02\tpresent\n\
ann@example.org\tMATH101\t2024-09-02\tabsent\n\
dan@example.org\tMATH101\t2024-09-02\tpresent\n";

fn write(dir: &Path, name: &str, text: &str) -> DataFile {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    DataFile {
        entity: registrar::formats::entity_of(&path).unwrap(),
        format: Format::from_path(&path).unwrap(),
        path,
    }
}

#[test]
fn a_small_data_set_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    // Given out of order on purpose: validation runs in import order.
    let files = vec![
        write(dir.path(), "attendance.tsv", ATTENDANCE),
        write(dir.path(), "enrollments.csv", ENROLLMENTS),
        write(dir.path(), "users.csv", USERS),
        write(dir.path(), "courses.csv", COURSES),
    ];
    let r = validate_files(
        &files,
        &ReaderOptions::default(),
        ValidationOptions::default(),
    )
    .unwrap();
    let at = |file: &str, row: u64| -> Vec<IssueCode> {
        r.issues
            .iter()
            .filter(|i| i.file == file && i.row == Some(row))
            .map(|i| i.code)
            .collect()
    };
    let order: Vec<&str> = r.files.iter().map(|f| f.file.as_str()).collect();
    assert_eq!(
        order,
        [
            "users.csv",
            "courses.csv",
            "enrollments.csv",
            "attendance.tsv"
        ]
    );
    // users: BOM + padded header, CRLF, quoted comma, blank line 6 skipped (numbers still count).
    assert_eq!(
        at("users.csv", 4),
        [IssueCode::InvalidEmail],
        "{:#?}",
        r.issues
    );
    assert_eq!(at("users.csv", 7), [IssueCode::WeakPassword]);
    let u = r.file("users.csv").unwrap();
    assert_eq!((u.rows, u.valid, u.invalid), (5, 3, 2));
    assert_eq!(u.format, "csv");
    // courses: `;` detected, 4.0 credits fine, 25 out of range.
    assert_eq!(at("courses.csv", 3), [IssueCode::OutOfRange]);
    // enrollments
    assert!(at("enrollments.csv", 2).is_empty());
    assert_eq!(at("enrollments.csv", 3), [IssueCode::UnknownStudent]);
    assert_eq!(at("enrollments.csv", 4), [IssueCode::NotAStudent]);
    assert_eq!(at("enrollments.csv", 5), [IssueCode::UnknownCourse]);
    assert_eq!(at("enrollments.csv", 6), [IssueCode::InvalidDate]);
    let uc = r
        .issues
        .iter()
        .find(|i| i.code == IssueCode::UnknownCourse)
        .unwrap();
    assert!(
        uc.message.contains("courses.csv row 3 was rejected"),
        "{}",
        uc.message
    );
    // attendance (TSV)
    assert!(at("attendance.tsv", 2).is_empty());
    assert_eq!(at("attendance.tsv", 3), [IssueCode::DuplicateKey]);
    assert_eq!(at("attendance.tsv", 4), [IssueCode::NotEnrolled]);
    let ne = r
        .issues
        .iter()
        .find(|i| i.code == IssueCode::NotEnrolled)
        .unwrap();
    assert!(
        ne.message.contains("enrollments.csv row 6 was rejected"),
        "{}",
        ne.message
    );
    assert!(!r.ok);
    let json = serde_json::to_string(&r).unwrap();
    for secret in ["Kq7!mZ2#wLp9", "Vivid-Otter-5521", "hunter2"] {
        assert!(!json.contains(secret));
    }
}

#[test]
fn one_file_entity_from_stem_or_given() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "courses.csv", COURSES);
    let r = validate_file(&f.path, None, &ReaderOptions::default()).unwrap();
    assert_eq!(r.files.len(), 1);
    assert_eq!(r.files[0].entity, Entity::Courses);
    assert_eq!((r.files[0].rows, r.files[0].valid), (2, 1));

    let other = dir.path().join("export-2024.csv");
    std::fs::write(&other, COURSES).unwrap();
    let err = validate_file(&other, None, &ReaderOptions::default()).unwrap_err();
    assert!(matches!(err, Error::UnknownEntity { .. }));
    assert!(err.to_string().contains("--entity"), "{err}");
    let r = validate_file(&other, Some(Entity::Courses), &ReaderOptions::default()).unwrap();
    assert_eq!(r.files[0].valid, 1);
}

#[test]
fn unsupported_file_is_an_issue_and_missing_file_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let txt = dir.path().join("users.txt");
    std::fs::write(&txt, "email\n").unwrap();
    let r = validate_file(&txt, None, &ReaderOptions::default()).unwrap();
    assert_eq!(r.issues.len(), 1);
    assert_eq!(r.issues[0].code, IssueCode::UnsupportedFormat);
    assert!(!r.ok);

    let missing = dir.path().join("users.csv");
    assert!(matches!(
        validate_file(&missing, None, &ReaderOptions::default()),
        Err(Error::Read(_))
    ));
}

#[test]
fn a_folder_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "users.csv", USERS);
    write(dir.path(), "courses.csv", COURSES);
    write(dir.path(), "enrollments.csv", ENROLLMENTS);
    // Two attendance files: `duplicate-file`, and neither is read.
    write(dir.path(), "attendance.tsv", ATTENDANCE);
    std::fs::write(dir.path().join("attendance.csv"), "x\n").unwrap();
    std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
    let r = registrar::validate_dir(dir.path(), &ReaderOptions::default()).unwrap();
    let files: Vec<&str> = r.files.iter().map(|f| f.file.as_str()).collect();
    assert_eq!(files, ["users.csv", "courses.csv", "enrollments.csv"]);
    let dup: Vec<_> = r
        .issues
        .iter()
        .filter(|i| i.code == IssueCode::DuplicateFile)
        .collect();
    assert_eq!(dup.len(), 1, "{:#?}", r.issues);
    assert_eq!(r.file("enrollments.csv").unwrap().valid, 1);
    assert!(!r.ok);

    let empty = tempfile::tempdir().unwrap();
    let r = registrar::validate_dir(empty.path(), &ReaderOptions::default()).unwrap();
    assert!(r.files.is_empty());

    assert!(registrar::validate_dir(
        &dir.path().join("no-such-folder"),
        &ReaderOptions::default()
    )
    .is_err());
}
