//! Header aliases and mapping files (issue 12, part 4), on the real binary and both engines:
//! a flat export with `First Name` / `Email Address` / `Student Number` headers imports with no
//! mapping file; one with site-specific words imports with the mapping file `registrar mapping`
//! started (its blanks filled in); two columns that land on the same field are an error.
//!
//! PostgreSQL cases run when `REGISTRAR_TEST_POSTGRES` is set (they print SKIPPED otherwise).

mod common;

use common::*;
use std::path::{Path, PathBuf};

/// A flat SIS export: people headers as a spreadsheet writes them, students named by number.
fn write_flat(dir: &Path) -> PathBuf {
    let d = dir.join("flat");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("users.csv"),
        "Email Address,Password,Role,First Name,Last Name,Student Number\n\
         ana@flat.example.org,Plain-Pass-1-xyz!,student,Ana,Ruiz,100234\n\
         ben@flat.example.org,Plain-Pass-2-xyz!,student,Ben,Okafor,100235\n\
         cy@flat.example.org,Plain-Pass-3-xyz!,teacher,Cy,Lam,\n",
    )
    .unwrap();
    std::fs::write(
        d.join("courses.csv"),
        "Course Code,Course Name,Term\nHIST1,History,Fall 2026\n",
    )
    .unwrap();
    std::fs::write(
        d.join("enrollments.csv"),
        "Student Number,Course Code,Begin Date\n100234,HIST1,2026-09-01\n100235,HIST1,2026-09-01\n",
    )
    .unwrap();
    std::fs::write(
        d.join("attendance.csv"),
        "studentNumber,courseCode,attendanceDate,attendanceStatus\n100235,HIST1,2026-09-02,absent\n",
    )
    .unwrap();
    d
}

#[test]
fn a_flat_export_with_spreadsheet_headers_imports_with_no_mapping_file() {
    engines("flat", |url, dir| {
        let data = write_flat(dir);
        let (c, r, t) = import(url, &data, &[]);
        assert_eq!(c, 0, "{t}");
        let warnings: Vec<&serde_json::Value> = r["issues"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["code"] == "unknown-column")
            .collect();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            rows(
                url,
                "SELECT u.email, u.first_name, s.sis_id FROM users u \
                 JOIN registrar_user_sis_ids s ON s.user_id = u.id ORDER BY u.email"
            ),
            [
                "ana@flat.example.org|Ana|100234",
                "ben@flat.example.org|Ben|100235"
            ]
        );
        assert_eq!(
            rows(
                url,
                "SELECT u.email, c.semester FROM enrollments e JOIN users u ON u.id = e.student_id \
                 JOIN courses c ON c.id = e.course_id ORDER BY u.email"
            ),
            ["ana@flat.example.org|Fall 2026", "ben@flat.example.org|Fall 2026"]
        );
        assert_eq!(
            rows(
                url,
                "SELECT u.email, a.status FROM attendances a JOIN users u ON u.id = a.student_id"
            ),
            ["ben@flat.example.org|absent"]
        );
    });
}

#[test]
fn two_columns_that_name_one_field_are_an_error_never_a_silent_pick() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_flat(dir.path());
    std::fs::write(
        data.join("users.csv"),
        "Email Address,email,Password,Role,First Name,Last Name\n\
         ana@flat.example.org,ana2@flat.example.org,Plain-Pass-1-xyz!,student,Ana,Ruiz\n",
    )
    .unwrap();
    let o = run(&["validate", "--data", s(&data), "--format", "json"]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let dup: Vec<&serde_json::Value> = r["issues"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["code"] == "duplicate-column")
        .collect();
    assert_eq!(dup.len(), 1, "{r}");
    let m = dup[0]["message"].as_str().unwrap();
    assert!(
        m.contains("'Email Address'") && m.contains("'email'") && m.contains("both hold email"),
        "{m}"
    );
    assert_eq!(dup[0]["file"], "users.csv");
}

/// An export in a site's own words: `Pupil Mail`, roles `aide` and `guardian`, attendance codes.
fn write_site(dir: &Path) -> PathBuf {
    let d = dir.join("site");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("users.csv"),
        "Pupil Mail,Password,Kind,Given,Family\n\
         ana@site.example.org,Plain-Pass-1-xyz!,student,Ana,Ruiz\n\
         ben@site.example.org,Plain-Pass-2-xyz!,Student,Ben,Okafor\n\
         dee@site.example.org,Plain-Pass-4-xyz!,aide,Dee,Moss\n\
         mum@site.example.org,Plain-Pass-5-xyz!,guardian,Mo,Ruiz\n\
         dad@site.example.org,Plain-Pass-6-xyz!,Guardian,Al,Ruiz\n",
    )
    .unwrap();
    std::fs::write(d.join("courses.csv"), "course_code,course_name\nART1,Art\n").unwrap();
    std::fs::write(
        d.join("enrollments.csv"),
        "Pupil Mail,course_code\nana@site.example.org,ART1\nben@site.example.org,ART1\n",
    )
    .unwrap();
    std::fs::write(
        d.join("attendance.csv"),
        "Pupil Mail,course_code,date,Mark\n\
         ana@site.example.org,ART1,2026-09-02,P\n\
         ben@site.example.org,ART1,2026-09-02,T\n\
         ana@site.example.org,ART1,2026-09-03,E\n\
         ben@site.example.org,ART1,2026-09-03,U\n",
    )
    .unwrap();
    d
}

#[test]
fn site_words_import_with_the_mapping_file_registrar_mapping_started() {
    engines("site", |url, dir| {
        let data = write_site(dir);
        // Without a mapping file the run fails and writes nothing.
        let (c, _, t) = import(url, &data, &[]);
        assert_ne!(c, 0, "{t}");
        assert!(t.contains("missing-column"), "{t}");

        let o = run(&["mapping", "--data", s(&data)]);
        assert_eq!(code(&o), 0, "{}", text(&o));
        let starter = String::from_utf8(o.stdout).unwrap();
        // What it understood and what it guessed, from the headers and from the values.
        for line in [
            "\"Pupil Mail\" = \"email\"  # guessed from the header",
            "\"Pupil Mail\" = \"student_email\"  # guessed from the header",
            "\"Given\" = \"first_name\"  # guessed from the header",
            "\"Family\" = \"last_name\"  # guessed from the header",
            "\"Kind\" = \"role\"  # guessed from its values",
            "\"Mark\" = \"status\"  # guessed from its values",
            "[users.values.role]\n\"aide\" = \"teacher\"\n\"guardian\" = \"skip\"",
            "\"E\" = \"excused\"\n\"P\" = \"present\"\n\"T\" = \"late\"\n\"U\" = \"\"",
            "# \"course_code\" -> course_code: matched",
        ] {
            assert!(starter.contains(line), "{line}\n{starter}");
        }
        // Used unedited, the starter's blank ("U" = "") is refused before anything is read.
        let mapping = dir.join("site.toml");
        std::fs::write(&mapping, &starter).unwrap();
        let (c, _, t) = import(url, &data, &["--mapping", s(&mapping)]);
        assert_eq!(c, 2, "{t}");
        assert!(t.contains("site.toml") && t.contains("\"U\""), "{t}");
        assert_eq!(
            rows(
                url,
                "SELECT email FROM users WHERE email LIKE '%site.example.org'"
            ),
            Vec::<String>::new()
        );

        // The operator fills in the blank the starter left.
        let edited = starter.replace("\"U\" = \"\"", "\"U\" = \"excused\" #");
        std::fs::write(&mapping, &edited).unwrap();
        let (c, r, t) = import(url, &data, &["--mapping", s(&mapping)]);
        assert_eq!(c, 0, "{t}\n{edited}");
        assert_eq!(
            rows(
                url,
                "SELECT email, role FROM users WHERE email LIKE '%site.example.org' ORDER BY email"
            ),
            [
                "ana@site.example.org|student",
                "ben@site.example.org|student",
                "dee@site.example.org|teacher"
            ]
        );
        assert_eq!(
            rows(
                url,
                "SELECT u.email, a.status FROM attendances a JOIN users u ON u.id = a.student_id \
                 ORDER BY u.email, a.attendance_date"
            ),
            [
                "ana@site.example.org|present",
                "ana@site.example.org|excused",
                "ben@site.example.org|late",
                "ben@site.example.org|excused"
            ]
        );
        // The guardians are skipped and said so once, as a warning with the count.
        let skipped: Vec<&serde_json::Value> = r["issues"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["code"] == "skipped-by-mapping")
            .collect();
        assert_eq!(skipped.len(), 1, "{r}");
        assert_eq!(skipped[0]["severity"], "warning");
        assert_eq!(skipped[0]["column"], "Kind");
        assert_eq!(skipped[0]["row"], 5);
        assert!(
            skipped[0]["message"].as_str().unwrap().starts_with(
                "2 rows skipped (first at row 5): the mapping file maps role 'guardian'"
            ),
            "{}",
            skipped[0]
        );
        let users = r["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["entity"] == "users")
            .unwrap();
        assert_eq!(users["excluded"], 2);
        assert_eq!(users["inserted"], 3);
    });
}

#[test]
fn a_mapping_file_that_names_an_unknown_column_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_site(dir.path());
    let mapping = dir.path().join("bad.toml");
    std::fs::write(&mapping, "[users.columns]\n\"Kind\" = \"kind\"\n").unwrap();
    let o = run(&["validate", "--data", s(&data), "--mapping", s(&mapping)]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("bad.toml") && t.contains("'kind'"), "{t}");
}

#[test]
fn a_password_column_renamed_by_the_mapping_file_is_blanked_in_the_rejects_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_site(dir.path());
    std::fs::write(
        data.join("users.csv"),
        "Pupil Mail,Secret Word,Kind,Given,Family\n\
         not-an-email,Hidden-Pass-9-xyz!,student,Ana,Ruiz\n",
    )
    .unwrap();
    for f in ["courses.csv", "enrollments.csv", "attendance.csv"] {
        std::fs::remove_file(data.join(f)).unwrap();
    }
    let mapping = dir.path().join("m.toml");
    std::fs::write(
        &mapping,
        "[users.columns]\n\"Pupil Mail\" = \"email\"\n\"Secret Word\" = \"password\"\nKind = \"role\"\nGiven = \"first_name\"\nFamily = \"last_name\"\n",
    )
    .unwrap();
    let db = dir.path().join("r.db");
    let url = format!("sqlite://{}", db.display());
    let rejects = dir.path().join("rejects");
    let o = run(&[
        "import",
        "--data",
        s(&data),
        "--database",
        &url,
        "--execute",
        "--skip-invalid",
        "--rejects",
        s(&rejects),
        "--mapping",
        s(&mapping),
    ]);
    let t = text(&o);
    let file = std::fs::read_to_string(rejects.join("users.csv.rejects.csv")).expect(&t);
    assert!(file.contains("not-an-email"), "{file}");
    assert!(!file.contains("Hidden-Pass-9-xyz!"), "{file}");
    assert!(!t.contains("Hidden-Pass-9-xyz!"), "{t}");
}
