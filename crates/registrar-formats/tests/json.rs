//! JSON and NDJSON readers.
mod common;

use common::{file_issue, read, read_with, write};
use registrar_formats::{ReaderOptions, Value};
use registrar_model::IssueCode;

#[test]
fn array_of_objects_with_union_of_keys() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "users.json",
        br#"[{"email":"a@x.org","credits":4,"score":9.5,"active":true,"note":null},
            {"email":"b@x.org","id":"00123"}]"#,
    );
    let r = read(&p).unwrap();
    assert_eq!(
        r.headers,
        ["email", "credits", "score", "active", "note", "id"]
    );
    assert_eq!(r.numbers(), [1, 2]);
    let v = &r.rows[0].values;
    assert_eq!(v[1], Value::Int(4));
    assert_eq!(v[2], Value::Float(9.5));
    assert_eq!(v[3], Value::Bool(true));
    assert_eq!(v[4], Value::Empty);
    assert_eq!(v[5], Value::Empty);
    assert_eq!(r.rows[1].values[5], Value::Text("00123".into()));
}

#[test]
fn data_member_and_nested_values() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "courses.json",
        br#"{"meta":{"v":1},"data":[{"code":"A","tags":["x"]},{"code":"B"},7]}"#,
    );
    let r = read(&p).unwrap();
    assert_eq!(r.headers, ["code", "tags"]);
    assert_eq!(r.numbers(), [2]);
    assert_eq!(r.issues.len(), 2);
    assert_eq!(r.issues[0].row, Some(1));
    assert_eq!(r.issues[0].column.as_deref(), Some("tags"));
    assert_eq!(r.issues[0].code, IssueCode::MalformedRow);
    assert_eq!(r.issues[1].row, Some(3));
}

#[test]
fn not_an_array_and_broken_json_are_file_errors() {
    let dir = tempfile::tempdir().unwrap();
    for body in [
        &br#"{"rows":[]}"#[..],
        br#""text""#,
        br#"{"data": 5}"#,
        br#"[{"a":1},"#,
        br#"[{"a":"secret-pw"}] trailing"#,
    ] {
        let p = write(dir.path(), "a.json", body);
        let Err(e) = read(&p) else {
            panic!("must fail: {}", String::from_utf8_lossy(body))
        };
        let issue = file_issue(e);
        assert_eq!(issue.code, IssueCode::MalformedFile);
        assert!(!issue.message.contains("secret"));
    }
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    let dir = tempfile::tempdir().unwrap();
    let mut body = "[".repeat(100_000);
    body.push_str(&"]".repeat(100_000));
    let p = write(dir.path(), "a.json", body.as_bytes());
    let issue = file_issue(read(&p).err().expect("deep JSON must fail"));
    assert_eq!(issue.code, IssueCode::MalformedFile);
    assert!(
        issue.message.contains("nested too deeply"),
        "{}",
        issue.message
    );

    let mut line = r#"{"a":"#.to_owned();
    line.push_str(&"[".repeat(100_000));
    let p = write(
        dir.path(),
        "a.ndjson",
        format!("{{\"a\":1}}\n{line}\n{{\"a\":2}}\n").as_bytes(),
    );
    let r = read(&p).unwrap();
    assert_eq!(r.numbers(), [1, 3]);
    assert_eq!(r.issues[0].row, Some(2));
}

#[test]
fn ndjson_with_a_bad_line_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "attendance.jsonl",
        b"\xEF\xBB\xBF{\"email\":\"a@x.org\",\"status\":\"present\"}\r\n\n{\"email\": \"pw-secret\n[1,2]\n{\"email\":\"b@x.org\",\"late\":true}\n{\"email\":\"\",\"status\":null}\n",
    );
    let r = read(&p).unwrap();
    assert_eq!(r.headers, ["email", "status", "late"]);
    assert_eq!(r.numbers(), [1, 5]);
    let rows: Vec<_> = r.issues.iter().map(|i| i.row).collect();
    assert_eq!(rows, [Some(3), Some(4)]);
    assert!(r.issues.iter().all(|i| i.code == IssueCode::MalformedRow));
    assert!(r.issues.iter().all(|i| !i.message.contains("secret")));
    assert_eq!(r.rows[1].values[2], Value::Bool(true));
}

#[test]
fn ndjson_long_line_and_max_rows() {
    let dir = tempfile::tempdir().unwrap();
    let long = format!("{{\"a\":\"{}\"}}", "x".repeat(200_000));
    let p = write(
        dir.path(),
        "a.ndjson",
        format!("{{\"a\":1}}\n{long}\n{{\"a\":2}}\n{{\"a\":3}}\n").as_bytes(),
    );
    let options = ReaderOptions {
        max_field_size: 1000,
        max_rows: 2,
        ..Default::default()
    };
    let r = read_with(&p, &options).unwrap();
    assert_eq!(r.numbers(), [1, 3]);
    assert_eq!(r.issues.len(), 2);
    assert_eq!(r.issues[0].row, Some(2));
    assert_eq!(r.issues[1].code, IssueCode::MalformedFile);
}

#[test]
fn json_max_rows() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "a.json", br#"[{"a":1},{"a":2},{"a":3}]"#);
    let options = ReaderOptions {
        max_rows: 1,
        ..Default::default()
    };
    let r = read_with(&p, &options).unwrap();
    assert_eq!(r.numbers(), [1]);
    assert_eq!(r.issues.len(), 1);
    assert_eq!(r.issues[0].code, IssueCode::MalformedFile);
}

/// Issue 10 item 14: a malformed JSON or NDJSON row gave nothing back, so the rejects file
/// held it with every cell blank. Now the cells that could be read are given back; a line
/// that is not JSON at all gives nothing (it cannot be split into fields).
#[test]
fn a_malformed_json_row_gives_back_its_cells_as_read() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "courses.ndjson",
        b"{\"course_code\":\"M1\",\"tags\":[1,2],\"credits\":4}\n42\n[\"M2\",null]\n{oops\n",
    );
    let mut source = registrar_formats::open(&p, &ReaderOptions::default()).unwrap();
    let mut seen = Vec::new();
    while let Some(event) = source.next() {
        if let registrar_formats::Event::Issue(i) = event.unwrap() {
            seen.push((i.code, i.row, source.take_malformed_values()));
        }
    }
    let t = |s: &str| Value::Text(s.into());
    assert_eq!(
        seen,
        [
            (
                IssueCode::MalformedRow,
                Some(1),
                Some(vec![t("M1"), t("[1,2]"), Value::Int(4)])
            ),
            (IssueCode::MalformedRow, Some(2), Some(vec![Value::Int(42)])),
            (
                IssueCode::MalformedRow,
                Some(3),
                Some(vec![t("M2"), Value::Empty])
            ),
            (IssueCode::MalformedRow, Some(4), None),
        ]
    );

    let p = write(
        dir.path(),
        "courses.json",
        br#"{"data": [{"course_code":"M1","tags":{"a":1}}, "x"]}"#,
    );
    let mut source = registrar_formats::open(&p, &ReaderOptions::default()).unwrap();
    let mut seen = Vec::new();
    while let Some(event) = source.next() {
        if let registrar_formats::Event::Issue(i) = event.unwrap() {
            seen.push((i.row, source.take_malformed_values()));
        }
    }
    assert_eq!(
        seen,
        [
            (Some(1), Some(vec![t("M1"), t(r#"{"a":1}"#)])),
            (Some(2), Some(vec![t("x")])),
        ]
    );
}
