//! Issue 10, item 21: an `.xls` is bounded by cells before calamine reads it. calamine builds
//! every sheet of an `.xls` (dense, from the first to the last cell) when the workbook is
//! opened, whatever `--sheet` says; the pre-scan refuses a workbook whose sheets span more
//! than the 2,000,000-cell cap that `.ods` already has.
mod common;

use common::{file_issue, read, read_with};
use registrar_formats::excel::MAX_ODS_CELLS;
use registrar_formats::{ReaderOptions, Value};
use registrar_model::IssueCode;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

fn rec(out: &mut Vec<u8>, typ: u16, data: &[u8]) {
    out.extend_from_slice(&typ.to_le_bytes());
    out.extend_from_slice(&(data.len() as u16).to_le_bytes());
    out.extend_from_slice(data);
}

/// BIFF8 BOF of the given substream type (0x0005 globals, 0x0010 worksheet).
fn bof(out: &mut Vec<u8>, dt: u16) {
    let mut d = Vec::new();
    d.extend_from_slice(&0x0600u16.to_le_bytes());
    d.extend_from_slice(&dt.to_le_bytes());
    d.extend_from_slice(&[0; 12]);
    rec(out, 0x0809, &d);
}

fn number(out: &mut Vec<u8>, row: u16, col: u16, v: f64) {
    let mut d = Vec::new();
    d.extend_from_slice(&row.to_le_bytes());
    d.extend_from_slice(&col.to_le_bytes());
    d.extend_from_slice(&0u16.to_le_bytes());
    d.extend_from_slice(&v.to_le_bytes());
    rec(out, 0x0203, &d);
}

fn label(out: &mut Vec<u8>, row: u16, col: u16, s: &str) {
    let mut d = Vec::new();
    d.extend_from_slice(&row.to_le_bytes());
    d.extend_from_slice(&col.to_le_bytes());
    d.extend_from_slice(&0u16.to_le_bytes());
    d.extend_from_slice(&(s.len() as u16).to_le_bytes());
    d.push(0); // compressed (8-bit) characters
    d.extend_from_slice(s.as_bytes());
    rec(out, 0x0204, &d);
}

/// A BIFF8 `Workbook` stream: globals (BOF, one BOUNDSHEET per sheet, EOF), then each sheet
/// substream (BOF, the records `sheet(i)` writes, EOF).
fn workbook(names: &[&str], sheet: impl Fn(usize, &mut Vec<u8>)) -> Vec<u8> {
    let mut bodies = Vec::new();
    for i in 0..names.len() {
        let mut b = Vec::new();
        bof(&mut b, 0x0010);
        sheet(i, &mut b);
        rec(&mut b, 0x000A, &[]);
        bodies.push(b);
    }
    let bound_len: usize = names.iter().map(|n| 4 + 8 + n.len()).sum();
    let globals_len = 20 + bound_len + 4;
    let mut out = Vec::new();
    bof(&mut out, 0x0005);
    let mut pos = globals_len;
    for (name, body) in names.iter().zip(&bodies) {
        let mut d = Vec::new();
        d.extend_from_slice(&(pos as u32).to_le_bytes());
        d.extend_from_slice(&[0, 0]); // visible worksheet
        d.push(name.len() as u8);
        d.push(0);
        d.extend_from_slice(name.as_bytes());
        rec(&mut out, 0x0085, &d);
        pos += body.len();
    }
    rec(&mut out, 0x000A, &[]);
    assert_eq!(out.len(), globals_len);
    for b in bodies {
        out.extend_from_slice(&b);
    }
    out
}

/// Writes `stream` as the `Workbook` stream of a compound file at `path`.
fn write_xls(path: &Path, stream: &[u8]) {
    let mut cfb = cfb::create(path).unwrap();
    let mut s = cfb.create_stream("/Workbook").unwrap();
    s.write_all(stream).unwrap();
    drop(s);
    cfb.flush().unwrap();
}

fn peak_rss_kb() -> i64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init().ru_maxrss
    }
}

#[test]
fn sparse_xls_sheets_are_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.xls");
    let names: Vec<String> = (1..=16).map(|i| format!("Sheet{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    write_xls(
        &path,
        &workbook(&names, |_, b| {
            number(b, 0, 0, 1.0);
            number(b, 65535, 255, 2.0);
        }),
    );
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size < 32_000, "the hostile file is small ({size} bytes)");
    let started = Instant::now();
    let options = ReaderOptions {
        sheet: Some("Sheet2".into()),
        ..ReaderOptions::default()
    };
    let issue = file_issue(read_with(&path, &options).err().expect("refused"));
    let took = started.elapsed();
    assert_eq!(issue.code, IssueCode::MalformedFile);
    assert_eq!(issue.file, "users.xls");
    assert!(issue.message.contains("16777216"), "{}", issue.message);
    assert!(
        issue.message.contains(&MAX_ODS_CELLS.to_string()),
        "{}",
        issue.message
    );
    assert!(took < Duration::from_secs(2), "refused in {took:?}");
    // calamine would have built 268 million cells (gigabytes); the whole test process
    // stays far below that.
    assert!(peak_rss_kb() < 300 * 1024, "peak RSS {} KB", peak_rss_kb());
}

#[test]
fn xls_dimensions_over_the_cap_are_refused() {
    // No cells, but a DIMENSIONS record calamine would reserve 65,536 × 256 cells for.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dims.xls");
    write_xls(
        &path,
        &workbook(&["Sheet1"], |_, b| {
            let mut d = Vec::new();
            d.extend_from_slice(&0u32.to_le_bytes());
            d.extend_from_slice(&65536u32.to_le_bytes());
            d.extend_from_slice(&0u16.to_le_bytes());
            d.extend_from_slice(&256u16.to_le_bytes());
            d.extend_from_slice(&0u16.to_le_bytes());
            rec(b, 0x0200, &d);
        }),
    );
    let issue = file_issue(read(&path).err().expect("refused"));
    assert_eq!(issue.code, IssueCode::MalformedFile);
    assert!(issue.message.contains("16777216"), "{}", issue.message);
}

#[test]
fn xls_sheets_that_sum_past_the_cap_are_refused() {
    // Each sheet alone is under the cap (1,000 × 256 = 256,000 cells); 16 of them are not.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.xls");
    let names: Vec<String> = (1..=16).map(|i| format!("S{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    write_xls(
        &path,
        &workbook(&names, |_, b| {
            number(b, 0, 0, 1.0);
            number(b, 999, 255, 2.0);
        }),
    );
    let issue = file_issue(read(&path).err().expect("refused"));
    assert_eq!(issue.code, IssueCode::MalformedFile);
    assert!(issue.message.contains("2048000"), "{}", issue.message);
}

#[test]
fn a_small_xls_is_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scores.xls");
    write_xls(
        &path,
        &workbook(&["Other", "Scores"], |i, b| {
            if i == 1 {
                label(b, 0, 0, "email");
                label(b, 0, 1, "score");
                label(b, 1, 0, "a@school.edu");
                number(b, 1, 1, 92.5);
            } else {
                label(b, 0, 0, "nothing");
            }
        }),
    );
    let options = ReaderOptions {
        sheet: Some("Scores".into()),
        ..ReaderOptions::default()
    };
    let r = read_with(&path, &options).expect("a small .xls reads");
    assert_eq!(r.headers, ["email", "score"]);
    assert_eq!(r.rows.len(), 1);
    assert_eq!(r.rows[0].row, 2);
    assert_eq!(r.rows[0].values[0], Value::Text("a@school.edu".into()));
    assert_eq!(r.rows[0].values[1], Value::Float(92.5));
}
