//! The shipped data sets: `examples/data` validates with no issue, `examples/messy` yields
//! exactly the faults listed in `examples/messy/FAULTS.md`, and `gen_data` writes valid data.

use registrar::{validate_dir, ReaderOptions, Report, Severity};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[allow(dead_code)]
#[path = "../examples/gen_data.rs"]
mod gen_data;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn validate(dir: &Path) -> Report {
    match validate_dir(dir, &ReaderOptions::default()) {
        Ok(r) => r,
        Err(e) => panic!("validate_dir({}) failed: {e}", dir.display()),
    }
}

/// `file → (rows, valid, invalid)`.
type Counts = BTreeMap<String, (u64, u64, u64)>;

/// The per-file counts of a report.
fn counts(report: &Report) -> Counts {
    report
        .files
        .iter()
        .map(|f| (f.file.clone(), (f.rows, f.valid, f.invalid)))
        .collect()
}

fn gen(args: &[&str]) -> Vec<(String, u64)> {
    match gen_data::run(args.iter().map(|s| s.to_string()).collect()) {
        Ok(lines) => lines,
        Err(e) => panic!("gen_data {args:?} failed: {e}"),
    }
}

/// Plain passwords of a users CSV written by gen_data (comma-delimited, password = column 2,
/// no quoted field before it).
fn plain_passwords(users_csv: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(users_csv).expect("read users file");
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split(',');
            let email = f.next()?.to_string();
            let pw = f.next()?.to_string();
            (!pw.is_empty()).then_some((email, pw))
        })
        .collect()
}

#[test]
fn example_data_validates_with_no_issue() {
    let report = validate(&root().join("examples/data"));
    assert!(report.is_ok(), "errors: {:#?}", report.issues);
    assert!(report.issues.is_empty(), "issues: {:#?}", report.issues);
    let expected: Counts = [
        ("users.csv", 68),
        ("courses.xlsx", 12),
        ("enrollments.csv", 240),
        ("grades.json", 480),
        ("attendance.ndjson", 2400),
    ]
    .into_iter()
    .map(|(f, n)| (f.to_string(), (n, n, 0)))
    .collect();
    assert_eq!(counts(&report), expected);
    // The set shows what the brief promises: pre-hashed users and inactive users.
    let users = std::fs::read_to_string(root().join("examples/data/users.csv")).unwrap();
    assert_eq!(users.matches("$argon2id$").count(), 3);
    assert_eq!(users.lines().filter(|l| l.ends_with(",false")).count(), 4);
    assert!(users.contains("\", Jr.\"") || users.contains(", Jr.\""));
}

#[test]
fn example_data_is_what_the_preset_generates() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    gen(&["--preset", "example", "--out", out, "--quiet"]);
    for name in [
        "users.csv",
        "courses.xlsx",
        "enrollments.csv",
        "grades.json",
        "attendance.ndjson",
    ] {
        let shipped = std::fs::read(root().join("examples/data").join(name)).unwrap();
        let fresh = std::fs::read(dir.path().join(name)).unwrap();
        assert!(
            shipped == fresh,
            "examples/data/{name} differs from `gen_data --preset example`; regenerate it"
        );
    }
    assert!(!dir.path().join("passwords-prehashed.csv").exists());
}

/// One expected issue: (file, row, column, severity, code).
type Expected = (String, Option<u64>, Option<String>, Severity, String);

/// Parses the faults table of FAULTS.md (the rows whose first cell names a data file and whose
/// fifth cell is an issue code).
fn faults_table() -> (Vec<Expected>, Counts) {
    let text = std::fs::read_to_string(root().join("examples/messy/FAULTS.md")).unwrap();
    let mut faults = Vec::new();
    let mut counts = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        if !cells[0].contains('.') || cells[0].contains(' ') {
            continue;
        }
        if cells.len() == 6 {
            let row = (cells[1] != "-").then(|| cells[1].parse().expect("row number"));
            let column = (cells[2] != "-").then(|| cells[2].to_string());
            let severity = match cells[3] {
                "error" => Severity::Error,
                "warning" => Severity::Warning,
                other => panic!("severity {other:?} in FAULTS.md"),
            };
            faults.push((
                cells[0].to_string(),
                row,
                column,
                severity,
                cells[4].to_string(),
            ));
        } else if cells.len() == 4 {
            let n = |i: usize| cells[i].parse::<u64>().expect("count");
            counts.insert(cells[0].to_string(), (n(1), n(2), n(3)));
        }
    }
    (faults, counts)
}

#[test]
fn messy_data_yields_exactly_the_planted_faults() {
    let (mut expected, expected_counts) = faults_table();
    assert_eq!(expected.len(), 42, "FAULTS.md table not parsed as expected");
    assert_eq!(expected_counts.len(), 5);

    let report = validate(&root().join("examples/messy"));
    let mut got: Vec<Expected> = report
        .issues
        .iter()
        .map(|i| {
            (
                i.file.clone(),
                i.row,
                i.column.clone(),
                i.severity,
                i.code.as_str().to_string(),
            )
        })
        .collect();
    expected.sort();
    got.sort();
    let missing: Vec<_> = expected.iter().filter(|e| !got.contains(e)).collect();
    let extra: Vec<_> = got.iter().filter(|g| !expected.contains(g)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing (expected, not reported): {missing:#?}\nextra (reported, not expected): {extra:#?}\nall issues: {:#?}",
        report.issues
    );
    assert_eq!(got, expected, "an issue is reported twice");
    assert_eq!(counts(&report), expected_counts);
    assert!(!report.is_ok());

    // No password of the messy users file appears anywhere in the report.
    let json = serde_json::to_string(&report).unwrap();
    let users = std::fs::read_to_string(root().join("examples/messy/users.csv")).unwrap();
    for line in users.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let hash = fields.get(2).filter(|h| h.starts_with('$'));
        for secret in [fields.get(1), hash].into_iter().flatten() {
            if !secret.is_empty() {
                assert!(!json.contains(secret), "a password leaked into the report");
            }
        }
    }
}

#[test]
fn generated_mixed_data_validates_and_prehashed_passwords_verify() {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let lines = gen(&[
        "--students",
        "40",
        "--teachers",
        "4",
        "--admins",
        "2",
        "--courses",
        "9",
        "--per-student",
        "3",
        "--days",
        "7",
        "--grades-per-enrollment",
        "3",
        "--seed",
        "7",
        "--formats",
        "mixed",
        "--prehashed-fraction",
        "0.07",
        "--out",
        out,
        "--quiet",
    ]);
    let summary: BTreeMap<_, _> = lines.into_iter().collect();
    assert_eq!(summary["users.csv"], 46);
    assert_eq!(summary["courses.xlsx"], 9);
    assert_eq!(summary["enrollments.csv"], 120);
    assert_eq!(summary["grades.xlsx"], 360);
    assert_eq!(summary["attendance.ndjson"], 840);
    assert_eq!(summary["passwords-prehashed.csv"], 3);

    let report = validate(dir.path());
    assert!(report.issues.is_empty(), "issues: {:#?}", report.issues);
    let c = counts(&report);
    assert_eq!(c["users.csv"], (46, 46, 0));
    assert_eq!(c["courses.xlsx"], (9, 9, 0));
    assert_eq!(c["enrollments.csv"], (120, 120, 0));
    assert_eq!(c["grades.xlsx"], (360, 360, 0));
    assert_eq!(c["attendance.ndjson"], (840, 840, 0));
    assert!(std::fs::read_to_string(dir.path().join("enrollments.csv"))
        .unwrap()
        .starts_with("student_email;course_code;enrollment_date\n"));

    // The side file holds the plain passwords of the pre-hashed users, readable by the owner only.
    let side = dir.path().join("passwords-prehashed.csv");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&side).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let users = std::fs::read_to_string(dir.path().join("users.csv")).unwrap();
    let mut verified = 0;
    for (email, password) in plain_passwords(&side) {
        let line = users
            .lines()
            .find(|l| l.starts_with(&format!("{email},")))
            .expect("pre-hashed user in users.csv");
        let start = line.find("\"$argon2id$").expect("a quoted PHC string") + 1;
        let end = start + line[start..].find('"').unwrap();
        let hash = PasswordHash::new(&line[start..end]).unwrap();
        assert!(argon2::Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok());
        verified += 1;
    }
    assert_eq!(verified, 3);
    // Every other user has a plain password (and no hash).
    assert_eq!(plain_passwords(&dir.path().join("users.csv")).len(), 43);
}

#[test]
fn generated_csv_data_is_deterministic_and_resolved_ids_follow_line_order() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let args = |out: &str| {
        vec![
            "--students",
            "25",
            "--teachers",
            "3",
            "--admins",
            "1",
            "--courses",
            "6",
            "--per-student",
            "2",
            "--days",
            "4",
            "--seed",
            "99",
            "--resolved",
            "--quiet",
            "--out",
        ]
        .into_iter()
        .map(str::to_string)
        .chain([out.to_string()])
        .collect::<Vec<_>>()
    };
    gen_data::run(args(a.path().to_str().unwrap())).unwrap();
    gen_data::run(args(b.path().to_str().unwrap())).unwrap();
    for name in [
        "users.csv",
        "courses.csv",
        "enrollments.csv",
        "grades.csv",
        "attendance.csv",
        "attendance.resolved.csv",
    ] {
        let x = std::fs::read(a.path().join(name)).unwrap();
        let y = std::fs::read(b.path().join(name)).unwrap();
        assert!(x == y, "{name} differs between two runs with the same seed");
    }
    let report = validate(a.path());
    assert!(report.issues.is_empty(), "issues: {:#?}", report.issues);

    // attendance.resolved.csv: same rows as attendance.csv, emails and codes replaced by the
    // 1-based line order of users.csv and courses.csv.
    let read = |n: &str| std::fs::read_to_string(a.path().join(n)).unwrap();
    let users: Vec<String> = read("users.csv")
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    let courses: Vec<String> = read("courses.csv")
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    let attendance = read("attendance.csv");
    let resolved = read("attendance.resolved.csv");
    assert_eq!(attendance.lines().count() - 1, resolved.lines().count());
    assert_eq!(resolved.lines().count(), 25 * 2 * 4);
    for (att, res) in attendance.lines().skip(1).zip(resolved.lines()) {
        let a: Vec<&str> = att.split(',').collect();
        let r: Vec<&str> = res.split(',').collect();
        let sid: usize = r[0].parse().unwrap();
        let cid: usize = r[1].parse().unwrap();
        assert_eq!(users[sid - 1], a[0]);
        assert_eq!(courses[cid - 1], a[1]);
        assert_eq!(&r[2..], &a[2..]);
    }

    // --only writes one file with the same content.
    let c = tempfile::tempdir().unwrap();
    gen(&[
        "--students",
        "25",
        "--teachers",
        "3",
        "--admins",
        "1",
        "--courses",
        "6",
        "--per-student",
        "2",
        "--days",
        "4",
        "--seed",
        "99",
        "--only",
        "attendance",
        "--quiet",
        "--out",
        c.path().to_str().unwrap(),
    ]);
    assert!(!c.path().join("users.csv").exists());
    assert_eq!(
        std::fs::read(c.path().join("attendance.csv")).unwrap(),
        std::fs::read(a.path().join("attendance.csv")).unwrap()
    );
}

#[test]
fn gen_data_refuses_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap().to_string();
    let run = |args: &[&str]| {
        gen_data::run(
            args.iter()
                .map(|s| s.to_string())
                .chain(["--out".to_string(), out.clone()])
                .collect(),
        )
    };
    assert!(run(&["--courses", "3", "--per-student", "4"]).is_err());
    assert!(run(&["--formats", "users=parquet"]).is_err());
    assert!(run(&["--students", "many"]).is_err());
    assert!(run(&["--prehashed-fraction", "1.5"]).is_err());
    assert!(run(&["--only", "teachers"]).is_err());
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}
