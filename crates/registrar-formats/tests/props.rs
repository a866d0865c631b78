//! Properties: arbitrary bytes never panic a reader; CSV written by the csv crate reads back
//! identical with the right line numbers.
mod common;

use common::{read, write};
use proptest::prelude::*;
use registrar_formats::{open, ReaderOptions};

const EXTENSIONS: [&str; 8] = [
    "csv", "tsv", "json", "ndjson", "jsonl", "xlsx", "xls", "ods",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let dir = tempfile::tempdir().unwrap();
        for ext in EXTENSIONS {
            let p = write(dir.path(), &format!("users.{ext}"), &bytes);
            let options = ReaderOptions { max_field_size: 512, ..Default::default() };
            if let Ok(source) = open(&p, &options) {
                // Every event is either a row aligned to the header or an issue.
                let width = source.headers().len();
                for event in source {
                    if let Ok(registrar_formats::Event::Row(r)) = event {
                        prop_assert_eq!(r.values.len(), width);
                        prop_assert!(r.row >= 1);
                    }
                }
            }
        }
    }

    #[test]
    fn csv_like_bytes_never_panic(text in "[a-c,;\"\\t\\r\\n ]{0,300}") {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "users.csv", text.as_bytes());
        if let Ok(source) = open(&p, &ReaderOptions::default()) {
            for event in source {
                prop_assert!(event.is_ok());
            }
        }
    }

    #[test]
    fn csv_round_trip_with_line_numbers(
        records in proptest::collection::vec(
            proptest::collection::vec("[a-zé€ ,;\"\\n\\r\\t]{0,8}", 3),
            1..20,
        ),
        delimiter in prop_oneof![Just(b','), Just(b';'), Just(b'\t')],
        crlf in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut w = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .terminator(if crlf { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') })
            .from_writer(Vec::new());
        w.write_record(["alpha", "beta", "gamma"]).unwrap();
        for r in &records {
            w.write_record(r).unwrap();
        }
        let bytes = w.into_inner().unwrap();
        let p = write(dir.path(), "users.csv", &bytes);
        let got = read(&p).unwrap();
        prop_assert!(got.issues.is_empty(), "{:?}", got.issues);
        prop_assert_eq!(&got.headers, &["alpha", "beta", "gamma"]);

        // Expected: non-blank records, each at the line where it starts.
        let mut line = 2u64;
        let mut expected = Vec::new();
        for r in &records {
            let blank = r.iter().all(|f| f.trim().is_empty());
            if !blank {
                expected.push((line, r.clone()));
            }
            // Every '\n' inside fields plus the terminator.
            line += r.iter().map(|f| f.matches('\n').count() as u64).sum::<u64>() + 1;
        }
        let actual: Vec<(u64, Vec<String>)> = got
            .rows
            .iter()
            .map(|row| (row.row, row.values.iter().map(|v| v.to_string()).collect()))
            .collect();
        prop_assert_eq!(actual, expected);
    }
}
