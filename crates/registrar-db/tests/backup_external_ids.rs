//! Backups keep the external ids and teacher links (issue 12, part 2), on both engines: a
//! backup holds `registrar_user_sis_ids` and `registrar_course_teachers`, checksums and
//! verifies them, and a restore brings them back exactly; a backup of format version 1
//! (written before these tables were backed up) still verifies and restores, leaving them
//! empty; a database whose schema predates v3 (no such tables) backs up with both empty.

#[path = "backup_common/mod.rs"]
mod common;

use common::*;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use registrar_db::backup::{
    backup, read_header, restore, table_checksums, verify_backup, BACKUP_TABLES, FORMAT_VERSION,
};
use registrar_db::{Database, Error};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::Path;

const NEW_TABLES: [&str; 2] = ["registrar_user_sis_ids", "registrar_course_teachers"];
const TS: &str = "2026-02-01T10:00:00.000000Z";

/// The hex SHA-256 of some lines, each with its `\n`.
fn sha(lines: &[String]) -> String {
    let mut h = Sha256::new();
    for l in lines {
        h.update(l.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

/// Writes `lines` as a gzip stream, each with its `\n`.
fn write_gz(path: &Path, lines: &[String]) {
    let mut out = GzEncoder::new(
        std::fs::File::create(path).unwrap(),
        flate2::Compression::default(),
    );
    for l in lines {
        out.write_all(l.as_bytes()).unwrap();
        out.write_all(b"\n").unwrap();
    }
    out.finish().unwrap();
}

fn read_gz(path: &Path) -> Vec<String> {
    let mut text = String::new();
    GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text.lines().map(str::to_owned).collect()
}

/// A backup of format version 1 as the module docs describe it (and as builds before schema
/// v3's tables were backed up wrote it), built here line by line: the header, the five SMS
/// tables (columns, canonical rows, end line with count and checksum), the trailer.
fn write_format_1(path: &Path) {
    let tables: [(&str, Vec<&str>, Vec<Value>); 5] = [
        (
            "users",
            vec![
                "id",
                "email",
                "password_hash",
                "role",
                "first_name",
                "last_name",
                "is_active",
                "password_reset_required",
                "created_at",
                "updated_at",
            ],
            vec![
                json!([
                    1,
                    "ada@old.example.org",
                    FAKE_HASH,
                    "admin",
                    "Ada",
                    "Old",
                    true,
                    false,
                    TS,
                    TS
                ]),
                json!([
                    2,
                    "bo@old.example.org",
                    FAKE_HASH,
                    "student",
                    "Bo",
                    "Old-Ünal",
                    true,
                    true,
                    TS,
                    TS
                ]),
                json!([
                    5,
                    "cy@old.example.org",
                    FAKE_HASH,
                    "teacher",
                    "Cy",
                    "Old",
                    false,
                    false,
                    TS,
                    TS
                ]),
            ],
        ),
        (
            "courses",
            vec![
                "id",
                "course_code",
                "course_name",
                "description",
                "semester",
                "credits",
                "status",
                "created_at",
                "updated_at",
            ],
            vec![json!([
                3,
                "OLD101",
                "Old course",
                null,
                "Fall 2025",
                3,
                "active",
                TS,
                TS
            ])],
        ),
        (
            "enrollments",
            vec!["id", "student_id", "course_id", "enrollment_date"],
            vec![json!([1, 2, 3, "2025-09-01"])],
        ),
        (
            "grades",
            vec![
                "id",
                "student_id",
                "course_id",
                "assessment",
                "score",
                "letter_grade",
                "graded_on",
            ],
            vec![json!([1, 2, 3, "final", 91.5, "A-", "2025-12-20"])],
        ),
        (
            "attendances",
            vec!["id", "student_id", "course_id", "attendance_date", "status"],
            vec![],
        ),
    ];
    let mut lines = vec![json!({
        "format": "registrar-backup",
        "version": 1,
        "schema_version": 2,
        "created_at": TS,
        "engine": "sqlite"
    })
    .to_string()];
    let mut sums = Vec::new();
    for (name, columns, rows) in tables {
        lines.push(json!({ "table": name, "columns": columns }).to_string());
        let rows: Vec<String> = rows.iter().map(Value::to_string).collect();
        let table_sha = sha(&rows);
        lines.extend(rows.iter().cloned());
        lines.push(json!({ "end": name, "rows": rows.len(), "sha256": table_sha }).to_string());
        sums.push(json!({ "table": name, "rows": rows.len(), "sha256": table_sha }));
    }
    let body = sha(&lines);
    lines.push(json!({ "trailer": { "tables": sums, "sha256": body } }).to_string());
    write_gz(path, &lines);
}

async fn old_format_restores(db: &Database, dir: &Path) {
    populated(db).await;
    add_external_ids(db).await;
    assert_eq!(sis_ids(db).await.len(), 3);
    let file = dir.join("format-1.registrar.gz");
    write_format_1(&file);

    let summary = read_header(&file).expect("a format 1 backup is still read");
    assert_eq!(summary.schema_version, 2);
    assert_eq!(summary.tables.len(), 5);
    assert_eq!(summary.missing_tables(), NEW_TABLES);
    let v = verify_backup(&file, None).await.unwrap();
    assert!(v.ok, "{:?}", v.problems);

    let r = restore(db, &file)
        .await
        .expect("a format 1 backup restores");
    assert_eq!(r.tables, summary.tables);
    assert_eq!(r.missing_tables(), NEW_TABLES);
    let now = table_checksums(db).await.unwrap();
    assert_eq!(now[..5], summary.tables[..]);
    // The tables the old backup does not hold are left empty.
    assert_eq!(
        now[5..]
            .iter()
            .map(|t| (t.table.as_str(), t.rows))
            .collect::<Vec<_>>(),
        [(NEW_TABLES[0], 0), (NEW_TABLES[1], 0)]
    );
    assert!(sis_ids(db).await.is_empty());
    assert!(teacher_links(db).await.is_empty());
    assert_eq!(
        strings(db, "SELECT email FROM users ORDER BY id").await,
        [
            "ada@old.example.org",
            "bo@old.example.org",
            "cy@old.example.org"
        ]
    );
    assert_eq!(
        strings(db, "SELECT last_name FROM users WHERE id = 2").await,
        ["Old-Ünal"]
    );
    // A backup taken now is of the current format and holds both tables, empty.
    let again = backup(db, &dir.join("now.registrar.gz")).await.unwrap();
    assert_eq!(again.tables.len(), BACKUP_TABLES.len());
    assert_eq!(again.tables[..5], summary.tables[..]);
    let header: Value = serde_json::from_str(&read_gz(&dir.join("now.registrar.gz"))[0]).unwrap();
    assert_eq!(header["version"], json!(FORMAT_VERSION));
    assert_eq!(FORMAT_VERSION, 2);
}

#[tokio::test]
async fn sqlite_a_format_1_backup_still_verifies_and_restores_leaving_the_new_tables_empty() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite(dir.path()).await;
    old_format_restores(&db, dir.path()).await;
}

#[tokio::test]
async fn postgres_a_format_1_backup_still_verifies_and_restores_leaving_the_new_tables_empty() {
    let Some(db) = postgres("old_format_restores").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    old_format_restores(&db, dir.path()).await;
}

/// A backup of `db` (populated, with external ids), then the two tables' lines edited.
async fn edited_backups_are_refused(db: &Database, target: &Database, dir: &Path) {
    populated(db).await;
    add_external_ids(db).await;
    let file = dir.join("good.registrar.gz");
    let s = backup(db, &file).await.unwrap();
    let names: Vec<&str> = s.tables.iter().map(|t| t.table.as_str()).collect();
    assert_eq!(names, BACKUP_TABLES);
    assert_eq!((s.tables[5].rows, s.tables[6].rows), (3, 3));
    let lines = read_gz(&file);
    for t in NEW_TABLES {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("{{\"table\":\"{t}\""))),
            "{t} is in the file"
        );
    }
    let fix_trailer = |lines: &mut Vec<String>| {
        let last = lines.len() - 1;
        let mut t: Value = serde_json::from_str(&lines[last]).unwrap();
        t["trailer"]["sha256"] = Value::String(sha(&lines[..last]));
        lines[last] = t.to_string();
    };
    let before = table_checksums(target).await.unwrap();

    // A changed external id: the table's checksum no longer matches.
    let mut changed = lines.clone();
    let i = changed
        .iter()
        .position(|l| l.contains("\"S-0042\""))
        .unwrap();
    changed[i] = changed[i].replace("S-0042", "S-0043");
    fix_trailer(&mut changed);
    let bad = dir.join("changed-sis-id.gz");
    write_gz(&bad, &changed);
    match restore(target, &bad).await {
        Err(Error::BadBackup(m)) => assert!(
            m.contains("checksum of table registrar_user_sis_ids"),
            "{m}"
        ),
        other => panic!("expected BadBackup, got {other:?}"),
    }
    assert!(!verify_backup(&bad, None).await.unwrap().ok);

    // A changed teacher role.
    let mut changed = lines.clone();
    let i = changed
        .iter()
        .position(|l| l.ends_with(",\"aide\"]"))
        .unwrap();
    changed[i] = changed[i].replace("\"aide\"", "\"teacher\"");
    fix_trailer(&mut changed);
    let bad = dir.join("changed-role.gz");
    write_gz(&bad, &changed);
    match restore(target, &bad).await {
        Err(Error::BadBackup(m)) => assert!(
            m.contains("checksum of table registrar_course_teachers"),
            "{m}"
        ),
        other => panic!("expected BadBackup, got {other:?}"),
    }

    // A version 2 file without the two tables (cut before them) is truncated, not old.
    let mut cut = lines.clone();
    let start = cut
        .iter()
        .position(|l| l.starts_with("{\"table\":\"registrar_user_sis_ids\""))
        .unwrap();
    let trailer = cut.pop().unwrap();
    cut.truncate(start);
    let mut t: Value = serde_json::from_str(&trailer).unwrap();
    t["trailer"]["tables"] = Value::Array(t["trailer"]["tables"].as_array().unwrap()[..5].to_vec());
    cut.push(t.to_string());
    fix_trailer(&mut cut);
    let bad = dir.join("cut.gz");
    write_gz(&bad, &cut);
    match restore(target, &bad).await {
        Err(Error::BadBackup(m)) => assert!(m.contains("registrar_user_sis_ids"), "{m}"),
        other => panic!("expected BadBackup, got {other:?}"),
    }
    assert_eq!(
        table_checksums(target).await.unwrap(),
        before,
        "the target changed"
    );

    // The intact file verifies (the two tables compared too) and restores them exactly.
    let v = verify_backup(&file, None).await.unwrap();
    assert!(v.ok, "{:?}", v.problems);
    assert_eq!(v.summary.unwrap().tables, s.tables);
    restore(target, &file).await.unwrap();
    assert_eq!(sis_ids(target).await, sis_ids(db).await);
    assert_eq!(teacher_links(target).await, teacher_links(db).await);
    assert_eq!(table_checksums(target).await.unwrap(), s.tables);
}

#[tokio::test]
async fn sqlite_the_new_tables_are_checksummed_and_an_edited_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite(dir.path()).await;
    let target = sqlite(dir.path()).await;
    registrar_db::seed::seed_training(&target).await.unwrap();
    edited_backups_are_refused(&db, &target, dir.path()).await;
}

#[tokio::test]
async fn postgres_the_new_tables_are_checksummed_and_an_edited_one_is_refused() {
    let Some(db) = postgres("edited_new_tables").await else {
        return;
    };
    let Some(target) = postgres("edited_new_tables_target").await else {
        return;
    };
    registrar_db::seed::seed_training(&target).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    edited_backups_are_refused(&db, &target, dir.path()).await;
}

/// A database whose schema predates v3 (made so by dropping the two tables and forgetting
/// migration 3, as the library meets it when used without `init`): its backup holds the two
/// tables empty, it restores into itself, a backup holding external ids is refused until
/// `init` brings the schema up to date, and then restores.
async fn a_pre_v3_database(db: &Database, with_ids: &Database, dir: &Path) {
    populated(db).await;
    exec(
        db,
        &[
            "DROP TABLE registrar_course_teachers",
            "DROP TABLE registrar_user_sis_ids",
            "DELETE FROM _sqlx_migrations WHERE version = 3",
        ],
    )
    .await;
    assert_eq!(db.schema_version().await.unwrap(), 2);
    let file = dir.join("pre-v3.registrar.gz");
    let s = backup(db, &file).await.unwrap();
    assert_eq!(s.schema_version, 2);
    let names: Vec<&str> = s.tables.iter().map(|t| t.table.as_str()).collect();
    assert_eq!(names, BACKUP_TABLES);
    assert_eq!((s.tables[5].rows, s.tables[6].rows), (0, 0));
    assert_eq!(table_checksums(db).await.unwrap(), s.tables);
    restore(db, &file)
        .await
        .expect("restores into the pre-v3 database");
    assert_eq!(table_checksums(db).await.unwrap(), s.tables);
    let v = verify_backup(&file, None).await.unwrap();
    assert!(v.ok, "{:?}", v.problems);

    populated(with_ids).await;
    add_external_ids(with_ids).await;
    let ids_file = dir.join("with-ids.registrar.gz");
    let want = backup(with_ids, &ids_file).await.unwrap();
    match restore(db, &ids_file).await {
        Err(Error::BadBackup(m)) => assert!(m.contains("registrar init"), "{m}"),
        other => panic!("expected BadBackup, got {other:?}"),
    }
    db.init().await.unwrap();
    assert_eq!(db.schema_version().await.unwrap(), 3);
    restore(db, &ids_file).await.unwrap();
    assert_eq!(table_checksums(db).await.unwrap(), want.tables);
    assert_eq!(sis_ids(db).await, sis_ids(with_ids).await);
}

#[tokio::test]
async fn sqlite_a_database_older_than_schema_v3_backs_up_without_the_new_tables() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite(dir.path()).await;
    let with_ids = sqlite(dir.path()).await;
    a_pre_v3_database(&db, &with_ids, dir.path()).await;
}

#[tokio::test]
async fn postgres_a_database_older_than_schema_v3_backs_up_without_the_new_tables() {
    let Some(db) = postgres("pre_v3").await else {
        return;
    };
    let Some(with_ids) = postgres("pre_v3_with_ids").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    a_pre_v3_database(&db, &with_ids, dir.path()).await;
}
