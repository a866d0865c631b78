//! CSV/TSV reader (placeholder: being implemented).
use crate::{Error, Event, Format, ReaderOptions, RowSource};
use std::path::Path;

/// Streaming CSV/TSV reader.
pub struct CsvSource {
    headers: Vec<String>,
    file: String,
    format: Format,
}

impl CsvSource {
    /// Opens a CSV/TSV file.
    pub fn open(path: &Path, format: Format, _options: &ReaderOptions) -> Result<CsvSource, Error> {
        let _ = path;
        Ok(CsvSource {
            headers: Vec::new(),
            file: crate::file_name_of(path),
            format,
        })
    }
}

impl Iterator for CsvSource {
    type Item = Result<Event, Error>;
    fn next(&mut self) -> Option<Self::Item> {
        None
    }
}

impl RowSource for CsvSource {
    fn headers(&self) -> &[String] {
        &self.headers
    }
    fn header_row(&self) -> u64 {
        1
    }
    fn format(&self) -> Format {
        self.format
    }
    fn file_name(&self) -> &str {
        &self.file
    }
}
