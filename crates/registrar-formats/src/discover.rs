//! Finding the data files of a folder by stem.
//!
//! A file is a data file when its stem (case-insensitive, trimmed) is `users`, `courses`,
//! `enrollments`, `grades` or `attendance`. With a supported extension it is used; with another
//! extension it gives an `unsupported-format` issue; other files are ignored. Two files with
//! the same stem (`users.csv` and `users.xlsx`) give one `duplicate-file` issue naming both
//! (all of them) and none of them is used. Sub-folders are not searched. A data file's name on
//! something that is not a regular file (a FIFO, a folder, a device such as a link to
//! `/dev/zero`, a dangling symbolic link) gives an `unreadable-file` issue; it is never opened.
use crate::{Error, Format};
use registrar_model::{Entity, Issue, IssueCode};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A data file found in a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFile {
    /// Its path.
    pub path: PathBuf,
    /// The entity its stem names.
    pub entity: Entity,
    /// The format its extension names.
    pub format: Format,
}

/// Finds `users`, `courses`, `enrollments`, `grades` and `attendance` files in `dir`, in import
/// order. Two files with the same stem give a `duplicate-file` issue (neither is used).
pub fn discover(dir: &Path) -> Result<(Vec<DataFile>, Vec<Issue>), Error> {
    let io = |source| Error::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut names = Vec::new();
    let mut refused = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        if path.is_file() {
            names.push(path);
        } else if crate::entity_of(&path).is_some() && Format::from_path(&path).is_some() {
            // A data file's name on something that is not a regular file (a FIFO, a folder,
            // a device, a dangling link) is refused, never skipped without a word.
            if let Some(what) = crate::not_regular(&path) {
                refused.push(crate::not_regular_issue(&path, &what));
            }
        }
    }
    names.sort();
    refused.sort_by(|a, b| a.file.cmp(&b.file));
    let mut by_entity: BTreeMap<usize, Vec<PathBuf>> = BTreeMap::new();
    let mut issues = refused;
    for path in names {
        let Some(entity) = crate::entity_of(&path) else {
            continue;
        };
        if Format::from_path(&path).is_none() {
            issues.push(Issue::error(
                IssueCode::UnsupportedFormat,
                crate::file_name_of(&path),
                None,
                None,
                format!(
                    "{} data cannot be read from this file type; use .csv, .tsv, .xlsx, .xls, .ods, .json, .jsonl or .ndjson",
                    entity.as_str()
                ),
            ));
            continue;
        }
        let order = Entity::ALL
            .iter()
            .position(|e| *e == entity)
            .unwrap_or(usize::MAX);
        by_entity.entry(order).or_default().push(path);
    }
    let mut files = Vec::new();
    for paths in by_entity.into_values() {
        let first = &paths[0];
        let Some(entity) = crate::entity_of(first) else {
            continue;
        };
        if paths.len() > 1 {
            let listed: Vec<String> = paths.iter().map(|p| crate::file_name_of(p)).collect();
            issues.push(Issue::error(
                IssueCode::DuplicateFile,
                listed.join(", "),
                None,
                None,
                format!(
                    "{} files hold {} data: {}; keep exactly one of them in the folder",
                    listed.len(),
                    entity.as_str(),
                    listed.join(" and ")
                ),
            ));
            continue;
        }
        if let Some(format) = Format::from_path(first) {
            files.push(DataFile {
                path: first.clone(),
                entity,
                format,
            });
        }
    }
    if files.is_empty() && issues.is_empty() {
        issues.push(Issue::error(
            IssueCode::NoDataFiles,
            dir.display().to_string(),
            None,
            None,
            "this folder holds no data file; name the files users, courses, enrollments, grades \
             or attendance with .csv, .tsv, .xlsx, .xls, .ods, .json, .jsonl or .ndjson",
        ));
    }
    Ok((files, issues))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_folder_is_an_issue() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        let (files, issues) = discover(dir.path()).unwrap();
        assert!(files.is_empty());
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].code, IssueCode::NoDataFiles);
    }

    #[test]
    fn finds_files_in_import_order_and_flags_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "Attendance.NDJSON",
            "users.csv",
            "courses.xlsx",
            "Courses.json",
            "grades.txt",
            "notes.csv",
            "enrollments.tsv",
        ] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let (files, issues) = discover(dir.path()).unwrap();
        let got: Vec<_> = files.iter().map(|f| (f.entity, f.format)).collect();
        assert_eq!(
            got,
            [
                (Entity::Users, Format::Csv),
                (Entity::Enrollments, Format::Tsv),
                (Entity::Attendance, Format::Ndjson)
            ]
        );
        let codes: Vec<_> = issues.iter().map(|i| i.code).collect();
        assert_eq!(
            codes,
            [IssueCode::UnsupportedFormat, IssueCode::DuplicateFile]
        );
        assert_eq!(issues[0].file, "grades.txt");
        assert!(issues[1].message.contains("Courses.json"));
        assert!(issues[1].message.contains("courses.xlsx"));
    }

    #[test]
    fn missing_folder_is_an_io_error() {
        let err = discover(Path::new("/definitely/not/here")).unwrap_err();
        assert!(matches!(err, Error::Io { .. }));
    }
}
