//! The workspace's example data sets through the rules: `examples/data` is clean and
//! `examples/messy` gets exactly the faults its `FAULTS.md` lists (file, row, column, code), with
//! the per-file counts it gives. Files are listed here by stem, so this does not depend on
//! `registrar::formats::discover`.

use registrar::formats::{DataFile, Format, ReaderOptions};
use registrar::model::Report;
use registrar::rules::ValidationOptions;
use registrar::validate_files;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

fn validate(dir: &Path) -> Report {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("example folder") {
        let path = entry.expect("entry").path();
        if let (Some(entity), Some(format)) = (
            registrar::formats::entity_of(&path),
            Format::from_path(&path),
        ) {
            files.push(DataFile {
                path,
                entity,
                format,
            });
        }
    }
    assert!(!files.is_empty(), "no data files in {}", dir.display());
    validate_files(
        &files,
        &ReaderOptions::default(),
        ValidationOptions::default(),
    )
    .expect("example files are readable")
}

#[test]
fn example_data_is_clean() {
    let dir = examples().join("data");
    if !dir.exists() {
        eprintln!("SKIPPED: {} is missing", dir.display());
        return;
    }
    let r = validate(&dir);
    assert!(r.issues.is_empty(), "{:#?}", r.issues);
    assert!(r.files.iter().all(|f| f.rows > 0 && f.valid == f.rows));
}

#[test]
fn messy_data_gets_exactly_the_planted_faults() {
    let dir = examples().join("messy");
    let Ok(faults) = std::fs::read_to_string(dir.join("FAULTS.md")) else {
        eprintln!("SKIPPED: {} has no FAULTS.md", dir.display());
        return;
    };
    let mut want = BTreeSet::new();
    let mut counts = BTreeSet::new();
    for line in faults.lines() {
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        match cells.as_slice() {
            [file, row, column, severity, code, _what] if file.contains('.') => {
                let row = row.parse::<u64>().ok();
                let column = (*column != "-").then(|| column.to_string());
                want.insert((
                    file.to_string(),
                    row,
                    column,
                    severity.to_string(),
                    code.to_string(),
                ));
            }
            [file, rows, valid, invalid] if file.contains('.') => {
                counts.insert((
                    file.to_string(),
                    rows.parse::<u64>().unwrap_or(0),
                    valid.parse::<u64>().unwrap_or(0),
                    invalid.parse::<u64>().unwrap_or(0),
                ));
            }
            _ => {}
        }
    }
    assert!(want.len() > 20, "FAULTS.md table not understood");
    let r = validate(&dir);
    let got: BTreeSet<_> = r
        .issues
        .iter()
        .map(|i| {
            (
                i.file.clone(),
                i.row,
                i.column.clone(),
                i.severity.to_string(),
                i.code.to_string(),
            )
        })
        .collect();
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing: {missing:#?}\nunexpected: {extra:#?}"
    );
    assert_eq!(r.issues.len(), want.len(), "one issue per planted fault");
    let got_counts: BTreeSet<_> = r
        .files
        .iter()
        .map(|f| (f.file.clone(), f.rows, f.valid, f.invalid))
        .collect();
    assert_eq!(got_counts, counts);

    // The same through discovery.
    let by_dir = registrar::validate_dir(&dir, &ReaderOptions::default()).expect("readable");
    assert_eq!(by_dir.issues, r.issues);
    assert_eq!(by_dir.files, r.files);
}
