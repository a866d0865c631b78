//! Writing a backup: the snapshot streamed into a gzip file of canonical lines, written
//! atomically (mode 0600, temporary file, fsync, rename), never over an existing file unless
//! asked, never over the live database.

use super::format::*;
use super::stream::*;
use super::{BackupSummary, FORMAT_NAME, FORMAT_VERSION};
use crate::{Database, Error, Result};
use chrono::Utc;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Writes lines into the gzip stream and hashes every byte.
pub(super) struct LineWriter {
    out: GzEncoder<BufWriter<File>>,
    hasher: Sha256,
    context: String,
}

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.hasher.update(buf);
        self.out.write_all(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

impl LineWriter {
    /// An I/O error of a row written through this writer, named after the backup file.
    pub(super) fn with_context(&self, e: Error) -> Error {
        match e {
            Error::Io { context, source } if context == ROW_CONTEXT => {
                Error::io(self.context.clone(), source)
            }
            other => other,
        }
    }

    fn write_line(&mut self, line: &str) -> Result<()> {
        self.hasher.update(line.as_bytes());
        self.out
            .write_all(line.as_bytes())
            .map_err(|e| Error::io(self.context.clone(), e))
    }

    fn write_json<T: Serialize>(&mut self, v: &T) -> Result<()> {
        let mut s = serde_json::to_string(v)
            .map_err(|e| Error::BadBackup(format!("cannot encode the backup: {e}")))?;
        s.push('\n');
        self.write_line(&s)
    }
}

fn now_utc() -> String {
    canonical_timestamp(Utc::now())
}

/// A stamp for backup file names that cannot collide: UTC time to the millisecond and 8
/// random hex digits (`20260201T100000.123Z-1f3a9c04`). The runbook names its pair of backups
/// `pre-migration-<stamp>.registrar.gz` and `post-migration-<stamp>.registrar.gz`.
pub fn unique_stamp() -> String {
    use rand_core::{OsRng, RngCore};
    format!(
        "{}-{:08x}",
        Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
        OsRng.next_u32()
    )
}

/// Backs up every SMS table of `db` into `out` (see the module docs for the format and the
/// guarantees). Returns what was written.
///
/// Never overwrites anything: an existing `out` (file, folder or link) is refused
/// ([`Error::Refused`]) before anything is read, and the finished file is moved into place
/// only if the name is still free (so two backups racing for one name cannot replace each
/// other). Use [`backup_with`] to replace an existing backup file.
pub async fn backup(db: &Database, out: &Path) -> Result<BackupSummary> {
    backup_with(db, out, false).await
}

/// [`backup`]; with `overwrite` an existing file at `out` is replaced (`backup --force`).
/// Either way, `out` naming the live SQLite database file (or its `-wal`, `-shm`, `-journal`
/// or lock file, by any path or symlink) is refused: a backup never replaces its database.
pub async fn backup_with(db: &Database, out: &Path, overwrite: bool) -> Result<BackupSummary> {
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            Error::io(
                format!("cannot write the backup {}", out.display()),
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"),
            )
        })?;
    let context = format!("cannot write the backup {}", out.display());
    refuse_live_database(db, out, &dir, &file_name)?;
    let exists = std::fs::symlink_metadata(out).is_ok();
    if exists && !overwrite {
        return Err(Error::Refused(format!(
            "{} already exists and backups never overwrite a file; choose another name, or give \
             --force to replace it",
            out.display()
        )));
    }
    let temp = tempfile::Builder::new()
        .prefix(&format!(".{file_name}."))
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|e| Error::io(context.clone(), e))?;
    set_private(temp.path()).map_err(|e| Error::io(context.clone(), e))?;
    let file = temp
        .as_file()
        .try_clone()
        .map_err(|e| Error::io(context.clone(), e))?;
    let mut w = LineWriter {
        out: GzEncoder::new(
            BufWriter::with_capacity(256 * 1024, file),
            Compression::default(),
        ),
        hasher: Sha256::new(),
        context: context.clone(),
    };
    let schema_version = db.schema_version().await?;
    let created_at = now_utc();
    let engine = db.engine().as_str().to_string();
    w.write_json(&Header {
        format: FORMAT_NAME.into(),
        version: FORMAT_VERSION,
        schema_version,
        created_at: created_at.clone(),
        engine: engine.clone(),
    })?;

    let mut tables = Vec::with_capacity(TABLES.len());
    match db {
        #[cfg(feature = "postgres")]
        Database::Postgres(pool) => {
            let mut tx = pool.begin_with(PG_SNAPSHOT).await?;
            for spec in &TABLES {
                w.write_json(&TableStart {
                    table: spec.name.into(),
                    columns: spec.column_names().iter().map(|c| c.to_string()).collect(),
                })?;
                let sum = stream_pg(&mut tx, spec, &mut w)
                    .await
                    .map_err(|e| w.with_context(e))?;
                w.write_json(&TableEnd {
                    end: sum.table.clone(),
                    rows: sum.rows,
                    sha256: sum.sha256.clone(),
                })?;
                tables.push(sum);
            }
            tx.rollback().await?;
        }
        #[cfg(feature = "sqlite")]
        Database::Sqlite(pool) => {
            let mut tx = pool.begin().await?;
            for spec in &TABLES {
                w.write_json(&TableStart {
                    table: spec.name.into(),
                    columns: spec.column_names().iter().map(|c| c.to_string()).collect(),
                })?;
                let sum = stream_sqlite(&mut tx, spec, &mut w)
                    .await
                    .map_err(|e| w.with_context(e))?;
                w.write_json(&TableEnd {
                    end: sum.table.clone(),
                    rows: sum.rows,
                    sha256: sum.sha256.clone(),
                })?;
                tables.push(sum);
            }
            tx.rollback().await?;
        }
    }
    let body_sha = hex::encode(w.hasher.clone().finalize());
    w.write_json(&TrailerLine {
        trailer: Trailer {
            tables: tables.clone(),
            sha256: body_sha,
        },
    })?;
    let buf = w.out.finish().map_err(|e| Error::io(context.clone(), e))?;
    let file = buf
        .into_inner()
        .map_err(|e| Error::io(context.clone(), e.into_error()))?;
    file.sync_all().map_err(|e| Error::io(context.clone(), e))?;
    drop(file);
    if overwrite {
        temp.persist(out)
            .map_err(|e| Error::io(context.clone(), e.error))?;
    } else {
        // Atomic: fails if the name was taken meanwhile (the temporary file is then removed).
        temp.persist_noclobber(out).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                Error::Refused(format!(
                    "{} appeared while the backup was written; it was left alone and the backup \
                     was not saved",
                    out.display()
                ))
            } else {
                Error::io(context.clone(), e.error)
            }
        })?;
    }
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all(); // make the rename durable; not possible on every platform
    }
    Ok(BackupSummary {
        path: out.to_path_buf(),
        schema_version,
        created_at,
        engine,
        tables,
    })
}

/// Refuses an `out` that is the live SQLite database file or one of its companions.
#[cfg(not(feature = "sqlite"))]
fn refuse_live_database(_: &Database, _: &Path, _: &Path, _: &str) -> Result<()> {
    Ok(()) // only a SQLite database is a file that a backup could overwrite
}

/// Refuses an `out` that is the live SQLite database file or one of its companions.
#[cfg(feature = "sqlite")]
fn refuse_live_database(db: &Database, out: &Path, dir: &Path, file_name: &str) -> Result<()> {
    let Database::Sqlite(pool) = db else {
        return Ok(());
    };
    let file = pool.connect_options().get_filename().to_path_buf();
    let Ok(live) = std::fs::canonicalize(&file) else {
        return Ok(()); // in memory, or not on disk
    };
    // Where `out` really points: the file itself when it exists (links resolved), else the
    // resolved folder joined with the name.
    let target = match std::fs::canonicalize(out) {
        Ok(t) => t,
        Err(_) => match std::fs::canonicalize(dir) {
            Ok(d) => d.join(file_name),
            Err(_) => return Ok(()), // the folder does not exist: writing fails with its own error
        },
    };
    let live_names: Vec<PathBuf> = ["", "-wal", "-shm", "-journal", ".registrar-lock"]
        .iter()
        .map(|suffix| {
            let mut n = live.clone().into_os_string();
            n.push(suffix);
            PathBuf::from(n)
        })
        .collect();
    if live_names.contains(&target) {
        return Err(Error::Refused(format!(
            "{} is the live database (or one of its files) being backed up; a backup never \
             replaces its database: choose another --out",
            out.display()
        )));
    }
    Ok(())
}

#[cfg(unix)]
fn set_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn set_private(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backups_overwrite_things_is_fixed_stamps_never_repeat() {
        let stamps: std::collections::HashSet<String> = (0..2000).map(|_| unique_stamp()).collect();
        assert_eq!(stamps.len(), 2000);
        let one = unique_stamp();
        // Milliseconds and a random suffix.
        assert!(
            one.contains('.') && one.len() == "20260201T100000.123Z-1f3a9c04".len(),
            "{one}"
        );
    }
}
