//! Backups keep the external ids and teacher links (issue 12, part 2), on the real binary and
//! both engines: the bundled OneRoster example imported (sourcedIds as `sis_id`, teacher
//! links), `backup`, the two tables changed, `verify-backup`, `restore`, and both tables are
//! back exactly; a backup of the older format 1 (without them) still verifies and restores,
//! saying that it leaves them empty; an adopted SMS database that was never initialised backs
//! up with both tables (every command brings the schema up to date first).
//!
//! PostgreSQL cases run when `REGISTRAR_TEST_POSTGRES` is set (they print SKIPPED otherwise).

mod common;

use common::*;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::Path;

const SIS_IDS_SQL: &str = "SELECT u.email || '|' || s.sis_id FROM registrar_user_sis_ids s \
     JOIN users u ON u.id = s.user_id ORDER BY u.email";
const LINKS_SQL: &str = "SELECT c.course_code || '|' || u.email || '|' || t.role \
     FROM registrar_course_teachers t JOIN courses c ON c.id = t.course_id \
     JOIN users u ON u.id = t.teacher_id ORDER BY c.course_code, u.email";

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

/// Runs statements on either engine, from a connection of the test's own.
fn exec(url: &str, sqls: &[&str]) {
    rt().block_on(async {
        if url.starts_with("sqlite:") {
            let pool = sqlx::sqlite::SqlitePool::connect(url).await.unwrap();
            for sql in sqls {
                sqlx::query(sql).execute(&pool).await.expect(sql);
            }
            pool.close().await;
        } else {
            let pool = sqlx::postgres::PgPool::connect(url).await.unwrap();
            for sql in sqls {
                sqlx::query(sql).execute(&pool).await.expect(sql);
            }
            pool.close().await;
        }
    })
}

/// One text column of `sql`.
fn strings(url: &str, sql: &str) -> Vec<String> {
    rt().block_on(async {
        if url.starts_with("sqlite:") {
            let pool = sqlx::sqlite::SqlitePool::connect(url).await.unwrap();
            let v = sqlx::query_scalar(sql).fetch_all(&pool).await.expect(sql);
            pool.close().await;
            v
        } else {
            let pool = sqlx::postgres::PgPool::connect(url).await.unwrap();
            let v = sqlx::query_scalar(sql).fetch_all(&pool).await.expect(sql);
            pool.close().await;
            v
        }
    })
}

fn import_example(url: &str) {
    let example =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/oneroster/riverside-1.1");
    let o = run(&[
        "import",
        "--data",
        s(&example),
        "--execute",
        "--database",
        url,
        "--missing-password",
        "reset",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
}

/// A backup's uncompressed lines.
fn lines_of(path: &Path) -> Vec<String> {
    let mut text = String::new();
    GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text.lines().map(str::to_owned).collect()
}

fn sha(lines: &[String]) -> String {
    let mut h = Sha256::new();
    for l in lines {
        h.update(l.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

/// The format 1 backup of the same data as the format 2 backup `from` (README, "Backups"; the
/// `registrar_db::backup` docs): header version 1, the five SMS tables only, their entries
/// alone in the trailer, the overall checksum over the lines before it.
fn as_format_1(from: &Path, to: &Path) {
    let mut lines = lines_of(from);
    let mut trailer: serde_json::Value = serde_json::from_str(&lines.pop().unwrap()).unwrap();
    let start = lines
        .iter()
        .position(|l| l.starts_with("{\"table\":\"registrar_user_sis_ids\""))
        .expect("the format 2 backup holds the external ids");
    lines.truncate(start);
    let mut header: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(header["version"], 2);
    header["version"] = 1.into();
    lines[0] = header.to_string();
    let tables = trailer["trailer"]["tables"].as_array().unwrap()[..5].to_vec();
    trailer["trailer"]["tables"] = tables.into();
    trailer["trailer"]["sha256"] = sha(&lines).into();
    lines.push(trailer.to_string());
    let mut out = GzEncoder::new(
        std::fs::File::create(to).unwrap(),
        flate2::Compression::default(),
    );
    for l in &lines {
        out.write_all(l.as_bytes()).unwrap();
        out.write_all(b"\n").unwrap();
    }
    out.finish().unwrap();
}

fn restore(url: &str, file: &Path) -> String {
    let o = run(&["restore", "--database", url, "--from", s(file), "--yes"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    text(&o)
}

fn verify(file: &Path) -> String {
    let o = run(&["verify-backup", s(file)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    text(&o)
}

#[test]
fn a_backup_keeps_external_ids_and_teacher_links_and_restores_them_exactly() {
    engines("bk_ext_ids", |url, dir| {
        import_example(url);
        let ids = strings(url, SIS_IDS_SQL);
        let links = strings(url, LINKS_SQL);
        assert_eq!(ids.len(), 6, "{ids:?}");
        assert_eq!(
            links,
            [
                "ALG-2|dee.moss@riverside.example.org|teacher",
                "BIO-1|dee.moss@riverside.example.org|teacher",
                "BIO-1|eli.nash@riverside.example.org|teacher"
            ]
        );
        let before = checksums(url);
        assert_eq!(
            before
                .iter()
                .map(|t| (t.table.as_str(), t.rows))
                .skip(5)
                .collect::<Vec<_>>(),
            [
                ("registrar_user_sis_ids", 6),
                ("registrar_course_teachers", 3)
            ]
        );

        let file = dir.join("b.registrar.gz");
        let o = run(&["backup", "--database", url, "--out", s(&file)]);
        assert_eq!(code(&o), 0, "{}", text(&o));
        let out = text(&o);
        for t in &before {
            let line = out
                .lines()
                .find(|l| l.split_whitespace().next() == Some(t.table.as_str()))
                .unwrap_or_else(|| panic!("{} is listed: {out}", t.table));
            assert!(line.contains(&format!(" {} rows", t.rows)), "{line}");
            assert!(line.contains(&t.sha256), "{line}");
        }

        // Changed: a link removed, one added as aide, an external id changed, one removed.
        exec(
            url,
            &[
                "DELETE FROM registrar_course_teachers WHERE course_id = \
                 (SELECT id FROM courses WHERE course_code = 'ALG-2')",
                "INSERT INTO registrar_course_teachers (course_id, teacher_id, role) VALUES \
                 ((SELECT id FROM courses WHERE course_code = 'ALG-2'), \
                  (SELECT id FROM users WHERE email = 'eli.nash@riverside.example.org'), 'aide')",
                "UPDATE registrar_user_sis_ids SET sis_id = 'CHANGED' WHERE user_id = \
                 (SELECT id FROM users WHERE email = 'ana.ruiz@riverside.example.org')",
                "DELETE FROM registrar_user_sis_ids WHERE user_id = \
                 (SELECT id FROM users WHERE email = 'ben.okafor@riverside.example.org')",
            ],
        );
        assert_ne!(strings(url, SIS_IDS_SQL), ids);
        assert_ne!(strings(url, LINKS_SQL), links);
        let changed = checksums(url);
        assert_eq!(changed[..5], before[..5], "only the two tables changed");
        assert_ne!(changed[5..], before[5..]);

        let v = verify(&file);
        assert!(v.contains("verified"), "{v}");
        assert!(!v.contains("note:"), "{v}");
        let r = restore(url, &file);
        assert!(r.contains("registrar_user_sis_ids"), "{r}");
        assert!(r.contains("registrar_course_teachers"), "{r}");
        assert!(!r.contains("note:"), "{r}");
        assert_eq!(strings(url, SIS_IDS_SQL), ids);
        assert_eq!(strings(url, LINKS_SQL), links);
        assert_eq!(checksums(url), before);

        // A wiped database gets them back as well.
        exec(
            url,
            &[
                "DELETE FROM registrar_course_teachers",
                "DELETE FROM registrar_user_sis_ids",
                "DELETE FROM enrollments",
                "DELETE FROM grades",
                "DELETE FROM attendances",
                "DELETE FROM users",
                "DELETE FROM courses",
            ],
        );
        assert!(checksums(url).iter().all(|t| t.rows == 0));
        restore(url, &file);
        assert_eq!(strings(url, SIS_IDS_SQL), ids);
        assert_eq!(strings(url, LINKS_SQL), links);
        assert_eq!(checksums(url), before);
    });
}

#[test]
fn a_format_1_backup_verifies_and_restores_leaving_the_new_tables_empty() {
    engines("bk_format1", |url, dir| {
        import_example(url);
        let v2 = dir.join("v2.registrar.gz");
        let o = run(&["backup", "--database", url, "--out", s(&v2)]);
        assert_eq!(code(&o), 0, "{}", text(&o));
        let before = checksums(url);
        let old = dir.join("v1.registrar.gz");
        as_format_1(&v2, &old);

        let v = verify(&old);
        assert!(v.contains("verified"), "{v}");
        assert!(
            v.contains("note: this backup predates external ids and teacher links")
                && v.contains("a restore leaves them empty"),
            "{v}"
        );
        let r = restore(url, &old);
        assert!(
            r.contains(
                "holds no registrar_user_sis_ids or registrar_course_teachers; they were left empty"
            ),
            "{r}"
        );
        let after = checksums(url);
        assert_eq!(after[..5], before[..5], "the SMS tables are the backup's");
        assert_eq!(
            after[5..].iter().map(|t| t.rows).collect::<Vec<_>>(),
            [0, 0]
        );
        assert!(strings(url, SIS_IDS_SQL).is_empty());
        assert!(strings(url, LINKS_SQL).is_empty());
        // The format 2 backup brings them back.
        restore(url, &v2);
        assert_eq!(checksums(url), before);
    });
}

#[test]
fn an_adopted_sms_database_never_initialised_backs_up_with_the_new_tables() {
    engines("bk_adopted", |url, dir| {
        let (id, boolean, ts) = if url.starts_with("sqlite:") {
            ("INTEGER PRIMARY KEY", "INTEGER", "TEXT")
        } else {
            ("BIGSERIAL PRIMARY KEY", "BOOLEAN", "TIMESTAMPTZ")
        };
        let users = format!(
            "CREATE TABLE users (id {id}, email TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL, \
             role TEXT NOT NULL, first_name TEXT NOT NULL, last_name TEXT NOT NULL, \
             is_active {boolean} NOT NULL, password_reset_required {boolean} NOT NULL, \
             created_at {ts} NOT NULL, updated_at {ts} NOT NULL)"
        );
        let row = format!(
            "INSERT INTO users (email, password_hash, role, first_name, last_name, is_active, \
             password_reset_required, created_at, updated_at) VALUES ('keep@district.example.org', \
             '{}', 'admin', 'Keep', 'Me', {t}, {t}, '2026-02-01 10:00:00', '2026-02-01 10:00:00')",
            one_hash(),
            t = if url.starts_with("sqlite:") {
                "1"
            } else {
                "TRUE"
            }
        );
        if url.starts_with("sqlite:") {
            // The SQLite file must exist: `backup` never creates a database.
            let path = url.trim_start_matches("sqlite://");
            std::fs::File::create(path).unwrap();
        }
        exec(url, &[&users, &row]);
        let file = dir.join("adopted.registrar.gz");
        let o = run(&["backup", "--database", url, "--out", s(&file)]);
        assert_eq!(code(&o), 0, "{}", text(&o));
        let out = text(&o);
        assert!(out.contains("(schema version 3)"), "{out}");
        for t in ["registrar_user_sis_ids", "registrar_course_teachers"] {
            assert!(
                out.lines()
                    .any(|l| l.split_whitespace().take(3).collect::<Vec<_>>() == [t, "0", "rows"]),
                "{t}: {out}"
            );
        }
        assert!(verify(&file).contains("verified"));
    });
}
