//! OneRoster 1.1 / 1.2 CSV bundles: open one (a folder or a `.zip` holding `manifest.csv`),
//! check it against the specification, write one.
//!
//! # Brief overview
//! - [`spec`]: the CSV binding as tables (files, columns in order, vocabularies, manifest).
//! - [`Bundle::open`] opens a folder or a `.zip` and parses its manifest ([`Manifest`]);
//!   [`Bundle::files`] lists the bundle's files in dependency order (every file after the
//!   files it references) and [`Bundle::open_file`] reads one as a streaming [`RowSource`]
//!   (the CSV reader of [`crate::csv`], so encoding checks, limits, `malformed-row` and row
//!   numbers are the same as for any CSV file). Zip members are inflated as they are read, on
//!   a thread of their own, never extracted to disk; memory stays bounded.
//! - [`is_bundle`] tells input discovery whether a path is a bundle.
//! - [`check::check_bundle`] checks the structure: files the manifest lists, required
//!   columns and their order, manifest values, vocabularies, duplicate and dangling sourcedIds.
//! - [`write::render`] renders a [`registrar_model::Roster`] as a bulk bundle's files;
//!   [`write::write_zip`] (deterministic) and [`write::write_folder`] put them in place.
//!
//! # Example
//! ```
//! use registrar_formats::oneroster::{check::check_bundle, Bundle, spec::Version};
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("manifest.csv"),
//!     "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.orgs,bulk\n")?;
//! std::fs::write(dir.path().join("orgs.csv"),
//!     "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\no1,,,Lincoln High,school,,\n")?;
//! let bundle = Bundle::open(dir.path(), &Default::default())?;
//! assert_eq!(bundle.manifest().version, Version::V1_1);
//! assert!(check_bundle(&bundle).iter().all(|i| !i.is_error()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod check;
pub mod read;
pub mod spec;
pub mod write;

use crate::{Error, Format, ReaderOptions, RowSource};
use registrar_model::{Issue, IssueCode};
use spec::{FileMode, FileSpec, Version};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Most bytes a manifest may have (it holds a few dozen short lines).
const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;

/// A member larger than this that inflates more than [`MAX_RATIO`] times is refused.
const BOMB_MEMBER: u64 = 64 * 1024 * 1024;

/// See [`BOMB_MEMBER`].
const MAX_RATIO: u64 = 100;

/// True when `path` is a OneRoster bundle: a folder with a `manifest.csv`, or a `.zip` file
/// holding one (at its top level, or inside its one top-level folder). Never fails: anything
/// unreadable is simply not a bundle.
pub fn is_bundle(path: &Path) -> bool {
    if path.is_dir() {
        return find_in_dir(path, spec::MANIFEST_FILE).is_some();
    }
    let is_zip = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"));
    is_zip
        && std::fs::File::open(path)
            .ok()
            .and_then(|f| zip::ZipArchive::new(std::io::BufReader::new(f)).ok())
            .is_some_and(|z| {
                let names: Vec<String> = z
                    .file_names()
                    .filter_map(|n| n.ok().map(|n| n.into_owned()))
                    .collect();
                zip_layout(&names).is_some()
            })
}

/// The manifest: the version, each file's mode, and the other properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// `oneroster.version`; when it is missing or unknown (an `invalid-manifest` issue), the
    /// version the files look like (1.2 when there is a `roles.csv`, else 1.1).
    pub version: Version,
    /// `manifest.version` as written.
    pub manifest_version: Option<String>,
    /// Each `file.X` property with a valid value, by file name (`users.csv`).
    pub files: BTreeMap<String, FileMode>,
    /// `source.systemName`.
    pub source_system_name: Option<String>,
    /// `source.systemCode`.
    pub source_system_code: Option<String>,
    /// Every property as written, with its row in `manifest.csv` (for messages).
    pub properties: Vec<(String, String, u64)>,
}

impl Manifest {
    /// The mode the manifest gives `file` (`None`: the manifest does not list it).
    pub fn mode(&self, file: &str) -> Option<FileMode> {
        self.files.get(file).copied()
    }
}

/// One file present in a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFile {
    /// The name as the bundle spells it (`users.csv`; matched to the specification ignoring
    /// case).
    pub name: String,
    /// The specification's file, when it is one of the version's files.
    pub spec: Option<&'static FileSpec>,
    /// What the manifest says about it (`None`: not listed).
    pub mode: Option<FileMode>,
}

impl BundleFile {
    /// True when a reader should read it: a file Registrar uses that the manifest lists as
    /// `bulk` or `delta`.
    pub fn is_read(&self) -> bool {
        self.spec.is_some_and(|s| s.registrar_uses)
            && matches!(self.mode, Some(FileMode::Bulk | FileMode::Delta))
    }
}

enum Store {
    /// A folder; entries are paths.
    Folder,
    /// A zip; entries are member names (under the folder that holds the manifest).
    Zip { path: PathBuf },
}

/// An opened OneRoster bundle (see the module docs).
pub struct Bundle {
    store: Store,
    /// The name of the bundle as issues give it (the folder or zip file name).
    name: String,
    /// CSV members at the bundle's top level: (name as written, path or member name).
    entries: Vec<(String, String)>,
    manifest: Manifest,
    issues: Vec<Issue>,
    options: ReaderOptions,
}

impl std::fmt::Debug for Bundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bundle")
            .field("name", &self.name)
            .field("entries", &self.entries)
            .field("manifest", &self.manifest)
            .finish_non_exhaustive()
    }
}

impl Bundle {
    /// Opens a bundle: a folder, or a `.zip` file, holding `manifest.csv`.
    ///
    /// Problems of the manifest are issues ([`Bundle::issues`]); [`Error::File`] only when
    /// the path is no bundle at all (no manifest: `missing-file`), is not a readable zip
    /// (`malformed-file`), or looks like a zip bomb.
    pub fn open(path: &Path, options: &ReaderOptions) -> Result<Bundle, Error> {
        let name = crate::file_name_of(path);
        let (store, entries) = if path.is_dir() {
            let entries = list_dir(path)?;
            (Store::Folder, entries)
        } else {
            let entries = open_zip(path, &name, options)?;
            (
                Store::Zip {
                    path: path.to_path_buf(),
                },
                entries,
            )
        };
        let mut bundle = Bundle {
            store,
            name,
            entries,
            manifest: Manifest {
                version: Version::V1_1,
                manifest_version: None,
                files: BTreeMap::new(),
                source_system_name: None,
                source_system_code: None,
                properties: Vec::new(),
            },
            issues: Vec::new(),
            options: ReaderOptions {
                // OneRoster files are comma-separated UTF-8.
                delimiter: Some(options.delimiter.unwrap_or(b',')),
                ..options.clone()
            },
        };
        if bundle.entry(spec::MANIFEST_FILE).is_none() {
            return Err(crate::file_error(
                IssueCode::MissingFile,
                &bundle.name,
                "this is not a OneRoster bundle: it holds no manifest.csv (a bundle is a folder or .zip with manifest.csv, users.csv, ...)".into(),
            ));
        }
        bundle.read_manifest()?;
        Ok(bundle)
    }

    /// The bundle's name (its folder or zip file name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The problems found in the manifest while opening (`invalid-manifest`, ...).
    pub fn issues(&self) -> &[Issue] {
        &self.issues
    }

    /// The bundle's CSV files (besides the manifest): first the version's files in
    /// dependency order ([`spec::files()`]), then any others, by name.
    pub fn files(&self) -> Vec<BundleFile> {
        let version = self.manifest.version;
        let mut out = Vec::new();
        for f in spec::files(version) {
            if let Some((name, _)) = self.entry(f.name) {
                out.push(BundleFile {
                    name: name.clone(),
                    spec: Some(f),
                    mode: self.manifest.mode(f.name),
                });
            }
        }
        for (name, _) in &self.entries {
            let known = name.eq_ignore_ascii_case(spec::MANIFEST_FILE)
                || spec::files(version)
                    .iter()
                    .any(|f| f.name.eq_ignore_ascii_case(name));
            if !known {
                out.push(BundleFile {
                    name: name.clone(),
                    spec: None,
                    mode: None,
                });
            }
        }
        out
    }

    /// True when the bundle holds `file` (a specification name, matched ignoring case).
    pub fn has(&self, file: &str) -> bool {
        self.entry(file).is_some()
    }

    /// Opens the bundle's file `file` (a name of [`Bundle::files`] or of the specification)
    /// as a streaming CSV [`RowSource`] whose issues name the file as the bundle spells it.
    pub fn open_file(&self, file: &str) -> Result<Box<dyn RowSource>, Error> {
        let Some((name, location)) = self.entry(file) else {
            return Err(crate::file_error(
                IssueCode::MissingFile,
                file,
                format!("the bundle {} holds no {file}", self.name),
            ));
        };
        match &self.store {
            Store::Folder => {
                let path = PathBuf::from(location);
                Ok(crate::open_as(&path, Format::Csv, &self.options)?)
            }
            Store::Zip { path, .. } => {
                let reader = ZipMemberReader::spawn(path.clone(), location.clone());
                Ok(Box::new(crate::csv::CsvSource::from_reader(
                    path,
                    name.clone(),
                    reader,
                    Format::Csv,
                    &self.options,
                )?))
            }
        }
    }

    fn entry(&self, file: &str) -> Option<&(String, String)> {
        self.entries.iter().find(|(n, _)| n == file).or_else(|| {
            self.entries
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(file))
        })
    }

    fn read_manifest(&mut self) -> Result<(), Error> {
        let mut source = self.open_file(spec::MANIFEST_FILE)?;
        let file = source.file_name().to_owned();
        let headers: Vec<String> = source.headers().to_vec();
        let col = |name: &str| headers.iter().position(|h| h == name);
        let (Some(pn), Some(pv)) = (col("propertyName"), col("value")) else {
            self.issues.push(Issue::error(
                IssueCode::InvalidManifest,
                &file,
                Some(source.header_row()),
                None,
                format!(
                    "the manifest's header must be propertyName,value (it is {}); the bundle's files cannot be known without it",
                    headers.join(",")
                ),
            ));
            self.manifest.version = self.guess_version();
            return Ok(());
        };
        let mut rows = 0u64;
        while let Some(event) = source.next() {
            match event? {
                registrar_model::Event::Row(row) => {
                    rows += 1;
                    if rows > 10_000 || source.bytes_read().unwrap_or(0) > MAX_MANIFEST_BYTES {
                        self.issues.push(Issue::error(
                            IssueCode::InvalidManifest,
                            &file,
                            Some(row.row),
                            None,
                            "the manifest is far longer than any OneRoster manifest; the rest is not read",
                        ));
                        break;
                    }
                    let text = |i: usize| {
                        row.values
                            .get(i)
                            .map(|v| v.to_string().trim().to_owned())
                            .unwrap_or_default()
                    };
                    let (name, value) = (text(pn), text(pv));
                    self.manifest.properties.push((name, value, row.row));
                }
                registrar_model::Event::Issue(issue) => self.issues.push(issue),
            }
        }
        self.interpret_manifest(&file);
        Ok(())
    }

    fn guess_version(&self) -> Version {
        if self.has(spec::files::ROLES) {
            Version::V1_2
        } else {
            Version::V1_1
        }
    }

    fn interpret_manifest(&mut self, file: &str) {
        let props = std::mem::take(&mut self.manifest.properties);
        let mut seen: BTreeMap<String, u64> = BTreeMap::new();
        let mut version = None;
        for (name, value, row) in &props {
            let row = *row;
            if let Some(first) = seen.get(name) {
                self.issues.push(Issue::error(
                    IssueCode::InvalidManifest,
                    file,
                    Some(row),
                    Some("propertyName"),
                    format!("the property {name} is given twice (first on row {first}); keep one"),
                ));
                continue;
            }
            seen.insert(name.clone(), row);
            match name.as_str() {
                "manifest.version" => {
                    if value != spec::MANIFEST_VERSION {
                        self.issues.push(Issue::error(
                            IssueCode::InvalidManifest,
                            file,
                            Some(row),
                            Some("value"),
                            format!(
                                "manifest.version is {value:?}; both OneRoster 1.1 and 1.2 define only \"1.0\""
                            ),
                        ));
                    }
                    self.manifest.manifest_version = Some(value.clone());
                }
                "oneroster.version" => match Version::parse(value) {
                    Some(v) => version = Some(v),
                    None => self.issues.push(Issue::error(
                        IssueCode::InvalidManifest,
                        file,
                        Some(row),
                        Some("value"),
                        format!(
                            "oneroster.version is {value:?}; Registrar reads OneRoster 1.1 and 1.2 (write 1.1 or 1.2)"
                        ),
                    )),
                },
                "source.systemName" => self.manifest.source_system_name = Some(value.clone()),
                "source.systemCode" => self.manifest.source_system_code = Some(value.clone()),
                _ => {}
            }
        }
        if !seen.contains_key("oneroster.version") {
            self.issues.push(Issue::error(
                IssueCode::InvalidManifest,
                file,
                None,
                None,
                "the manifest has no oneroster.version; add the row oneroster.version,1.1 (or 1.2)",
            ));
        }
        if !seen.contains_key("manifest.version") {
            self.issues.push(Issue::error(
                IssueCode::InvalidManifest,
                file,
                None,
                None,
                "the manifest has no manifest.version; add the row manifest.version,1.0",
            ));
        }
        let version = version.unwrap_or_else(|| self.guess_version());
        self.manifest.version = version;
        for (name, value, row) in &props {
            if !name.starts_with("file.") {
                if !spec::MANIFEST_PROPERTIES.iter().any(|(p, _)| p == name) {
                    self.issues.push(Issue::warning(
                        IssueCode::InvalidManifest,
                        file,
                        Some(*row),
                        Some("propertyName"),
                        format!(
                            "{name:?} is not a OneRoster {version} manifest property; it is ignored"
                        ),
                    ));
                }
                continue;
            }
            let Some(f) = spec::file_for_property(version, name) else {
                self.issues.push(Issue::warning(
                    IssueCode::InvalidManifest,
                    file,
                    Some(*row),
                    Some("propertyName"),
                    format!("{name} names no file of OneRoster {version}; it is ignored"),
                ));
                continue;
            };
            match FileMode::parse(value) {
                Some(mode) => {
                    self.manifest.files.insert(f.name.to_owned(), mode);
                }
                None => self.issues.push(Issue::error(
                    IssueCode::InvalidManifest,
                    file,
                    Some(*row),
                    Some("value"),
                    format!("{name} is {value:?}; it must be bulk, delta or absent"),
                )),
            }
        }
        self.manifest.properties = props;
    }
}

/// The CSV files of a folder (top level): (name, path).
fn list_dir(dir: &Path) -> Result<Vec<(String, String)>, Error> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_csv_name(&name) {
            out.push((name, entry.path().to_string_lossy().into_owned()));
        }
    }
    out.sort();
    Ok(out)
}

fn find_in_dir(dir: &Path, file: &str) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .find(|e| e.file_name().to_string_lossy().eq_ignore_ascii_case(file))
        .map(|e| e.path())
}

fn is_csv_name(name: &str) -> bool {
    name.len() > 4 && name[name.len() - 4..].eq_ignore_ascii_case(".csv") && !name.starts_with('.')
}

/// Where the manifest sits in a zip's member names: `""` (top level) or `folder/` (the
/// zip's one top-level folder, as when a folder was zipped). `None`: no manifest.
fn zip_layout(names: &[String]) -> Option<String> {
    let is_manifest = |n: &str, prefix: &str| {
        n.strip_prefix(prefix)
            .is_some_and(|rest| rest.eq_ignore_ascii_case(spec::MANIFEST_FILE))
    };
    if names.iter().any(|n| is_manifest(n, "")) {
        return Some(String::new());
    }
    let mut folders: Vec<&str> = names
        .iter()
        .filter(|n| !n.starts_with("__MACOSX/"))
        .filter_map(|n| n.split_once('/').map(|(f, _)| f))
        .collect();
    folders.sort_unstable();
    folders.dedup();
    match folders.as_slice() {
        [one] => {
            let prefix = format!("{one}/");
            names
                .iter()
                .any(|n| is_manifest(n, &prefix))
                .then_some(prefix)
        }
        _ => None,
    }
}

/// Opens a zip, refuses zip bombs, and lists the CSV members next to its manifest.
fn open_zip(
    path: &Path,
    name: &str,
    options: &ReaderOptions,
) -> Result<Vec<(String, String)>, Error> {
    let file = crate::open_regular(path)?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|_| {
        crate::file_error(
            IssueCode::MalformedFile,
            name,
            "this is not a readable zip archive; zip the bundle's folder again (or give the folder itself)".into(),
        )
    })?;
    let mut total: u64 = 0;
    let mut names = Vec::with_capacity(zip.len());
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(|_| {
            crate::file_error(
                IssueCode::MalformedFile,
                name,
                "the zip's directory is damaged; zip the bundle's folder again".into(),
            )
        })?;
        let size = entry.size();
        total = total.saturating_add(size);
        let ratio = size / entry.compressed_size().max(1);
        if size > BOMB_MEMBER && ratio > MAX_RATIO {
            return Err(crate::file_error(
                IssueCode::MalformedFile,
                name,
                format!(
                    "the member {:?} inflates to {size} bytes, {ratio} times its packed size; this looks like a zip bomb and is refused",
                    entry.name().unwrap_or_default()
                ),
            ));
        }
        names.push(entry.name().map(|n| n.into_owned()).unwrap_or_default());
    }
    if total > options.max_file_size {
        return Err(crate::file_error(
            IssueCode::MalformedFile,
            name,
            format!(
                "the bundle inflates to {total} bytes, more than the limit of {} bytes; raise --max-file-size if it is genuine",
                options.max_file_size
            ),
        ));
    }
    let Some(prefix) = zip_layout(&names) else {
        return Err(crate::file_error(
            IssueCode::MissingFile,
            name,
            "this zip is not a OneRoster bundle: it holds no manifest.csv (at its top level or in its one folder)".into(),
        ));
    };
    let mut entries: Vec<(String, String)> = names
        .into_iter()
        .filter_map(|member| {
            let rest = member.strip_prefix(prefix.as_str())?;
            (!rest.contains('/') && is_csv_name(rest)).then(|| (rest.to_owned(), member.clone()))
        })
        .collect();
    entries.sort();
    Ok(entries)
}

/// Bytes per message from the inflating thread.
const CHUNK: usize = 64 * 1024;

/// A zip member inflated on a thread of its own and handed over through a bounded channel,
/// so that the reader owns it (`'static`) without extracting it anywhere. The zip crate
/// checks the member's CRC and declared size as it inflates; a failure is an I/O error of
/// the read. Dropping the reader stops the thread at its next chunk.
struct ZipMemberReader {
    rx: std::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>,
    buf: Vec<u8>,
    pos: usize,
    done: bool,
}

impl ZipMemberReader {
    fn spawn(zip_path: PathBuf, member: String) -> ZipMemberReader {
        let (tx, rx) = std::sync::mpsc::sync_channel(4);
        std::thread::spawn(move || {
            let run = || -> std::io::Result<()> {
                let file = std::fs::File::open(&zip_path)?;
                let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
                    .map_err(std::io::Error::other)?;
                let mut entry = zip.by_name(&member).map_err(std::io::Error::other)?;
                loop {
                    let mut chunk = vec![0u8; CHUNK];
                    let n = entry.read(&mut chunk)?;
                    if n == 0 {
                        return Ok(());
                    }
                    chunk.truncate(n);
                    if tx.send(Ok(chunk)).is_err() {
                        return Ok(());
                    }
                }
            };
            if let Err(e) = run() {
                let _ = tx.send(Err(e));
            }
        });
        ZipMemberReader {
            rx,
            buf: Vec::new(),
            pos: 0,
            done: false,
        }
    }
}

impl Read for ZipMemberReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.buf.len() {
            if self.done {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    self.buf = chunk;
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Ok(0);
                }
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zip_layout_finds_the_manifest_at_the_top_or_in_one_folder() {
        let v = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            zip_layout(&v(&["manifest.csv", "users.csv"])),
            Some("".into())
        );
        assert_eq!(
            zip_layout(&v(&["exp/", "exp/Manifest.csv", "exp/users.csv"])),
            Some("exp/".into())
        );
        assert_eq!(zip_layout(&v(&["a/manifest.csv", "b/users.csv"])), None);
        assert_eq!(zip_layout(&v(&["users.csv"])), None);
    }
}
