//! Helpers shared by the integration tests.
#![allow(dead_code)]

use registrar_formats::{open, Error, Event, ReaderOptions, Row, RowSource};
use registrar_model::Issue;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write fixture");
    path
}

/// Writes an `.ods` at `path`: a zip holding `mimetype`, `META-INF/manifest.xml` and the
/// given `content.xml`, all stored (not deflated), as a spreadsheet program writes them.
pub fn write_ods(path: &Path, content_xml: &str) {
    use std::io::Write;
    let manifest = r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#;
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).expect("create fixture"));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    z.start_file("mimetype", stored).unwrap();
    z.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
        .unwrap();
    z.start_file("META-INF/manifest.xml", stored).unwrap();
    z.write_all(manifest.as_bytes()).unwrap();
    z.start_file("content.xml", stored).unwrap();
    z.write_all(content_xml.as_bytes()).unwrap();
    z.finish().unwrap();
}

/// Everything a reader yields: headers, rows, issues.
pub struct Read {
    pub headers: Vec<String>,
    pub header_row: u64,
    pub rows: Vec<Row>,
    pub issues: Vec<Issue>,
}

impl Read {
    /// The text of every cell of each row.
    pub fn texts(&self) -> Vec<Vec<String>> {
        self.rows
            .iter()
            .map(|r| r.values.iter().map(|v| v.to_string()).collect())
            .collect()
    }

    /// The row numbers.
    pub fn numbers(&self) -> Vec<u64> {
        self.rows.iter().map(|r| r.row).collect()
    }
}

/// Opens and drains a file.
pub fn read_with(path: &Path, options: &ReaderOptions) -> Result<Read, Error> {
    let mut source = open(path, options)?;
    drain(&mut *source)
}

/// Opens and drains a file with default options.
pub fn read(path: &Path) -> Result<Read, Error> {
    read_with(path, &ReaderOptions::default())
}

/// Drains a source.
pub fn drain(source: &mut dyn RowSource) -> Result<Read, Error> {
    let headers = source.headers().to_vec();
    let header_row = source.header_row();
    let mut rows = Vec::new();
    let mut issues = Vec::new();
    for event in source {
        match event? {
            Event::Row(r) => rows.push(r),
            Event::Issue(i) => issues.push(i),
        }
    }
    Ok(Read {
        headers,
        header_row,
        rows,
        issues,
    })
}

/// The issue of an `Error::File`.
pub fn file_issue(e: Error) -> Issue {
    match e {
        Error::File(issue) => *issue,
        other => panic!("expected Error::File, got {other}"),
    }
}
