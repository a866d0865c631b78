//! Spreadsheet reader: cell types, row numbers, date systems and hostile workbooks.
mod common;

use chrono::NaiveDate;
use common::{file_issue, read, read_with, write};
use registrar_formats::{ReaderOptions, Value};
use registrar_model::IssueCode;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use std::io::Write;
use std::path::{Path, PathBuf};

fn date(y: i32, m: u32, d: u32) -> Value {
    Value::Date(NaiveDate::from_ymd_opt(y, m, d).unwrap())
}

/// Writes an .xlsx from raw sheet XML (`<row>` elements), optionally on the 1904 system.
/// Style 1 is a date format (numFmtId 14).
fn raw_xlsx(path: &Path, rows_xml: &str, dimension: &str, date1904: bool) {
    let f = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(f);
    let opts = zip::write::SimpleFileOptions::default();
    let mut put = |name: &str, body: &str| {
        zip.start_file(name, opts).unwrap();
        zip.write_all(body.as_bytes()).unwrap();
    };
    put(
        "[Content_Types].xml",
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>"#,
    );
    put(
        "_rels/.rels",
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
    );
    let pr = if date1904 {
        r#"<workbookPr date1904="1"/>"#
    } else {
        "<workbookPr/>"
    };
    put(
        "xl/workbook.xml",
        &format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">{pr}<sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>"#
        ),
    );
    put(
        "xl/_rels/workbook.xml.rels",
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>"#,
    );
    put(
        "xl/styles.xml",
        r#"<?xml version="1.0" encoding="UTF-8"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/></cellXfs></styleSheet>"#,
    );
    put(
        "xl/worksheets/sheet1.xml",
        &format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="{dimension}"/><sheetData>{rows_xml}</sheetData></worksheet>"#
        ),
    );
    zip.finish().unwrap();
}

fn text_cell(r: &str, s: &str) -> String {
    format!(r#"<c r="{r}" t="inlineStr"><is><t>{s}</t></is></c>"#)
}

#[test]
fn xlsxwriter_workbook_cell_types_and_row_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("courses.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let datefmt = Format::new().set_num_format("yyyy-mm-dd");
    let dtfmt = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    // Leading blank rows 1-2: the header is on row 3.
    for (c, h) in [" course_code ", "credits", "active", "start", "id", "at"]
        .iter()
        .enumerate()
    {
        ws.write_string(2, c as u16, *h).unwrap();
    }
    ws.write_string(3, 0, "MATH101").unwrap();
    ws.write_number(3, 1, 3.0).unwrap();
    ws.write_boolean(3, 2, true).unwrap();
    ws.write_datetime_with_format(3, 3, ExcelDateTime::from_ymd(2024, 9, 2).unwrap(), &datefmt)
        .unwrap();
    ws.write_string(3, 4, "00123").unwrap();
    ws.write_datetime_with_format(
        3,
        5,
        ExcelDateTime::parse_from_str("2024-09-02 08:30:00").unwrap(),
        &dtfmt,
    )
    .unwrap();
    // Row 5 blank, row 6 data with a short row and a cell beyond the header.
    ws.write_string(5, 0, "BIO200").unwrap();
    ws.write_number(5, 1, 2.5).unwrap();
    ws.write_string(5, 9, "beyond the header").unwrap();
    wb.save(&path).unwrap();

    let r = read(&path).unwrap();
    assert_eq!(
        r.headers,
        ["course_code", "credits", "active", "start", "id", "at"]
    );
    assert_eq!(r.header_row, 3);
    // Issue 10 item 13 changed this on purpose: row 6 has a cell beyond the header (column
    // J), so it is `malformed-row` at row 6 (as CSV makes a longer record), no longer a row
    // read without that cell.
    assert_eq!(r.numbers(), [4]);
    let v = &r.rows[0].values;
    assert_eq!(v[0], Value::Text("MATH101".into()));
    assert_eq!(v[1], Value::Float(3.0));
    assert_eq!(v[2], Value::Bool(true));
    assert_eq!(v[3], date(2024, 9, 2));
    assert_eq!(v[4], Value::Text("00123".into()));
    assert_eq!(v[5].to_string(), "2024-09-02 08:30:00");
    assert_eq!(r.issues.len(), 1, "{:?}", r.issues);
    assert_eq!(r.issues[0].code, registrar_model::IssueCode::MalformedRow);
    assert_eq!(r.issues[0].row, Some(6));
    assert!(r.issues[0].message.contains("column J (column 10)"));
}

#[test]
fn sheet_option_and_unknown_sheet() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.xlsx");
    let mut wb = Workbook::new();
    wb.add_worksheet()
        .set_name("Intro")
        .unwrap()
        .write_string(0, 0, "x")
        .unwrap();
    let ws = wb.add_worksheet().set_name("People").unwrap();
    ws.write_string(0, 0, "email").unwrap();
    ws.write_string(1, 0, "a@x.org").unwrap();
    wb.save(&path).unwrap();

    let options = ReaderOptions {
        sheet: Some("people".into()),
        ..Default::default()
    };
    let r = read_with(&path, &options).unwrap();
    assert_eq!(r.headers, ["email"]);
    assert_eq!(r.texts(), [["a@x.org"]]);

    let options = ReaderOptions {
        sheet: Some("Nope".into()),
        ..Default::default()
    };
    let Err(e) = read_with(&path, &options) else {
        panic!("unknown sheet")
    };
    let issue = file_issue(e);
    assert!(
        issue.message.contains("\"Intro\", \"People\""),
        "{}",
        issue.message
    );
}

#[test]
fn serials_59_60_61_error_cell_and_blank_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grades.xlsx");
    let rows = format!(
        r#"<row r="2">{}{}</row><row r="3"><c r="A3" s="1"><v>59</v></c><c r="B3" t="e"><v>#N/A</v></c></row><row r="5"><c r="A5" s="1"><v>60</v></c><c r="B5"><v>1</v></c></row><row r="6"><c r="A6" s="1"><v>61</v></c><c r="B6" t="b"><v>0</v></c></row>"#,
        text_cell("A2", "graded_on"),
        text_cell("B2", "score"),
    );
    raw_xlsx(&path, &rows, "A2:B6", false);
    let r = read(&path).unwrap();
    assert!(r.issues.is_empty(), "{:?}", r.issues);
    assert_eq!(r.header_row, 2);
    assert_eq!(r.numbers(), [3, 5, 6]);
    assert_eq!(r.rows[0].values[0], date(1900, 2, 28));
    assert_eq!(r.rows[0].values[1], Value::Error("#N/A".into()));
    assert!(matches!(&r.rows[1].values[0], Value::Error(e) if e.contains("serial 60")));
    assert_eq!(r.rows[2].values[0], date(1900, 3, 1));
    assert_eq!(r.rows[2].values[1], Value::Bool(false));
}

#[test]
fn workbook_on_the_1904_date_system() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("attendance.xlsx");
    let rows = format!(
        r#"<row r="1">{}</row><row r="2"><c r="A2" s="1"><v>0</v></c></row><row r="3"><c r="A3" s="1"><v>43721</v></c></row><row r="4"><c r="A4" s="1"><v>60</v></c></row>"#,
        text_cell("A1", "date")
    );
    raw_xlsx(&path, &rows, "A1:A4", true);
    let r = read(&path).unwrap();
    assert_eq!(r.rows[0].values[0], date(1904, 1, 1));
    // 43721 in 1904 = 45183 in 1900 = 2023-09-14.
    assert_eq!(r.rows[1].values[0], date(2023, 9, 14));
    assert_eq!(r.rows[2].values[0], date(1904, 3, 1));
}

#[test]
fn sparse_sheet_a1_and_xfd1048576_reads_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.xlsx");
    let rows = format!(
        r#"<row r="1">{}</row><row r="2">{}</row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row>"#,
        text_cell("A1", "email"),
        text_cell("A2", "a@x.org")
    );
    raw_xlsx(&path, &rows, "A1:XFD1048576", false);
    let start = std::time::Instant::now();
    let r = read(&path).unwrap();
    assert!(start.elapsed().as_secs() < 5);
    assert_eq!(r.headers, ["email"]);
    assert_eq!(r.numbers(), [2]);
}

#[test]
fn zip_bomb_is_refused_before_inflating() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.xlsx");
    // 80 MiB of blank rows compress to a few KB: over the inflate-ratio limit.
    let filler = "<row/>".repeat(80 * 1024 * 1024 / 6);
    raw_xlsx(&path, &filler, "A1", false);
    assert!(std::fs::metadata(&path).unwrap().len() < 2 * 1024 * 1024);
    let Err(e) = read(&path) else { panic!("bomb") };
    let issue = file_issue(e);
    assert_eq!(issue.code, IssueCode::MalformedFile);
    assert!(issue.message.contains("inflates"), "{}", issue.message);

    // A small file over a small --max-file-size limit once inflated.
    let path = dir.path().join("courses.xlsx");
    raw_xlsx(&path, &"<row/>".repeat(300_000), "A1", false);
    let options = ReaderOptions {
        max_file_size: 1024 * 1024,
        ..Default::default()
    };
    let Err(e) = read_with(&path, &options) else {
        panic!("over limit")
    };
    assert!(file_issue(e).message.contains("the workbook inflates to"));
}

#[test]
fn garbage_workbooks_are_file_errors() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a.xlsx", "a.xls", "a.ods"] {
        let p = write(dir.path(), name, b"this is not a workbook at all");
        let Err(e) = read(&p) else {
            panic!("{name} must fail")
        };
        assert_eq!(file_issue(e).code, IssueCode::MalformedFile, "{name}");
    }
}

#[test]
fn max_rows_stops_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "email").unwrap();
    for i in 1..=10 {
        ws.write_string(i, 0, format!("u{i}@x.org")).unwrap();
    }
    wb.save(&path).unwrap();
    let options = ReaderOptions {
        max_rows: 3,
        ..Default::default()
    };
    let r = read_with(&path, &options).unwrap();
    assert_eq!(r.numbers(), [2, 3, 4]);
    assert_eq!(r.issues.len(), 1);
    assert_eq!(r.issues[0].code, IssueCode::MalformedFile);
}
