//! Issue 10 item 13: a score cell formatted as a percentage (`92.5%`, stored as 0.925) is read
//! as the number it shows, 92.5, in every spreadsheet format. `.xlsx` is pinned in
//! `unheaded.rs` (`a_percentage_cell_is_read_as_the_number_it_shows`); these pin `.ods` and
//! `.xls`, whose cell formats calamine does not expose. The fixtures are built here.
mod common;

use calamine::{Data, Reader};
use common::{read, read_with, write_ods};
use registrar_formats::{ReaderOptions, Value};
use std::io::Write;
use std::path::Path;

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

const CONTENT_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet>"#;
const CONTENT_TAIL: &str = "</office:spreadsheet></office:body></office:document-content>";

fn s(v: &str) -> String {
    format!(
        r#"<table:table-cell office:value-type="string"><text:p>{v}</text:p></table:table-cell>"#
    )
}

fn pct(v: &str, attrs: &str) -> String {
    format!(
        r#"<table:table-cell office:value-type="percentage" office:value="{v}"{attrs}><text:p>{v}</text:p></table:table-cell>"#
    )
}

fn float(v: &str) -> String {
    format!(
        r#"<table:table-cell office:value-type="float" office:value="{v}"><text:p>{v}</text:p></table:table-cell>"#
    )
}

const BLANK: &str = "<table:table-cell/>";

/// Issue 10 item 13, `.ods`: a `percentage` cell is read as shown, also when its cell is
/// repeated (rows and columns), after a covered (merged) cell, and with blank rows and a blank
/// column before the table's first value; plain numbers and the other sheet are untouched.
#[test]
fn an_ods_percentage_cell_is_read_as_shown() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grades.ods");
    let row = |cells: &[String]| {
        format!(
            "<table:table-row>{BLANK}{}</table:table-row>",
            cells.concat()
        )
    };
    // The first sheet has a percentage where the grades sheet has a plain number (E4).
    let notes = format!(
        r#"<table:table table:name="Notes"><table:table-row table:number-rows-repeated="2">{BLANK}</table:table-row>{}{}</table:table>"#,
        row(&[s("email"), s("score"), s("note"), s("bonus")]),
        row(&[s("n@school.edu"), float("0.925"), s("x"), pct("0.925", "")]),
    );
    let grades = format!(
        r#"<table:table table:name="Grades"><table:table-column table:number-columns-repeated="5"/><table:table-row table:number-rows-repeated="2"><table:table-cell table:number-columns-repeated="5"/></table:table-row>{}{}<table:table-row table:number-rows-repeated="2">{BLANK}{}{}{}</table:table-row><table:table-row>{BLANK}{}<table:covered-table-cell/>{}{}</table:table-row><table:table-row table:number-rows-repeated="1048570"><table:table-cell table:number-columns-repeated="1024"/></table:table-row></table:table>"#,
        row(&[s("email"), s("score"), s("note"), s("bonus")]),
        row(&[s("a@school.edu"), pct("0.925", ""), s("ok"), float("0.925")]),
        s("r@school.edu"),
        pct("0.7", r#" table:number-columns-repeated="2""#),
        float("0.1"),
        // Spans B and C: C is a covered cell.
        r#"<table:table-cell table:number-columns-spanned="2" office:value-type="string"><text:p>c@school.edu</text:p></table:table-cell>"#,
        float("0.5"),
        pct("0.05", ""),
    );
    write_ods(
        &path,
        &format!("{CONTENT_HEAD}{notes}{grades}{CONTENT_TAIL}"),
    );

    let options = ReaderOptions {
        sheet: Some("Grades".into()),
        ..ReaderOptions::default()
    };
    let r = read_with(&path, &options).unwrap();
    assert!(r.issues.is_empty(), "{:?}", r.issues);
    assert_eq!(r.headers, ["", "email", "score", "note", "bonus"]);
    assert_eq!(r.header_row, 3);
    assert_eq!(r.numbers(), [4, 5, 6, 7]);
    let values: Vec<_> = r.rows.iter().map(|r| r.values[1..].to_vec()).collect();
    assert_eq!(
        values,
        [
            vec![
                text("a@school.edu"),
                Value::Float(92.5),
                text("ok"),
                Value::Float(0.925)
            ],
            vec![
                text("r@school.edu"),
                Value::Float(70.0),
                Value::Float(70.0),
                Value::Float(0.1)
            ],
            vec![
                text("r@school.edu"),
                Value::Float(70.0),
                Value::Float(70.0),
                Value::Float(0.1)
            ],
            vec![
                text("c@school.edu"),
                Value::Empty,
                Value::Float(0.5),
                Value::Float(5.0)
            ],
        ]
    );

    // The first sheet, read by default, has its own percentage cell.
    let r = read(&path).unwrap();
    assert_eq!(
        r.rows[0].values[1..],
        [
            text("n@school.edu"),
            Value::Float(0.925),
            text("x"),
            Value::Float(92.5)
        ]
    );
}

fn rec(out: &mut Vec<u8>, typ: u16, data: &[u8]) {
    out.extend_from_slice(&typ.to_le_bytes());
    out.extend_from_slice(&(data.len() as u16).to_le_bytes());
    out.extend_from_slice(data);
}

/// BIFF `BOF` of `version` (0x0600 BIFF8, 0x0500 BIFF5) for substream `dt` (0x0005
/// globals, 0x0010 worksheet).
fn bof(out: &mut Vec<u8>, version: u16, dt: u16) {
    let mut d = Vec::new();
    d.extend_from_slice(&version.to_le_bytes());
    d.extend_from_slice(&dt.to_le_bytes());
    d.resize(16, 0);
    rec(out, 0x0809, &d);
}

/// A cell record's row, column and XF index.
fn head(row: u16, col: u16, xf: u16) -> Vec<u8> {
    [row.to_le_bytes(), col.to_le_bytes(), xf.to_le_bytes()].concat()
}

fn label(out: &mut Vec<u8>, biff8: bool, row: u16, col: u16, v: &str) {
    let mut d = head(row, col, 0);
    d.extend_from_slice(&(v.len() as u16).to_le_bytes());
    if biff8 {
        d.push(0); // compressed (8-bit) characters
    }
    d.extend_from_slice(v.as_bytes());
    rec(out, 0x0204, &d);
}

fn number(out: &mut Vec<u8>, row: u16, col: u16, xf: u16, v: f64) {
    let mut d = head(row, col, xf);
    d.extend_from_slice(&v.to_le_bytes());
    rec(out, 0x0203, &d);
}

/// An RK number: the upper 30 bits of an f64 (exact for 0.5, 0.25).
fn rk(v: f64) -> [u8; 4] {
    (((v.to_bits() >> 32) as u32) & !3).to_le_bytes()
}

fn rk_cell(out: &mut Vec<u8>, row: u16, col: u16, xf: u16, v: f64) {
    let mut d = head(row, col, xf);
    d.extend_from_slice(&rk(v));
    rec(out, 0x027E, &d);
}

fn mulrk(out: &mut Vec<u8>, row: u16, col: u16, cells: &[(u16, f64)]) {
    let mut d = Vec::new();
    d.extend_from_slice(&row.to_le_bytes());
    d.extend_from_slice(&col.to_le_bytes());
    for (xf, v) in cells {
        d.extend_from_slice(&xf.to_le_bytes());
        d.extend_from_slice(&rk(*v));
    }
    d.extend_from_slice(&(col + cells.len() as u16 - 1).to_le_bytes());
    rec(out, 0x00BD, &d);
}

/// A FORMULA cell whose cached result is the number `v` (no parsed expression).
fn formula(out: &mut Vec<u8>, row: u16, col: u16, xf: u16, v: f64) {
    let mut d = head(row, col, xf);
    d.extend_from_slice(&v.to_le_bytes());
    d.extend_from_slice(&[0; 6]); // grbit, chn
    d.extend_from_slice(&0u16.to_le_bytes()); // cce
    rec(out, 0x0006, &d);
}

/// A `Workbook` stream: globals (BOF, CODEPAGE, `globals`, one BOUNDSHEET per sheet, EOF),
/// then each sheet (BOF, DIMENSIONS, its records, EOF).
fn workbook(version: u16, globals: &[u8], sheets: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let biff8 = version == 0x0600;
    let mut g = Vec::new();
    bof(&mut g, version, 0x0005);
    let codepage: u16 = if biff8 { 1200 } else { 1252 };
    rec(&mut g, 0x0042, &codepage.to_le_bytes());
    g.extend_from_slice(globals);
    let bound_len: usize = sheets
        .iter()
        .map(|(n, _)| 4 + 6 + 1 + usize::from(biff8) + n.len())
        .sum();
    let mut pos = g.len() + bound_len + 4;
    let mut bodies = Vec::new();
    for (_, cells) in sheets {
        let mut b = Vec::new();
        bof(&mut b, version, 0x0010);
        let mut dims = Vec::new();
        if biff8 {
            dims.extend_from_slice(&0u32.to_le_bytes());
            dims.extend_from_slice(&3u32.to_le_bytes());
        } else {
            dims.extend_from_slice(&0u16.to_le_bytes());
            dims.extend_from_slice(&3u16.to_le_bytes());
        }
        dims.extend_from_slice(&[0, 0, 8, 0, 0, 0]);
        rec(&mut b, 0x0200, &dims);
        b.extend_from_slice(cells);
        rec(&mut b, 0x000A, &[]);
        bodies.push(b);
    }
    for ((name, _), body) in sheets.iter().zip(&bodies) {
        let mut d = (pos as u32).to_le_bytes().to_vec();
        d.extend_from_slice(&[0, 0]); // visible worksheet
        d.push(name.len() as u8);
        if biff8 {
            d.push(0);
        }
        d.extend_from_slice(name.as_bytes());
        rec(&mut g, 0x0085, &d);
        pos += body.len();
    }
    rec(&mut g, 0x000A, &[]);
    for b in bodies {
        g.extend_from_slice(&b);
    }
    g
}

/// An XF record (BIFF8 20 bytes, BIFF5 16) with format index `ifmt`.
fn xf(out: &mut Vec<u8>, biff8: bool, ifmt: u16) {
    let mut d = vec![0, 0];
    d.extend_from_slice(&ifmt.to_le_bytes());
    d.resize(if biff8 { 20 } else { 16 }, 0);
    rec(out, 0x00E0, &d);
}

fn write_xls(path: &Path, stream: &[u8]) {
    let mut cfb = cfb::create(path).unwrap();
    let mut s = cfb.create_stream("/Workbook").unwrap();
    s.write_all(stream).unwrap();
    drop(s);
    cfb.flush().unwrap();
}

/// A grades workbook: sheet "Notes" (a percent cell where "Grades" has a plain one), then
/// "Grades": email, score (NUMBER, custom `0.0%`), plain (NUMBER, no format), rk (RK,
/// builtin `0%`), two MULRK cells (percent, plain), formula (FORMULA, `0%`), note (NUMBER,
/// custom `0.0"%"`: a quoted percent sign, not a percentage). XF 0 general, 1 builtin 9
/// (`0%`), 2 custom 164 (`0.0%`), 3 custom 165 (`0.0"%"`). A BIFF5 file has no FORMAT
/// records and only the builtin formats.
fn grades_xls(path: &Path, version: u16) {
    let biff8 = version == 0x0600;
    let mut globals = Vec::new();
    if biff8 {
        for (ifmt, code) in [(164u16, "0.0%"), (165, "0.0\"%\"")] {
            let mut d = ifmt.to_le_bytes().to_vec();
            d.extend_from_slice(&(code.len() as u16).to_le_bytes());
            d.push(0);
            d.extend_from_slice(code.as_bytes());
            rec(&mut globals, 0x041E, &d);
        }
    }
    for ifmt in [
        0,
        9,
        if biff8 { 164 } else { 9 },
        if biff8 { 165 } else { 0 },
    ] {
        xf(&mut globals, biff8, ifmt);
    }
    let headers = |b: &mut Vec<u8>| {
        for (i, h) in [
            "email",
            "score",
            "plain",
            "rk",
            "mulrk_pct",
            "mulrk_plain",
            "formula",
            "note",
        ]
        .iter()
        .enumerate()
        {
            label(b, biff8, 0, i as u16, h);
        }
    };
    let mut notes = Vec::new();
    headers(&mut notes);
    label(&mut notes, biff8, 1, 0, "n@school.edu");
    number(&mut notes, 1, 2, 2, 0.925);
    let mut grades = Vec::new();
    headers(&mut grades);
    label(&mut grades, biff8, 1, 0, "a@school.edu");
    number(&mut grades, 1, 1, 2, 0.925);
    number(&mut grades, 1, 2, 0, 0.925);
    rk_cell(&mut grades, 1, 3, 1, 0.5);
    mulrk(&mut grades, 1, 4, &[(1, 0.25), (0, 0.25)]);
    formula(&mut grades, 1, 6, 1, 0.8);
    number(&mut grades, 1, 7, 3, 0.4);
    write_xls(
        path,
        &workbook(version, &globals, &[("Notes", notes), ("Grades", grades)]),
    );
}

fn grades_options() -> ReaderOptions {
    ReaderOptions {
        sheet: Some("Grades".into()),
        ..ReaderOptions::default()
    }
}

/// calamine itself reads the fixture, as fractions.
fn calamine_grades_row(path: &Path) -> Vec<Data> {
    let mut wb: calamine::Xls<_> = calamine::open_workbook(path).expect("calamine reads it");
    assert_eq!(wb.sheet_names(), ["Notes", "Grades"]);
    let range = wb.worksheet_range("Grades").unwrap();
    range.rows().nth(1).unwrap().to_vec()
}

/// Issue 10 item 13, `.xls`: a NUMBER, RK, MULRK or FORMULA cell whose XF has a percent
/// format (builtin `0%` or a custom `0.0%`) is read as shown; a plain cell and a custom
/// format with a quoted `"%"` are not, and neither is the other sheet's percent cell.
#[test]
fn an_xls_percent_formatted_cell_is_read_as_shown() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grades.xls");
    grades_xls(&path, 0x0600);
    assert_eq!(
        calamine_grades_row(&path),
        [
            Data::String("a@school.edu".into()),
            Data::Float(0.925),
            Data::Float(0.925),
            Data::Float(0.5),
            Data::Float(0.25),
            Data::Float(0.25),
            Data::Float(0.8),
            Data::Float(0.4),
        ]
    );
    let r = read_with(&path, &grades_options()).unwrap();
    assert!(r.issues.is_empty(), "{:?}", r.issues);
    assert_eq!(
        r.headers,
        [
            "email",
            "score",
            "plain",
            "rk",
            "mulrk_pct",
            "mulrk_plain",
            "formula",
            "note"
        ]
    );
    assert_eq!(
        r.rows[0].values,
        [
            text("a@school.edu"),
            Value::Float(92.5),
            Value::Float(0.925),
            Value::Float(50.0),
            Value::Float(25.0),
            Value::Float(0.25),
            Value::Float(80.0),
            Value::Float(0.4),
        ]
    );
    // "Notes", the first sheet, has its percent cell in the "plain" column.
    let r = read(&path).unwrap();
    assert_eq!(r.rows[0].values[2], Value::Float(92.5));
}

/// The documented limit: a BIFF5 workbook (Excel 95 and before) is not examined, so its
/// percent cells are read as the stored fraction, as before.
#[test]
fn a_biff5_xls_percent_cell_is_still_read_as_the_fraction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grades.xls");
    grades_xls(&path, 0x0500);
    assert_eq!(calamine_grades_row(&path)[1], Data::Float(0.925));
    let r = read_with(&path, &grades_options()).unwrap();
    assert_eq!(r.rows[0].values[1], Value::Float(0.925));
    assert_eq!(r.rows[0].values[3], Value::Float(0.5));
}
