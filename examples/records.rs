//! Embedding without files: an SIS integration that already holds records validates and loads
//! them through the `Migration` API, with the same rules, issues and all-or-nothing guarantee as
//! files. The example checks that the records give the same report as the same data written to
//! CSV files.
//!
//! ```sh
//! cargo run --example records
//! ```

use registrar::model::{Course, CourseCode, CourseStatus, Email, Enrollment, Password, Role, User};
use registrar::{Migration, Report};

fn users(bad_email: bool) -> Vec<User> {
    let user = |email: &str, first: &str, last: &str, role: Role| User {
        email: Email::new_unchecked(email),
        password: Some(Password::new("Xk29!vmq-Lp")),
        password_hash: None,
        role,
        first_name: first.into(),
        last_name: last.into(),
        is_active: true,
        sis_id: None,
    };
    vec![
        user("ana.ruiz@school.edu", "Ana", "Ruiz", Role::Student),
        user(
            if bad_email {
                "bo.li@school"
            } else {
                "bo.li@school.edu"
            },
            "Bo",
            "Li",
            Role::Student,
        ),
        user("t.okafor@school.edu", "Tomi", "Okafor", Role::Teacher),
    ]
}

fn courses() -> Vec<Course> {
    vec![Course {
        course_code: CourseCode::new_unchecked("MATH101"),
        course_name: "Algebra I".into(),
        description: None,
        semester: Some("Fall 2024".into()),
        credits: Some(3),
        status: CourseStatus::Active,
    }]
}

fn enrollments() -> Vec<Enrollment> {
    ["ana.ruiz@school.edu", "bo.li@school.edu"]
        .into_iter()
        .map(|e| Enrollment {
            student_email: Email::new_unchecked(e),
            course_code: CourseCode::new_unchecked("MATH101"),
            enrollment_date: chrono::NaiveDate::from_ymd_opt(2024, 9, 2),
        })
        .collect()
}

/// The same data as CSV files (what an operator would import).
fn write_files(dir: &std::path::Path, bad_email: bool) -> std::io::Result<()> {
    let mut u = String::from("email,password,role,first_name,last_name\n");
    for x in users(bad_email) {
        u += &format!(
            "{},Xk29!vmq-Lp,{},{},{}\n",
            x.email.as_str(),
            x.role.as_str(),
            x.first_name,
            x.last_name
        );
    }
    std::fs::write(dir.join("users.csv"), u)?;
    std::fs::write(
        dir.join("courses.csv"),
        "course_code,course_name,semester,credits\nMATH101,Algebra I,Fall 2024,3\n",
    )?;
    std::fs::write(
        dir.join("enrollments.csv"),
        "student_email,course_code,enrollment_date\n\
         ana.ruiz@school.edu,MATH101,2024-09-02\nbo.li@school.edu,MATH101,2024-09-02\n",
    )?;
    Ok(())
}

/// Each issue as (code, column, message), and row: a record's position is its file row - 1
/// (files have a header row).
fn issues(report: &Report, offset: u64) -> Vec<(String, Option<u64>, Option<String>, String)> {
    report
        .issues
        .iter()
        .map(|i| {
            (
                i.code.as_str().to_owned(),
                i.row.map(|r| r - offset),
                i.column.clone(),
                i.message.clone(),
            )
        })
        .collect()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let records_db = format!("sqlite://{}", dir.path().join("records.db").display());
    let files_db = format!("sqlite://{}", dir.path().join("files.db").display());
    let data = dir.path().join("data");
    std::fs::create_dir(&data)?;

    // 1. One record is wrong: nothing is written, and the issue is the one a file gives.
    let report = Migration::new(&records_db)
        .records(users(true))
        .records(courses())
        .records(enrollments())
        .execute()
        .await?;
    assert!(!report.is_ok());
    write_files(&data, true)?;
    let from_files = Migration::new(&files_db).data_dir(&data).execute().await?;
    assert_eq!(issues(&report, 0), issues(&from_files, 1));
    for i in &report.issues {
        println!("{i}");
    }
    let total: u64 = report.files.iter().map(|f| f.inserted).sum();
    assert_eq!(total, 0, "a run with an error writes nothing");

    // 2. Fixed: every record is loaded, with the counts the files give.
    let report = Migration::new(&records_db)
        .records(users(false))
        .records(courses())
        .records(enrollments())
        .execute()
        .await?;
    assert!(report.is_ok(), "{:?}", report.issues);
    write_files(&data, false)?;
    let from_files = Migration::new(&files_db).data_dir(&data).execute().await?;
    assert!(from_files.is_ok());
    let counts = |r: &Report| -> Vec<(String, u64, u64, u64)> {
        r.files
            .iter()
            .map(|f| (f.entity.as_str().to_owned(), f.rows, f.valid, f.inserted))
            .collect()
    };
    assert_eq!(counts(&report), counts(&from_files));
    for f in &report.files {
        println!(
            "{:<12} {:>3} records, {:>3} inserted",
            f.file, f.rows, f.inserted
        );
    }
    Ok(())
}
