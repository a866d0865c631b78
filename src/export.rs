//! OneRoster export: the database as a bulk OneRoster 1.1 or 1.2 CSV bundle, a `.zip` file
//! or a folder ([`export_oneroster`]; the CLI's `registrar export --oneroster 1.2 --out
//! FILE.zip`).
//!
//! The database is read in one consistent snapshot ([`registrar_db::export::roster`]) and
//! written by [`registrar_formats::oneroster::write`], whose docs hold the mapping (courses →
//! courses + classes, semesters → terms, grades → lineItems + results, the sourcedIds).
//! Attendance is not part of OneRoster and is not exported; no password or hash is written.
//!
//! # Where the bundle goes
//! - `--out` ending in `.zip` (any case) is a zip file, anything else a folder.
//! - The files hold personal data: the zip and every file are 0600, a folder 0700.
//! - Nothing is ever half-written: the bundle is written beside its target under a temporary
//!   name and renamed into place when complete.
//! - An existing target is refused, unless `force` is set **and** it is a previous export:
//!   a file for a zip; for a folder, one that holds only OneRoster files and whose manifest
//!   names Registrar as its `source.systemName`. An empty folder is used as it is. So an
//!   export never deletes a file it did not write.
//!
//! # Example
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use registrar::export::{export_oneroster, OneRosterExport};
//! use registrar::formats::oneroster::spec::Version;
//! let dir = tempfile::tempdir()?;
//! let db = registrar::db::Database::open("sqlite::memory:").await?;
//! registrar::db::seed::seed_training(&db).await?;
//! let out = dir.path().join("roster.zip");
//! let summary = export_oneroster(&db, &OneRosterExport::new(Version::V1_2, &out)).await?;
//! assert!(summary.files.iter().any(|f| f.name == "users.csv" && f.rows == 18));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use crate::Error;
use registrar_db::Database;
use registrar_formats::oneroster::spec::{self, Version};
use registrar_formats::oneroster::write::{self, RenderedFile};
use registrar_model::Roster;
use std::path::{Path, PathBuf};

/// The school name used when none is given.
pub const DEFAULT_ORG_NAME: &str = "School";

/// What to export and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneRosterExport {
    /// 1.1 or 1.2.
    pub version: Version,
    /// The zip file (`*.zip`) or folder to write.
    pub out: PathBuf,
    /// The one org's name (`orgs.csv`).
    pub org_name: String,
    /// Replace a previous export at `out` (see the module docs).
    pub force: bool,
}

impl OneRosterExport {
    /// An export of `version` to `out`, for the school [`DEFAULT_ORG_NAME`], not replacing
    /// anything.
    pub fn new(version: Version, out: impl Into<PathBuf>) -> OneRosterExport {
        OneRosterExport {
            version,
            out: out.into(),
            org_name: DEFAULT_ORG_NAME.to_owned(),
            force: false,
        }
    }
}

/// One file written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedFile {
    /// `users.csv`, ...
    pub name: String,
    /// Data rows.
    pub rows: usize,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    /// Where.
    pub out: PathBuf,
    /// True for a zip, false for a folder.
    pub zip: bool,
    /// The version.
    pub version: Version,
    /// The files, manifest first.
    pub files: Vec<ExportedFile>,
    /// True when a previous export was replaced.
    pub replaced: bool,
    /// Attendance marks in the database, which OneRoster has no place for (not exported).
    pub attendance_not_exported: u64,
}

/// Reads `db` and writes it as a OneRoster bundle (see the module docs).
pub async fn export_oneroster(
    db: &Database,
    settings: &OneRosterExport,
) -> Result<ExportSummary, Error> {
    // Refuse a target in the way before reading anything.
    let zip = is_zip(&settings.out);
    let replace = check_target(&settings.out, zip, settings.force)?;
    let roster = registrar_db::export::roster(db).await?;
    let mut summary = write_roster(&roster, settings)?;
    summary.replaced = replace;
    Ok(summary)
}

/// Writes a roster already read (the file part of [`export_oneroster`]).
pub fn write_roster(roster: &Roster, settings: &OneRosterExport) -> Result<ExportSummary, Error> {
    let zip = is_zip(&settings.out);
    let replaced = check_target(&settings.out, zip, settings.force)?;
    let files = write::render(roster, settings.version, &settings.org_name);
    if zip {
        put_zip(&files, &settings.out)?;
    } else {
        put_folder(&files, &settings.out)?;
    }
    Ok(ExportSummary {
        out: settings.out.clone(),
        zip,
        version: settings.version,
        files: files
            .iter()
            .map(|f| ExportedFile {
                name: f.name.to_owned(),
                rows: f.rows,
            })
            .collect(),
        replaced,
        attendance_not_exported: roster.attendance,
    })
}

fn is_zip(out: &Path) -> bool {
    out.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
}

/// Whether `out` may be written: `Ok(true)` when it replaces a previous export.
fn check_target(out: &Path, zip: bool, force: bool) -> Result<bool, Error> {
    let meta = match std::fs::symlink_metadata(out) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(format!("cannot look at {}", out.display()), e)),
    };
    let refuse = |why: &str| {
        Err(Error::Refused(format!(
            "{} {why}; choose another --out{}",
            out.display(),
            if force {
                ""
            } else {
                " (or give --force to replace a previous export)"
            }
        )))
    };
    if zip {
        if !meta.is_file() {
            return refuse("exists and is not a file");
        }
        if !force {
            return refuse("exists");
        }
        return Ok(true);
    }
    if !meta.is_dir() {
        return refuse("exists and is not a folder");
    }
    let entries: Vec<_> = std::fs::read_dir(out)
        .map_err(|e| Error::io(format!("cannot list {}", out.display()), e))?
        .flatten()
        .collect();
    if entries.is_empty() {
        return Ok(false);
    }
    if !force {
        return refuse("is a folder that is not empty");
    }
    let all_oneroster = entries.iter().all(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        e.file_type().is_ok_and(|t| t.is_file())
            && (name == spec::MANIFEST_FILE
                || Version::ALL
                    .iter()
                    .any(|v| spec::file_spec(*v, &name).is_some()))
    });
    let ours = std::fs::read_to_string(out.join(spec::MANIFEST_FILE))
        .is_ok_and(|m| m.lines().any(|l| l.trim() == "source.systemName,Registrar"));
    if all_oneroster && ours {
        Ok(true)
    } else {
        refuse("holds files that are not a previous Registrar export, so it is not replaced")
    }
}

/// A sibling of `out` for temporary use: `.<name>.<what>-<pid>-<n>`.
fn sibling(out: &Path, what: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "export".into());
    let n = N.fetch_add(1, Ordering::Relaxed);
    out.with_file_name(format!(".{name}.{what}-{}-{n}", std::process::id()))
}

fn put_zip(files: &[RenderedFile], out: &Path) -> Result<(), Error> {
    let tmp = sibling(out, "tmp");
    let io = |what: &str, e| Error::io(format!("cannot {what} {}", out.display()), e);
    let result = (|| {
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        let file = o.open(&tmp).map_err(|e| io("write", e))?;
        let file =
            write::write_zip(files, std::io::BufWriter::new(file)).map_err(|e| io("write", e))?;
        let file = file.into_inner().map_err(|e| io("write", e.into_error()))?;
        file.sync_all().map_err(|e| io("write", e))?;
        std::fs::rename(&tmp, out).map_err(|e| io("put in place", e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn put_folder(files: &[RenderedFile], out: &Path) -> Result<(), Error> {
    let tmp = sibling(out, "tmp");
    let io = |what: &str, e| Error::io(format!("cannot {what} {}", out.display()), e);
    let result = (|| {
        let mut b = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            b.mode(0o700);
        }
        b.create(&tmp).map_err(|e| io("write", e))?;
        write::write_folder(files, &tmp).map_err(|e| io("write", e))?;
        if out.exists() {
            // An empty folder or a previous export (check_target): moved aside, then removed.
            let old = sibling(out, "old");
            std::fs::rename(out, &old).map_err(|e| io("replace", e))?;
            if let Err(e) = std::fs::rename(&tmp, out) {
                let _ = std::fs::rename(&old, out);
                return Err(io("put in place", e));
            }
            let _ = std::fs::remove_dir_all(&old);
            Ok(())
        } else {
            std::fs::rename(&tmp, out).map_err(|e| io("put in place", e))
        }
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}
