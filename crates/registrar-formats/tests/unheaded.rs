//! Issue 10 item 13: a spreadsheet value in a column that has no header is never dropped
//! silently: as in CSV (a record with more fields than the header), its row is
//! `malformed-row`, an error naming the row and the column by letter and number, and the row's
//! cells as read are given back for the rejects file.
mod common;

use common::{drain, read, write_ods};
use registrar_formats::{open, Event, ReaderOptions, Value};
use registrar_model::IssueCode;
use rust_xlsxwriter::Workbook;
use std::path::Path;

/// An issue's code, row and message, with what `take_malformed_values` gave for it.
type Seen = (IssueCode, Option<u64>, String, Option<Vec<Value>>);

/// Reads a file, keeping each issue with what `take_malformed_values` gave for it.
fn read_malformed(path: &Path) -> Vec<Seen> {
    let mut source = open(path, &ReaderOptions::default()).unwrap();
    let mut out = Vec::new();
    while let Some(event) = source.next() {
        if let Event::Issue(i) = event.unwrap() {
            let cells = source.take_malformed_values();
            out.push((i.code, i.row, i.message, cells));
        }
    }
    out
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

/// Was: the row got an `unknown-column` *warning* and was imported without the value, while
/// CSV makes the same row `malformed-row`. Now it is the same error as CSV's.
#[test]
fn a_spreadsheet_value_in_a_column_without_a_header_is_a_malformed_row_like_csv() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("courses.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    // Header: A course_code, B (blank), C course_name.
    ws.write_string(0, 0, "course_code").unwrap();
    ws.write_string(0, 2, "course_name").unwrap();
    ws.write_string(1, 0, "MATH1").unwrap();
    ws.write_string(1, 2, "Calculus").unwrap();
    // Row 3: a value to the right of the header (column D).
    ws.write_string(2, 0, "MATH2").unwrap();
    ws.write_string(2, 2, "Algebra").unwrap();
    ws.write_string(2, 3, "stray").unwrap();
    // Row 4: a value under the blank header cell (column B).
    ws.write_string(3, 0, "MATH3").unwrap();
    ws.write_string(3, 1, "lost").unwrap();
    ws.write_string(3, 2, "Geometry").unwrap();
    ws.write_string(4, 0, "MATH4").unwrap();
    ws.write_string(4, 2, "Logic").unwrap();
    // Row 6: nothing but a value without a header (column F): not a blank row.
    ws.write_string(5, 5, "orphan").unwrap();
    wb.save(&path).unwrap();

    let r = read(&path).unwrap();
    let rows: Vec<u64> = r.rows.iter().map(|x| x.row).collect();
    assert_eq!(rows, [2, 5], "the malformed rows are not yielded");
    assert_eq!(r.rows[0].values[0], text("MATH1"));
    let issues = read_malformed(&path);
    assert_eq!(issues.len(), 3, "{issues:?}");
    for (i, (row, col)) in [
        (3, "column D (column 4)"),
        (4, "column B (column 2)"),
        (6, "column F (column 6)"),
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(
            (issues[i].0, issues[i].1),
            (IssueCode::MalformedRow, Some(row))
        );
        assert!(issues[i].2.contains(col), "{}", issues[i].2);
    }
    assert!(r.issues.iter().all(|i| i.is_error()));
    // The cells as read, each at its own column.
    assert_eq!(
        issues[0].3.as_deref(),
        Some(&[text("MATH2"), Value::Empty, text("Algebra"), text("stray")][..])
    );
    assert_eq!(
        issues[1].3.as_deref(),
        Some(&[text("MATH3"), text("lost"), text("Geometry")][..])
    );
    let orphan = issues[2].3.as_deref().unwrap();
    assert_eq!((orphan.len(), &orphan[5]), (6, &text("orphan")));
}

/// A stray cell far to the right (column XFD) is named, and the row given back only up to
/// the bound, so a hostile sheet cannot make every rejected row 16,384 cells wide.
#[test]
fn a_spreadsheet_value_far_beyond_the_header_is_named_and_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("courses.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "course_code").unwrap();
    ws.write_string(1, 0, "MATH1").unwrap();
    ws.write_string(1, 16_383, "far").unwrap();
    wb.save(&path).unwrap();
    let issues = read_malformed(&path);
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert!(
        issues[0].2.contains("column XFD (column 16384)"),
        "{}",
        issues[0].2
    );
    let cells = issues[0].3.as_deref().unwrap();
    assert_eq!(cells, [text("MATH1")]);
}

/// The same rule for `.ods` (read whole by calamine, assembled by the same code).
#[test]
fn an_ods_value_in_a_column_without_a_header_is_a_malformed_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("courses.ods");
    let content = r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="Sheet1">
<table:table-row><table:table-cell office:value-type="string"><text:p>course_code</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>course_name</text:p></table:table-cell></table:table-row>
<table:table-row><table:table-cell office:value-type="string"><text:p>MATH1</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>Calculus</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>stray</text:p></table:table-cell></table:table-row>
<table:table-row><table:table-cell office:value-type="string"><text:p>MATH2</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>Algebra</text:p></table:table-cell></table:table-row>
</table:table></office:spreadsheet></office:body></office:document-content>"#;
    write_ods(&path, content);

    let mut source = open(&path, &ReaderOptions::default()).unwrap();
    let r = drain(&mut *source).unwrap();
    assert_eq!(r.numbers(), [3]);
    let issues = read_malformed(&path);
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(
        (issues[0].0, issues[0].1),
        (IssueCode::MalformedRow, Some(2))
    );
    assert!(
        issues[0].2.contains("column C (column 3)"),
        "{}",
        issues[0].2
    );
    assert_eq!(
        issues[0].3.as_deref(),
        Some(&[text("MATH1"), text("Calculus"), text("stray")][..])
    );
}

/// Issue 10 item 13: a score cell formatted as a percentage (`92.5%`, stored as 0.925) is read
/// as the number it shows, 92.5.
#[test]
fn a_percentage_cell_is_read_as_the_number_it_shows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grades.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let pct = rust_xlsxwriter::Format::new().set_num_format("0.0%");
    ws.write_string(0, 0, "score").unwrap();
    ws.write_string(0, 1, "plain").unwrap();
    ws.write_number_with_format(1, 0, 0.925, &pct).unwrap();
    ws.write_number(1, 1, 0.925).unwrap();
    wb.save(&path).unwrap();
    let r = read(&path).unwrap();
    assert_eq!(r.rows[0].values[0], Value::Float(92.5));
    assert_eq!(r.rows[0].values[1], Value::Float(0.925));
}
