//! Re-runs and syncs (issue 13), on the real binary and both engines:
//! - re-importing the same files is a success that writes nothing (exit 0, `unchanged`
//!   counts, `updated_at` and every password hash untouched);
//! - `plan` lists exactly the rows that change, with their fields;
//! - `--sync` removes exactly what the export no longer holds, and only rows an import made:
//!   a row made by hand and the training data survive;
//! - `--max-changes` refuses a mass removal before anything is written, and the flag it names
//!   approves it;
//! - a saved plan applies, and is refused once the files or the database changed.
//!
//! PostgreSQL cases run when `REGISTRAR_TEST_POSTGRES` is set (they print SKIPPED otherwise).

mod common;

use common::*;
use std::path::{Path, PathBuf};

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Ten students with plain passwords, two courses, each student in both, a grade each, and
/// attendance for one day.
fn write_school(dir: &Path, students: usize) -> PathBuf {
    let d = dir.join("school");
    std::fs::create_dir_all(&d).unwrap();
    let mut users = String::from("email,password,role,first_name,last_name\n");
    let mut enr = String::from("student_email,course_code,enrollment_date\n");
    let mut grades = String::from("student_email,course_code,assessment,score\n");
    let mut att = String::from("student_email,course_code,date,status\n");
    for i in 0..students {
        users.push_str(&format!(
            "kid{i}@realschool.org,Plain-Pass-{i}-xyz!,student,Kid,Number{i}\n"
        ));
        for c in ["SYNC1", "SYNC2"] {
            enr.push_str(&format!("kid{i}@realschool.org,{c},2025-09-01\n"));
            grades.push_str(&format!("kid{i}@realschool.org,{c},final,{}\n", 60 + i));
            att.push_str(&format!("kid{i}@realschool.org,{c},2025-09-02,present\n"));
        }
    }
    std::fs::write(d.join("users.csv"), users).unwrap();
    std::fs::write(
        d.join("courses.csv"),
        "course_code,course_name,credits\nSYNC1,Sync one,4\nSYNC2,Sync two,3\n",
    )
    .unwrap();
    std::fs::write(d.join("enrollments.csv"), enr).unwrap();
    std::fs::write(d.join("grades.csv"), grades).unwrap();
    std::fs::write(d.join("attendance.csv"), att).unwrap();
    d
}

/// Rewrites `file` in `dir` with `f` applied to its text.
fn edit(dir: &Path, file: &str, f: impl FnOnce(String) -> String) {
    let p = dir.join(file);
    let t = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, f(t)).unwrap();
}

/// The first column of every row `sql` returns, as text.
fn query(url: &str, sql: &str) -> Vec<String> {
    rt().block_on(async {
        if url.starts_with("sqlite:") {
            let pool = sqlx::sqlite::SqlitePool::connect(url)
                .await
                .expect("connect");
            let rows: Vec<(String,)> = sqlx::query_as(sql).fetch_all(&pool).await.expect(sql);
            pool.close().await;
            rows.into_iter().map(|r| r.0).collect()
        } else {
            let pool = sqlx::postgres::PgPool::connect(url).await.expect("connect");
            let rows: Vec<(String,)> = sqlx::query_as(sql).fetch_all(&pool).await.expect(sql);
            pool.close().await;
            rows.into_iter().map(|r| r.0).collect()
        }
    })
}

/// Runs a statement on either engine.
fn exec(url: &str, sql: &str) {
    rt().block_on(async {
        if url.starts_with("sqlite:") {
            let pool = sqlx::sqlite::SqlitePool::connect(url)
                .await
                .expect("connect");
            sqlx::query(sql).execute(&pool).await.expect(sql);
            pool.close().await;
        } else {
            let pool = sqlx::postgres::PgPool::connect(url).await.expect("connect");
            sqlx::query(sql).execute(&pool).await.expect(sql);
            pool.close().await;
        }
    })
}

fn import(url: &str, data: &Path, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let mut args = vec![
        "import",
        "--data",
        s(data),
        "--execute",
        "--database",
        url,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let o = run(&args);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let json = serde_json::from_str(&out).unwrap_or(serde_json::Value::Null);
    (code(&o), json, text(&o))
}

fn plan(url: &str, data: &Path, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let mut args = vec![
        "plan",
        "--data",
        s(data),
        "--database",
        url,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let o = run(&args);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let json = serde_json::from_str(&out).unwrap_or(serde_json::Value::Null);
    (code(&o), json, text(&o))
}

fn sum(report: &serde_json::Value, field: &str) -> u64 {
    report["files"]
        .as_array()
        .map(|f| f.iter().map(|x| x[field].as_u64().unwrap_or(0)).sum())
        .unwrap_or(0)
}

fn entity<'a>(plan: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    plan["entities"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["entity"] == name))
        .unwrap_or(&serde_json::Value::Null)
}

fn len(v: &serde_json::Value) -> usize {
    v.as_array().map_or(0, Vec::len)
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

#[test]
fn regression_a_second_identical_import_writes_nothing_and_succeeds() {
    engines("rerun", |url, dir| {
        let data = write_school(dir, 4);
        let (c, r, t) = import(url, &data, &[]);
        assert_eq!(c, 0, "{t}");
        assert_eq!(sum(&r, "inserted"), 4 + 2 + 8 + 8 + 8);
        let hashes = query(url, "SELECT password_hash FROM users ORDER BY email");
        let stamps = query(
            url,
            "SELECT CAST(updated_at AS TEXT) FROM users ORDER BY email",
        );
        let (c, r, t) = import(url, &data, &[]);
        assert_eq!(c, 0, "the second run of the same files must succeed: {t}");
        assert_eq!(sum(&r, "inserted") + sum(&r, "updated"), 0, "{t}");
        assert_eq!(sum(&r, "unchanged"), 4 + 2 + 8 + 8 + 8, "{t}");
        assert_eq!(
            query(url, "SELECT password_hash FROM users ORDER BY email"),
            hashes
        );
        assert_eq!(
            query(
                url,
                "SELECT CAST(updated_at AS TEXT) FROM users ORDER BY email"
            ),
            stamps
        );
        // With --on-existing update and --update-passwords the same passwords still verify
        // the stored hashes: nothing is re-hashed.
        let (c, _, t) = import(
            url,
            &data,
            &["--on-existing", "update", "--update-passwords"],
        );
        assert_eq!(c, 0, "{t}");
        assert_eq!(
            query(url, "SELECT password_hash FROM users ORDER BY email"),
            hashes
        );
        let runs = audit_runs(url);
        let last = runs.iter().max_by_key(|r| r.id).expect("an audit row");
        assert_eq!(last.counts["users"]["unchanged"], 4, "{:?}", last.counts);
    });
}

#[test]
fn a_plan_lists_exactly_the_rows_that_change_with_their_fields() {
    engines("plan3", |url, dir| {
        let data = write_school(dir, 4);
        assert_eq!(import(url, &data, &[]).0, 0);
        edit(&data, "users.csv", |t| {
            t.replace("Kid,Number1\n", "Kit,Number1\n")
        });
        edit(&data, "attendance.csv", |t| {
            t.replace(
                "kid2@realschool.org,SYNC1,2025-09-02,present",
                "kid2@realschool.org,SYNC1,2025-09-02,late",
            )
        });
        edit(&data, "grades.csv", |t| {
            t.replace(
                "kid3@realschool.org,SYNC2,final,63",
                "kid3@realschool.org,SYNC2,final,88",
            )
        });
        let before = checksums(url);
        let (c, p, t) = plan(
            url,
            &data,
            &["--on-existing", "update", "--max-changes", "50"],
        );
        assert_eq!(c, 0, "{t}");
        assert_eq!(checksums(url), before, "a plan writes nothing");
        let updates: Vec<(String, Vec<String>)> = p["entities"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|e| e["update"].as_array().unwrap().iter())
            .map(|u| {
                let fields = u["changes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| format!("{}:{}>{}", c["field"], c["old"], c["new"]))
                    .collect();
                (u["key"].to_string(), fields)
            })
            .collect();
        assert_eq!(updates.len(), 3, "{updates:#?}");
        assert!(updates[0].1[0].contains("first_name") && updates[0].1[0].contains("Kit"));
        assert!(updates[1].1[0].contains("score") && updates[1].1[0].contains("88"));
        assert!(updates[2].1[0].contains("status") && updates[2].1[0].contains("late"));
        assert_eq!(entity(&p, "attendance")["unchanged"], 7);
        for e in ["users", "courses", "enrollments", "grades", "attendance"] {
            assert_eq!(len(&entity(&p, e)["insert"]), 0, "{e}");
        }
        // The default (error) refuses rows that differ, naming the fields.
        let (c, r, t) = import(url, &data, &[]);
        assert_eq!(c, 1, "{t}");
        assert!(
            t.contains("already-exists") && t.contains("status: present → late"),
            "{t}"
        );
        assert_eq!(sum(&r, "updated"), 0);
        // The human plan says it in words.
        let o = run(&[
            "plan",
            "--data",
            s(&data),
            "--database",
            url,
            "--on-existing",
            "update",
        ]);
        let h = text(&o);
        assert!(h.contains("first_name: Kid → Kit"), "{h}");
        assert!(h.contains("1 changed"), "{h}");
    });
}

#[test]
fn a_sync_removes_exactly_what_the_export_dropped_and_keeps_hand_made_rows() {
    engines("sync2", |url, dir| {
        // The training data (not made by an import) and a hand-made course.
        let o = run(&["seed-training", "--database", url]);
        assert_eq!(code(&o), 0, "{}", text(&o));
        let data = write_school(dir, 10);
        assert_eq!(import(url, &data, &[]).0, 0);
        exec(
            url,
            "INSERT INTO courses (course_code, course_name) VALUES ('HAND1', 'Made by hand')",
        );
        exec(
            url,
            "INSERT INTO enrollments (student_id, course_id) SELECT u.id, c.id FROM users u, courses c \
             WHERE u.email = 'kid0@realschool.org' AND c.course_code = 'HAND1'",
        );
        let users_before = query(url, "SELECT email FROM users ORDER BY email");
        edit(&data, "enrollments.csv", |t| {
            t.replace("kid4@realschool.org,SYNC2,2025-09-01\n", "")
                .replace("kid7@realschool.org,SYNC1,2025-09-01\n", "")
        });
        // Their grades and attendance go too (they would name a missing enrollment).
        edit(&data, "grades.csv", |t| {
            t.replace("kid4@realschool.org,SYNC2,final,64\n", "")
                .replace("kid7@realschool.org,SYNC1,final,67\n", "")
        });
        edit(&data, "attendance.csv", |t| {
            t.replace("kid4@realschool.org,SYNC2,2025-09-02,present\n", "")
                .replace("kid7@realschool.org,SYNC1,2025-09-02,present\n", "")
        });
        // Only enrollments are given: nothing of the other entities is removed.
        let only = dir.join("only");
        std::fs::create_dir_all(&only).unwrap();
        std::fs::copy(data.join("enrollments.csv"), only.join("enrollments.csv")).unwrap();
        let (c, p, t) = plan(url, &only, &["--sync"]);
        assert_eq!(c, 0, "{t}");
        let e = entity(&p, "enrollments");
        let removed: Vec<String> = e["remove"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["key"].to_string())
            .collect();
        assert_eq!(removed.len(), 2, "{removed:?}");
        assert!(
            removed[0].contains("kid4") && removed[1].contains("kid7"),
            "{removed:?}"
        );
        assert_eq!(
            e["kept_unknown_origin"], 1,
            "the hand-made enrollment stays"
        );
        let (c, r, t) = import(url, &only, &["--sync"]);
        assert_eq!(c, 0, "{t}");
        assert_eq!(r["removed"][0]["removed"], 2, "{t}");
        assert_eq!(
            query(url, "SELECT CAST(COUNT(*) AS TEXT) FROM enrollments"),
            ["19"],
            "20 imported - 2 dropped + 1 by hand"
        );
        assert_eq!(
            query(url, "SELECT email FROM users ORDER BY email"),
            users_before
        );
        // The training accounts are not in the export and are never deactivated by --sync.
        let (c, _, t) = import(url, &data, &["--sync"]);
        assert_eq!(c, 0, "{t}");
        let inactive = query(
            url,
            "SELECT email FROM users WHERE NOT is_active ORDER BY email",
        );
        assert!(inactive.is_empty(), "{inactive:?}");
        assert_eq!(
            query(
                url,
                "SELECT course_code FROM courses WHERE course_code = 'HAND1' AND status = 'active'"
            ),
            ["HAND1"]
        );
        // --sync-all would touch them: refused without --yes.
        let (c, _, t) = import(url, &data, &["--sync-all", "--max-changes", "100"]);
        assert_eq!(c, 1, "{t}");
        assert!(t.contains("unknown-origin") && t.contains("--yes"), "{t}");
        assert!(query(url, "SELECT email FROM users WHERE NOT is_active").is_empty());
    });
}

#[test]
fn a_sync_that_would_remove_40_percent_of_the_users_is_refused_until_approved() {
    engines("thresh", |url, dir| {
        let data = write_school(dir, 10);
        assert_eq!(import(url, &data, &[]).0, 0);
        let users = dir.join("users-only");
        std::fs::create_dir_all(&users).unwrap();
        let kept: String = std::fs::read_to_string(data.join("users.csv"))
            .unwrap()
            .lines()
            .take(7)
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(users.join("users.csv"), kept).unwrap();
        let before = checksums(url);
        let (c, _, t) = import(url, &users, &["--sync"]);
        assert_eq!(c, 1, "{t}");
        assert!(
            t.contains("too-many-changes") && t.contains("--max-changes 40"),
            "{t}"
        );
        assert_eq!(checksums(url), before, "a refused sync writes nothing");
        let (c, r, t) = import(url, &users, &["--sync", "--max-changes", "40"]);
        assert_eq!(c, 0, "{t}");
        assert_eq!(r["removed"][0]["removed"], 4, "{t}");
        assert_eq!(
            query(
                url,
                "SELECT CAST(COUNT(*) AS TEXT) FROM users WHERE NOT is_active"
            ),
            ["4"]
        );
    });
}

#[test]
fn a_saved_plan_applies_and_a_stale_one_is_refused() {
    engines("saved", |url, dir| {
        let data = write_school(dir, 4);
        assert_eq!(import(url, &data, &[]).0, 0);
        edit(&data, "users.csv", |t| {
            t.replace("Kid,Number1\n", "Kit,Number1\n")
        });
        let saved = dir.join("plan.json");
        let (c, _, t) = plan(
            url,
            &data,
            &[
                "--on-existing",
                "update",
                "--max-changes",
                "50",
                "--out",
                s(&saved),
            ],
        );
        assert_eq!(c, 0, "{t}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&saved).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let apply = |p: &Path| {
            let o = run(&["import", "--plan", s(p), "--execute", "--database", url]);
            (code(&o), text(&o))
        };
        // The database changed since: refused, nothing written.
        exec(
            url,
            "UPDATE courses SET course_name = 'Renamed' WHERE course_code = 'SYNC2'",
        );
        let (c, t) = apply(&saved);
        assert_ne!(c, 0, "{t}");
        assert!(t.contains("database changed"), "{t}");
        assert_eq!(
            query(
                url,
                "SELECT first_name FROM users WHERE email = 'kid1@realschool.org'"
            ),
            ["Kid"]
        );
        // A fresh plan applies.
        let (c, _, t) = plan(
            url,
            &data,
            &[
                "--on-existing",
                "update",
                "--max-changes",
                "50",
                "--out",
                s(&saved),
            ],
        );
        assert_eq!(c, 0, "{t}");
        let (c, t) = apply(&saved);
        assert_eq!(c, 0, "{t}");
        assert_eq!(
            query(
                url,
                "SELECT first_name FROM users WHERE email = 'kid1@realschool.org'"
            ),
            ["Kit"]
        );
        // The files changed since: refused.
        let (c, _, t) = plan(
            url,
            &data,
            &[
                "--on-existing",
                "update",
                "--max-changes",
                "50",
                "--out",
                s(&saved),
            ],
        );
        assert_eq!(c, 0, "{t}");
        edit(&data, "users.csv", |t| {
            t.replace("Kit,Number1\n", "Kat,Number1\n")
        });
        let (c, t) = apply(&saved);
        assert_ne!(c, 0, "{t}");
        assert!(
            t.contains("files changed") && t.contains("users.csv"),
            "{t}"
        );
        assert_eq!(
            query(
                url,
                "SELECT first_name FROM users WHERE email = 'kid1@realschool.org'"
            ),
            ["Kit"]
        );
    });
}

/// A users folder holding the header and the first `keep` students of `data`'s users.csv.
fn first_users(dir: &Path, data: &Path, keep: usize, name: &str) -> PathBuf {
    let users = dir.join(name);
    std::fs::create_dir_all(&users).unwrap();
    let kept: String = std::fs::read_to_string(data.join("users.csv"))
        .unwrap()
        .lines()
        .take(keep + 1)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(users.join("users.csv"), kept).unwrap();
    users
}

#[test]
fn a_file_not_read_cleanly_never_leads_to_removals() {
    engines("unclean", |url, dir| {
        let data = write_school(dir, 10);
        assert_eq!(import(url, &data, &[]).0, 0);
        // 7 of the 10 students, one of them with a broken email: the file was not read
        // cleanly, so the 3 students it no longer holds (and the broken one) stay active.
        let users = first_users(dir, &data, 7, "broken");
        edit(&users, "users.csv", |t| {
            t.replace("kid2@realschool.org", "kid2-at-realschool.org")
        });
        let rejects = dir.join("rejects");
        let (_, r, t) = import(
            url,
            &users,
            &[
                "--sync",
                "--max-changes",
                "100",
                "--skip-invalid",
                "--rejects",
                s(&rejects),
            ],
        );
        assert!(t.contains("sync-incomplete"), "{t}");
        assert!(r["removed"].as_array().is_none_or(|a| a.is_empty()), "{t}");
        assert!(
            query(url, "SELECT email FROM users WHERE NOT is_active").is_empty(),
            "nothing deactivated"
        );
        // A wrong header makes every row invalid: the run fails and writes nothing.
        let wrong = first_users(dir, &data, 7, "wrong-header");
        edit(&wrong, "users.csv", |t| t.replacen("email", "emial", 1));
        let (c, _, t) = import(url, &wrong, &["--sync", "--max-changes", "100"]);
        assert_ne!(c, 0, "{t}");
        assert!(
            query(url, "SELECT email FROM users WHERE NOT is_active").is_empty(),
            "{t}"
        );
    });
}

#[test]
fn migrate_sync_is_refused_by_the_threshold_and_rolls_back_then_goes_through_approved() {
    engines("migsync", |url, dir| {
        let data = write_school(dir, 10);
        // migrate's checks want an active admin: the first row after the header.
        edit(&data, "users.csv", |t| {
            t.replacen(
                "\n",
                "\nhead@realschool.org,Quiet-Harbor-Lamp-93,admin,Head,Teacher\n",
                1,
            )
        });
        assert_eq!(import(url, &data, &[]).0, 0);
        // The admin and 6 of the 10 students: 4 of 11 users go (36.4 %).
        let users = first_users(dir, &data, 7, "users7");
        let backups = dir.join("backups");
        let migrate = |extra: &[&str]| {
            let mut args = vec![
                "migrate",
                "--data",
                s(&users),
                "--execute",
                "--database",
                url,
                "--backup-dir",
                s(&backups),
                "--sync",
            ];
            args.extend_from_slice(extra);
            let o = run(&args);
            (code(&o), text(&o))
        };
        let before = checksums(url);
        let (c, t) = migrate(&[]);
        assert_ne!(c, 0, "{t}");
        assert!(
            t.contains("too-many-changes") && t.contains("--max-changes 37"),
            "{t}"
        );
        assert_eq!(
            checksums(url),
            before,
            "a refused migrate --sync writes nothing"
        );
        let (c, t) = migrate(&["--max-changes", "37"]);
        assert_eq!(c, 0, "{t}");
        assert_eq!(
            query(
                url,
                "SELECT CAST(COUNT(*) AS TEXT) FROM users WHERE NOT is_active"
            ),
            ["4"],
            "{t}"
        );
    });
}
