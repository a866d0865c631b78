//! Inputs found by `fuzz/` (see fuzz/README.md), replayed exactly as the fuzz targets read
//! them: byte 0 picks the reader options and the file type, the rest is the file. Each named
//! test pins the fault its input showed; `every_fuzz_input_reads_cleanly` replays them all
//! (drop a new crashing input under `tests/fixtures/regressions/<target>/` and it runs).

use registrar_formats::{open, Event, ReaderOptions};
use std::path::{Path, PathBuf};

fn fixtures(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/regressions")
        .join(target)
}

/// The options a fuzz target derives from its first byte (fuzz/fuzz_targets/common.rs).
fn options(knob: u8) -> ReaderOptions {
    let mut o = ReaderOptions::default();
    if knob & 1 == 1 {
        o.max_field_size = 64;
    }
    if knob & 2 == 2 {
        o.max_rows = 3;
    }
    o.delimiter = match (knob >> 2) & 3 {
        1 => Some(b';'),
        2 => Some(b'\t'),
        _ => None,
    };
    o.encoding = match (knob >> 4) & 3 {
        1 => Some("windows-1252".into()),
        2 => Some("utf-16le".into()),
        _ => None,
    };
    o
}

/// What one replay saw.
struct Seen {
    header_row: u64,
    rows: Vec<u64>,
}

/// Writes the input as the target would, reads it through and checks the reader's promises.
fn replay(target: &str, input: &[u8]) -> Option<Seen> {
    let (&knob, bytes) = input.split_first()?;
    let (name, knob) = match target {
        "csv_reader" if knob & 0x40 == 0 => ("users.csv", knob),
        "csv_reader" => ("users.tsv", knob),
        "json_reader" if knob & 0x40 == 0 => ("grades.json", knob & 3),
        "json_reader" => ("grades.ndjson", knob & 3),
        "sheet_reader" if bytes.starts_with(b"\xD0\xCF\x11\xE0") => ("courses.xls", knob & 3),
        "sheet_reader" if knob & 0x40 == 0 => ("courses.xlsx", knob & 3),
        "sheet_reader" => ("courses.ods", knob & 3),
        other => panic!("unknown fuzz target {other}"),
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write input");
    let options = options(knob);
    let mut source = open(&path, &options).ok()?;
    let width = source.headers().len();
    let header_row = source.header_row();
    let mut rows = Vec::new();
    for event in source.by_ref() {
        if let Ok(Event::Row(row)) = event {
            assert_eq!(row.values.len(), width, "a row has the header's width");
            assert!(row.row >= header_row, "a row never precedes the header");
            assert!(
                rows.last().is_none_or(|&l| row.row >= l),
                "row numbers never go back"
            );
            assert!(!row.is_blank(), "blank rows are skipped");
            rows.push(row.row);
        }
    }
    assert!(rows.len() as u64 <= options.max_rows);
    Some(Seen { header_row, rows })
}

#[test]
fn every_fuzz_input_reads_cleanly() {
    let mut count = 0;
    for target in ["csv_reader", "json_reader", "sheet_reader"] {
        let Ok(entries) = std::fs::read_dir(fixtures(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("dir entry").path();
            let input = std::fs::read(&path).expect("read input");
            let _ = replay(target, &input);
            count += 1;
        }
    }
    assert!(count >= 2, "the regression inputs are there ({count})");
}

/// csv_reader: a lone `\r` ends a record. This input's first line ends with a lone `\r`
/// (old-Mac style), so since issue 10 item 14 every `\r` counts as a line end and the first
/// data row is on line 2 (it used to share the header's line 1). It must read without a
/// panic, and rows must never be numbered before the header.
#[test]
fn lone_cr_row_on_header_line() {
    let input =
        std::fs::read(fixtures("csv_reader").join("lone-cr-row-on-header-line")).expect("fixture");
    let seen = replay("csv_reader", &input).expect("the file opens");
    assert_eq!(seen.header_row, 1);
    assert!(!seen.rows.is_empty());
    assert_eq!(
        seen.rows[0], 2,
        "the CR-separated row is on its own line, 2"
    );
}

/// json_reader: NDJSON has no header line, so its first row is line 1, the same as
/// `header_row()`.
#[test]
fn ndjson_row_on_line_1() {
    let input =
        std::fs::read(fixtures("json_reader").join("ndjson-row-on-line-1")).expect("fixture");
    let seen = replay("json_reader", &input).expect("the file opens");
    assert_eq!(seen.rows.first(), Some(&seen.header_row));
    assert!(seen.rows.len() > 10);
}
