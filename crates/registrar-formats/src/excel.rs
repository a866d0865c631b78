//! Spreadsheet reader (placeholder: being implemented).
use crate::{Error, Event, Format, ReaderOptions, RowSource};
use std::path::Path;

/// Streaming Spreadsheet reader.
pub struct SheetSource {
    headers: Vec<String>,
    file: String,
    format: Format,
}

impl SheetSource {
    /// Opens a workbook.
    pub fn open(
        path: &Path,
        format: Format,
        _options: &ReaderOptions,
    ) -> Result<SheetSource, Error> {
        let _ = path;
        Ok(SheetSource {
            headers: Vec::new(),
            file: crate::file_name_of(path),
            format,
        })
    }
}

impl Iterator for SheetSource {
    type Item = Result<Event, Error>;
    fn next(&mut self) -> Option<Self::Item> {
        None
    }
}

impl RowSource for SheetSource {
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
