//! OneRoster export (issue 12, part 3) on the real binary and both engines: the bundled
//! example data imported into a fresh database, exported as 1.1 and 1.2, zip and folder;
//! the bundles pass Registrar's own structural check, the same database exports
//! byte-identical files twice, the files are 0600, and targets in the way are refused.
//!
//! PostgreSQL cases run when `REGISTRAR_TEST_POSTGRES` is set (they print SKIPPED otherwise).

mod common;

use common::*;
use registrar::formats::oneroster::check::check_bundle;
use registrar::formats::oneroster::spec::Version;
use registrar::formats::oneroster::Bundle;
use registrar::model::IssueCode;
use std::path::{Path, PathBuf};

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

fn engines(name: &str, test: impl Fn(&str, &Path)) {
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let dir = tempfile::tempdir().unwrap();
        let Some(url) = fresh(engine, dir.path(), &format!("{name}_{engine:?}")) else {
            continue;
        };
        test(&url, dir.path());
    }
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/data")
}

fn exec(url: &str, sql: &str) {
    rt().block_on(async {
        if url.starts_with("sqlite:") {
            let pool = sqlx::sqlite::SqlitePool::connect(url).await.unwrap();
            sqlx::query(sql).execute(&pool).await.expect(sql);
            pool.close().await;
        } else {
            let pool = sqlx::postgres::PgPool::connect(url).await.unwrap();
            sqlx::query(sql).execute(&pool).await.expect(sql);
            pool.close().await;
        }
    })
}

fn export(url: &str, version: &str, out: &Path, extra: &[&str]) -> (i32, String) {
    let mut args = vec![
        "export",
        "--oneroster",
        version,
        "--out",
        s(out),
        "--database",
        url,
        "--org-name",
        "Lincoln High",
    ];
    args.extend_from_slice(extra);
    let o = run(&args);
    (code(&o), text(&o))
}

/// The files of a bundle (folder or zip) by name.
fn contents(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    if path.is_dir() {
        for e in std::fs::read_dir(path).unwrap() {
            let e = e.unwrap();
            out.push((
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            ));
        }
    } else {
        let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
        for i in 0..z.len() {
            let mut f = z.by_index(i).unwrap();
            let mut b = Vec::new();
            std::io::Read::read_to_end(&mut f, &mut b).unwrap();
            out.push((f.name().unwrap().into_owned(), b));
        }
    }
    out.sort();
    out
}

fn file<'a>(files: &'a [(String, Vec<u8>)], name: &str) -> &'a str {
    let (_, b) = files
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{name} in the bundle"));
    std::str::from_utf8(b).unwrap()
}

fn data_rows(text: &str) -> usize {
    text.lines().count() - 1
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn the_example_data_exports_as_valid_identical_bundles_of_both_versions() {
    engines("or_export", |url, dir| {
        let o = run(&[
            "import",
            "--data",
            s(&examples()),
            "--execute",
            "--database",
            url,
        ]);
        assert_eq!(code(&o), 0, "{}", text(&o));
        // A teacher link (a table of Registrar's own, filled by a OneRoster import).
        exec(
            url,
            "INSERT INTO registrar_course_teachers (course_id, teacher_id, role) \
             SELECT c.id, u.id, 'teacher' FROM courses c, users u \
             WHERE c.course_code = 'MATH101' AND u.email = 'mohammed.petrov.3@district.example.org'",
        );
        exec(
            url,
            "INSERT INTO registrar_user_sis_ids (user_id, sis_id) \
             SELECT id, 'SIS-0042' FROM users WHERE email = 'jose.yamamoto.9@district.example.org'",
        );
        for (version, v) in [("1.1", Version::V1_1), ("1.2", Version::V1_2)] {
            let zip_a = dir.join(format!("a-{version}.zip"));
            let zip_b = dir.join(format!("b-{version}.zip"));
            let folder = dir.join(format!("folder-{version}"));
            for out in [&zip_a, &zip_b, &folder] {
                let (c, t) = export(url, version, out, &[]);
                assert_eq!(c, 0, "{t}");
                assert!(
                    t.contains(&format!("OneRoster {version} bundle written")),
                    "{t}"
                );
                assert!(t.contains("attendance marks are not exported"), "{t}");
            }
            // Byte-identical twice, and the folder holds the same files as the zip.
            assert_eq!(
                std::fs::read(&zip_a).unwrap(),
                std::fs::read(&zip_b).unwrap()
            );
            let files = contents(&zip_a);
            assert_eq!(files, contents(&folder));

            for path in [&zip_a, &folder] {
                let bundle = Bundle::open(path, &Default::default()).unwrap();
                assert_eq!(bundle.manifest().version, v);
                let issues = check_bundle(&bundle);
                let errors: Vec<_> = issues.iter().filter(|i| i.is_error()).collect();
                assert!(errors.is_empty(), "{version} {path:?}: {errors:#?}");
                assert!(
                    issues.iter().all(|i| i.code == IssueCode::IgnoredFile),
                    "{issues:#?}"
                );
            }
            #[cfg(unix)]
            {
                assert_eq!(mode(&zip_a), 0o600);
                assert_eq!(mode(&folder), 0o700);
                for (name, _) in &files {
                    assert_eq!(mode(&folder.join(name)), 0o600, "{name}");
                }
            }

            // What the example data holds: 68 users, 12 courses, 240 enrollments (+1
            // teacher link), 480 grades.
            let users = file(&files, "users.csv");
            assert_eq!(data_rows(users), 68);
            assert!(
                users.contains("\nSIS-0042,"),
                "an imported id is the sourcedId"
            );
            assert!(!users.contains("$argon2"), "no hash is exported");
            assert_eq!(data_rows(file(&files, "courses.csv")), 12);
            assert_eq!(data_rows(file(&files, "classes.csv")), 12);
            let enrollments = file(&files, "enrollments.csv");
            assert_eq!(data_rows(enrollments), 241);
            assert!(enrollments.contains(",teacher,true,"), "{enrollments}");
            assert_eq!(data_rows(file(&files, "results.csv")), 480);
            let sessions = file(&files, "academicSessions.csv");
            assert_eq!(data_rows(sessions), 1, "{sessions}");
            assert!(sessions.contains(",Fall 2026,term,"), "{sessions}");
            assert!(file(&files, "orgs.csv").contains(",Lincoln High,school,"));
            let manifest = file(&files, "manifest.csv");
            assert!(manifest.contains(&format!("oneroster.version,{version}\n")));
            assert!(manifest.contains("file.users,bulk\n"));
            assert!(manifest.contains("file.demographics,absent\n"));
            if v == Version::V1_2 {
                assert_eq!(data_rows(file(&files, "roles.csv")), 68);
            } else {
                assert!(!files.iter().any(|(n, _)| n == "roles.csv"));
            }
        }
    });
}

#[test]
fn an_existing_target_is_refused_unless_it_is_a_previous_export_and_force_is_given() {
    engines("or_targets", |url, dir| {
        let o = run(&["seed-training", "--database", url]);
        assert_eq!(code(&o), 0, "{}", text(&o));
        let zip = dir.join("roster.zip");
        assert_eq!(export(url, "1.2", &zip, &[]).0, 0);
        let first = std::fs::read(&zip).unwrap();
        let (c, t) = export(url, "1.2", &zip, &[]);
        assert_eq!(c, 2, "{t}");
        assert!(t.contains("--force"), "{t}");
        let (c, t) = export(url, "1.1", &zip, &["--force"]);
        assert_eq!(c, 0, "{t}");
        assert!(t.contains("replaced"), "{t}");
        assert_ne!(std::fs::read(&zip).unwrap(), first);

        // A folder: an empty one is used; a previous export is replaced with --force only.
        let folder = dir.join("bundle");
        std::fs::create_dir(&folder).unwrap();
        assert_eq!(export(url, "1.1", &folder, &[]).0, 0);
        assert_eq!(export(url, "1.1", &folder, &[]).0, 2);
        assert_eq!(export(url, "1.2", &folder, &["--force"]).0, 0);
        assert!(folder.join("roles.csv").exists());

        // A folder with anything else in it is never replaced.
        let mine = dir.join("mine");
        std::fs::create_dir(&mine).unwrap();
        std::fs::write(mine.join("notes.txt"), "keep me").unwrap();
        let (c, t) = export(url, "1.1", &mine, &["--force"]);
        assert_eq!(c, 2, "{t}");
        assert!(t.contains("not a previous Registrar export"), "{t}");
        assert_eq!(
            std::fs::read_to_string(mine.join("notes.txt")).unwrap(),
            "keep me"
        );
        // Nothing is left behind by the refused or replaced runs.
        let leftovers: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    });
}

#[test]
fn a_missing_database_is_refused_and_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("none.db");
    let url = format!("sqlite://{}", db.display());
    let (c, t) = export(&url, "1.1", &dir.path().join("x.zip"), &[]);
    assert_eq!(c, 2, "{t}");
    assert!(t.contains("no database"), "{t}");
    assert!(!db.exists());
    assert!(!dir.path().join("x.zip").exists());
    let (c, t) = export(&url, "2.0", &dir.path().join("x.zip"), &[]);
    assert_eq!(c, 2, "{t}");
    assert!(t.contains("use 1.1 or 1.2"), "{t}");
}
