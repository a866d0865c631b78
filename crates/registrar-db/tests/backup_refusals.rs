//! Backups you can trust (issue 7, item 6): a damaged, truncated, newer-schema or inconsistent
//! backup is refused before anything is written, and the database is left exactly as it was.

#[path = "backup_common/mod.rs"]
mod common;

use common::*;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use registrar_db::backup::{backup, read_header, restore, table_checksums, verify_backup};
use registrar_db::{Database, Error};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// A backup of a populated database, and a second database with different data.
async fn setup(dir: &Path) -> (PathBuf, Database) {
    let src = sqlite(dir).await;
    populated(&src).await;
    let file = dir.join("good.gz");
    backup(&src, &file).await.unwrap();
    let target = sqlite(dir).await;
    registrar_db::seed::seed_training(&target).await.unwrap();
    (file, target)
}

/// Decompresses, edits the lines, optionally recomputes the trailer's overall checksum (so
/// that only the edited inconsistency remains), recompresses.
fn rewrite(from: &Path, to: &Path, fix_trailer: bool, edit: impl FnOnce(&mut Vec<String>)) {
    let mut text = String::new();
    GzDecoder::new(std::fs::File::open(from).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    edit(&mut lines);
    if fix_trailer {
        let last = lines.len() - 1;
        let mut h = Sha256::new();
        for l in &lines[..last] {
            h.update(l.as_bytes());
            h.update(b"\n");
        }
        let mut t: serde_json::Value = serde_json::from_str(&lines[last]).unwrap();
        t["trailer"]["sha256"] = serde_json::Value::String(hex::encode(h.finalize()));
        lines[last] = t.to_string();
    }
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

async fn assert_refused(file: &Path, target: &Database, needle: &str) {
    let before = table_checksums(target).await.unwrap();
    match restore(target, file).await {
        Err(Error::BadBackup(m)) => assert!(m.contains(needle), "message {m:?} lacks {needle:?}"),
        other => panic!("expected BadBackup, got {other:?}"),
    }
    assert_eq!(
        table_checksums(target).await.unwrap(),
        before,
        "the database changed"
    );
    assert!(matches!(read_header(file), Err(Error::BadBackup(_))));
    let v = verify_backup(file, None).await.unwrap();
    assert!(!v.ok);
    assert!(!v.problems.is_empty());
}

#[tokio::test]
async fn a_flipped_byte_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (file, target) = setup(dir.path()).await;
    let mut bytes = std::fs::read(&file).unwrap();
    for at in [bytes.len() / 2, bytes.len() / 3, 40, bytes.len() - 5] {
        let bad = dir.path().join(format!("flip{at}.gz"));
        let mut b = bytes.clone();
        b[at] ^= 0x01;
        std::fs::write(&bad, &b).unwrap();
        let before = table_checksums(&target).await.unwrap();
        assert!(
            matches!(restore(&target, &bad).await, Err(Error::BadBackup(_))),
            "flip at {at}"
        );
        assert_eq!(table_checksums(&target).await.unwrap(), before);
        assert!(!verify_backup(&bad, None).await.unwrap().ok);
    }
    bytes.clear();
}

#[tokio::test]
async fn a_changed_row_with_a_valid_gzip_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (file, target) = setup(dir.path()).await;
    let bad = dir.path().join("edited.gz");
    rewrite(&file, &bad, true, |lines| {
        let i = lines
            .iter()
            .position(|l| l.contains("zoe@realschool.org"))
            .unwrap();
        lines[i] = lines[i].replace("zoe@", "eve@");
    });
    assert_refused(&bad, &target, "checksum of table users").await;
    // Without fixing the trailer, the overall checksum catches it as well.
    let bad2 = dir.path().join("edited2.gz");
    rewrite(&file, &bad2, false, |lines| lines.swap(2, 3));
    assert!(matches!(
        restore(&target, &bad2).await,
        Err(Error::BadBackup(_))
    ));
}

#[tokio::test]
async fn a_truncated_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (file, target) = setup(dir.path()).await;
    let bytes = std::fs::read(&file).unwrap();
    let bad = dir.path().join("trunc.gz");
    std::fs::write(&bad, &bytes[..bytes.len() / 2]).unwrap();
    assert_refused(&bad, &target, "truncated").await;
    // Truncated at a line boundary inside a valid gzip stream: the trailer is missing.
    let bad2 = dir.path().join("trunc2.gz");
    rewrite(&file, &bad2, false, |lines| {
        lines.pop();
    });
    assert_refused(&bad2, &target, "trailer").await;
    // An empty file.
    let bad3 = dir.path().join("empty.gz");
    std::fs::write(&bad3, b"").unwrap();
    assert!(matches!(
        restore(&target, &bad3).await,
        Err(Error::BadBackup(_))
    ));
}

#[tokio::test]
async fn a_backup_from_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (file, target) = setup(dir.path()).await;
    let bad = dir.path().join("newer.gz");
    rewrite(&file, &bad, true, |lines| {
        let mut h: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        h["schema_version"] = serde_json::json!(registrar_db::SCHEMA_VERSION + 1);
        lines[0] = h.to_string();
    });
    assert_refused(&bad, &target, "newer schema version").await;
}

#[tokio::test]
async fn counts_that_do_not_match_the_rows_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (file, target) = setup(dir.path()).await;
    // A row removed, with the table's end line and the trailer left as they were.
    let bad = dir.path().join("missing-row.gz");
    rewrite(&file, &bad, true, |lines| {
        let i = lines
            .iter()
            .position(|l| l.contains("sam@realschool.org"))
            .unwrap();
        lines.remove(i);
    });
    assert_refused(&bad, &target, "declares 22 rows but holds 21").await;
    // The end line's count changed, and the trailer agreeing with it.
    let bad2 = dir.path().join("wrong-count.gz");
    rewrite(&file, &bad2, true, |lines| {
        let i = lines
            .iter()
            .position(|l| l.starts_with("{\"end\":\"courses\""))
            .unwrap();
        lines[i] = lines[i].replace("\"rows\":7", "\"rows\":8");
        let last = lines.len() - 1;
        lines[last] = lines[last].replace(
            "\"table\":\"courses\",\"rows\":7",
            "\"table\":\"courses\",\"rows\":8",
        );
    });
    assert_refused(&bad2, &target, "declares 8 rows but holds 7").await;
    // The trailer alone disagreeing.
    let bad3 = dir.path().join("trailer.gz");
    rewrite(&file, &bad3, true, |lines| {
        let last = lines.len() - 1;
        lines[last] = lines[last].replace(
            "\"table\":\"grades\",\"rows\":4",
            "\"table\":\"grades\",\"rows\":5",
        );
    });
    assert_refused(&bad3, &target, "trailer").await;
}

#[tokio::test]
async fn a_file_that_is_not_a_backup_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_, target) = setup(dir.path()).await;
    let plain = dir.path().join("users.csv");
    std::fs::write(&plain, "email,password\nx@y.org,whatever\n").unwrap();
    assert!(matches!(
        restore(&target, &plain).await,
        Err(Error::BadBackup(_))
    ));
    let gz = dir.path().join("other.gz");
    let mut e = GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    e.write_all(b"{\"format\":\"something-else\",\"version\":1,\"schema_version\":1,\"created_at\":\"x\",\"engine\":\"sqlite\"}\n").unwrap();
    e.finish().unwrap();
    assert_refused(&gz, &target, "not a Registrar backup").await;
}

#[tokio::test]
async fn a_restore_that_fails_midway_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (_, target) = setup(dir.path()).await;
    // A source with an orphaned enrollment (planted with foreign keys off): the file is
    // intact, but the target's foreign keys refuse the row during the restore.
    let src = sqlite(dir.path()).await;
    populated(&src).await;
    if let Database::Sqlite(p) = &src {
        let mut c = p.acquire().await.unwrap();
        sqlx::query("PRAGMA foreign_keys = OFF")
            .execute(&mut *c)
            .await
            .unwrap();
        sqlx::query("INSERT INTO enrollments (student_id, course_id) VALUES (424242, 1)")
            .execute(&mut *c)
            .await
            .unwrap();
        sqlx::query("PRAGMA foreign_keys = ON")
            .execute(&mut *c)
            .await
            .unwrap();
    }
    let file = dir.path().join("orphan.gz");
    backup(&src, &file).await.unwrap();
    assert!(read_header(&file).is_ok(), "the file itself is intact");
    let before = table_checksums(&target).await.unwrap();
    let err = restore(&target, &file).await.unwrap_err();
    assert!(matches!(err, Error::Sqlx(_)), "{err:?}");
    assert_eq!(table_checksums(&target).await.unwrap(), before);
    let v = verify_backup(&file, None).await.unwrap();
    assert!(
        !v.ok && v.problems[0].contains("scratch"),
        "{:?}",
        v.problems
    );
}
