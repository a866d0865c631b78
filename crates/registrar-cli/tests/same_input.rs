//! One validation driver (issue 11, item 2): the same tricky input gives the same issues, codes,
//! messages and exit status through `validate`, `validate --database`, `import --validate`,
//! `import --execute` and `migrate --validate` / `--execute`, on both engines.

mod common;

use common::{code, run, text, Engine};
use serde_json::Value;
use std::path::Path;

/// A folder with something wrong in every file: row errors, a duplicate, a workbook that is not
/// one, an enrollment whose course is in that unreadable file, a bad byte mid-file, two
/// attendance files, and a file that is ignored.
fn tricky_folder(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("users.csv"),
        "email,password,role,first_name,last_name\n\
         ana@school.edu,Xk29!vmq-Lp,student,Ana,Ruiz\n\
         not-an-email,Xk29!vmq-Lp,student,Bo,Li\n\
         ana@school.edu,Xk29!vmq-Lp,student,Ana,Again\n\
         cy@school.edu,Xk29!vmq-Lp,wizard,Cy,Ode\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("courses.xlsx"),
        b"PK\x03\x04 this is not a workbook",
    )
    .unwrap();
    std::fs::write(
        dir.join("enrollments.csv"),
        "student_email,course_code,enrollment_date\n\
         ana@school.edu,MATH101,2024-09-01\n\
         nobody@school.edu,MATH101,2024-13-01\n",
    )
    .unwrap();
    let mut grades = b"student_email,course_code,assessment,score\n\
         ana@school.edu,MATH101,final,91\n"
        .to_vec();
    grades.extend_from_slice(b"ana@school.edu,MATH101,mid\xff,80\n");
    std::fs::write(dir.join("grades.csv"), grades).unwrap();
    std::fs::write(
        dir.join("attendance.csv"),
        "student_email,course_code,date,status\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("attendance.tsv"),
        "student_email\tcourse_code\tdate\tstatus\n",
    )
    .unwrap();
    std::fs::write(dir.join("notes.txt"), "not data").unwrap();
}

/// The issues of a JSON report (validate/import) or runbook outcome (migrate), as comparable
/// lines, in order.
fn issues_of(json: &Value) -> Vec<String> {
    let report = if json.get("steps").is_some() {
        &json["report"]
    } else {
        json
    };
    report["issues"]
        .as_array()
        .unwrap_or_else(|| panic!("no issues in {json}"))
        .iter()
        .map(|i| {
            format!(
                "{} {} {} {} {} {}",
                i["severity"], i["file"], i["row"], i["column"], i["code"], i["message"]
            )
        })
        .collect()
}

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(out)))
}

/// A fresh database with the schema.
fn initialised(engine: Engine, dir: &Path, name: &str) -> Option<String> {
    std::fs::create_dir_all(dir).unwrap();
    let url = common::fresh(engine, dir, name)?;
    let o = run(&["init", "--database", &url]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    Some(url)
}

/// Every command over `input` (`--data X` or `--file X`): (command, exit code, output).
fn every_command(
    engine: Engine,
    dir: &Path,
    tag: &str,
    input: &[&str],
) -> Option<Vec<(String, i32, std::process::Output)>> {
    let mut runs = Vec::new();
    let mut go = |label: &str, args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = run(&args);
        runs.push((label.to_owned(), code(&o), o));
    };
    let with = |cmd: &[&str], url: Option<&str>, extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
        a.extend(input.iter().map(|s| s.to_string()));
        if let Some(u) = url {
            a.push("--database".into());
            a.push(u.into());
        }
        a.extend(extra.iter().map(|s| s.to_string()));
        a.extend(["--format".to_string(), "json".to_string()]);
        a
    };
    go("validate", with(&["validate"], None, &[]));
    let db = |n: &str| initialised(engine, &dir.join(n), &format!("same_input_{tag}_{n}"));
    let u = db("v")?;
    go("validate --database", with(&["validate"], Some(&u), &[]));
    let u = db("iv")?;
    go(
        "import --validate",
        with(&["import"], Some(&u), &["--validate"]),
    );
    let u = db("ie")?;
    go(
        "import --execute",
        with(&["import"], Some(&u), &["--execute"]),
    );
    let before = common::counts(&u);
    assert!(
        before.iter().all(|(_, n)| *n == 0),
        "a failed import wrote rows: {before:?}"
    );
    // `migrate` takes a folder or a file as --data.
    let migrate_input: Vec<&str> = vec!["--data", input[1]];
    for mode in ["--validate", "--execute"] {
        let u = db(&format!("m{}", &mode[2..3]))?;
        let backups = dir.join(format!("backups{mode}"));
        let mut a: Vec<String> = ["migrate"]
            .iter()
            .chain(migrate_input.iter())
            .map(|s| s.to_string())
            .collect();
        a.extend([
            "--database".into(),
            u.clone(),
            mode.into(),
            "--backup-dir".into(),
            backups.display().to_string(),
            "--format".into(),
            "json".into(),
        ]);
        go(&format!("migrate {mode}"), a);
    }
    Some(runs)
}

fn same_issues_through_every_command(engine: Engine) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    tricky_folder(&data);
    let tag = match engine {
        Engine::Sqlite => "sqlite",
        Engine::Postgres => "postgres",
    };
    let Some(runs) = every_command(engine, tmp.path(), tag, &["--data", data.to_str().unwrap()])
    else {
        return;
    };
    let (first_label, first_code, first_out) = &runs[0];
    let expected = issues_of(&json_of(first_out));
    // The set is tricky on purpose: every kind of problem is there.
    let joined = expected.join("\n");
    for code in [
        "invalid-email",
        "duplicate-key",
        "invalid-role",
        "malformed-file",
        "invalid-date",
        "invalid-encoding",
        "duplicate-file",
    ] {
        assert!(joined.contains(code), "{code} missing from:\n{joined}");
    }
    assert_eq!(*first_code, 1, "{first_label}: {}", text(first_out));
    for (label, status, out) in &runs[1..] {
        assert_eq!(
            status,
            first_code,
            "{label} exits {status}, {first_label} {first_code}: {}",
            text(out)
        );
        assert_eq!(
            issues_of(&json_of(out)),
            expected,
            "{label} reports other issues than {first_label}"
        );
    }
}

#[test]
fn sqlite_one_tricky_folder_gets_the_same_issues_from_every_command() {
    same_issues_through_every_command(Engine::Sqlite);
}

#[test]
fn postgres_one_tricky_folder_gets_the_same_issues_from_every_command() {
    same_issues_through_every_command(Engine::Postgres);
}

/// One `--file` through every command: an unreadable workbook is the same file-level issue
/// everywhere, and a file whose name names no entity is the same usage error everywhere.
#[test]
fn one_file_gets_the_same_answer_from_every_command() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("users.xlsx");
    std::fs::write(&bad, b"not a workbook at all").unwrap();
    let runs = every_command(
        Engine::Sqlite,
        tmp.path(),
        "file",
        &["--file", bad.to_str().unwrap()],
    )
    .expect("sqlite");
    let expected = issues_of(&json_of(&runs[0].2));
    assert_eq!(expected.len(), 1, "{expected:?}");
    for (label, status, out) in &runs {
        assert_eq!(*status, 1, "{label}: {}", text(out));
        assert_eq!(issues_of(&json_of(out)), expected, "{label}");
    }

    let tmp = tempfile::tempdir().unwrap();
    let unnamed = tmp.path().join("export-2024.csv");
    std::fs::write(&unnamed, "email,password,role,first_name,last_name\n").unwrap();
    let runs = every_command(
        Engine::Sqlite,
        tmp.path(),
        "unnamed",
        &["--file", unnamed.to_str().unwrap()],
    )
    .expect("sqlite");
    for (label, status, out) in &runs {
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(*status, 2, "{label}: {}", text(out));
        assert!(
            err.contains("cannot tell what export-2024.csv holds") && err.contains("--entity"),
            "{label}: {err}"
        );
    }
}
