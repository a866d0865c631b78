//! Which cells of an `.ods` or `.xls` sheet are formatted as a percentage.
//!
//! calamine 0.38 reads these formats whole but exposes no cell formats, so a cell that shows
//! `92.5%` comes back as the stored fraction 0.925. This module finds the percentage cells
//! itself, by the same positions calamine uses, so that the reader can give them as shown
//! (see `as_shown_percent`), as it already does for `.xlsx`.
//!
//! - **`.ods`**: `content.xml` is streamed with quick-xml (the reader calamine uses) and the
//!   table calamine reads is walked as calamine walks it: rows and cells are counted with
//!   `table:number-rows-repeated` / `table:number-columns-repeated` (capped as calamine caps
//!   them, at 1,048,576 rows and 16,384 columns), a `table:covered-table-cell` takes its
//!   column, and a cell is a percentage cell when its `office:value-type` is `percentage`.
//!   Repeats are kept as runs (first row, rows, column spans), never expanded, so a row
//!   repeated a million times costs one entry.
//! - **`.xls`** (BIFF8 only): the `Workbook` stream's globals give the `FORMAT` strings by
//!   index, each `XF`'s format index and each sheet's offset (`BOUNDSHEET8`); the chosen
//!   sheet's `NUMBER`, `RK`, `MULRK` and `FORMULA` cells name their `XF`. A cell is a
//!   percentage cell when its format is builtin 9 (`0%`) or 10 (`0.00%`), or a custom
//!   `FORMAT` string with a `%` outside quotes (`is_percent_format`). A BIFF5 or older
//!   workbook (Excel 95 and before) is not examined: its percentages are read as fractions.
//!
//! Any parse problem means "no percentage cells known": the cells are then read as calamine
//! gives them, and a damaged file is reported by calamine as before. Nothing here panics on
//! a malformed file.
use super::{biff_record, is_percent_format, le16, le32};
use quick_xml::events::Event;
use quick_xml::name::QName;
use quick_xml::Reader;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// The rows calamine reads from an `.ods` table at most (its own cap).
const ODS_MAX_ROWS: u64 = 1_048_576;
/// The columns calamine reads from an `.ods` row at most (its own cap).
const ODS_MAX_COLUMNS: u64 = 16_384;

/// Rows that share their percentage cells: `rows` rows from `first_row`, each with the
/// columns `spans` (first column, count), sorted and disjoint.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Run {
    first_row: u32,
    rows: u32,
    spans: Vec<(u32, u32)>,
}

/// The percentage cells of one sheet, by absolute 0-based (row, column) as calamine places
/// them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct PercentCells {
    /// Sorted by `first_row`, row ranges disjoint.
    runs: Vec<Run>,
}

impl PercentCells {
    /// True when the cell at 0-based (`row`, `col`) is formatted as a percentage.
    pub(crate) fn contains(&self, row: u32, col: u32) -> bool {
        let i = self.runs.partition_point(|r| r.first_row <= row);
        let Some(run) = i.checked_sub(1).and_then(|i| self.runs.get(i)) else {
            return false;
        };
        if u64::from(row) >= u64::from(run.first_row) + u64::from(run.rows) {
            return false;
        }
        let j = run.spans.partition_point(|&(c, _)| c <= col);
        j.checked_sub(1)
            .and_then(|j| run.spans.get(j))
            .is_some_and(|&(c, n)| u64::from(col) < u64::from(c) + u64::from(n))
    }

    /// True when no cell is known to be a percentage.
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }
}

/// The percentage cells of the `sheet`-th named table (0-based, in document order: the
/// order of calamine's `sheet_names`) of the `.ods` at `path`; none when anything fails.
pub(crate) fn ods_percent_cells(path: &Path, sheet: usize) -> PercentCells {
    let scan = || -> Option<PercentCells> {
        let f = std::fs::File::open(path).ok()?;
        let mut zip = zip::ZipArchive::new(BufReader::new(f)).ok()?;
        let content = zip.by_name("content.xml").ok()?;
        ods_content_percent_cells(BufReader::with_capacity(64 * 1024, content), sheet)
    };
    scan().unwrap_or_default()
}

const TABLE: QName<'static> = QName("table:table");
const ROW: QName<'static> = QName("table:table-row");
const CELL: QName<'static> = QName("table:table-cell");
const COVERED: QName<'static> = QName("table:covered-table-cell");

/// [`ods_percent_cells`] over `content.xml`. Like calamine, every `table:table` element
/// with a `table:name` (outside the cells of another named table) is a sheet; the one it
/// reads under a name is the last with that name, which is why the caller passes an index.
fn ods_content_percent_cells<R: BufRead>(xml: R, sheet: usize) -> Option<PercentCells> {
    let mut reader = Reader::from_reader(xml);
    let config = reader.config_mut();
    config.expand_empty_elements = true;
    config.check_end_names = false;
    config.check_comments = false;
    config.trim_text(false);
    let mut buf = Vec::with_capacity(1024);
    let mut row_buf = Vec::with_capacity(1024);
    let mut cell_buf = Vec::with_capacity(1024);
    let mut tables = 0usize;
    loop {
        buf.clear();
        let named_table = match reader.read_event_into(&mut buf).ok()? {
            Event::Start(e) if e.name() == TABLE => {
                e.try_get_attribute("table:name").ok()?.is_some()
            }
            Event::Eof => return None,
            _ => false,
        };
        if named_table {
            let runs = ods_table(&mut reader, &mut buf, &mut row_buf, &mut cell_buf)?;
            if tables == sheet {
                return Some(PercentCells { runs });
            }
            tables += 1;
        }
    }
}

/// A repeat count attribute (`table:number-rows-repeated`, ...): 1 when absent, `None` when
/// it is not a number (calamine then refuses the file).
fn repeat_count(e: &quick_xml::events::BytesStart<'_>, name: &str) -> Option<u64> {
    match e.try_get_attribute(name).ok()? {
        None => Some(1),
        Some(a) => a.value.parse::<u64>().ok(),
    }
}

/// Reads one table up to its end (calamine's `read_table`): the runs of percentage cells.
fn ods_table<R: BufRead>(
    reader: &mut Reader<R>,
    buf: &mut Vec<u8>,
    row_buf: &mut Vec<u8>,
    cell_buf: &mut Vec<u8>,
) -> Option<Vec<Run>> {
    let mut runs = Vec::new();
    let mut rows: u64 = 0;
    loop {
        buf.clear();
        match reader.read_event_into(buf).ok()? {
            Event::Start(e) if e.name() == ROW => {
                let repeats = repeat_count(&e, "table:number-rows-repeated")?;
                let repeats = repeats.min(ODS_MAX_ROWS - rows);
                let first_row = rows;
                rows += repeats;
                let spans = ods_row(reader, row_buf, cell_buf)?;
                if repeats > 0 && !spans.is_empty() {
                    runs.push(Run {
                        first_row: u32::try_from(first_row).ok()?,
                        rows: u32::try_from(repeats).ok()?,
                        spans,
                    });
                }
            }
            Event::End(e) if e.name() == TABLE => return Some(runs),
            Event::Eof => return None,
            _ => {}
        }
    }
}

/// Reads one row up to its end (calamine's `read_row`): the column spans of its percentage
/// cells. A cell takes `table:number-columns-repeated` columns, counted from where the
/// previous one ended, all capped at 16,384 columns as calamine caps them.
fn ods_row<R: BufRead>(
    reader: &mut Reader<R>,
    row_buf: &mut Vec<u8>,
    cell_buf: &mut Vec<u8>,
) -> Option<Vec<(u32, u32)>> {
    let mut spans = Vec::new();
    let mut col: u64 = 0;
    loop {
        row_buf.clear();
        match reader.read_event_into(row_buf).ok()? {
            Event::Start(e) if e.name() == CELL || e.name() == COVERED => {
                let end = if e.name() == CELL { CELL } else { COVERED };
                let repeats = repeat_count(&e, "table:number-columns-repeated")?;
                let percent = e
                    .try_get_attribute("office:value-type")
                    .ok()?
                    .is_some_and(|a| a.value == "percentage");
                let n = repeats.min(ODS_MAX_COLUMNS - col);
                if percent && n > 0 {
                    spans.push((u32::try_from(col).ok()?, u32::try_from(n).ok()?));
                }
                col += n;
                cell_buf.clear();
                reader.read_to_end_into(end, cell_buf).ok()?;
            }
            Event::End(e) if e.name() == ROW => return Some(spans),
            Event::Eof => return None,
            _ => {}
        }
    }
}

/// The percentage cells of the `sheet`-th sheet (0-based, in `BOUNDSHEET8` order: the order
/// of calamine's `sheet_names`) of a BIFF8 `Workbook` stream whose globals list `sheets`
/// sheets; none when anything fails or the workbook is not BIFF8.
pub(crate) fn xls_percent_cells(stream: &[u8], sheet: usize, sheets: usize) -> PercentCells {
    xls_scan(stream, sheet, sheets)
        .map(|runs| PercentCells { runs })
        .unwrap_or_default()
}

/// Whether a `BOF` record (0x0809) opens a BIFF8 substream, as calamine decides it.
fn bof_is_biff8(data: &[u8]) -> bool {
    match (le16(data, 0), le16(data, 2)) {
        (Some(0x0600), _) => true,
        (Some(0), dt) => dt != Some(0x1000),
        _ => false,
    }
}

/// A `FORMAT` record (0x041E): its index and its code (`XLUnicodeString`), the characters
/// continuing into the `CONTINUE` records (0x003C) that follow at `next`, each of which
/// starts with its own high-byte flag.
fn format_record(stream: &[u8], data: &[u8], next: usize) -> Option<(u16, String)> {
    let ifmt = le16(data, 0)? as u16;
    let mut left = le16(data, 2)? as usize;
    let mut high = data.get(4)? & 1 != 0;
    let mut chunk = data.get(5..)?;
    let mut pos = next;
    let mut units: Vec<u16> = Vec::with_capacity(left);
    loop {
        let width = if high { 2 } else { 1 };
        let take = left.min(chunk.len() / width);
        for c in chunk.chunks_exact(width).take(take) {
            units.push(if high {
                u16::from_le_bytes([c[0], c[1]])
            } else {
                u16::from(c[0])
            });
        }
        left -= take;
        if left == 0 {
            break;
        }
        let (typ, cont, after) = biff_record(stream, pos)?;
        if typ != 0x003C {
            return None;
        }
        high = cont.first()? & 1 != 0;
        chunk = cont.get(1..)?;
        pos = after;
    }
    Some((ifmt, String::from_utf16_lossy(&units)))
}

/// The format indexes calamine takes from a `FORMAT` record (others fall back to the
/// builtin format of that index).
fn custom_format_index(ifmt: u16) -> bool {
    matches!(ifmt, 5..=8 | 23..=26 | 41..=44 | 63..=66 | 164..=382)
}

/// See [`xls_percent_cells`]. Walks the records as calamine does: the globals up to their
/// `EOF`, then the chosen sheet from its `BOF` to its `EOF`, skipping nested substreams
/// (charts). A later cell record at the same position replaces an earlier one, as in
/// calamine's range.
fn xls_scan(stream: &[u8], sheet: usize, sheets: usize) -> Option<Vec<Run>> {
    let mut formats: HashMap<u16, bool> = HashMap::new();
    let mut xfs: Vec<u16> = Vec::new();
    let mut offsets: Vec<usize> = Vec::new();
    let mut biff8 = false;
    let mut pos = 0;
    while pos < stream.len() {
        let (typ, data, next) = biff_record(stream, pos)?;
        match typ {
            0x0809 => {
                biff8 = bof_is_biff8(data);
                if !biff8 {
                    return None; // BIFF5 or older: not examined
                }
            }
            0x041E => {
                if let Some((ifmt, code)) = format_record(stream, data, next) {
                    if custom_format_index(ifmt) {
                        formats.insert(ifmt, is_percent_format(&code));
                    }
                }
            }
            0x00E0 => xfs.push(le16(data, 2)? as u16),
            0x0085 => offsets.push(usize::try_from(le32(data, 0)?).ok()?),
            0x000A => break,
            _ => {}
        }
        pos = next;
    }
    if !biff8 || offsets.len() != sheets {
        return None;
    }
    let percent_xf: Vec<bool> = xfs
        .iter()
        .map(|&ifmt| {
            formats
                .get(&ifmt)
                .copied()
                .unwrap_or(ifmt == 9 || ifmt == 10)
        })
        .collect();
    let is_percent = |ixfe: u64| percent_xf.get(ixfe as usize).copied().unwrap_or(false);

    let mut cells: HashMap<(u32, u32), bool> = HashMap::new();
    let mut pos = *offsets.get(sheet)?;
    let mut seen_bof = false;
    let mut depth = 0usize;
    while pos < stream.len() {
        let (typ, data, next) = biff_record(stream, pos)?;
        pos = next;
        if depth > 0 {
            match typ {
                0x0809 => depth += 1,
                0x000A => depth -= 1,
                _ => {}
            }
            continue;
        }
        let row = || Some(le16(data, 0)? as u32);
        match typ {
            0x0809 => {
                if seen_bof {
                    depth += 1;
                } else {
                    seen_bof = true;
                }
            }
            0x000A => break,
            // NUMBER, RK, FORMULA: row, col, ixfe
            0x0203 | 0x027E | 0x0006 => {
                let min = match typ {
                    0x0203 => 14,
                    0x027E => 10,
                    _ => 20,
                };
                if data.len() < min {
                    return None; // calamine refuses the file
                }
                let col = le16(data, 2)? as u32;
                cells.insert((row()?, col), is_percent(le16(data, 4)?));
            }
            // MULRK: row, first col, n × (ixfe, RK), last col
            0x00BD => {
                let first = le16(data, 2)? as u32;
                let last = le16(data, data.len().checked_sub(2)?)? as u32;
                let n = last.checked_sub(first)?.checked_add(1)? as usize;
                if data.len() != 6 + 6 * n {
                    return None; // calamine refuses the file
                }
                let r = row()?;
                for (i, rk) in data[4..data.len() - 2].chunks_exact(6).enumerate() {
                    cells.insert((r, first + i as u32), is_percent(le16(rk, 0)?));
                }
            }
            _ => {}
        }
    }
    let mut hits: Vec<(u32, u32)> = cells
        .into_iter()
        .filter_map(|(at, percent)| percent.then_some(at))
        .collect();
    hits.sort_unstable();
    let mut runs: Vec<Run> = Vec::new();
    for (row, col) in hits {
        match runs.last_mut() {
            Some(run) if run.first_row == row => run.spans.push((col, 1)),
            _ => runs.push(Run {
                first_row: row,
                rows: 1,
                spans: vec![(col, 1)],
            }),
        }
    }
    Some(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ods(rows: &str) -> Option<PercentCells> {
        let xml = format!(
            r#"<?xml version="1.0"?><office:document-content><office:body><office:spreadsheet><table:table table:name="Other"><table:table-row><table:table-cell office:value-type="percentage" office:value="0.5"/></table:table-row></table:table><table:table table:name="Grades">{rows}</table:table></office:spreadsheet></office:body></office:document-content>"#
        );
        ods_content_percent_cells(xml.as_bytes(), 1)
    }

    const PCT: &str = r#"<table:table-cell office:value-type="percentage" office:value="0.925"><text:p>92.5%</text:p></table:table-cell>"#;
    const NUM: &str = r#"<table:table-cell office:value-type="float" office:value="3"/>"#;

    #[test]
    fn ods_cells_are_placed_as_calamine_places_them() {
        let rows = format!(
            r#"<table:table-row>{NUM}{PCT}</table:table-row><table:table-row table:number-rows-repeated="3"><table:table-cell table:number-columns-repeated="2"/><table:covered-table-cell/>{PCT}</table:table-row><table:table-row><table:table-cell office:value-type="percentage" office:value="0.1" table:number-columns-repeated="2"/>{NUM}</table:table-row><table:table-row table:number-rows-repeated="1048000"><table:table-cell table:number-columns-repeated="16384"/></table:table-row>"#
        );
        let cells = ods(&rows).unwrap();
        assert!(cells.contains(0, 1) && !cells.contains(0, 0) && !cells.contains(0, 2));
        for r in 1..=3 {
            assert!(cells.contains(r, 3) && !cells.contains(r, 2), "row {r}");
        }
        assert!(cells.contains(4, 0) && cells.contains(4, 1) && !cells.contains(4, 2));
        assert!(!cells.contains(5, 0) && !cells.contains(1_000_000, 3));
        // The first table's percentage cell is not this sheet's.
        assert!(ods("").unwrap().is_empty());
    }

    #[test]
    fn ods_repeats_are_capped_as_calamine_caps_them() {
        let rows = format!(
            r#"<table:table-row table:number-rows-repeated="99999999"><table:table-cell table:number-columns-repeated="99999"/>{PCT}</table:table-row><table:table-row>{PCT}</table:table-row>"#
        );
        let cells = ods(&rows).unwrap();
        // Past the 16,384th column nothing is placed, past the 1,048,576th row neither.
        assert!(cells.is_empty(), "{cells:?}");
    }

    #[test]
    fn damaged_ods_content_knows_no_percent_cells() {
        assert_eq!(
            ods(r#"<table:table-row table:number-rows-repeated="x">"#),
            None
        );
        let cut = format!(r#"<table:table table:name="Other"><table:table-row>{PCT}"#);
        assert_eq!(ods_content_percent_cells(cut.as_bytes(), 0), None);
        assert_eq!(ods_content_percent_cells(&b"\xff\xfe<<<"[..], 0), None);
    }

    fn rec(out: &mut Vec<u8>, typ: u16, data: &[u8]) {
        out.extend_from_slice(&typ.to_le_bytes());
        out.extend_from_slice(&(data.len() as u16).to_le_bytes());
        out.extend_from_slice(data);
    }

    fn cell(typ: u16, row: u16, col: u16, xf: u16, len: usize) -> Vec<u8> {
        let mut d = Vec::new();
        d.extend_from_slice(&row.to_le_bytes());
        d.extend_from_slice(&col.to_le_bytes());
        d.extend_from_slice(&xf.to_le_bytes());
        d.resize(len, 0);
        let mut out = Vec::new();
        rec(&mut out, typ, &d);
        out
    }

    /// Globals with XF 0 plain, XF 1 builtin 9, XF 2 custom 164 (`0.0%`, split over a
    /// CONTINUE), XF 3 custom 165 (`0.0"%"`); one sheet with the given cell records.
    fn stream(version: u16, cells: &[Vec<u8>]) -> Vec<u8> {
        let mut g = Vec::new();
        let mut bof = version.to_le_bytes().to_vec();
        bof.extend_from_slice(&[5, 0]);
        bof.resize(16, 0);
        rec(&mut g, 0x0809, &bof);
        rec(&mut g, 0x041E, &[164, 0, 4, 0, 0, b'0', b'.']);
        rec(&mut g, 0x003C, &[1, b'0', 0, b'%', 0]);
        rec(
            &mut g,
            0x041E,
            &[165, 0, 6, 0, 0, b'0', b'.', b'0', b'"', b'%', b'"'],
        );
        for ifmt in [0u8, 9, 164, 165] {
            rec(&mut g, 0x00E0, &[0, 0, ifmt, 0, 0, 0]);
        }
        let at = (g.len() + 4 + 9 + 4) as u32;
        let mut bs = at.to_le_bytes().to_vec();
        bs.extend_from_slice(&[0, 0, 1, 0, b'S']);
        rec(&mut g, 0x0085, &bs);
        rec(&mut g, 0x000A, &[]);
        assert_eq!(g.len(), at as usize);
        let mut bof = version.to_le_bytes().to_vec();
        bof.extend_from_slice(&[0x10, 0]);
        bof.resize(16, 0);
        rec(&mut g, 0x0809, &bof);
        for c in cells {
            g.extend_from_slice(c);
        }
        rec(&mut g, 0x000A, &[]);
        g
    }

    fn mulrk(row: u16, col: u16, xfs: &[u16]) -> Vec<u8> {
        let mut d = Vec::new();
        d.extend_from_slice(&row.to_le_bytes());
        d.extend_from_slice(&col.to_le_bytes());
        for xf in xfs {
            d.extend_from_slice(&xf.to_le_bytes());
            d.extend_from_slice(&[0, 0, 0xF0, 0x3F]); // RK 1.0
        }
        d.extend_from_slice(&(col + xfs.len() as u16 - 1).to_le_bytes());
        let mut out = Vec::new();
        rec(&mut out, 0x00BD, &d);
        out
    }

    #[test]
    fn xls_percent_cells_follow_their_xf() {
        let cells = [
            cell(0x0203, 1, 0, 0, 14),
            cell(0x0203, 1, 1, 1, 14),
            cell(0x027E, 1, 2, 2, 10),
            cell(0x027E, 1, 3, 3, 10),
            cell(0x0006, 2, 0, 1, 20),
            mulrk(3, 1, &[0, 2, 1]),
            cell(0x0203, 4, 0, 1, 14),
            cell(0x0203, 4, 0, 0, 14), // replaces the percent cell before it
            cell(0x0203, 5, 0, 9, 14), // no XF 9: plain
        ];
        let found = xls_percent_cells(&stream(0x0600, &cells), 0, 1);
        let expect = [(1, 1), (1, 2), (2, 0), (3, 2), (3, 3)];
        for r in 0..6 {
            for c in 0..4 {
                assert_eq!(found.contains(r, c), expect.contains(&(r, c)), "({r}, {c})");
            }
        }
        // BIFF5, a wrong sheet count or sheet index: nothing known.
        assert!(xls_percent_cells(&stream(0x0500, &cells), 0, 1).is_empty());
        assert!(xls_percent_cells(&stream(0x0600, &cells), 0, 2).is_empty());
        assert!(xls_percent_cells(&stream(0x0600, &cells), 1, 1).is_empty());
    }

    #[test]
    fn a_format_split_over_a_continue_is_read_whole() {
        let mut s = Vec::new();
        rec(&mut s, 0x041E, &[164, 0, 4, 0, 0, b'0', b'.']);
        rec(&mut s, 0x003C, &[1, b'0', 0, b'%', 0]);
        let (_, data, next) = biff_record(&s, 0).unwrap();
        assert_eq!(format_record(&s, data, next), Some((164, "0.0%".into())));
        assert_eq!(format_record(&s[..11], data, next), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        #[test]
        fn xls_percent_scan_never_panics_on_mutated_streams(
            edits in proptest::collection::vec((0usize..512, proptest::prelude::any::<u8>()), 1..8),
            cut in 0usize..64,
            sheet in 0usize..2,
        ) {
            let mut s = stream(0x0600, &[cell(0x0203, 1, 1, 1, 14), mulrk(3, 1, &[0, 2, 1])]);
            for (at, b) in edits {
                let n = s.len();
                s[at % n] = b;
            }
            s.truncate(s.len().saturating_sub(cut));
            let _ = xls_percent_cells(&s, sheet, 1);
        }

        #[test]
        fn ods_percent_scan_never_panics_on_mutated_content(
            edits in proptest::collection::vec((0usize..1024, proptest::prelude::any::<u8>()), 1..8),
            cut in 0usize..64,
        ) {
            let mut s = format!(r#"<table:table table:name="A"><table:table-row table:number-rows-repeated="2">{NUM}{PCT}<table:covered-table-cell/></table:table-row></table:table>"#).into_bytes();
            for (at, b) in edits {
                let n = s.len();
                s[at % n] = b;
            }
            s.truncate(s.len().saturating_sub(cut));
            let _ = ods_content_percent_cells(&s[..], 0);
        }
    }
}
