//! Shared helpers of the fuzz targets: write the bytes to a temp file, open it, drain it.
#![allow(dead_code)]

use registrar_formats::{Event, ReaderOptions};
use std::path::Path;

/// Options with small limits so the limit paths are exercised too; `knob` picks a variant.
pub fn options(knob: u8) -> ReaderOptions {
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

/// Opens `path` and reads every event; checks the invariants a reader promises.
pub fn drain(path: &Path, options: &ReaderOptions) {
    let Ok(mut source) = registrar_formats::open(path, options) else {
        return;
    };
    let width = source.headers().len();
    let header_row = source.header_row();
    let mut last = 0u64;
    let mut rows = 0u64;
    for event in source.by_ref() {
        match event {
            Ok(Event::Row(row)) => {
                rows += 1;
                assert_eq!(row.values.len(), width, "a row has the header's width");
                // `>=`: a lone CR ends a record but not a line (old Mac files), so a row can share
                // the header's line number.
                assert!(row.row >= header_row, "rows never come before the header");
                assert!(row.row >= last, "row numbers never go back");
                assert!(!row.is_blank(), "blank rows are skipped");
                last = row.row;
            }
            Ok(Event::Issue(_)) | Err(_) => {}
        }
    }
    assert!(rows <= options.max_rows, "no more than max_rows rows");
}
