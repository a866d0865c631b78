//! JSON reader (placeholder: being implemented).
use crate::{Error, Event, Format, ReaderOptions, RowSource};
use std::path::Path;

/// Streaming JSON reader.
pub struct JsonSource {
    headers: Vec<String>,
    file: String,
    format: Format,
}

impl JsonSource {
    /// Opens a JSON file.
    pub fn open(
        path: &Path,
        format: Format,
        _options: &ReaderOptions,
    ) -> Result<JsonSource, Error> {
        let _ = path;
        Ok(JsonSource {
            headers: Vec::new(),
            file: crate::file_name_of(path),
            format,
        })
    }
}

impl Iterator for JsonSource {
    type Item = Result<Event, Error>;
    fn next(&mut self) -> Option<Self::Item> {
        None
    }
}

impl RowSource for JsonSource {
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
