//! OneRoster bundles: opening folders and zips, and the structural check on small
//! hand-written bundles (each written here from the CSV binding, not copied from anywhere),
//! every broken case as a folder and as a zip.

use registrar_formats::oneroster::check::check_bundle;
use registrar_formats::oneroster::spec::{FileMode, Version};
use registrar_formats::oneroster::{is_bundle, Bundle};
use registrar_model::{Event, Issue, IssueCode, Severity};
use std::io::Write;
use std::path::{Path, PathBuf};

type Files = Vec<(&'static str, String)>;

fn manifest(version: &str, files: &[(&str, &str)]) -> String {
    let mut s = format!("propertyName,value\nmanifest.version,1.0\noneroster.version,{version}\n");
    for (f, m) in files {
        s.push_str(&format!("file.{f},{m}\n"));
    }
    s.push_str("source.systemName,Registrar tests\n");
    s
}

/// A complete, valid 1.1 bulk bundle: one school, one term, two courses with a class each,
/// a teacher and two students, enrollments, a line item with two results.
fn bundle_1_1() -> Files {
    vec![
        (
            "manifest.csv",
            manifest(
                "1.1",
                &[
                    ("academicSessions", "bulk"),
                    ("categories", "bulk"),
                    ("classes", "bulk"),
                    ("courses", "bulk"),
                    ("demographics", "absent"),
                    ("enrollments", "bulk"),
                    ("lineItems", "bulk"),
                    ("orgs", "bulk"),
                    ("resources", "absent"),
                    ("results", "bulk"),
                    ("users", "bulk"),
                ],
            ),
        ),
        (
            "orgs.csv",
            "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n\
             org-1,,,Maple Grove High,school,MGH,\n"
                .into(),
        ),
        (
            "academicSessions.csv",
            "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\n\
             term-f26,,,Fall 2026,term,2026-08-24,2026-12-18,,2027\n"
                .into(),
        ),
        (
            "courses.csv",
            "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes\n\
             crs-bio,,,,Biology,BIO1,,org-1,,\n\
             crs-geo,,,,Geometry,GEO1,,org-1,,\n"
                .into(),
        ),
        (
            "classes.csv",
            "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\n\
             cls-bio,,,Biology - P1,,crs-bio,BIO1-1,scheduled,Room 4,org-1,term-f26,,,1\n\
             cls-geo,,,Geometry - P2,,crs-geo,GEO1-2,scheduled,,org-1,term-f26,,,2\n"
                .into(),
        ),
        (
            "users.csv",
            "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n\
             t-1,,,true,org-1,teacher,oduya,,Ngozi,Oduya,,,ngozi.oduya@maple.example.org,,,,,\n\
             s-1,,,true,org-1,student,pkaur,,Priya,Kaur,,1001,priya.kaur@maple.example.org,,,,10,\n\
             s-2,,,false,org-1,student,tberg,,Tomas,Berg,,1002,tomas.berg@maple.example.org,,,,10,\n"
                .into(),
        ),
        (
            "enrollments.csv",
            "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n\
             e-1,,,cls-bio,org-1,t-1,teacher,true,,\n\
             e-2,,,cls-bio,org-1,s-1,student,false,2026-08-24,\n\
             e-3,,,cls-geo,org-1,s-2,student,false,2026-08-25,\n"
                .into(),
        ),
        (
            "categories.csv",
            "sourcedId,status,dateLastModified,title\ncat-exam,,,Exams\n".into(),
        ),
        (
            "lineItems.csv",
            "sourcedId,status,dateLastModified,title,description,assignDate,dueDate,classSourcedId,categorySourcedId,gradingPeriodSourcedId,resultValueMin,resultValueMax\n\
             li-1,,,midterm,,2026-10-01,2026-10-15,cls-bio,cat-exam,term-f26,0,100\n"
                .into(),
        ),
        (
            "results.csv",
            "sourcedId,status,dateLastModified,lineItemSourcedId,studentSourcedId,scoreStatus,score,scoreDate,comment\n\
             r-1,,,li-1,s-1,fully graded,91.5,2026-10-15,A-\n"
                .into(),
        ),
    ]
}

/// A valid 1.2 bundle: roles in roles.csv, textScore in results.
fn bundle_1_2() -> Files {
    vec![
        (
            "manifest.csv",
            manifest(
                "1.2",
                &[
                    ("academicSessions", "bulk"),
                    ("classes", "bulk"),
                    ("courses", "bulk"),
                    ("enrollments", "bulk"),
                    ("orgs", "bulk"),
                    ("roles", "bulk"),
                    ("users", "bulk"),
                    ("lineItems", "absent"),
                    ("results", "absent"),
                ],
            ),
        ),
        (
            "orgs.csv",
            "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n\
             d-1,,,Maple District,district,,\n\
             org-1,,,Maple Grove High,school,,d-1\n"
                .into(),
        ),
        (
            "academicSessions.csv",
            "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\n\
             y-27,,,2026-27,schoolYear,2026-08-24,2027-06-11,,2027\n\
             term-f26,,,Fall 2026,term,2026-08-24,2026-12-18,y-27,2027\n"
                .into(),
        ),
        (
            "courses.csv",
            "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes\n\
             crs-bio,,,y-27,Biology,BIO1,,org-1,,\n"
                .into(),
        ),
        (
            "classes.csv",
            "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\n\
             cls-bio,,,Biology - P1,,crs-bio,BIO1-1,scheduled,,org-1,term-f26,,,\n"
                .into(),
        ),
        (
            "users.csv",
            "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,resourceSourcedIds,preferredGivenName,preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns\n\
             t-1,,,true,oduya,,Ngozi,Oduya,,,ngozi.oduya@maple.example.org,,,,,,,,,,,org-1,\n\
             s-1,,,true,pkaur,,Priya,Kaur,,1001,priya.kaur@maple.example.org,,,,10,,,,,,,org-1,she/her\n"
                .into(),
        ),
        (
            "roles.csv",
            "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,userProfileSourcedId\n\
             ro-1,,,t-1,primary,teacher,,,org-1,\n\
             ro-2,,,s-1,primary,student,,,org-1,\n"
                .into(),
        ),
        (
            "enrollments.csv",
            "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n\
             e-1,,,cls-bio,org-1,t-1,teacher,true,,\n\
             e-2,,,cls-bio,org-1,s-1,student,false,2026-08-24,\n"
                .into(),
        ),
    ]
}

fn set(files: &mut Files, name: &'static str, content: String) {
    match files.iter_mut().find(|(n, _)| *n == name) {
        Some(f) => f.1 = content,
        None => files.push((name, content)),
    }
}

fn edit(files: &mut Files, name: &str, from: &str, to: &str) {
    let f = files.iter_mut().find(|(n, _)| *n == name).unwrap();
    assert!(f.1.contains(from), "{from:?} not in {name}");
    f.1 = f.1.replacen(from, to, 1);
}

fn remove(files: &mut Files, name: &str) {
    files.retain(|(n, _)| *n != name);
}

fn write_folder(dir: &Path, files: &Files) -> PathBuf {
    let folder = dir.join("bundle");
    std::fs::create_dir_all(&folder).unwrap();
    for (name, content) in files {
        std::fs::write(folder.join(name), content).unwrap();
    }
    folder
}

fn write_zip(dir: &Path, files: &Files, inner: &str) -> PathBuf {
    let path = dir.join("bundle.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in files {
        zip.start_file(format!("{inner}{name}"), options).unwrap();
        zip.write_all(content.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
    path
}

/// Runs `check` on the bundle as a folder, as a zip, and as a zip of a folder.
fn each_layout(files: &Files, check: impl Fn(&str, Vec<Issue>)) {
    let dir = tempfile::tempdir().unwrap();
    let folder = write_folder(dir.path(), files);
    let zip = write_zip(dir.path(), files, "");
    let nested = {
        let d = dir.path().join("nested");
        std::fs::create_dir(&d).unwrap();
        write_zip(&d, files, "export-2026/")
    };
    for (layout, path) in [
        ("folder", folder),
        ("zip", zip),
        ("zip of a folder", nested),
    ] {
        assert!(is_bundle(&path), "{layout} is a bundle");
        let bundle =
            Bundle::open(&path, &Default::default()).unwrap_or_else(|e| panic!("{layout}: {e}"));
        check(layout, check_bundle(&bundle));
    }
}

fn errors(issues: &[Issue]) -> Vec<&Issue> {
    issues.iter().filter(|i| i.is_error()).collect()
}

fn only(issues: &[Issue], code: IssueCode) -> Vec<&Issue> {
    issues.iter().filter(|i| i.code == code).collect()
}

#[test]
fn valid_bundles_have_no_errors_in_any_layout() {
    each_layout(&bundle_1_1(), |layout, issues| {
        assert!(errors(&issues).is_empty(), "1.1 {layout}: {issues:#?}");
        // categories.csv is listed and valid, but Registrar does not use it.
        let ignored = only(&issues, IssueCode::IgnoredFile);
        assert_eq!(ignored.len(), 1, "{issues:#?}");
        assert_eq!(ignored[0].file, "categories.csv");
        assert_eq!(ignored[0].severity, Severity::Warning);
    });
    each_layout(&bundle_1_2(), |layout, issues| {
        assert!(issues.is_empty(), "1.2 {layout}: {issues:#?}");
    });
}

#[test]
fn the_manifest_is_parsed_and_files_come_in_dependency_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_zip(dir.path(), &bundle_1_2(), "");
    let bundle = Bundle::open(&path, &Default::default()).unwrap();
    let m = bundle.manifest();
    assert_eq!(m.version, Version::V1_2);
    assert_eq!(m.manifest_version.as_deref(), Some("1.0"));
    assert_eq!(m.source_system_name.as_deref(), Some("Registrar tests"));
    assert_eq!(m.mode("roles.csv"), Some(FileMode::Bulk));
    assert_eq!(m.mode("results.csv"), Some(FileMode::Absent));
    let order: Vec<String> = bundle
        .files()
        .into_iter()
        .filter(|f| f.is_read())
        .map(|f| f.name)
        .collect();
    assert_eq!(
        order,
        [
            "orgs.csv",
            "academicSessions.csv",
            "courses.csv",
            "classes.csv",
            "users.csv",
            "roles.csv",
            "enrollments.csv"
        ]
    );
    // A file streams out of the zip with its rows as a person sees them.
    let mut users = bundle.open_file("users.csv").unwrap();
    assert_eq!(users.file_name(), "users.csv");
    assert_eq!(users.headers()[0], "sourcedId");
    let rows: Vec<_> = users
        .by_ref()
        .map(|e| match e.unwrap() {
            Event::Row(r) => (r.row, r.values[0].to_string()),
            Event::Issue(i) => panic!("{i}"),
        })
        .collect();
    assert_eq!(rows, [(2, "t-1".to_owned()), (3, "s-1".to_owned())]);
}

#[test]
fn a_missing_file_is_an_error() {
    let mut files = bundle_1_1();
    remove(&mut files, "users.csv");
    each_layout(&files, |layout, issues| {
        let missing = only(&issues, IssueCode::MissingFile);
        assert!(
            missing
                .iter()
                .any(|i| i.file == "users.csv" && i.is_error()),
            "{layout}: {issues:#?}"
        );
    });
    // A file that a read file references must be there too, whatever the manifest says.
    let mut files = bundle_1_1();
    remove(&mut files, "courses.csv");
    edit(
        &mut files,
        "manifest.csv",
        "file.courses,bulk",
        "file.courses,absent",
    );
    each_layout(&files, |layout, issues| {
        let missing = only(&issues, IssueCode::MissingFile);
        assert!(
            missing
                .iter()
                .any(|i| i.file == "classes.csv" && i.message.contains("courses.csv")),
            "{layout}: {issues:#?}"
        );
    });
}

#[test]
fn a_bundle_without_manifest_is_refused() {
    let mut files = bundle_1_1();
    remove(&mut files, "manifest.csv");
    let dir = tempfile::tempdir().unwrap();
    let folder = write_folder(dir.path(), &files);
    let zip = write_zip(dir.path(), &files, "");
    for path in [folder, zip] {
        assert!(!is_bundle(&path));
        match Bundle::open(&path, &Default::default()) {
            Err(registrar_formats::Error::File(issue)) => {
                assert_eq!(issue.code, IssueCode::MissingFile);
                assert!(issue.message.contains("manifest.csv"), "{issue}");
            }
            other => panic!("expected missing-file, got {other:?}"),
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let not_zip = dir.path().join("roster.zip");
    std::fs::write(&not_zip, "this is not a zip").unwrap();
    assert!(!is_bundle(&not_zip));
    assert!(matches!(
        Bundle::open(&not_zip, &Default::default()),
        Err(registrar_formats::Error::File(i)) if i.code == IssueCode::MalformedFile
    ));
}

#[test]
fn columns_out_of_order_are_a_warning_and_a_missing_required_column_an_error() {
    let mut files = bundle_1_1();
    edit(
        &mut files,
        "users.csv",
        "givenName,familyName",
        "familyName,givenName",
    );
    each_layout(&files, |layout, issues| {
        assert!(errors(&issues).is_empty(), "{layout}: {issues:#?}");
        let order = only(&issues, IssueCode::ColumnOrder);
        assert_eq!(order.len(), 1, "{layout}: {issues:#?}");
        assert_eq!(order[0].file, "users.csv");
        assert_eq!(order[0].row, Some(1));
        assert_eq!(order[0].column.as_deref(), Some("givenName"));
    });
    let mut files = bundle_1_1();
    edit(
        &mut files,
        "enrollments.csv",
        ",role,primary",
        ",Role,primary",
    );
    each_layout(&files, |layout, issues| {
        let missing = only(&issues, IssueCode::MissingColumn);
        assert_eq!(missing.len(), 1, "{layout}: {issues:#?}");
        assert_eq!(missing[0].column.as_deref(), Some("role"));
        assert!(
            missing[0].message.contains("case-sensitive"),
            "{}",
            missing[0]
        );
    });
}

#[test]
fn unknown_manifest_values_are_errors() {
    let mut files = bundle_1_1();
    edit(
        &mut files,
        "manifest.csv",
        "file.users,bulk",
        "file.users,full",
    );
    edit(
        &mut files,
        "manifest.csv",
        "oneroster.version,1.1",
        "oneroster.version,1.0",
    );
    each_layout(&files, |layout, issues| {
        let bad = only(&issues, IssueCode::InvalidManifest);
        assert!(
            bad.iter().any(|i| i.is_error()
                && i.column.as_deref() == Some("value")
                && i.message.contains("file.users")),
            "{layout}: {issues:#?}"
        );
        assert!(
            bad.iter()
                .any(|i| i.is_error() && i.message.contains("oneroster.version")),
            "{layout}: {issues:#?}"
        );
        // users.csv is in the bundle but no longer validly listed.
        assert!(
            bad.iter().any(|i| i.file == "users.csv"),
            "{layout}: {issues:#?}"
        );
    });
}

#[test]
fn a_dangling_reference_and_a_duplicate_sourced_id_are_errors() {
    let mut files = bundle_1_1();
    edit(&mut files, "enrollments.csv", "org-1,s-2,", "org-1,s-404,");
    edit(
        &mut files,
        "results.csv",
        "\n",
        "\nr-1,,,li-1,s-2,fully graded,70,2026-10-15,\n",
    );
    each_layout(&files, |layout, issues| {
        let unknown = only(&issues, IssueCode::UnknownReference);
        assert_eq!(unknown.len(), 1, "{layout}: {issues:#?}");
        assert_eq!(unknown[0].file, "enrollments.csv");
        assert_eq!(unknown[0].row, Some(4));
        assert_eq!(unknown[0].column.as_deref(), Some("userSourcedId"));
        assert!(unknown[0].message.contains("s-404"));
        let dup = only(&issues, IssueCode::DuplicateKey);
        assert_eq!(dup.len(), 1, "{layout}: {issues:#?}");
        assert_eq!((dup[0].file.as_str(), dup[0].row), ("results.csv", Some(3)));
        assert!(dup[0].message.contains("row 2"), "{}", dup[0]);
    });
    // A parent org that no org is: a self reference, checked after the whole file.
    let mut files = bundle_1_2();
    edit(&mut files, "orgs.csv", "school,,d-1", "school,,d-9");
    each_layout(&files, |layout, issues| {
        let unknown = only(&issues, IssueCode::UnknownReference);
        assert_eq!(unknown.len(), 1, "{layout}: {issues:#?}");
        assert_eq!(unknown[0].column.as_deref(), Some("parentSourcedId"));
    });
}

#[test]
fn values_outside_the_vocabulary_are_errors() {
    let mut files = bundle_1_1();
    edit(&mut files, "users.csv", "org-1,teacher,", "org-1,janitor,");
    edit(&mut files, "users.csv", "s-2,,,false,", "s-2,,,no,");
    edit(&mut files, "academicSessions.csv", ",term,", ",quarter,");
    each_layout(&files, |layout, issues| {
        let bad = only(&issues, IssueCode::InvalidVocabulary);
        let cols: Vec<_> = bad
            .iter()
            .map(|i| (i.file.as_str(), i.row, i.column.as_deref()))
            .collect();
        assert_eq!(
            cols,
            [
                ("academicSessions.csv", Some(2), Some("type")),
                ("users.csv", Some(2), Some("role")),
                ("users.csv", Some(4), Some("enabledUser")),
            ],
            "{layout}: {issues:#?}"
        );
        assert!(bad[1].message.contains("administrator, aide"), "{}", bad[1]);
    });
    // 1.2 has its own role list: `administrator` became siteAdministrator and others.
    let mut files = bundle_1_2();
    edit(
        &mut files,
        "roles.csv",
        "primary,teacher",
        "primary,administrator",
    );
    edit(&mut files, "roles.csv", "primary,student", "main,student");
    each_layout(&files, |layout, issues| {
        let cols: Vec<_> = only(&issues, IssueCode::InvalidVocabulary)
            .iter()
            .map(|i| i.column.clone().unwrap())
            .collect();
        assert_eq!(cols, ["role", "roleType"], "{layout}: {issues:#?}");
    });
}

#[test]
fn files_registrar_does_not_use_are_listed_as_ignored_never_errors() {
    let mut files = bundle_1_1();
    edit(
        &mut files,
        "manifest.csv",
        "file.demographics,absent",
        "file.demographics,bulk",
    );
    // Columns a real demographics file might have; nothing in it is checked.
    set(
        &mut files,
        "demographics.csv",
        "sourcedId,birthDate,sex,whatever\ns-1,2010-03-04,female,x\n".into(),
    );
    set(&mut files, "notes.csv", "anything,at all\n1,2\n".into());
    each_layout(&files, |layout, issues| {
        assert!(errors(&issues).is_empty(), "{layout}: {issues:#?}");
        let ignored: Vec<_> = only(&issues, IssueCode::IgnoredFile)
            .iter()
            .map(|i| i.file.clone())
            .collect();
        assert_eq!(
            ignored,
            ["categories.csv", "demographics.csv", "notes.csv"],
            "{layout}: {issues:#?}"
        );
    });
}

#[test]
fn delta_files_need_a_status_and_may_reference_what_the_receiver_has() {
    let mut files = bundle_1_1();
    edit(
        &mut files,
        "manifest.csv",
        "file.enrollments,bulk",
        "file.enrollments,delta",
    );
    set(
        &mut files,
        "enrollments.csv",
        "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n\
         e-2,tobedeleted,2026-11-01T00:00:00Z,cls-bio,org-1,s-1,student,false,,\n\
         e-9,active,2026-11-01T00:00:00Z,cls-geo,org-1,s-1,student,false,2026-11-01,\n\
         e-10,,2026-11-01T00:00:00Z,cls-geo,org-1,s-2,student,false,,\n\
         e-11,deleted,2026-11-01T00:00:00Z,cls-geo,org-1,s-2,student,false,,\n"
            .into(),
    );
    each_layout(&files, |layout, issues| {
        let errs: Vec<_> = errors(&issues)
            .iter()
            .map(|i| (i.code, i.row, i.column.clone().unwrap_or_default()))
            .collect();
        assert_eq!(
            errs,
            [
                (IssueCode::MissingValue, Some(4), "status".to_owned()),
                (IssueCode::InvalidVocabulary, Some(5), "status".to_owned()),
            ],
            "{layout}: {issues:#?}"
        );
    });
}

#[test]
fn a_zip_bomb_is_refused_before_anything_is_inflated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    zip.start_file("manifest.csv", options).unwrap();
    zip.write_all(manifest("1.1", &[("users", "bulk")]).as_bytes())
        .unwrap();
    zip.start_file("users.csv", options).unwrap();
    let zeros = vec![b'0'; 1024 * 1024];
    for _ in 0..80 {
        zip.write_all(&zeros).unwrap();
    }
    zip.finish().unwrap();
    let small = registrar_formats::ReaderOptions {
        max_file_size: 16 * 1024 * 1024,
        ..Default::default()
    };
    match Bundle::open(&path, &small) {
        Err(registrar_formats::Error::File(issue)) => {
            assert_eq!(issue.code, IssueCode::MalformedFile);
        }
        other => panic!("expected malformed-file, got {other:?}"),
    }
    // Default limits: an 80 MiB member packed 1000 times is a bomb.
    match Bundle::open(&path, &Default::default()) {
        Err(registrar_formats::Error::File(issue)) => {
            assert!(issue.message.contains("zip bomb"), "{issue}");
        }
        other => panic!("expected malformed-file, got {other:?}"),
    }
}

mod export {
    use super::*;
    use registrar_formats::oneroster::write::{render, write_folder, write_zip};
    use registrar_model::{
        CourseStatus, NaiveDate, Role, Roster, RosterCourse, RosterEnrollment, RosterGrade,
        RosterRole, RosterUser,
    };

    fn d(s: &str) -> Option<NaiveDate> {
        Some(s.parse().unwrap())
    }

    fn roster() -> Roster {
        let user = |key, sis: Option<&str>, email: &str, role, active| RosterUser {
            key,
            sis_id: sis.map(str::to_owned),
            email: email.into(),
            first_name: "Ana, \"Jr\"".into(),
            last_name: "Ruiz".into(),
            role,
            is_active: active,
        };
        Roster {
            courses: vec![
                RosterCourse {
                    code: "HIST1".into(),
                    name: "History".into(),
                    description: Some("Ancient to modern".into()),
                    semester: Some("Fall 2026".into()),
                    credits: Some(4),
                    status: CourseStatus::Active,
                    first_date: d("2026-09-01"),
                    last_date: d("2026-12-10"),
                },
                RosterCourse {
                    code: "ART2".into(),
                    name: "Art".into(),
                    description: None,
                    semester: None,
                    credits: None,
                    status: CourseStatus::Archived,
                    first_date: None,
                    last_date: None,
                },
            ],
            users: vec![
                user(3, None, "cy@school.example.org", Role::Teacher, true),
                user(
                    1,
                    Some("S1001"),
                    "ana@school.example.org",
                    Role::Student,
                    true,
                ),
                user(
                    2,
                    Some("user-3"),
                    "ben@school.example.org",
                    Role::Student,
                    false,
                ),
                user(4, None, "root@school.example.org", Role::Admin, true),
                user(5, None, "eve@school.example.org", Role::Viewer, true),
            ],
            enrollments: vec![
                RosterEnrollment {
                    user_key: 1,
                    course_code: "HIST1".into(),
                    role: RosterRole::Student,
                    begin_date: d("2026-09-01"),
                },
                RosterEnrollment {
                    user_key: 2,
                    course_code: "ART2".into(),
                    role: RosterRole::Student,
                    begin_date: None,
                },
                RosterEnrollment {
                    user_key: 3,
                    course_code: "HIST1".into(),
                    role: RosterRole::Teacher,
                    begin_date: None,
                },
                RosterEnrollment {
                    user_key: 5,
                    course_code: "HIST1".into(),
                    role: RosterRole::Aide,
                    begin_date: None,
                },
            ],
            grades: vec![
                RosterGrade {
                    user_key: 1,
                    course_code: "HIST1".into(),
                    assessment: "final".into(),
                    score: Some(91.5),
                    letter_grade: Some("A-".into()),
                    graded_on: d("2026-12-10"),
                },
                RosterGrade {
                    user_key: 2,
                    course_code: "ART2".into(),
                    assessment: "Mid term".into(),
                    score: Some(70.0),
                    letter_grade: None,
                    graded_on: None,
                },
            ],
            attendance: 12,
        }
    }

    #[test]
    fn an_export_passes_the_check_in_both_versions_and_layouts() {
        for version in Version::ALL {
            let files = render(&roster(), version, "Maple Grove High");
            let dir = tempfile::tempdir().unwrap();
            let folder = dir.path().join("out");
            std::fs::create_dir(&folder).unwrap();
            write_folder(&files, &folder).unwrap();
            let zip_path = dir.path().join("out.zip");
            write_zip(&files, std::fs::File::create(&zip_path).unwrap()).unwrap();
            for path in [&folder, &zip_path] {
                let bundle = Bundle::open(path, &Default::default()).unwrap();
                assert_eq!(bundle.manifest().version, version);
                let issues = check_bundle(&bundle);
                let not_ignored: Vec<_> = issues
                    .iter()
                    .filter(|i| i.code != IssueCode::IgnoredFile)
                    .collect();
                assert!(not_ignored.is_empty(), "{version} {path:?}: {issues:#?}");
            }
            let text = |name: &str| {
                String::from_utf8(files.iter().find(|f| f.name == name).unwrap().bytes.clone())
                    .unwrap()
            };
            let users = text("users.csv");
            // The external id is the sourcedId; a generated one never takes an external id.
            assert!(users.contains("\nS1001,"), "{users}");
            assert!(users.contains("\nuser-3-r3,"), "{users}");
            assert!(users.contains("\"Ana, \"\"Jr\"\"\""), "{users}");
            assert!(!users.to_lowercase().contains("argon"));
            let sessions = text("academicSessions.csv");
            assert!(
                sessions.contains("Fall 2026,term,2026-09-01,2026-12-10,,2026,Fall 2026"),
                "{sessions}"
            );
            assert!(
                sessions.contains("term-none,,,(no semester),term,"),
                "{sessions}"
            );
            let results = text("results.csv");
            assert!(results.contains("91.5"), "{results}");
            match version {
                Version::V1_1 => {
                    assert!(users.contains(",administrator,"), "{users}");
                    assert!(results.contains(",A-\n"), "{results}");
                }
                Version::V1_2 => {
                    assert!(text("roles.csv").contains(",primary,siteAdministrator,"));
                    assert!(results.contains(",A-,2026-12-10,"), "{results}");
                }
            }
            let enrollments = text("enrollments.csv");
            assert!(enrollments.contains("teacher,true"), "{enrollments}");
            // An aide: 1.2 has the role, 1.1 writes a non-primary teacher.
            let aide = match version {
                Version::V1_1 => "teacher,false",
                Version::V1_2 => "aide,false",
            };
            assert!(enrollments.contains(aide), "{enrollments}");
            assert!(text("courses.csv").contains(",Ancient to modern,4,active"));
        }
    }

    #[test]
    fn the_same_roster_makes_the_same_bytes() {
        let mut shuffled = roster();
        shuffled.users.reverse();
        shuffled.courses.reverse();
        shuffled.enrollments.reverse();
        shuffled.grades.reverse();
        let zip = |r: &Roster| {
            let files = render(r, Version::V1_2, "Maple Grove High");
            write_zip(&files, std::io::Cursor::new(Vec::new()))
                .unwrap()
                .into_inner()
        };
        let a = zip(&roster());
        assert_eq!(a, zip(&roster()));
        assert_eq!(a, zip(&shuffled));
    }

    #[cfg(unix)]
    #[test]
    fn written_files_are_0600_and_never_overwritten() {
        use std::os::unix::fs::PermissionsExt;
        let files = render(&roster(), Version::V1_1, "School");
        let dir = tempfile::tempdir().unwrap();
        write_folder(&files, dir.path()).unwrap();
        for f in &files {
            let mode = std::fs::metadata(dir.path().join(f.name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{}", f.name);
        }
        assert!(write_folder(&files, dir.path()).is_err());
    }
}
