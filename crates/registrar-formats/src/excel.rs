//! Spreadsheet reader for `.xlsx`, `.xls` and `.ods` (calamine).
//!
//! # What it does
//! - The first sheet, or `--sheet NAME` (exact name, else the only case-insensitive match); an
//!   unknown sheet is [`Error::File`] listing the sheets there are.
//! - The first non-blank row is the header; its width (up to the last non-blank header cell,
//!   at most 16,384 columns) is the row width. A row with a value in a column that has no
//!   header (to the right of the header, or under a blank header cell) is `malformed-row`,
//!   as a CSV row with more fields than the header is: an error naming the row and the first
//!   such column by letter and number, and the row is not yielded (so it is never dropped
//!   silently, and `--skip-invalid` writes it to the rejects file). Its cells as read, each at
//!   its own column, are given by [`RowSource::take_malformed_values`] (up to column
//!   [`MALFORMED_WIDTH`] or the header's width, whichever is more; a value further right is
//!   named in the message only).
//!   [`Row::row`] is the sheet's own 1-based row number, so leading blank rows and blank rows
//!   in the middle do not shift it; blank rows are skipped.
//! - Cells are read as what they are: numbers are [`Value::Int`]/[`Value::Float`], booleans
//!   [`Value::Bool`], date cells [`Value::Date`] (or [`Value::DateTime`] when they have a
//!   time of day), honouring the workbook's 1900 or 1904 date system; text stays text
//!   (`00123` stays `"00123"`); error cells are [`Value::Error`] with their text (`#N/A`),
//!   which the rules report on that column. Serial 60 in the 1900 system is Excel's fictitious
//!   29 February 1900: it is [`Value::Error`] (`invalid date serial 60 ...`), never a wrong date.
//! - **Percentages are read as shown.** A number cell formatted as a percentage is read as the
//!   number it shows: `92.5%` (stored as 0.925) is `92.5`, so a score typed as a percentage is
//!   stored as the teacher saw it. In an `.xlsx` the cell's style names the number format
//!   (a `%` outside quotes and not escaped: `0%`, `0.0%`). calamine exposes no cell formats
//!   for `.ods` and `.xls`, so the reader finds the percentage cells of the chosen sheet
//!   itself, at the positions calamine gives them: in an `.ods` the cells whose
//!   `office:value-type` is `percentage` (streaming `content.xml` once more, counting
//!   repeated rows and columns and covered cells without expanding them); in a BIFF8 `.xls`
//!   (Excel 97 and later) the `NUMBER`, `RK`, `MULRK` and `FORMULA` cells whose `XF` has a
//!   percent format (builtin `0%` / `0.00%`, or a custom format as above), from the
//!   `Workbook` stream read once more. A BIFF5 or older `.xls` (Excel 95 and before) is not
//!   examined: there a percentage is still read as the stored fraction (a known limit). If
//!   the extra pass cannot parse the file, no cell is taken for a percentage (the fraction
//!   is read, as calamine gives it); it never fails a read that calamine completes.
//! - **Hostile files.** `.xlsx` sheets are read with calamine's *streaming* cell reader, one
//!   row at a time, so a 2 KB sheet with cells at A1 and XFD1048576 costs nothing. Before
//!   anything is inflated, the zip's declared sizes are checked (`.xlsx` and `.ods`): more
//!   than 512 MiB in total (or more than `max_file_size`), or a member over 64 MiB that
//!   inflates more than 100 times its compressed size, is `malformed-file` ("the workbook
//!   inflates to N bytes"). More than `max_rows` data rows is a `malformed-file` issue.
//!   A zip member whose declared size lies (small) is stopped by the zip reader as soon as it
//!   inflates past its declared size (`File is larger than its declared uncompressed size`),
//!   which ends the sheet with a `malformed-file` issue after the rows read so far.
//! - **Limitations.** calamine has no streaming reader for `.xls` and `.ods`: they are read
//!   whole with `worksheet_range`. An `.ods` whose sheets expand (repeated rows and columns)
//!   to more than [`MAX_ODS_CELLS`] cells is refused before calamine reads it (calamine's own
//!   cap, 100 million cells, would take gigabytes). calamine builds *every* sheet of an `.xls`
//!   when it opens the workbook (whatever `--sheet` says); an `.xls` whose sheets span more
//!   than the same [`MAX_ODS_CELLS`] in total (first to last cell of each sheet, or its
//!   `DIMENSIONS`) is refused before calamine opens it (`check_xls_cells`). The shared-strings table of an `.xlsx` is held in
//!   memory by calamine (its declared size is part of the check above).
use crate::channel::{spawn, Consumer, Producer};
use crate::{Error, Event, Format, ReaderOptions, Row, RowSource, Value};
use calamine::{Data, DataRef, ExcelDateTime, Ods, Reader, Xls, Xlsx};
use chrono::{NaiveDate, NaiveDateTime, Timelike};
use registrar_model::{Issue, IssueCode};
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

mod percent;

/// Most columns a header may have (Excel's own limit).
pub const MAX_COLUMNS: usize = 16_384;
/// Most bytes a workbook may inflate to (declared sizes of its zip members).
pub const MAX_INFLATED: u64 = 512 * 1024 * 1024;
/// Largest inflate ratio allowed for a zip member over 64 MiB.
pub const MAX_RATIO: u64 = 100;

/// Streaming spreadsheet reader (see the module docs).
pub struct SheetSource {
    headers: Vec<String>,
    header_row: u64,
    file: String,
    format: Format,
    events: Consumer,
}

impl SheetSource {
    /// Opens a workbook and reads the header of the chosen sheet.
    pub fn open(
        path: &Path,
        format: Format,
        options: &ReaderOptions,
    ) -> Result<SheetSource, Error> {
        let file = crate::file_name_of(path);
        let meta = std::fs::metadata(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if meta.len() > options.max_file_size {
            return Err(crate::file_error(
                IssueCode::MalformedFile,
                &file,
                format!(
                    "the file is {} bytes, more than the limit of {} bytes; raise --max-file-size if it is genuine",
                    meta.len(),
                    options.max_file_size
                ),
            ));
        }
        if matches!(format, Format::Xlsx | Format::Ods) {
            check_zip(path, &file, options.max_file_size.min(MAX_INFLATED))?;
        }
        if format == Format::Ods {
            check_ods_cells(path, &file)?;
        }
        if format == Format::Xls {
            check_xls_cells(path, &file, options.max_file_size.min(MAX_INFLATED))?;
        }
        let job = Job {
            path: path.to_path_buf(),
            file: file.clone(),
            format,
            sheet: options.sheet.clone(),
            max_rows: options.max_rows,
            max_stream: options.max_file_size.min(MAX_INFLATED),
        };
        let mut events = spawn(&file, move |p| job.run(p));
        let (headers, header_row) = events.headers()?;
        Ok(SheetSource {
            headers,
            header_row,
            file,
            format,
            events,
        })
    }
}

/// Refuses a zip whose declared sizes say it inflates to more than `limit` bytes.
fn check_zip(path: &Path, file: &str, limit: u64) -> Result<(), Error> {
    let f = File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut zip = zip::ZipArchive::new(BufReader::new(f)).map_err(|_| {
        crate::file_error(
            IssueCode::MalformedFile,
            file,
            "this is not a valid workbook (it is not a readable zip archive); save it again from the spreadsheet program".into(),
        )
    })?;
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let Ok(entry) = zip.by_index_raw(i) else {
            return Err(crate::file_error(
                IssueCode::MalformedFile,
                file,
                "this workbook's zip directory is damaged; save it again from the spreadsheet program".into(),
            ));
        };
        let size = entry.size();
        total = total.saturating_add(size);
        if size > 64 * 1024 * 1024 && size / entry.compressed_size().max(1) > MAX_RATIO {
            return Err(crate::file_error(
                IssueCode::MalformedFile,
                file,
                format!(
                    "the workbook member {:?} inflates to {size} bytes, {} times its packed size; this looks like a zip bomb and is refused",
                    entry.name().unwrap_or_default(),
                    size / entry.compressed_size().max(1)
                ),
            ));
        }
    }
    if total > limit {
        return Err(crate::file_error(
            IssueCode::MalformedFile,
            file,
            format!(
                "the workbook inflates to {total} bytes, more than the limit of {limit} bytes; split it or export it as CSV"
            ),
        ));
    }
    Ok(())
}

/// Refuses an `.ods` whose sheets expand to more than [`MAX_ODS_CELLS`] cells. calamine
/// builds `.ods` sheets whole, expanding `number-rows-repeated` / `number-columns-repeated`,
/// so a 1 KB file of repeated non-empty cells could otherwise take gigabytes. The estimate
/// streams `content.xml` (already bounded by [`check_zip`]) and counts, per table, the rows up
/// to the last one holding a non-empty cell times the widest such row, as calamine does.
fn check_ods_cells(path: &Path, file: &str) -> Result<(), Error> {
    use std::io::Read;
    let Ok(f) = File::open(path) else {
        return Ok(()); // calamine reports it
    };
    let Ok(mut zip) = zip::ZipArchive::new(BufReader::new(f)) else {
        return Ok(());
    };
    let Ok(content) = zip.by_name("content.xml") else {
        return Ok(());
    };
    let mut scan = OdsScan::default();
    let mut reader = BufReader::with_capacity(64 * 1024, content);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) | Err(_) => break, // a damaged member is calamine's to report
            Ok(n) => n,
        };
        for &b in &buf[..n] {
            scan.byte(b);
        }
        if scan.cells() > MAX_ODS_CELLS {
            break;
        }
    }
    let cells = scan.cells();
    if cells > MAX_ODS_CELLS {
        return Err(crate::file_error(
            IssueCode::MalformedFile,
            file,
            format!(
                "the workbook's sheets expand to {cells} cells (repeated rows and columns), more than the limit of {MAX_ODS_CELLS}; delete the unused rows and columns or export it as CSV"
            ),
        ));
    }
    Ok(())
}

/// Most cells the sheets of an `.ods` may expand to (about 70 bytes each in calamine).
pub const MAX_ODS_CELLS: u64 = 2_000_000;

/// Refuses an `.xls` whose sheets span more than [`MAX_ODS_CELLS`] cells in total, before
/// calamine opens it. calamine reads *every* sheet of an `.xls` when the workbook is opened
/// (whatever `--sheet` says), reserving room for each sheet's `DIMENSIONS` and building a
/// dense range from its first to its last cell, so a 14 KB file with a cell at A1 and one at
/// IV65536 on each of 16 sheets would cost 268 million cells. The scan reads the `Workbook`
/// (or `Book`) stream of the compound file and walks its BIFF records as calamine does (see
/// [`xls_cells`]). A file that is not a readable compound file is left to calamine to report.
fn check_xls_cells(path: &Path, file: &str, limit: u64) -> Result<(), Error> {
    let Some(stream) = xls_workbook_stream(path, limit) else {
        return Ok(()); // calamine reports it
    };
    match xls_cells(&stream, MAX_ODS_CELLS) {
        XlsCells::Within(_) => Ok(()),
        XlsCells::Over(cells) => Err(crate::file_error(
            IssueCode::MalformedFile,
            file,
            format!(
                "the workbook's sheets span at least {cells} cells (from the first to the last cell of each sheet, every sheet counted: an .xls is read whole), more than the limit of {MAX_ODS_CELLS}; delete the unused rows and columns or export it as CSV"
            ),
        )),
        XlsCells::Tangled => Err(crate::file_error(
            IssueCode::MalformedFile,
            file,
            "the workbook's sheet records overlap or never end, so it cannot be read in bounded time; save it again from the spreadsheet program or export it as CSV".into(),
        )),
    }
}

/// The `Workbook` (or `Book`) stream of the compound file at `path`, at most `limit` bytes
/// of it; `None` when the file is not a readable compound file with such a stream (calamine
/// then reports it). A damaged chain ends the read; what was read is returned.
fn xls_workbook_stream(path: &Path, limit: u64) -> Option<Vec<u8>> {
    use std::io::Read;
    let f = File::open(path).ok()?;
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut cfb = cfb::CompoundFile::open(BufReader::new(f)).ok()?;
        let name = if cfb.is_stream("/Workbook") {
            "/Workbook"
        } else if cfb.is_stream("/Book") {
            "/Book"
        } else {
            return None;
        };
        let s = cfb.open_stream(name).ok()?;
        let mut buf = Vec::new();
        let _ = s.take(limit).read_to_end(&mut buf);
        Some(buf)
    }))
    .ok()
    .flatten()
}

/// What [`xls_cells`] found.
#[derive(Debug, PartialEq, Eq)]
enum XlsCells {
    /// The sheets span this many cells in total, at most the limit.
    Within(u64),
    /// The sheets span at least this many cells, more than the limit.
    Over(u64),
    /// The sheets' records take more than [`XLS_SCAN_BUDGET`] steps to walk.
    Tangled,
}

/// Most BIFF records [`xls_cells`] walks over all sheets (a sheet whose `BOF` has no `EOF`
/// runs to the end of the stream; many such sheets would make calamine, and the scan,
/// quadratic).
const XLS_SCAN_BUDGET: u64 = 50_000_000;

/// One BIFF record at `pos`: (type, payload, next position); `None` when truncated.
fn biff_record(stream: &[u8], pos: usize) -> Option<(u16, &[u8], usize)> {
    let head = stream.get(pos..pos.checked_add(4)?)?;
    let typ = u16::from_le_bytes([head[0], head[1]]);
    let len = u16::from_le_bytes([head[2], head[3]]) as usize;
    let start = pos + 4;
    let data = stream.get(start..start.checked_add(len)?)?;
    Some((typ, data, start + len))
}

fn le16(d: &[u8], at: usize) -> Option<u64> {
    let b = d.get(at..at + 2)?;
    Some(u16::from_le_bytes([b[0], b[1]]) as u64)
}

fn le32(d: &[u8], at: usize) -> Option<u64> {
    let b = d.get(at..at + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64)
}

/// Counts the cells calamine would hold for the sheets of a BIFF `Workbook` stream. Like
/// calamine, the globals substream (up to its first `EOF`) lists the sheets (`BOUNDSHEET`,
/// 0x0085: the stream offset of the sheet's `BOF`), and each sheet is walked from that offset
/// to its `EOF`, skipping nested substreams (charts). A sheet costs the larger of its
/// `DIMENSIONS` (0x0200, for which calamine reserves room) and the span from its first to its
/// last cell (NUMBER, RK, MULRK, LABELSST, LABEL, RSTRING, BOOLERR, FORMULA; calamine skips
/// BLANK and MULBLANK, so formatted empty cells cost nothing). Stops as soon as the total is
/// over `limit`. Never panics: a truncated record ends the walk.
fn xls_cells(stream: &[u8], limit: u64) -> XlsCells {
    let mut steps: u64 = 0;
    let mut sheets = Vec::new();
    let mut pos = 0;
    while let Some((typ, data, next)) = biff_record(stream, pos) {
        steps += 1;
        match typ {
            0x0085 => {
                if let Some(at) = le32(data, 0) {
                    sheets.push(at as usize);
                }
            }
            0x000A => break,
            _ => {}
        }
        pos = next;
    }
    let mut total: u64 = 0;
    for start in sheets {
        let (cells, walked) = xls_sheet_cells(stream, start, XLS_SCAN_BUDGET.saturating_sub(steps));
        steps = steps.saturating_add(walked);
        if steps > XLS_SCAN_BUDGET {
            return XlsCells::Tangled;
        }
        total = total.saturating_add(cells);
        if total > limit {
            return XlsCells::Over(total);
        }
    }
    XlsCells::Within(total)
}

/// The cells of the sheet whose `BOF` is at `start` (see [`xls_cells`]) and the records walked
/// (at most `budget + 1`).
fn xls_sheet_cells(stream: &[u8], start: usize, budget: u64) -> (u64, u64) {
    let mut walked: u64 = 0;
    let mut reserved: u64 = 0;
    // min row, max row, min col, max col of the cells seen
    let mut span: Option<(u64, u64, u64, u64)> = None;
    let mut seen_bof = false;
    let mut depth = 0usize;
    let mut pos = start;
    while let Some((typ, data, next)) = biff_record(stream, pos) {
        walked += 1;
        if walked > budget {
            break;
        }
        pos = next;
        if depth > 0 {
            match typ {
                0x0809 => depth += 1,
                0x000A => depth -= 1,
                _ => {}
            }
            continue;
        }
        let cell = |first: Option<u64>, last: Option<u64>| -> Option<(u64, u64, u64)> {
            Some((le16(data, 0)?, first?, last?))
        };
        let hit = match typ {
            0x0809 => {
                if seen_bof {
                    depth += 1;
                } else {
                    seen_bof = true;
                }
                None
            }
            0x000A => break,
            0x0200 => {
                reserved = reserved.saturating_add(dimensions_cells(data));
                None
            }
            0x0203 | 0x0204 | 0x00D6 | 0x0205 | 0x027E | 0x00FD => {
                cell(le16(data, 2), le16(data, 2))
            }
            0x0006 if data.len() >= 20 => cell(le16(data, 2), le16(data, 2)),
            0x00BD if data.len() >= 6 => {
                // row, first col, n × 6-byte RK, last col
                let n = (data.len() as u64 - 6) / 6;
                let first = le16(data, 2);
                cell(first, first.map(|f| f + n.saturating_sub(1)))
            }
            _ => None,
        };
        if let Some((row, c0, c1)) = hit {
            span = Some(match span {
                None => (row, row, c0, c1),
                Some((r0, r1, a, b)) => (r0.min(row), r1.max(row), a.min(c0), b.max(c1)),
            });
        }
    }
    let dense = span.map_or(0, |(r0, r1, c0, c1)| (r1 - r0 + 1) * (c1 - c0 + 1));
    (reserved.max(dense), walked)
}

/// The cells calamine reserves for a `DIMENSIONS` record (its own arithmetic, which wraps on
/// inverted bounds: a wrapped count is huge and is refused).
fn dimensions_cells(d: &[u8]) -> u64 {
    let bounds = match d.len() {
        10 => (le16(d, 0), le16(d, 2), le16(d, 4), le16(d, 6)),
        14 | 16 => (le32(d, 0), le32(d, 4), le16(d, 8), le16(d, 10)),
        _ => return 0, // calamine refuses the file
    };
    let (Some(rf), Some(rl), Some(cf), Some(cl)) = bounds else {
        return 0;
    };
    let cf = if cf > 0xFF || cl < cf { 0 } else { cf };
    if rl >= 1 && cl >= 1 {
        let rows = ((rl - 1) as u32).wrapping_sub(rf as u32).wrapping_add(1) as u64;
        let cols = ((cl - 1) as u32).wrapping_sub(cf as u32).wrapping_add(1) as u64;
        rows.saturating_mul(cols)
    } else {
        1
    }
}

/// A streaming tag scanner for `.ods` `content.xml` (see [`check_ods_cells`]).
#[derive(Default)]
struct OdsScan {
    in_tag: bool,
    tag: Vec<u8>,
    rows: u64,
    row_repeat: u64,
    col: u64,
    row_end: u64,
    last_row: u64,
    width: u64,
    total: u64,
}

impl OdsScan {
    const MAX_TAG: usize = 4096;

    fn byte(&mut self, b: u8) {
        if !self.in_tag {
            if b == b'<' {
                self.in_tag = true;
                self.tag.clear();
            }
            return;
        }
        if b == b'>' {
            self.in_tag = false;
            let tag = std::mem::take(&mut self.tag);
            self.tag_done(&tag);
            self.tag = tag;
        } else if self.tag.len() < Self::MAX_TAG {
            self.tag.push(b);
        }
    }

    /// Cells expanded so far, counting the current table.
    fn cells(&self) -> u64 {
        self.total
            .saturating_add(self.last_row.min(1_048_576) * self.width.min(MAX_COLUMNS as u64))
    }

    fn tag_done(&mut self, tag: &[u8]) {
        let end = tag.first() == Some(&b'/');
        let body = if end { &tag[1..] } else { tag };
        let name_len = body
            .iter()
            .position(|c| c.is_ascii_whitespace() || *c == b'/')
            .unwrap_or(body.len());
        let name = &body[..name_len];
        let local = match name.iter().rposition(|c| *c == b':') {
            Some(i) => &name[i + 1..],
            None => name,
        };
        let self_closing = !end && body.last() == Some(&b'/');
        match (local, end) {
            (b"table", false) => {
                self.total = self.cells();
                self.rows = 0;
                self.last_row = 0;
                self.width = 0;
            }
            (b"table-row", false) => {
                let repeat = attr_number(body, b"number-rows-repeated").clamp(1, 1_048_576);
                if self_closing {
                    self.rows = self.rows.saturating_add(repeat);
                } else {
                    self.row_repeat = repeat;
                    self.col = 0;
                    self.row_end = 0;
                }
            }
            (b"table-row", true) => {
                self.rows = self.rows.saturating_add(self.row_repeat);
                if self.row_end > 0 {
                    self.last_row = self.rows;
                    self.width = self.width.max(self.row_end);
                }
                self.row_repeat = 0;
            }
            (b"table-cell" | b"covered-table-cell", false) => {
                let repeat =
                    attr_number(body, b"number-columns-repeated").clamp(1, MAX_COLUMNS as u64);
                self.col = self.col.saturating_add(repeat);
                if !self_closing || contains(body, b"value-type") {
                    self.row_end = self.col;
                }
            }
            _ => {}
        }
    }
}

/// The number in `name="123"` (or `'123'`) inside a tag; 1 when absent or not a number.
fn attr_number(tag: &[u8], name: &[u8]) -> u64 {
    let Some(at) = tag.windows(name.len()).position(|w| w == name) else {
        return 1;
    };
    let rest = &tag[at + name.len()..];
    let rest = rest.strip_prefix(b"=").unwrap_or(rest);
    let rest = rest
        .strip_prefix(b"\"")
        .or_else(|| rest.strip_prefix(b"'"))
        .unwrap_or(rest);
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return 1;
    }
    std::str::from_utf8(&rest[..digits])
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(u64::MAX)
        .max(1)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

struct Job {
    path: PathBuf,
    file: String,
    format: Format,
    sheet: Option<String>,
    max_rows: u64,
    /// Most bytes of an `.xls` `Workbook` stream read to find its percentage cells.
    max_stream: u64,
}

impl Job {
    fn malformed(&self, what: impl std::fmt::Display) -> Error {
        crate::file_error(
            IssueCode::MalformedFile,
            &self.file,
            format!(
                "the workbook cannot be read ({what}); save it again from the spreadsheet program"
            ),
        )
    }

    fn pick_sheet(&self, names: &[String]) -> Result<String, Error> {
        let Some(wanted) = &self.sheet else {
            return names.first().cloned().ok_or_else(|| {
                crate::file_error(
                    IssueCode::MalformedFile,
                    &self.file,
                    "the workbook has no sheets".into(),
                )
            });
        };
        if let Some(n) = names.iter().find(|n| *n == wanted) {
            return Ok(n.clone());
        }
        let ci: Vec<_> = names
            .iter()
            .filter(|n| n.eq_ignore_ascii_case(wanted))
            .collect();
        if let [one] = ci.as_slice() {
            return Ok((*one).clone());
        }
        Err(crate::file_error(
            IssueCode::UnreadableFile,
            &self.file,
            format!(
                "there is no sheet named {wanted:?}; the workbook has: {}",
                names
                    .iter()
                    .map(|n| format!("{n:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ))
    }

    fn run(self, p: &mut Producer) {
        if let Err(e) = self.read(p) {
            p.send(Err(e));
        }
    }

    fn read(&self, p: &mut Producer) -> Result<(), Error> {
        let mut rows = Assembler::new(&self.file, self.max_rows);
        match self.format {
            Format::Xlsx => {
                let mut wb: Xlsx<_> =
                    calamine::open_workbook(&self.path).map_err(|e| self.malformed(e))?;
                let is_1904 = wb.has_1904_epoch();
                let name = self.pick_sheet(&wb.sheet_names())?;
                let mut cells = wb
                    .worksheet_cells_reader(&name)
                    .map_err(|e| self.malformed(e))?;
                loop {
                    let (cell, style) = match cells.next_cell_with_style_id() {
                        Ok(Some(c)) => c,
                        Ok(None) => break,
                        Err(e) => {
                            // Rows already read stand; the rest of the sheet is unreadable.
                            rows.finish(p);
                            p.send(Ok(Event::Issue(Issue::error(
                                IssueCode::MalformedFile,
                                self.file.clone(),
                                None,
                                None,
                                format!("the sheet is damaged after the rows read so far ({e}); save it again from the spreadsheet program"),
                            ))));
                            return Ok(());
                        }
                    };
                    let (r, c) = cell.get_position();
                    if (c as usize) >= MAX_COLUMNS {
                        continue;
                    }
                    let mut value = convert_ref(cell.get_value(), is_1904);
                    let percent = cells
                        .styles()
                        .get(style)
                        .and_then(|s| s.number_format.as_ref())
                        .is_some_and(|f| is_percent_format(&f.format_code));
                    if percent {
                        value = as_shown_percent(value);
                    }
                    if !rows.cell(r, c, value, p) {
                        return Ok(());
                    }
                }
            }
            Format::Xls | Format::Ods => {
                // calamine keeps sheets by name: of two with one name, the last is read.
                let index = |names: &[String], name: &str| {
                    names.iter().rposition(|n| n == name).unwrap_or(0)
                };
                let (range, is_1904, percent) = if self.format == Format::Xls {
                    let mut wb: Xls<_> =
                        calamine::open_workbook(&self.path).map_err(|e| self.malformed(e))?;
                    let names = wb.sheet_names();
                    let name = self.pick_sheet(&names)?;
                    let is_1904 = wb.has_1904_epoch();
                    let range = wb.worksheet_range(&name).map_err(|e| self.malformed(e))?;
                    drop(wb);
                    let percent = xls_workbook_stream(&self.path, self.max_stream)
                        .map(|s| percent::xls_percent_cells(&s, index(&names, &name), names.len()))
                        .unwrap_or_default();
                    (range, is_1904, percent)
                } else {
                    let mut wb: Ods<_> =
                        calamine::open_workbook(&self.path).map_err(|e| self.malformed(e))?;
                    let names = wb.sheet_names();
                    let name = self.pick_sheet(&names)?;
                    let range = wb.worksheet_range(&name).map_err(|e| self.malformed(e))?;
                    drop(wb);
                    let percent = percent::ods_percent_cells(&self.path, index(&names, &name));
                    (range, false, percent)
                };
                let Some((r0, c0)) = range.start() else {
                    rows.finish(p);
                    return Ok(());
                };
                for (i, row) in range.rows().enumerate() {
                    for (j, data) in row.iter().enumerate() {
                        let c = c0 as usize + j;
                        if c >= MAX_COLUMNS || matches!(data, Data::Empty) {
                            continue;
                        }
                        let r = r0 + i as u32;
                        let mut value = convert(data, is_1904);
                        if percent.contains(r, c as u32) {
                            value = as_shown_percent(value);
                        }
                        if !rows.cell(r, c as u32, value, p) {
                            return Ok(());
                        }
                    }
                }
            }
            _ => return Err(self.malformed("not a spreadsheet format")),
        }
        rows.finish(p);
        Ok(())
    }
}

/// Assembles cells (in row order) into rows; the first non-blank row is the header.
struct Assembler {
    file: String,
    max_rows: u64,
    rows: u64,
    width: Option<usize>,
    header_cells: Vec<(u32, Value)>,
    current: Option<u32>,
    values: Vec<Value>,
    stopped: bool,
    /// Per column of the header width: true when the header cell is blank.
    unnamed: Vec<bool>,
    /// The values of the current row in columns without a header (0-based column, value).
    unheaded: Vec<(u32, Value)>,
}

/// The widest row (in columns) that a `malformed-row` spreadsheet row is given back as, for
/// the rejects file, when the header is narrower.
pub const MALFORMED_WIDTH: usize = 256;

/// The spreadsheet letter of a 0-based column (`0` → `A`, `27` → `AB`).
fn column_letter(col: u32) -> String {
    let mut n = col as u64 + 1;
    let mut out = Vec::new();
    while n > 0 {
        let r = ((n - 1) % 26) as u8;
        out.push(b'A' + r);
        n = (n - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

impl Assembler {
    fn new(file: &str, max_rows: u64) -> Self {
        Assembler {
            file: file.to_owned(),
            max_rows,
            rows: 0,
            width: None,
            header_cells: Vec::new(),
            current: None,
            values: Vec::new(),
            stopped: false,
            unnamed: Vec::new(),
            unheaded: Vec::new(),
        }
    }

    /// Adds a cell (0-based row and column); false when the consumer is gone or reading stops.
    fn cell(&mut self, row: u32, col: u32, value: Value, p: &mut Producer) -> bool {
        if self.current != Some(row) {
            if self.current.is_some() && !self.flush(p) {
                return false;
            }
            self.current = Some(row);
        }
        match self.width {
            None => {
                if !value.is_blank() {
                    self.header_cells.push((col, value));
                }
            }
            Some(w) => {
                let no_header =
                    (col as usize) >= w || self.unnamed.get(col as usize).copied().unwrap_or(true);
                if no_header {
                    if !value.is_blank() && (col as usize) < w.max(MALFORMED_WIDTH) {
                        self.unheaded.push((col, value));
                    } else if !value.is_blank() && self.unheaded.is_empty() {
                        // Beyond what is given back: named in the message only.
                        self.unheaded.push((col, Value::Empty));
                    }
                } else {
                    self.values[col as usize] = value;
                }
            }
        }
        true
    }

    fn flush(&mut self, p: &mut Producer) -> bool {
        let Some(row) = self.current else {
            return true;
        };
        match self.width {
            None => {
                if self.header_cells.is_empty() {
                    return true;
                }
                let width = self
                    .header_cells
                    .iter()
                    .map(|(c, _)| *c as usize + 1)
                    .max()
                    .unwrap_or(0);
                let mut headers = vec![String::new(); width];
                for (c, v) in self.header_cells.drain(..) {
                    headers[c as usize] = crate::header_name(&v.to_string()).to_owned();
                }
                self.unnamed = headers.iter().map(String::is_empty).collect();
                self.width = Some(width);
                self.values = vec![Value::Empty; width];
                p.headers(headers, row as u64 + 1)
            }
            Some(w) => {
                let values = std::mem::replace(&mut self.values, vec![Value::Empty; w]);
                let r = Row {
                    row: row as u64 + 1,
                    values,
                };
                if let Some(&(col, _)) = self.unheaded.first() {
                    // Never silently: the row is an error, given back as it was read.
                    let mut values = r.values;
                    for (c, v) in self.unheaded.drain(..) {
                        let c = c as usize;
                        if c < w.max(MALFORMED_WIDTH) {
                            if values.len() <= c {
                                values.resize(c + 1, Value::Empty);
                            }
                            values[c] = v;
                        }
                    }
                    return p.send_malformed(
                        Issue::error(
                            IssueCode::MalformedRow,
                            self.file.clone(),
                            Some(r.row),
                            None,
                            format!(
                                "this row has a value in column {} (column {}), which has no header, so the row is not read; add a header for that column or delete the value",
                                column_letter(col),
                                col as u64 + 1
                            ),
                        ),
                        values,
                    );
                }
                if r.is_blank() {
                    return true;
                }
                self.rows += 1;
                if self.rows > self.max_rows {
                    self.stopped = true;
                    p.send(Ok(Event::Issue(Issue::error(
                        IssueCode::MalformedFile,
                        self.file.clone(),
                        None,
                        None,
                        format!(
                            "the sheet has more than {} data rows (the --max-rows limit); the rest is not read",
                            self.max_rows
                        ),
                    ))));
                    return false;
                }
                p.send(Ok(Event::Row(r)))
            }
        }
    }

    fn finish(&mut self, p: &mut Producer) {
        if !self.stopped {
            self.flush(p);
        }
        self.current = None;
    }
}

/// True when an Excel number format shows a percentage (`0%`, `0.0%`): a `%` outside quoted
/// text and not escaped with `\`.
fn is_percent_format(code: &str) -> bool {
    let mut quoted = false;
    let mut escaped = false;
    for ch in code.chars() {
        match ch {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            '%' if !quoted => return true,
            _ => {}
        }
    }
    false
}

/// A number cell formatted as a percentage, read as the number it shows: `92.5%` (stored by
/// Excel as 0.925) is 92.5, so a score typed as a percentage means what the teacher saw.
fn as_shown_percent(v: Value) -> Value {
    let x = match v {
        Value::Float(x) => x,
        Value::Int(i) => i as f64,
        other => return other,
    };
    // Rounded to 10 decimals: 0.925 * 100 is 92.50000000000001 in binary floating point.
    Value::Float(((x * 100.0) * 1e10).round() / 1e10 + 0.0)
}

fn convert_ref(data: &DataRef<'_>, is_1904: bool) -> Value {
    match data {
        DataRef::Int(i) => Value::Int(*i),
        DataRef::Float(f) => Value::Float(*f),
        DataRef::String(s) => text(s),
        DataRef::SharedString(s) => text(s),
        DataRef::Bool(b) => Value::Bool(*b),
        DataRef::DateTime(d) => date_value(d, is_1904),
        DataRef::DateTimeIso(s) => iso_value(s),
        DataRef::DurationIso(s) => text(s),
        DataRef::Error(e) => Value::Error(e.to_string()),
        DataRef::Empty => Value::Empty,
    }
}

fn convert(data: &Data, is_1904: bool) -> Value {
    match data {
        Data::Int(i) => Value::Int(*i),
        Data::Float(f) => Value::Float(*f),
        Data::String(s) => text(s),
        Data::Bool(b) => Value::Bool(*b),
        Data::DateTime(d) => date_value(d, is_1904),
        Data::DateTimeIso(s) => iso_value(s),
        Data::DurationIso(s) => text(s),
        Data::Error(e) => Value::Error(e.to_string()),
        Data::Empty => Value::Empty,
    }
}

fn text(s: &str) -> Value {
    if s.is_empty() {
        Value::Empty
    } else {
        Value::Text(s.to_owned())
    }
}

/// An ISO date or date-time (`.ods` cells); anything else stays text.
fn iso_value(s: &str) -> Value {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Value::Date(d);
    }
    match NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        Ok(dt) if dt.time() == chrono::NaiveTime::MIN => Value::Date(dt.date()),
        Ok(dt) => Value::DateTime(dt),
        Err(_) => text(s),
    }
}

/// A date cell: the serial as a date (or date-time), or an error value for serial 60 of the
/// 1900 system (29 February 1900 never existed) and for serials out of range.
pub(crate) fn date_value(d: &ExcelDateTime, is_1904: bool) -> Value {
    let serial = d.as_f64();
    if d.is_duration() {
        return Value::Float(serial);
    }
    if !is_1904 && serial.floor() == 60.0 {
        return Value::Error(
            "invalid date serial 60 (29 February 1900 does not exist; Excel shows it for historical reasons)"
                .into(),
        );
    }
    if !(0.0..2_958_466.0).contains(&serial) {
        return Value::Error(format!("invalid date serial {serial}"));
    }
    match d.as_datetime() {
        Some(dt) => {
            // Round to whole seconds (Excel stores fractions of a day).
            let dt = if dt.nanosecond() >= 500_000_000 {
                dt.with_nanosecond(0)
                    .and_then(|x| x.checked_add_signed(chrono::Duration::seconds(1)))
                    .unwrap_or(dt)
            } else {
                dt.with_nanosecond(0).unwrap_or(dt)
            };
            if dt.time() == chrono::NaiveTime::MIN {
                Value::Date(dt.date())
            } else {
                Value::DateTime(dt)
            }
        }
        None => Value::Error(format!("invalid date serial {serial}")),
    }
}

impl Iterator for SheetSource {
    type Item = Result<Event, Error>;
    fn next(&mut self) -> Option<Self::Item> {
        self.events.next()
    }
}

impl RowSource for SheetSource {
    fn headers(&self) -> &[String] {
        &self.headers
    }
    fn take_malformed_values(&mut self) -> Option<Vec<Value>> {
        self.events.take_malformed()
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::ExcelDateTimeType;

    #[test]
    fn percent_formats() {
        assert!(is_percent_format("0%") && is_percent_format("0.00%"));
        assert!(
            !is_percent_format("0.00")
                && !is_percent_format("\"%\"0")
                && !is_percent_format("0\\%")
        );
        assert_eq!(as_shown_percent(Value::Float(0.925)), Value::Float(92.5));
        assert_eq!(as_shown_percent(Value::Int(1)), Value::Float(100.0));
        assert_eq!(
            as_shown_percent(Value::Text("x".into())),
            Value::Text("x".into())
        );
    }

    #[test]
    fn column_letters() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
        assert_eq!(column_letter(16_383), "XFD");
    }

    fn date(serial: f64, is_1904: bool) -> Value {
        date_value(
            &ExcelDateTime::new(serial, ExcelDateTimeType::DateTime, is_1904),
            is_1904,
        )
    }

    #[test]
    fn serials_59_60_61() {
        let d = |y, m, day| Value::Date(NaiveDate::from_ymd_opt(y, m, day).unwrap());
        assert_eq!(date(59.0, false), d(1900, 2, 28));
        assert!(matches!(date(60.0, false), Value::Error(e) if e.contains("60")));
        assert_eq!(date(61.0, false), d(1900, 3, 1));
        assert_eq!(date(45_000.0, false), d(2023, 3, 15));
        assert_eq!(date(0.0, true), d(1904, 1, 1));
        assert_eq!(date(60.0, true), d(1904, 3, 1));
        assert!(matches!(date(-5.0, false), Value::Error(_)));
        assert!(matches!(date(1e12, false), Value::Error(_)));
    }

    #[test]
    fn date_times_keep_their_time() {
        let v = date(45_000.5, false);
        let Value::DateTime(dt) = v else {
            panic!("expected a date-time")
        };
        assert_eq!(dt.to_string(), "2023-03-15 12:00:00");
    }

    fn scan(xml: &str) -> u64 {
        let mut s = OdsScan::default();
        for b in xml.bytes() {
            s.byte(b);
        }
        s.cells()
    }

    #[test]
    fn ods_scan_counts_expanded_cells() {
        let cell =
            r#"<table:table-cell office:value-type="string"><text:p>x</text:p></table:table-cell>"#;
        let two = format!("<table:table><table:table-row>{cell}{cell}</table:table-row><table:table-row>{cell}</table:table-row></table:table>");
        assert_eq!(scan(&two), 4);
        // Trailing formatting-only rows and columns (LibreOffice writes these) cost nothing.
        let trailing = format!(
            r#"<table:table><table:table-row>{cell}<table:table-cell table:number-columns-repeated="16383"/></table:table-row><table:table-row table:number-rows-repeated="1048575"><table:table-cell table:number-columns-repeated="16384"/></table:table-row></table:table>"#
        );
        assert_eq!(scan(&trailing), 1);
        // Repeated non-empty cells expand.
        let bomb = r#"<table:table><table:table-row table:number-rows-repeated="1000000"><table:table-cell table:number-columns-repeated="90" office:value-type="string"><text:p>y</text:p></table:table-cell></table:table-row></table:table>"#;
        assert_eq!(scan(bomb), 90_000_000);
        // Two tables add up.
        assert_eq!(scan(&format!("{two}{two}")), 8);
        assert_eq!(
            attr_number(b"x number-rows-repeated='7'", b"number-rows-repeated"),
            7
        );
        assert_eq!(
            attr_number(b"x number-rows-repeated=\"zz\"", b"number-rows-repeated"),
            1
        );
    }

    #[test]
    fn iso_cells() {
        assert!(matches!(iso_value("2024-01-05"), Value::Date(_)));
        assert!(matches!(
            iso_value("2024-01-05T10:00:00"),
            Value::DateTime(_)
        ));
        assert!(matches!(iso_value("2024-01-05T00:00:00"), Value::Date(_)));
        assert_eq!(iso_value("soon"), Value::Text("soon".into()));
    }

    /// A small valid stream: globals listing the one sheet `listed` times, the sheet with
    /// cells at A1 and B2.
    fn small_stream(listed: u8) -> Vec<u8> {
        let rec = |out: &mut Vec<u8>, typ: u16, data: &[u8]| {
            out.extend_from_slice(&typ.to_le_bytes());
            out.extend_from_slice(&(data.len() as u16).to_le_bytes());
            out.extend_from_slice(data);
        };
        let start = 20 + 13 * listed + 4;
        let mut s = Vec::new();
        rec(&mut s, 0x0809, &[0; 16]);
        for _ in 0..listed {
            rec(&mut s, 0x0085, &[start, 0, 0, 0, 0, 0, 1, 0, b'A']);
        }
        rec(&mut s, 0x000A, &[]);
        assert_eq!(s.len(), start as usize);
        rec(&mut s, 0x0809, &[0; 16]);
        rec(&mut s, 0x0203, &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        rec(&mut s, 0x0203, &[1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        rec(&mut s, 0x000A, &[]);
        s
    }

    #[test]
    fn xls_scan_counts_the_span_of_each_sheet() {
        assert_eq!(
            xls_cells(&small_stream(1), MAX_ODS_CELLS),
            XlsCells::Within(4)
        );
        assert_eq!(xls_cells(&small_stream(1), 3), XlsCells::Over(4));
        // Two BOUNDSHEETs naming the same sheet count it twice: calamine builds it twice.
        assert_eq!(
            xls_cells(&small_stream(2), MAX_ODS_CELLS),
            XlsCells::Within(8)
        );
        assert_eq!(xls_cells(&[], MAX_ODS_CELLS), XlsCells::Within(0));
    }

    #[test]
    fn xls_scan_of_unending_sheets_is_bounded() {
        // 20,000 sheets all pointing at a run of BOFs with no EOF: quadratic if walked naively.
        let mut s = Vec::new();
        s.extend_from_slice(&[0x09, 0x08, 0, 0]);
        let sheets = 20_000u32;
        let start = 4 + sheets as usize * 10 + 4;
        for i in 0..sheets {
            let at = (start as u32 + i * 4).to_le_bytes();
            s.extend_from_slice(&[0x85, 0, 6, 0, at[0], at[1], at[2], at[3], 0, 0]);
        }
        s.extend_from_slice(&[0x0A, 0, 0, 0]);
        for _ in 0..sheets {
            s.extend_from_slice(&[0x09, 0x08, 0, 0]);
        }
        let t = std::time::Instant::now();
        assert_eq!(xls_cells(&s, MAX_ODS_CELLS), XlsCells::Tangled);
        assert!(t.elapsed() < std::time::Duration::from_secs(10));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        #[test]
        fn xls_scan_never_panics_on_random_bytes(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
            let _ = xls_cells(&bytes, MAX_ODS_CELLS);
        }

        #[test]
        fn xls_scan_never_panics_on_mutated_streams(
            edits in proptest::collection::vec((0usize..64, proptest::prelude::any::<u8>()), 1..8),
            cut in 0usize..64,
        ) {
            let mut s = small_stream(1);
            for (at, b) in edits {
                let n = s.len();
                s[at % n] = b;
            }
            s.truncate(s.len().saturating_sub(cut % 8));
            let _ = xls_cells(&s, MAX_ODS_CELLS);
        }
    }
}
