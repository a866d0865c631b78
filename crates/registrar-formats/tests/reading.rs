//! Issue 10 (helper C): rows keep their real line in a file with classic Mac (CR-only) line
//! endings (item 14); Excel's `sep=;` first line is honoured and UTF-16 without a BOM gets an
//! encoding hint (item 23).

use registrar_formats::{open, Event, ReaderOptions};

#[test]
fn cr_only_line_endings_keep_real_row_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("courses.csv");
    std::fs::write(
        &path,
        "course_code,course_name\rMATH101,Calculus I\r\rBAD,one,too many\rHIST200,\"World\rHistory\"\rART100,Art\r",
    )
    .unwrap();
    let mut source = open(&path, &ReaderOptions::default()).unwrap();
    assert_eq!(source.headers(), ["course_code", "course_name"]);
    let mut rows = Vec::new();
    let mut issues = Vec::new();
    for e in &mut source {
        match e.unwrap() {
            Event::Row(r) => rows.push((r.row, r.values[0].to_string())),
            Event::Issue(i) => issues.push((i.row, i.code.as_str())),
        }
    }
    assert_eq!(
        rows,
        [
            (2, "MATH101".to_owned()),
            (5, "HIST200".to_owned()),
            (7, "ART100".to_owned())
        ]
    );
    assert_eq!(issues, [(Some(4), "malformed-row")]);
}

#[test]
fn excel_sep_line_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("courses.csv");
    std::fs::write(
        &path,
        "\u{feff}sep=;\r\ncourse_code;course_name\r\nMATH101;Calculus, part I\r\n",
    )
    .unwrap();
    let mut source = open(&path, &ReaderOptions::default()).unwrap();
    assert_eq!(source.headers(), ["course_code", "course_name"]);
    assert_eq!(source.header_row(), 2);
    let Some(Ok(Event::Row(row))) = source.next() else {
        panic!("expected a row")
    };
    assert_eq!(row.row, 3);
    assert_eq!(row.values[1].to_string(), "Calculus, part I");
    assert!(source.next().is_none());
}

#[test]
fn utf16_without_bom_gets_an_encoding_hint() {
    let dir = tempfile::tempdir().unwrap();
    let text = "course_code,course_name\nMATH101,Calculus I\n";
    for (label, bytes) in [
        (
            "utf-16le",
            text.encode_utf16()
                .flat_map(|u| u.to_le_bytes())
                .collect::<Vec<u8>>(),
        ),
        (
            "utf-16be",
            text.encode_utf16().flat_map(|u| u.to_be_bytes()).collect(),
        ),
    ] {
        let path = dir.path().join("courses.csv");
        std::fs::write(&path, &bytes).unwrap();
        let Err(registrar_formats::Error::File(issue)) = open(&path, &ReaderOptions::default())
        else {
            panic!("{label}: must be refused with a hint")
        };
        assert_eq!(issue.code.as_str(), "invalid-encoding");
        assert_eq!(issue.row, Some(1));
        assert!(
            issue.message.contains(&format!("--encoding {label}")),
            "{}",
            issue.message
        );
        // With the encoding named, it reads.
        let options = ReaderOptions {
            encoding: Some(label.to_owned()),
            ..ReaderOptions::default()
        };
        let source = open(&path, &options).unwrap();
        assert_eq!(source.headers(), ["course_code", "course_name"]);
    }
}
