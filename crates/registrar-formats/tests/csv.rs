//! CSV/TSV reader edge cases.
mod common;

use common::{file_issue, read, read_with, write};
use registrar_formats::{ReaderOptions, Value};
use registrar_model::IssueCode;

#[test]
fn utf8_bom_and_crlf() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "users.csv",
        b"\xEF\xBB\xBF Email ,Role\r\na@x.org,student\r\nb@x.org,teacher\r\n",
    );
    let r = read(&p).unwrap();
    assert_eq!(r.headers, ["Email", "Role"]);
    assert_eq!(r.texts(), [["a@x.org", "student"], ["b@x.org", "teacher"]]);
    assert_eq!(r.numbers(), [2, 3]);
    assert!(r.issues.is_empty());
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let mut out = if big_endian {
        vec![0xFE, 0xFF]
    } else {
        vec![0xFF, 0xFE]
    };
    for u in text.encode_utf16() {
        if big_endian {
            out.extend_from_slice(&u.to_be_bytes());
        } else {
            out.extend_from_slice(&u.to_le_bytes());
        }
    }
    out
}

#[test]
fn utf16_le_and_be_with_bom() {
    let dir = tempfile::tempdir().unwrap();
    for be in [false, true] {
        let p = write(
            dir.path(),
            "courses.csv",
            &utf16("course_code\tcourse_name\r\nMATH1\tÉtude ü\r\n", be),
        );
        let r = read(&p).unwrap();
        assert_eq!(r.headers, ["course_code", "course_name"], "be={be}");
        assert_eq!(r.texts(), [["MATH1", "Étude ü"]]);
        assert_eq!(r.numbers(), [2]);
    }
}

#[test]
fn windows_1252_with_encoding_label() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "users.csv", b"name,city\nJos\xE9,Z\xFCrich\n");
    let options = ReaderOptions {
        encoding: Some("windows-1252".into()),
        ..Default::default()
    };
    let r = read_with(&p, &options).unwrap();
    assert_eq!(r.texts(), [["José", "Zürich"]]);
    // latin1 is a WHATWG label for windows-1252 too.
    let options = ReaderOptions {
        encoding: Some("latin1".into()),
        ..Default::default()
    };
    assert_eq!(
        read_with(&p, &options).unwrap().texts(),
        [["José", "Zürich"]]
    );
}

#[test]
fn unknown_encoding_label_is_a_file_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "users.csv", b"a\n1\n");
    let options = ReaderOptions {
        encoding: Some("klingon-8".into()),
        ..Default::default()
    };
    let Err(e) = read_with(&p, &options) else {
        panic!("must fail")
    };
    let issue = file_issue(e);
    assert_eq!(issue.code, IssueCode::InvalidEncoding);
    assert!(issue.message.contains("klingon-8"));
}

#[test]
fn invalid_utf8_gives_one_issue_at_the_first_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "users.csv",
        b"name,city\nok,fine\n\"multi\nline\",x\nJos\xE9,Z\xFCrich\nAn\xE9,B\xE9\n",
    );
    let r = read(&p).unwrap();
    assert_eq!(r.texts(), [["ok", "fine"], ["multi\nline", "x"]]);
    assert_eq!(r.issues.len(), 1);
    let issue = &r.issues[0];
    assert_eq!(issue.code, IssueCode::InvalidEncoding);
    assert_eq!(issue.row, Some(5));
    assert!(issue.message.contains("--encoding windows-1252"));
    assert!(!issue.message.contains("Jos"));
}

#[test]
fn invalid_utf8_inside_a_multi_line_field_names_the_physical_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "users.csv", b"a,b\n\"one\ntwo\n\xFF\",x\n");
    let r = read(&p).unwrap();
    assert_eq!(r.issues.len(), 1);
    assert_eq!(r.issues[0].row, Some(4));
}

#[test]
fn invalid_header_is_a_file_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "users.csv", b"na\xEFme,city\nx,y\n");
    let Err(e) = read(&p) else {
        panic!("must fail")
    };
    let issue = file_issue(e);
    assert_eq!(issue.code, IssueCode::InvalidEncoding);
    assert_eq!(issue.row, Some(1));
}

#[test]
fn multi_line_quoted_fields_shift_following_rows() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "courses.csv",
        b"code,desc,credits\nA,\"line1\nline2, with comma\nline3 \"\"quoted\"\"\",3\nB,plain,4\n\nC,\"x;y\",5\n",
    );
    let r = read(&p).unwrap();
    assert!(r.issues.is_empty(), "{:?}", r.issues);
    assert_eq!(r.numbers(), [2, 5, 7]);
    assert_eq!(
        r.texts()[0],
        ["A", "line1\nline2, with comma\nline3 \"quoted\"", "3"]
    );
}

#[test]
fn unbalanced_quote_is_reported_and_later_rows_survive() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "users.csv",
        b"email,first,last\na@x.org,Ann,Lee\nb@x.org,\"Bob,Ray\nc@x.org,Cy,Doe\nd@x.org,Di,Fox\n",
    );
    let r = read(&p).unwrap();
    assert_eq!(r.issues.len(), 1, "{:?}", r.issues);
    assert_eq!(r.issues[0].code, IssueCode::MalformedRow);
    assert_eq!(r.issues[0].row, Some(3));
    assert!(!r.issues[0].message.contains("Bob"));
    assert_eq!(r.numbers(), [2, 4, 5]);
    assert_eq!(r.texts()[1], ["c@x.org", "Cy", "Doe"]);
}

#[test]
fn unbalanced_quote_in_last_column_with_matching_count() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "users.csv",
        b"a,b,c\n1,2,\"oops\n3,4,5\n6,\"7\",8\n9,10,11\n",
    );
    let r = read(&p).unwrap();
    assert_eq!(r.issues.len(), 1, "{:?}", r.issues);
    assert_eq!(r.issues[0].row, Some(2));
    assert_eq!(r.numbers(), [3, 4, 5]);
    assert_eq!(r.texts()[1], ["6", "7", "8"]);
}

#[test]
fn delimiter_detection_and_override() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "a.csv", b"x;y;z\n1;2,5;3\n");
    assert_eq!(read(&p).unwrap().texts(), [["1", "2,5", "3"]]);
    let p = write(dir.path(), "b.csv", b"x\ty\n1\t2\n");
    assert_eq!(read(&p).unwrap().texts(), [["1", "2"]]);
    let p = write(dir.path(), "c.tsv", b"x,y\tz\n1,2\t3\n");
    assert_eq!(read(&p).unwrap().headers, ["x,y", "z"]);
    let p = write(dir.path(), "d.csv", b"x|y\n1|2\n");
    let options = ReaderOptions {
        delimiter: Some(b'|'),
        ..Default::default()
    };
    assert_eq!(read_with(&p, &options).unwrap().texts(), [["1", "2"]]);
}

#[test]
fn field_count_mismatch_and_blank_rows() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "a.csv",
        b"x,y,z\n1,secret-pw\n\n,,\n  , ,\n1,2,3\n1,2,3,4\n",
    );
    let r = read(&p).unwrap();
    assert_eq!(r.numbers(), [6]);
    let rows: Vec<_> = r.issues.iter().map(|i| i.row).collect();
    assert_eq!(rows, [Some(2), Some(7)]);
    assert!(r.issues.iter().all(|i| i.code == IssueCode::MalformedRow));
    assert!(r.issues[0].message.contains("2 fields"));
    assert!(r.issues[0].message.contains("has 3"));
    assert!(!r.issues[0].message.contains("secret"));
    assert_eq!(r.rows[0].values[0], Value::Text("1".into()));
}

#[test]
fn empty_fields_are_empty_values_and_text_is_not_trimmed() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "a.csv", b"x,y\n,00123 \n");
    let r = read(&p).unwrap();
    assert_eq!(
        r.rows[0].values,
        [Value::Empty, Value::Text("00123 ".into())]
    );
}

#[test]
fn limits() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "a.csv", b"x,y\n1,2\n3,4\n5,6\n");
    let options = ReaderOptions {
        max_rows: 2,
        ..Default::default()
    };
    let r = read_with(&p, &options).unwrap();
    assert_eq!(r.numbers(), [2, 3]);
    assert_eq!(r.issues.len(), 1);
    assert_eq!(r.issues[0].code, IssueCode::MalformedFile);

    let options = ReaderOptions {
        max_file_size: 10,
        ..Default::default()
    };
    let Err(e) = read_with(&p, &options) else {
        panic!("too big")
    };
    assert_eq!(file_issue(e).code, IssueCode::MalformedFile);

    let p = write(dir.path(), "b.csv", b"x,y\n1,0123456789abc\n2,3\n");
    let options = ReaderOptions {
        max_field_size: 10,
        ..Default::default()
    };
    let r = read_with(&p, &options).unwrap();
    assert_eq!(r.numbers(), [3]);
    assert_eq!(r.issues[0].row, Some(2));
    assert_eq!(r.issues[0].column.as_deref(), Some("y"));
}

#[test]
fn huge_field_is_refused_with_bounded_memory_and_reading_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = b"x,y\n1,2\n3,\"".to_vec();
    data.extend(std::iter::repeat_n(b'a', 20 * 1024 * 1024));
    data.extend_from_slice(b"\"\n4,5\n");
    let p = write(dir.path(), "a.csv", &data);
    let options = ReaderOptions {
        max_field_size: 64 * 1024,
        ..Default::default()
    };
    let r = read_with(&p, &options).unwrap();
    assert_eq!(r.issues.len(), 1, "{:?}", r.issues);
    assert_eq!(r.issues[0].code, IssueCode::MalformedRow);
    assert_eq!(r.issues[0].row, Some(3));
    assert_eq!(r.numbers(), [2, 4]);
}

#[test]
fn many_blank_lines_are_fast() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = b"x,y\n".to_vec();
    data.extend(std::iter::repeat_n(b'\n', 3_000_000));
    data.extend_from_slice(b"1,2\n");
    let p = write(dir.path(), "a.csv", &data);
    let start = std::time::Instant::now();
    let r = read(&p).unwrap();
    assert_eq!(r.numbers(), [3_000_002]);
    assert!(start.elapsed().as_secs() < 10);
}

#[test]
fn empty_file_has_no_headers_and_no_rows() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "a.csv", b"");
    let r = read(&p).unwrap();
    assert!(r.headers.is_empty());
    assert!(r.rows.is_empty());
}

#[test]
fn leading_blank_lines_move_the_header() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "a.csv", b"\n\nx,y\n1,2\n");
    let r = read(&p).unwrap();
    assert_eq!(r.header_row, 3);
    assert_eq!(r.numbers(), [4]);
}

/// Throughput check: `cargo test --release -p registrar-formats --test csv -- --ignored`.
#[test]
#[ignore]
fn throughput_one_million_attendance_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = b"student_email,course_code,date,status\n".to_vec();
    for i in 0..1_000_000u32 {
        data.extend_from_slice(
            format!(
                "student{}@example.org,MATH{},2024-09-{:02},present\n",
                i % 5000,
                i % 40,
                1 + i % 28
            )
            .as_bytes(),
        );
    }
    let p = write(dir.path(), "attendance.csv", &data);
    let mut best = f64::MAX;
    for _ in 0..3 {
        let start = std::time::Instant::now();
        let source = registrar_formats::open(&p, &ReaderOptions::default()).unwrap();
        let rows = source
            .filter(|e| matches!(e, Ok(registrar_formats::Event::Row(_))))
            .count();
        assert_eq!(rows, 1_000_000);
        best = best.min(start.elapsed().as_secs_f64());
    }
    eprintln!(
        "{:.0} rows/s, {:.0} MB/s",
        1e6 / best,
        data.len() as f64 / best / 1e6
    );
}

/// Rows given back to the reader (`RowSource::recycle`) have their cells reused: the rows read
/// afterwards hold exactly what they would hold without it (shorter, longer, empty and
/// non-empty cells in every order, and a row too long to keep).
#[test]
fn recycled_rows_read_the_same_as_fresh_ones() {
    let dir = tempfile::tempdir().unwrap();
    let long = "L".repeat(1000);
    let text = format!(
        "a,b,c\nlonger text,,x\n,y,\nshort,text,z\n1,2\n{long},q,\n\"multi\nline\",,\nlast,one,here\n"
    );
    let p = write(dir.path(), "a.csv", text.as_bytes());
    let fresh = read(&p).unwrap();
    let mut source = registrar_formats::open(&p, &ReaderOptions::default()).unwrap();
    let mut recycled = Vec::new();
    while let Some(event) = source.next() {
        if let registrar_formats::Event::Row(row) = event.unwrap() {
            recycled.push(row.clone());
            source.recycle(row);
        }
    }
    assert_eq!(fresh.rows.len(), 6);
    assert_eq!(fresh.rows, recycled);
}
