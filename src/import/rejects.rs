//! Rejects files: each input file's invalid rows, as read, plus an `error` column, written to
//! `DIR/<file name>.rejects.csv` with permissions 0600, atomically: a temporary file in the
//! same folder, written and synced while the run reads, and put in place **before** the
//! transaction commits ([`PendingRejectsGuard::install`]), so that nothing that can fail is left
//! for after the commit. A file already under the final name is moved aside first; when the
//! commit then fails (or the run rolls back), [`InstalledRejects::undo`] removes the new file
//! and puts the old one back. Something that is not a file under the final name (a
//! directory, say) makes the run fail before the commit, with nothing written.
//!
//! A `malformed-row` (a record whose field count differs from the header's) is written as read:
//! every field, then the `error` cell (so a longer row has its error further right); in a
//! users file its cells stay blank instead, because any misaligned cell may be a password, and
//! the error names the row of the original file.
//!
//! Three deliberate changes to the values, all for safety:
//! - the `password` and `password_hash` cells are blanked: a rejects file must never hold a
//!   secret, so the operator fills those cells in again before re-importing; columns are
//!   recognised by [`registrar_formats::header_key`], the key every reader and the validation
//!   pass use (` \u{feff}Password` is the password column here too);
//! - in a file with a password column (a users file), an `email` cell whose value fails the
//!   email rule while another cell of the row holds a valid email address (the columns are
//!   swapped or shifted, so the email cell probably holds the password) is blanked as well;
//!   an invalid email on its own (`bad-email-row`, a typo) is written as read. The `error`
//!   column says so and
//!   names the row of the original file, where the operator finds the value;
//! - a cell (header cells included) starting with `=`, `+`, `-`, `@`, a tab or a carriage
//!   return gets a leading `'`,
//!   so that a spreadsheet opening the file does not run it as a formula (when a file named
//!   `*.rejects.csv` is read back, the validation pass strips exactly that one quote again, so a
//!   fixed rejects file re-imports to the original values; see GUARANTEES.md).

use crate::Error;

type Result<T, E = Error> = std::result::Result<T, E>;
use registrar_formats::Value;
use registrar_model::Issue;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// A rejects file being written.
pub(crate) struct RejectsWriter {
    tmp: TmpFile,
    target: PathBuf,
    out: csv::Writer<BufWriter<File>>,
    secret_cols: Vec<bool>,
    /// Per column: the rule a value must pass to be written in a users file (else blanked).
    guarded_cols: Vec<Option<Guard>>,
    file_name: String,
    width: usize,
    cell: String,
}

/// A users-file column whose invalid values are not written (they may be a password).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Guard {
    Email,
}

impl Guard {
    fn of(key: &str) -> Option<Guard> {
        match key {
            "email" => Some(Guard::Email),
            _ => None,
        }
    }

    /// True when the value passes the column's rule (blank passes: nothing to hide).
    fn passes(self, v: &Value) -> bool {
        if v.is_blank() {
            return true;
        }
        match self {
            Guard::Email => registrar_rules::parse::email(v).is_ok(),
        }
    }

    fn what(self) -> &'static str {
        match self {
            Guard::Email => "an email address",
        }
    }
}

/// A temporary file that is removed when dropped unless [`TmpFile::keep`] took it: a rejects
/// file whose writing failed (a full disk, say) leaves nothing behind.
struct TmpFile(Option<PathBuf>);

impl TmpFile {
    fn path(&self) -> &Path {
        self.0.as_deref().unwrap_or(Path::new(""))
    }

    fn keep(mut self) -> PathBuf {
        self.0.take().unwrap_or_default()
    }
}

impl Drop for TmpFile {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// A finished rejects file waiting for the run to commit.
#[derive(Debug)]
pub(crate) struct PendingRejects {
    pub tmp: PathBuf,
    pub target: PathBuf,
}

impl PendingRejects {
    /// Renames the file into place.
    #[cfg(test)]
    pub fn commit(self) -> Result<PathBuf> {
        std::fs::rename(&self.tmp, &self.target)
            .map_err(|e| Error::io(format!("cannot write {}", self.target.display()), e))?;
        Ok(self.target)
    }

    /// Removes the temporary file (the run did not commit).
    pub fn discard(self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
}

pub(crate) fn open_private(path: &Path) -> std::io::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

/// The value as written to a rejects file: spreadsheet formulas neutralised.
pub(crate) fn excel_safe(s: &str, buf: &mut String) {
    buf.clear();
    if matches!(
        s.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    ) {
        buf.push('\'');
    }
    buf.push_str(s);
}

/// True when a cell of the row other than `i` holds a valid email address.
fn shifted(values: &[Value], i: usize) -> bool {
    values
        .iter()
        .enumerate()
        .any(|(j, v)| j != i && !v.is_blank() && registrar_rules::parse::email(v).is_ok())
}

impl RejectsWriter {
    /// Creates `dir/<file_name>.rejects.csv` (as a temporary file for now) with the header
    /// `headers` + `error`; each header cell's column is found by
    /// [`registrar_formats::header_key`].
    #[cfg(test)]
    pub fn create(dir: &Path, file_name: &str, headers: &[String]) -> Result<RejectsWriter> {
        let keys: Vec<String> = headers
            .iter()
            .map(|h| registrar_formats::header_key(h))
            .collect();
        RejectsWriter::create_with_columns(dir, file_name, headers, &keys)
    }

    /// [`RejectsWriter::create`] with the column each header cell holds already resolved
    /// (`keys[i]` for `headers[i]`, as the validation pass resolved it: a mapping file's
    /// rename or a built-in alias of `password` is blanked like `password` itself).
    pub fn create_with_columns(
        dir: &Path,
        file_name: &str,
        headers: &[String],
        keys: &[String],
    ) -> Result<RejectsWriter> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        let target = dir.join(format!("{file_name}.rejects.csv"));
        let mut n = 0u32;
        let (tmp, file) = loop {
            let tmp = dir.join(format!(
                ".{file_name}.rejects.csv.{}.{n}.tmp",
                std::process::id()
            ));
            match open_private(&tmp) {
                Ok(f) => break (tmp, f),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
                Err(e) => {
                    return Err(Error::io(format!("cannot create {}", tmp.display()), e));
                }
            }
        };
        let out = csv::WriterBuilder::new()
            .flexible(true)
            .from_writer(BufWriter::new(file));
        let secret_cols: Vec<bool> = keys
            .iter()
            .map(|k| k == "password" || k == "password_hash")
            .collect();
        let users_like = secret_cols.iter().any(|s| *s);
        let guarded_cols = keys
            .iter()
            .map(|k| if users_like { Guard::of(k) } else { None })
            .collect();
        let mut w = RejectsWriter {
            tmp: TmpFile(Some(tmp)),
            target,
            out,
            secret_cols,
            guarded_cols,
            file_name: file_name.to_owned(),
            width: headers.len(),
            cell: String::new(),
        };
        for h in headers.iter().map(String::as_str).chain(["error"]) {
            excel_safe(h, &mut w.cell);
            w.out
                .write_field(w.cell.as_bytes())
                .map_err(|e| w.csv_err(e))?;
        }
        w.out
            .write_record(None::<&[u8]>)
            .map_err(|e| w.csv_err(e))?;
        Ok(w)
    }

    fn csv_err(&self, e: csv::Error) -> Error {
        Error::io(
            format!("cannot write {}", self.tmp.path().display()),
            std::io::Error::other(e.to_string()),
        )
    }

    /// Writes one invalid row: its values (passwords blanked, formulas neutralised) and its
    /// errors as `code: message; code: message`.
    pub fn write(&mut self, values: &[Value], issues: &[Issue]) -> Result<()> {
        let mut text = String::new();
        let mut hidden: Vec<&'static str> = Vec::new();
        // A row the reader reported as malformed, with its fields as read.
        let misaligned = !values.is_empty()
            && values.len() != self.width
            && issues
                .iter()
                .any(|i| i.code == registrar_model::IssueCode::MalformedRow);
        let users_like = self.secret_cols.iter().any(|s| *s);
        if misaligned && users_like {
            // The fields of a malformed row do not line up with the header: any of them may
            // be a password, so none is written.
            return self.write_blank(values.len(), issues);
        }
        // A malformed row (outside a users file) is written as read: every field, then the
        // error (a row with more fields than the header has its error further right).
        let width = if misaligned { values.len() } else { self.width };
        for i in 0..width {
            let v = values.get(i);
            let guard = self.guarded_cols.get(i).copied().flatten();
            let raw = if self.secret_cols.get(i).copied().unwrap_or(false) {
                String::new()
            } else if let (Some(g), Some(v)) = (guard, v) {
                if g.passes(v) || !shifted(values, i) {
                    v.to_string()
                } else {
                    if !hidden.contains(&g.what()) {
                        hidden.push(g.what());
                    }
                    String::new()
                }
            } else {
                v.map(|v| v.to_string()).unwrap_or_default()
            };
            excel_safe(&raw, &mut self.cell);
            self.out
                .write_field(self.cell.as_bytes())
                .map_err(|e| self.csv_err(e))?;
        }
        for (n, issue) in issues.iter().filter(|i| i.is_error()).enumerate() {
            if n > 0 {
                text.push_str("; ");
            }
            text.push_str(issue.code.as_str());
            text.push_str(": ");
            text.push_str(&issue.message);
        }
        if !hidden.is_empty() {
            if !text.is_empty() {
                text.push_str("; ");
            }
            let row = issues
                .iter()
                .find_map(|i| i.row)
                .map(|r| format!("row {r} of {}", self.file_name))
                .unwrap_or_else(|| self.file_name.clone());
            text.push_str(&format!(
                "note: a cell that is not {} is left blank here, because it may be a password typed into the wrong column; its value is on {row}",
                hidden.join(" or ")
            ));
        }
        excel_safe(&text, &mut self.cell);
        self.out
            .write_field(self.cell.as_bytes())
            .map_err(|e| self.csv_err(e))?;
        self.out
            .write_record(None::<&[u8]>)
            .map_err(|e| self.csv_err(e))?;
        Ok(())
    }

    /// A malformed users row: blank cells, and an error naming where the row is.
    fn write_blank(&mut self, fields: usize, issues: &[Issue]) -> Result<()> {
        for _ in 0..self.width {
            self.out.write_field(b"").map_err(|e| self.csv_err(e))?;
        }
        let mut text = String::new();
        for (n, issue) in issues.iter().filter(|i| i.is_error()).enumerate() {
            if n > 0 {
                text.push_str("; ");
            }
            text.push_str(issue.code.as_str());
            text.push_str(": ");
            text.push_str(&issue.message);
        }
        let row = issues
            .iter()
            .find_map(|i| i.row)
            .map(|r| format!("row {r} of {}", self.file_name))
            .unwrap_or_else(|| self.file_name.clone());
        text.push_str(&format!(
            "; note: the row's {fields} fields do not line up with the header's {}, so any of them may be a password; they are left blank here, the row is on {row}",
            self.width
        ));
        excel_safe(&text, &mut self.cell);
        self.out
            .write_field(self.cell.as_bytes())
            .map_err(|e| self.csv_err(e))?;
        self.out
            .write_record(None::<&[u8]>)
            .map_err(|e| self.csv_err(e))?;
        Ok(())
    }

    /// Flushes and syncs the temporary file.
    pub fn finish(self) -> Result<PendingRejects> {
        let ctx = format!("cannot write {}", self.tmp.path().display());
        let inner = self
            .out
            .into_inner()
            .map_err(|e| Error::io(ctx.clone(), std::io::Error::other(e.to_string())))?;
        let file = inner
            .into_inner()
            .map_err(|e| Error::io(ctx.clone(), std::io::Error::other(e.to_string())))?;
        file.sync_all().map_err(|e| Error::io(ctx, e))?;
        Ok(PendingRejects {
            tmp: self.tmp.keep(),
            target: self.target,
        })
    }
}

impl Drop for PendingRejectsGuard {
    fn drop(&mut self) {
        for p in self.0.drain(..) {
            p.discard();
        }
    }
}

/// Rejects files that are discarded unless taken for commit.
#[derive(Debug, Default)]
pub(crate) struct PendingRejectsGuard(pub Vec<PendingRejects>);

/// One rejects file put in place, with the file it replaced (moved aside).
#[derive(Debug)]
struct Placed {
    target: PathBuf,
    aside: Option<PathBuf>,
}

/// Rejects files put in place before the commit: [`InstalledRejects::keep`] after the commit,
/// [`InstalledRejects::undo`] when the run does not commit after all.
#[derive(Debug, Default)]
pub struct InstalledRejects {
    placed: Vec<Placed>,
}

impl InstalledRejects {
    /// The run committed: drops the replaced files; returns the rejects files.
    pub fn keep(mut self) -> Vec<PathBuf> {
        let placed = std::mem::take(&mut self.placed);
        placed
            .into_iter()
            .map(|p| {
                if let Some(a) = p.aside {
                    let _ = std::fs::remove_file(a);
                }
                p.target
            })
            .collect()
    }

    /// The run did not commit: removes the new files and puts the replaced ones back.
    pub fn undo(mut self) {
        self.undo_all();
    }

    fn undo_all(&mut self) {
        for p in self.placed.drain(..).rev() {
            let _ = std::fs::remove_file(&p.target);
            if let Some(a) = p.aside {
                let _ = std::fs::rename(&a, &p.target);
            }
        }
    }
}

impl Drop for InstalledRejects {
    fn drop(&mut self) {
        // Neither kept nor undone (an early return): the run did not commit.
        self.undo_all();
    }
}

fn aside_path(target: &Path) -> PathBuf {
    let dir = target.parent().unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut n = 0u32;
    loop {
        let p = dir.join(format!(".{name}.{}.{n}.old", std::process::id()));
        if std::fs::symlink_metadata(&p).is_err() || n > 1000 {
            return p;
        }
        n += 1;
    }
}

impl PendingRejects {
    /// Puts the file in place, moving an existing file under the final name aside. On an
    /// error the temporary file is removed.
    fn place(self) -> Result<Placed> {
        let tmp = self.tmp.clone();
        let r = self.place_inner();
        if r.is_err() {
            let _ = std::fs::remove_file(tmp);
        }
        r
    }

    fn place_inner(self) -> Result<Placed> {
        let cannot =
            |e: std::io::Error| Error::io(format!("cannot write {}", self.target.display()), e);
        let aside = match std::fs::symlink_metadata(&self.target) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(cannot(e)),
            Ok(m) if m.is_dir() => {
                return Err(Error::io(
                    format!(
                        "cannot write {}: a folder of that name is in the way; move it or \
                         choose another --rejects folder (nothing was written)",
                        self.target.display()
                    ),
                    std::io::Error::other("is a directory"),
                ))
            }
            Ok(m) if !(m.is_file() || m.file_type().is_symlink()) => {
                return Err(Error::io(
                    format!(
                        "cannot write {}: something that is not a file is in the way; move it \
                         or choose another --rejects folder (nothing was written)",
                        self.target.display()
                    ),
                    std::io::Error::other("not a regular file"),
                ))
            }
            Ok(_) => {
                let a = aside_path(&self.target);
                std::fs::rename(&self.target, &a).map_err(cannot)?;
                Some(a)
            }
        };
        if let Err(e) = std::fs::rename(&self.tmp, &self.target) {
            if let Some(a) = &aside {
                let _ = std::fs::rename(a, &self.target);
            }
            let _ = std::fs::remove_file(&self.tmp);
            return Err(cannot(e));
        }
        Ok(Placed {
            target: self.target,
            aside,
        })
    }
}

impl PendingRejectsGuard {
    /// Puts every file in place before the commit. On an error, whatever was placed is undone
    /// and the rest discarded: the caller rolls back, and no rejects file claims rows of a run
    /// that did not commit.
    pub fn install(mut self) -> Result<InstalledRejects> {
        let mut installed = InstalledRejects::default();
        let all: Vec<PendingRejects> = self.0.drain(..).collect();
        let mut iter = all.into_iter();
        for p in iter.by_ref() {
            match p.place() {
                Ok(placed) => installed.placed.push(placed),
                Err(e) => {
                    for rest in iter {
                        rest.discard();
                    }
                    installed.undo();
                    return Err(e);
                }
            }
        }
        Ok(installed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use registrar_model::IssueCode;

    #[test]
    fn writes_private_excel_safe_files_without_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let headers: Vec<String> = ["email", "Password", "role", "first_name"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut w = RejectsWriter::create(dir.path(), "users.csv", &headers).unwrap();
        let issues = vec![
            Issue::error(
                IssueCode::InvalidRole,
                "users.csv",
                Some(2),
                Some("role"),
                "bad role",
            ),
            Issue::warning(IssueCode::UnknownColumn, "users.csv", None, None, "ignored"),
            Issue::error(IssueCode::TooLong, "users.csv", Some(2), None, "too long"),
        ];
        w.write(
            &[
                Value::Text("a@b.cd".into()),
                Value::Text("Secret-Pass-1".into()),
                Value::Text("=HYPERLINK(\"x\")".into()),
            ],
            &issues,
        )
        .unwrap();
        let pending = w.finish().unwrap();
        assert!(!pending.target.exists());
        let path = pending.commit().unwrap();
        assert_eq!(path, dir.path().join("users.csv.rejects.csv"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("Secret-Pass-1"));
        assert!(
            text.starts_with("email,Password,role,first_name,error\n"),
            "{text}"
        );
        assert!(text.contains("'=HYPERLINK"), "{text}");
        assert!(
            text.contains("invalid-role: bad role; too-long: too long"),
            "{text}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_folder_at_the_rejects_path_fails_the_install_and_leaves_everything_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.csv.rejects.csv"), "old a\n").unwrap();
        std::fs::create_dir(dir.path().join("b.csv.rejects.csv")).unwrap();
        let hdr = ["x".to_string()];
        let a = RejectsWriter::create(dir.path(), "a.csv", &hdr).unwrap();
        let b = RejectsWriter::create(dir.path(), "b.csv", &hdr).unwrap();
        let guard = PendingRejectsGuard(vec![a.finish().unwrap(), b.finish().unwrap()]);
        let e = guard.install().unwrap_err().to_string();
        assert!(
            e.contains("b.csv.rejects.csv") && e.contains("folder"),
            "{e}"
        );
        // a's old file is back, b's folder untouched, no temporary file left.
        let old = std::fs::read_to_string(dir.path().join("a.csv.rejects.csv")).unwrap();
        assert_eq!(old, "old a\n");
        assert!(dir.path().join("b.csv.rejects.csv").is_dir());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn installed_rejects_replace_old_ones_and_undo_restores_them() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.csv.rejects.csv");
        std::fs::write(&target, "old\n").unwrap();
        let hdr = ["x".to_string()];
        let w = RejectsWriter::create(dir.path(), "a.csv", &hdr).unwrap();
        let installed = PendingRejectsGuard(vec![w.finish().unwrap()])
            .install()
            .unwrap();
        assert!(std::fs::read_to_string(&target)
            .unwrap()
            .starts_with("x,error"));
        installed.undo();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let w = RejectsWriter::create(dir.path(), "a.csv", &hdr).unwrap();
        let kept = PendingRejectsGuard(vec![w.finish().unwrap()])
            .install()
            .unwrap()
            .keep();
        assert_eq!(kept, vec![target.clone()]);
        assert!(std::fs::read_to_string(&target)
            .unwrap()
            .starts_with("x,error"));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn discarded_rejects_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let w = RejectsWriter::create(dir.path(), "x.csv", &["a".to_string()]).unwrap();
        let guard = PendingRejectsGuard(vec![w.finish().unwrap()]);
        drop(guard);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
