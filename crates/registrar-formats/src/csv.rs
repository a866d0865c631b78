//! Streaming CSV/TSV reader.
//!
//! # What it does
//! - **Encoding.** Without `--encoding` the bytes must be UTF-8 (a BOM is removed) or UTF-16
//!   LE/BE with a BOM (transcoded on the fly). UTF-8 is checked record by record: the first
//!   invalid record gives exactly one `invalid-encoding` issue naming the line of the first bad
//!   byte and suggesting `--encoding windows-1252`, and no further rows are yielded (nothing
//!   is ever silently mangled). With `--encoding LABEL` (any WHATWG label) the file is
//!   transcoded without replacement characters; a byte sequence that is invalid in that
//!   encoding is the same single `invalid-encoding` issue. An unknown label is
//!   [`Error::File`].
//! - **Delimiter.** `,` `;` or tab, whichever occurs most often outside quotes in the header
//!   line (ties prefer `,` then `;`); `.tsv` files default to tab; `--delimiter` overrides.
//!   Excel's `sep=X` first line (`sep=;`) names the delimiter and is skipped: the header is
//!   then line 2 (rows keep their physical lines).
//! - **Rows.** [`Row::row`] is the physical line where the record starts (the header is line
//!   1, counting every `\n`; in a file whose first line ends with a lone `\r`, classic Mac
//!   line endings, every `\r` or `\r\n` counts as one line end), so a quoted field spanning lines shifts the rows after it. Blank
//!   lines and rows whose fields are all blank are skipped (their lines still count). A record
//!   whose field count differs from the header's is a `malformed-row` issue naming both counts
//!   (never the field contents: they may be passwords).
//! - **Unbalanced quotes.** On its own the csv parser merges everything after a stray `"`
//!   into one field. Rule: a record that spans more than one line is accepted only if (a) its
//!   field count matches the header and (b) its raw text is strictly quoted: every quoted field
//!   is closed and its closing quote is followed directly by the delimiter or the end of the
//!   line. Otherwise it is reported as `malformed-row` at the line where the record (and so
//!   the open quote) starts, and reading restarts at the *next line*, so the rows after it are
//!   read again one by one instead of being swallowed. Single-line records are not affected.
//! - **Limits.** A file larger than `max_file_size` is [`Error::File`] (`malformed-file`). A
//!   field longer than `max_field_size` is `malformed-row`. A record is never held in memory
//!   beyond `4 × max_field_size` (at least 64 KiB): a longer one (e.g. a 500 MB field) is
//!   refused as `malformed-row` while it is being read, and reading restarts at the next line.
//!   More than `max_rows` data rows is a `malformed-file` issue and reading stops. Blank lines
//!   are skipped by the parser without being kept, so memory stays flat.
use crate::text::{text_source, DecodeError, Source, Tape, TooLong};
use crate::{Error, Event, Format, ReaderOptions, Row, RowSource, Value};
use csv::ByteRecord;
use registrar_model::{Issue, IssueCode};
use std::path::Path;

/// Streaming CSV/TSV reader (see the module docs for the rules).
pub struct CsvSource {
    headers: Vec<String>,
    header_row: u64,
    file: String,
    format: Format,
    delimiter: u8,
    reader: Option<csv::Reader<Tape>>,
    /// Absolute line of the first line fed to the current csv reader, minus one.
    line_base: u64,
    /// Absolute byte offset of the first byte fed to the current csv reader.
    byte_base: u64,
    record: ByteRecord,
    /// True when bytes must be validated as UTF-8 (false once transcoded).
    validate_utf8: bool,
    encoding_name: &'static str,
    max_field_size: usize,
    max_rows: u64,
    rows: u64,
    done: bool,
    /// The fields of the last record reported as `malformed-row` for its field count.
    malformed: Option<Vec<Value>>,
    /// Bytes of the file read so far.
    bytes: crate::counting::Counter,
    /// Rows given back ([`RowSource::recycle`]) whose cells the next rows reuse.
    spare: Vec<Vec<Value>>,
}

/// Rows a CSV reader keeps for reuse: a few batches of the validator's reading ahead.
const MAX_SPARE_ROWS: usize = 4096;
/// A given-back text cell longer than this is not kept (one huge cell should not pin its
/// memory for the rest of the file).
const MAX_SPARE_TEXT: usize = 256;

/// Fills `values` with the fields of a record, reusing its text cells' allocations.
fn fill_values(values: &mut Vec<Value>, fields: &csv::StringRecord) {
    values.truncate(fields.len());
    let reused = values.len();
    for (i, f) in fields.iter().enumerate() {
        if i >= reused {
            values.push(if f.is_empty() {
                Value::Empty
            } else {
                Value::Text(f.to_owned())
            });
            continue;
        }
        let cell = &mut values[i];
        match cell {
            _ if f.is_empty() => *cell = Value::Empty,
            Value::Text(t) => {
                t.clear();
                t.push_str(f);
            }
            _ => *cell = Value::Text(f.to_owned()),
        }
    }
}

impl CsvSource {
    /// Opens a CSV/TSV file and reads its header line.
    pub fn open(path: &Path, format: Format, options: &ReaderOptions) -> Result<CsvSource, Error> {
        let file_name = crate::file_name_of(path);
        let io_err = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = crate::open_regular(path)?;
        let len = file.metadata().map_err(io_err)?.len();
        if len > options.max_file_size {
            return Err(crate::file_error(
                IssueCode::MalformedFile,
                &file_name,
                format!(
                    "the file is {len} bytes, more than the limit of {} bytes; raise --max-file-size if it is genuine",
                    options.max_file_size
                ),
            ));
        }
        CsvSource::from_reader(path, file_name, file, format, options)
    }

    /// Reads CSV/TSV from any byte stream (a member of a zip archive, say) with the same
    /// rules as [`CsvSource::open`], except the file-size check, which is the caller's.
    /// `file_name` names the data in issues; `path` is what I/O errors name.
    pub fn from_reader(
        path: &Path,
        file_name: String,
        input: impl std::io::Read + Send + 'static,
        format: Format,
        options: &ReaderOptions,
    ) -> Result<CsvSource, Error> {
        let io_err = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let bytes = crate::counting::Counter::default();
        let reader = std::io::BufReader::with_capacity(64 * 1024, bytes.reader(input));
        let source = text_source(reader, options.encoding.as_deref()).map_err(io_err)?;
        let (read, validate_utf8, encoding_name): (Box<dyn std::io::Read + Send>, bool, _) =
            match source {
                Ok(Source::Utf8(r)) => (r, true, "UTF-8"),
                Ok(Source::Decoded(r, enc)) => (r, false, enc.name()),
                Err(label) => {
                    return Err(crate::file_error(
                        IssueCode::InvalidEncoding,
                        &file_name,
                        format!(
                            "unknown encoding {label:?}; use a WHATWG label such as utf-8, windows-1252, iso-8859-2 or utf-16le"
                        ),
                    ))
                }
            };
        let record_limit = (options.max_field_size as u64)
            .saturating_mul(4)
            .max(64 * 1024);
        let read = crate::text::cr_lines(read).map_err(io_err)?;
        let mut tape = Tape::new(read, record_limit);
        // Excel's `sep=;` first line names the delimiter; it is not the header.
        let first = tape.peek_line(64).map_err(|e| {
            decode_failure(&file_name, encoding_name, &e).unwrap_or_else(|| io_err(e))
        })?;
        if validate_utf8 && options.encoding.is_none() {
            if let Some(label) = utf16_without_bom(first) {
                return Err(crate::file_error_at(
                    IssueCode::InvalidEncoding,
                    &file_name,
                    1,
                    format!(
                        "this file looks like UTF-16 text without a byte-order mark (every other byte is zero); read it with --encoding {label}, or save it again as UTF-8"
                    ),
                ));
            }
        }
        let sep_line = sep_line(first);
        let mut line_base = 0;
        if sep_line.is_some() {
            tape.skip_line().map_err(io_err)?;
            tape.set_mark(tape.cursor(), 2);
            line_base = 1;
        }
        let delimiter = match (options.delimiter, sep_line) {
            (Some(d), _) => d,
            (None, Some(d)) => d,
            (None, None) if format == Format::Tsv => b'\t',
            (None, None) => {
                let line = tape.peek_line(1024 * 1024).map_err(|e| {
                    decode_failure(&file_name, encoding_name, &e).unwrap_or_else(|| io_err(e))
                })?;
                detect_delimiter(line)
            }
        };
        let byte_base = tape.cursor();
        let mut source = CsvSource {
            headers: Vec::new(),
            header_row: 1,
            file: file_name,
            format,
            delimiter,
            reader: None,
            line_base,
            byte_base,
            record: ByteRecord::new(),
            validate_utf8,
            encoding_name,
            max_field_size: options.max_field_size,
            max_rows: options.max_rows,
            rows: 0,
            done: false,
            malformed: None,
            spare: Vec::new(),
            bytes,
        };
        source.reader = Some(source.new_reader(tape));
        source.read_header(path)?;
        Ok(source)
    }

    fn new_reader(&self, tape: Tape) -> csv::Reader<Tape> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(self.delimiter)
            .buffer_capacity(16 * 1024)
            .from_reader(tape)
    }

    fn read_header(&mut self, path: &Path) -> Result<(), Error> {
        let Some(reader) = self.reader.as_mut() else {
            return Ok(());
        };
        let start = reader.position().clone();
        reader
            .get_mut()
            .set_mark(start.byte() + self.byte_base, self.line_base + start.line());
        match reader.read_byte_record(&mut self.record) {
            Ok(true) => {}
            Ok(false) => {
                // An empty file: no header, no rows (the rules report the missing columns).
                self.done = true;
                return Ok(());
            }
            Err(e) => {
                let line = self.record_line();
                return Err(match csv_failure(e) {
                    Failure::Decode(de) => crate::file_error_at(
                        IssueCode::InvalidEncoding,
                        &self.file,
                        de.line,
                        self.encoding_message(),
                    ),
                    Failure::TooLong => crate::file_error_at(
                        IssueCode::MalformedFile,
                        &self.file,
                        line,
                        format!(
                            "the header line is longer than {} bytes",
                            self.max_field_size.saturating_mul(4)
                        ),
                    ),
                    Failure::Io(source) => Error::Io {
                        path: path.to_path_buf(),
                        source,
                    },
                });
            }
        }
        self.header_row = self.record_line();
        let mut headers = Vec::with_capacity(self.record.len());
        for (i, field) in self.record.iter().enumerate() {
            let text = match std::str::from_utf8(field) {
                Ok(t) => t,
                Err(e) => {
                    let line = self.header_row
                        + newlines_before(&self.record, i, &field[..e.valid_up_to()]);
                    return Err(crate::file_error_at(
                        IssueCode::InvalidEncoding,
                        &self.file,
                        line,
                        self.encoding_message(),
                    ));
                }
            };
            headers.push(crate::header_name(text).to_owned());
        }
        self.headers = headers;
        Ok(())
    }

    fn encoding_message(&self) -> String {
        if self.validate_utf8 {
            "the file is not valid UTF-8 from this line on; if it was exported by Excel or an older system, try --encoding windows-1252".to_owned()
        } else {
            format!(
                "the file is not valid {} from this line on; check --encoding (for example --encoding windows-1252)",
                self.encoding_name
            )
        }
    }

    /// The absolute byte offset and line of the record just read.
    fn record_start(&self) -> (u64, u64) {
        match self.reader.as_ref() {
            Some(r) => r.get_ref().record_start(),
            None => (0, 1),
        }
    }

    /// The absolute line of the record just read.
    fn record_line(&self) -> u64 {
        self.record_start().1
    }

    fn issue(&self, code: IssueCode, line: u64, message: String) -> Event {
        Event::Issue(Issue::error(
            code,
            self.file.clone(),
            Some(line),
            None,
            message,
        ))
    }

    /// Restarts parsing at the line after `line` (the line where the bad record started).
    fn resync_after_record_start(&mut self) -> Result<(), std::io::Error> {
        let Some(reader) = self.reader.take() else {
            return Ok(());
        };
        let mut tape = reader.into_inner();
        tape.rewind();
        let mut line = tape.mark_line();
        line += tape.skip_blank()?;
        if !tape.skip_line()? {
            self.done = true;
        }
        self.line_base = line;
        self.byte_base = tape.cursor();
        tape.set_mark(tape.cursor(), line + 1);
        self.reader = Some(self.new_reader(tape));
        Ok(())
    }

    /// The line where a record failing with `TooLong` started (mark plus blank lines).
    fn too_long_line(&mut self) -> Result<u64, std::io::Error> {
        let Some(reader) = self.reader.as_mut() else {
            return Ok(1);
        };
        let tape = reader.get_mut();
        tape.rewind();
        let line = tape.mark_line() + tape.skip_blank()?;
        tape.rewind();
        Ok(line)
    }

    /// True when a multi-line record breaks the strict-quoting rule (see the module docs).
    fn multi_line_record_is_broken(&self, end: u64) -> bool {
        if self.record.len() != self.headers.len() {
            return true;
        }
        let Some(reader) = self.reader.as_ref() else {
            return true;
        };
        let start = self.record_start().0;
        match reader.get_ref().kept(start, self.byte_base + end) {
            Some(raw) => !strictly_quoted(raw, self.delimiter),
            None => true,
        }
    }

    fn next_event(&mut self) -> Option<Result<Event, Error>> {
        loop {
            if self.done {
                return None;
            }
            let reader = self.reader.as_mut()?;
            let start = reader.position().clone();
            let mark = start.byte() + self.byte_base;
            reader
                .get_mut()
                .set_mark(mark, self.line_base + start.line());
            match reader.read_byte_record(&mut self.record) {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    return None;
                }
                Err(e) => match csv_failure(e) {
                    Failure::Decode(de) => {
                        self.done = true;
                        return Some(Ok(self.issue(
                            IssueCode::InvalidEncoding,
                            de.line,
                            self.encoding_message(),
                        )));
                    }
                    Failure::TooLong => {
                        let line = match self.too_long_line() {
                            Ok(l) => l,
                            Err(e) => return Some(Err(self.io_error(e))),
                        };
                        let event = self.issue(
                            IssueCode::MalformedRow,
                            line,
                            format!(
                                "this row is longer than {} bytes (a field is over the --max-field-size limit of {} bytes, or a quote is never closed); it is skipped and reading goes on at the next line",
                                self.max_field_size.saturating_mul(4).max(64 * 1024),
                                self.max_field_size
                            ),
                        );
                        if let Err(e) = self.resync_after_record_start() {
                            return Some(Err(self.io_error(e)));
                        }
                        return Some(Ok(event));
                    }
                    Failure::Io(e) => {
                        self.done = true;
                        return Some(Err(self.io_error(e)));
                    }
                },
            }
            let end = reader.position().byte();
            let line = self.record_line();
            let multi_line = self.record.as_slice().contains(&b'\n');
            if multi_line && self.multi_line_record_is_broken(end) {
                let event = self.issue(
                    IssueCode::MalformedRow,
                    line,
                    format!(
                        "a quoted field that starts on this line is not closed properly (unbalanced quote; the record has {} fields, the header {}); the row is skipped and the lines after it are read again one by one",
                        self.record.len(),
                        self.headers.len()
                    ),
                );
                if let Err(e) = self.resync_after_record_start() {
                    return Some(Err(self.io_error(e)));
                }
                return Some(Ok(event));
            }
            // Validate UTF-8 once for the whole record (decoded input is UTF-8 already, but
            // checking it again is cheap and keeps one code path).
            let record = std::mem::take(&mut self.record);
            let strings = match csv::StringRecord::from_byte_record(record) {
                Ok(strings) => strings,
                Err(e) => {
                    let field = e.utf8_error().field();
                    let valid = e.utf8_error().valid_up_to();
                    self.record = e.into_byte_record();
                    self.done = true;
                    let prefix = self.record.get(field).map(|f| &f[..valid.min(f.len())]);
                    let bad = line + newlines_before(&self.record, field, prefix.unwrap_or(b""));
                    return Some(Ok(self.issue(
                        IssueCode::InvalidEncoding,
                        bad,
                        self.encoding_message(),
                    )));
                }
            };
            let blank = strings.iter().all(|f| f.trim().is_empty());
            if blank {
                self.record = strings.into_byte_record();
                continue;
            }
            if strings.len() != self.headers.len()
                || strings.iter().any(|f| f.len() > self.max_field_size)
            {
                self.record = strings.into_byte_record();
            } else {
                self.rows += 1;
                if self.rows > self.max_rows {
                    self.record = strings.into_byte_record();
                    self.done = true;
                    return Some(Ok(Event::Issue(Issue::error(
                        IssueCode::MalformedFile,
                        self.file.clone(),
                        None,
                        None,
                        format!(
                            "the file has more than {} data rows (the --max-rows limit); the rest is not read",
                            self.max_rows
                        ),
                    ))));
                }
                let mut values = self.spare.pop().unwrap_or_default();
                fill_values(&mut values, &strings);
                self.record = strings.into_byte_record();
                return Some(Ok(Event::Row(Row { row: line, values })));
            }
            if self.record.len() != self.headers.len() {
                self.malformed = Some(
                    self.record
                        .iter()
                        .map(|f| match String::from_utf8_lossy(f) {
                            t if t.is_empty() => Value::Empty,
                            t => Value::Text(t.into_owned()),
                        })
                        .collect(),
                );
                return Some(Ok(self.issue(
                    IssueCode::MalformedRow,
                    line,
                    format!(
                        "this row has {} fields but the header has {}; check for a missing or extra delimiter",
                        self.record.len(),
                        self.headers.len()
                    ),
                )));
            }
            if let Some(col) = self
                .record
                .iter()
                .position(|f| f.len() > self.max_field_size)
            {
                let column = self.headers.get(col).cloned();
                return Some(Ok(Event::Issue(Issue::error(
                    IssueCode::MalformedRow,
                    self.file.clone(),
                    Some(line),
                    column.as_deref(),
                    format!(
                        "a field is longer than the --max-field-size limit of {} bytes",
                        self.max_field_size
                    ),
                ))));
            }
        }
    }

    fn io_error(&self, source: std::io::Error) -> Error {
        Error::Io {
            path: self.file.clone().into(),
            source,
        }
    }
}

enum Failure {
    Decode(DecodeError),
    TooLong,
    Io(std::io::Error),
}

fn csv_failure(e: csv::Error) -> Failure {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => {
            if io.get_ref().is_some_and(|e| e.is::<TooLong>()) {
                return Failure::TooLong;
            }
            if let Some(de) = io.get_ref().and_then(|e| e.downcast_ref::<DecodeError>()) {
                return Failure::Decode(DecodeError {
                    line: de.line,
                    encoding: de.encoding,
                });
            }
            Failure::Io(io)
        }
        other => Failure::Io(std::io::Error::other(format!("{other:?}"))),
    }
}

fn decode_failure(file: &str, encoding: &str, e: &std::io::Error) -> Option<Error> {
    let de = e.get_ref()?.downcast_ref::<DecodeError>()?;
    Some(crate::file_error_at(
        IssueCode::InvalidEncoding,
        file,
        de.line,
        format!("the file is not valid {encoding} from this line on; check --encoding (for example --encoding windows-1252)"),
    ))
}

/// Counts the newlines in the fields before field `i`, plus those in `prefix` (a prefix of
/// field `i`): the line offset of a position inside a record.
fn newlines_before(record: &ByteRecord, i: usize, prefix: &[u8]) -> u64 {
    let mut n = record
        .iter()
        .take(i)
        .map(|f| f.iter().filter(|&&b| b == b'\n').count() as u64)
        .sum::<u64>();
    n += prefix.iter().filter(|&&b| b == b'\n').count() as u64;
    n
}

/// `utf-16le` / `utf-16be` when the first bytes look like UTF-16 without a BOM: ASCII text
/// with a zero byte after (LE) or before (BE) every character.
fn utf16_without_bom(head: &[u8]) -> Option<&'static str> {
    if head.len() < 8 {
        return None;
    }
    let pairs = head.len() / 2;
    let odd = (0..pairs).filter(|i| head[2 * i + 1] == 0).count();
    let even = (0..pairs).filter(|i| head[2 * i] == 0).count();
    if odd * 10 >= pairs * 9 && even == 0 {
        Some("utf-16le")
    } else if even * 10 >= pairs * 9 && odd == 0 {
        Some("utf-16be")
    } else {
        None
    }
}

/// The delimiter named by Excel's `sep=X` first line (`sep=;`, `SEP=,`, `sep=\t`; a trailing
/// `\r` allowed), if the line is one.
fn sep_line(line: &[u8]) -> Option<u8> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match line {
        [s, e, p, b'=', d]
            if s.eq_ignore_ascii_case(&b's')
                && e.eq_ignore_ascii_case(&b'e')
                && p.eq_ignore_ascii_case(&b'p')
                && !d.is_ascii_alphanumeric()
                && *d != b'"' =>
        {
            Some(*d)
        }
        _ => None,
    }
}

/// Picks `,` `;` or tab: the most frequent outside quotes in the header line.
pub(crate) fn detect_delimiter(line: &[u8]) -> u8 {
    let (mut comma, mut semi, mut tab) = (0usize, 0usize, 0usize);
    let mut in_quotes = false;
    for &b in line {
        match b {
            b'"' => in_quotes = !in_quotes,
            b',' if !in_quotes => comma += 1,
            b';' if !in_quotes => semi += 1,
            b'\t' if !in_quotes => tab += 1,
            _ => {}
        }
    }
    if semi > comma && semi >= tab {
        b';'
    } else if tab > comma && tab > semi {
        b'\t'
    } else {
        b','
    }
}

/// True when every quoted field in `raw` (one record, raw bytes) is closed and followed by
/// the delimiter or a line end.
fn strictly_quoted(raw: &[u8], delimiter: u8) -> bool {
    let mut i = 0;
    let mut at_field_start = true;
    while i < raw.len() {
        let b = raw[i];
        if at_field_start && b == b'"' {
            // Quoted field: find the closing quote ("" is an escaped quote).
            i += 1;
            loop {
                match raw.get(i) {
                    None => return false,
                    Some(b'"') if raw.get(i + 1) == Some(&b'"') => i += 2,
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(_) => i += 1,
                }
            }
            match raw.get(i) {
                None | Some(b'\r') | Some(b'\n') => return true,
                Some(&d) if d == delimiter => {
                    i += 1;
                    at_field_start = true;
                }
                Some(_) => return false,
            }
            continue;
        }
        if b == delimiter {
            at_field_start = true;
        } else if b == b'\n' || b == b'\r' {
            return true;
        } else {
            at_field_start = false;
        }
        i += 1;
    }
    true
}

impl Iterator for CsvSource {
    type Item = Result<Event, Error>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_event()
    }
}

impl RowSource for CsvSource {
    fn headers(&self) -> &[String] {
        &self.headers
    }
    fn take_malformed_values(&mut self) -> Option<Vec<Value>> {
        self.malformed.take()
    }
    fn header_row(&self) -> u64 {
        self.header_row
    }
    fn format(&self) -> Format {
        self.format
    }
    fn file_name(&self) -> &str {
        &self.file
    }
    fn bytes_read(&self) -> Option<u64> {
        Some(self.bytes.get())
    }
    fn recycle(&mut self, row: Row) {
        let kept = row.values.iter().all(|v| match v {
            Value::Text(t) => t.capacity() <= MAX_SPARE_TEXT,
            _ => true,
        });
        if kept && self.spare.len() < MAX_SPARE_ROWS {
            self.spare.push(row.values);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_delimiters() {
        assert_eq!(detect_delimiter(b"a,b,c"), b',');
        assert_eq!(detect_delimiter(b"a;b;c"), b';');
        assert_eq!(detect_delimiter(b"a\tb\tc"), b'\t');
        assert_eq!(detect_delimiter(b"\"a;b\",c"), b',');
        assert_eq!(detect_delimiter(b"single"), b',');
    }

    #[test]
    fn strict_quoting() {
        assert!(strictly_quoted(b"1,\"a\nb\",c\n", b','));
        assert!(strictly_quoted(b"1,\"a\"\"\nb\"\n", b','));
        assert!(!strictly_quoted(b"1,\"oops\n2,b,c\n", b','));
        assert!(!strictly_quoted(b"1,\"oops\n2,\"b\",c\n", b','));
    }
}
