//! Issue 10 item 13: a spreadsheet value in a column that has no header is never dropped
//! silently: its row gets an `unknown-column` warning naming the column letter.
mod common;

use common::read;
use registrar_formats::Value;
use registrar_model::IssueCode;
use rust_xlsxwriter::Workbook;

#[test]
fn a_spreadsheet_value_in_a_column_without_a_header_is_reported() {
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
    wb.save(&path).unwrap();

    let r = read(&path).unwrap();
    let rows: Vec<u64> = r.rows.iter().map(|x| x.row).collect();
    assert_eq!(rows, [2, 3, 4, 5]);
    assert_eq!(r.rows[1].values[2], Value::Text("Algebra".into()));
    assert_eq!(r.rows[0].values[0], Value::Text("MATH1".into()));
    assert!(r.issues.iter().all(|i| !i.is_error()));
    let issues: Vec<(IssueCode, Option<u64>, &str)> = r
        .issues
        .iter()
        .map(|i| (i.code, i.row, i.message.as_str()))
        .collect();
    assert_eq!(issues.len(), 2, "{issues:?}");
    assert_eq!(
        (issues[0].0, issues[0].1),
        (IssueCode::UnknownColumn, Some(3))
    );
    assert!(issues[0].2.contains("column D"), "{}", issues[0].2);
    assert_eq!(
        (issues[1].0, issues[1].1),
        (IssueCode::UnknownColumn, Some(4))
    );
    assert!(issues[1].2.contains("column B"), "{}", issues[1].2);
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
