//! Hostile inputs through the real binary (`registrar validate --file ... --format json`):
//! zip bombs, a sheet with a cell at XFD1048576, a 500 MB CSV field, an unbalanced quote, JSON
//! nested 100,000 levels deep, 10 million blank lines, and Excel's date serials.
//!
//! Each run must end with exit code 0 or 1 (never a signal, never 101 or 134), report a clear
//! issue code where one is due, finish in under 60 s and peak under 256 MB of RSS (measured
//! with `/usr/bin/time -f %M` when it exists, else by polling `/proc/<pid>/status` VmHWM).
//! The files are generated in a temp dir at test time; nothing large is committed.

use flate2::{Compress, Compression, Crc, FlushCompress};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MAX_RSS_KB: u64 = 256 * 1024;
const MAX_SECS: f64 = 60.0;

/// What one measured run did.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    secs: f64,
    peak_kb: u64,
}

impl Run {
    /// The issue codes of the JSON report (or of a file-level error printed as JSON).
    fn codes(&self) -> Vec<String> {
        let v: serde_json::Value = match serde_json::from_str(&self.stdout) {
            Ok(v) => v,
            Err(_) => return Vec::new(),
        };
        v["issues"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|i| i["code"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// All the text a person sees.
    fn text(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// The run ended normally (0 or 1), in bounded time and memory.
    fn assert_bounded(&self, what: &str) {
        eprintln!(
            "{what}: exit {:?}, {:.2} s, peak RSS {} KB",
            self.code, self.secs, self.peak_kb
        );
        assert!(
            matches!(self.code, Some(0) | Some(1)),
            "{what}: exit {:?} (a crash, a panic or a signal)\n{}",
            self.code,
            tail(&self.text())
        );
        assert!(
            !self.stderr.contains("panicked") && !self.stderr.contains("terminated by signal"),
            "{what}: {}",
            tail(&self.stderr)
        );
        assert!(self.secs < MAX_SECS, "{what}: took {:.1} s", self.secs);
        assert!(
            self.peak_kb > 0 && self.peak_kb < MAX_RSS_KB,
            "{what}: peak RSS {} KB (limit {MAX_RSS_KB} KB)",
            self.peak_kb
        );
    }
}

fn tail(s: &str) -> String {
    let start = s.len().saturating_sub(2000);
    s.get(start..).unwrap_or(s).to_owned()
}

/// Runs `registrar validate --file FILE --format json EXTRA...` and measures it.
fn validate(file: &Path, extra: &[&str]) -> Run {
    let mut args: Vec<String> = vec![
        "validate".into(),
        "--file".into(),
        file.display().to_string(),
        "--format".into(),
        "json".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    measure(&args)
}

fn measure(args: &[String]) -> Run {
    let bin = env!("CARGO_BIN_EXE_registrar");
    let dir = tempfile::tempdir().expect("temp dir");
    let out_path = dir.path().join("stdout");
    let err_path = dir.path().join("stderr");
    let time_path = dir.path().join("time");
    let gnu_time = Path::new("/usr/bin/time").exists();
    let mut cmd = if gnu_time {
        let mut c = Command::new("/usr/bin/time");
        c.arg("-f").arg("%M").arg("-o").arg(&time_path).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    cmd.args(args)
        .env_remove("REGISTRAR_DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"));
    let start = Instant::now();
    let mut child = cmd.spawn().expect("run registrar");
    let mut polled_kb = 0;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if !gnu_time {
            polled_kb = polled_kb.max(vm_hwm_kb(child.id()).unwrap_or(0));
        }
        if start.elapsed() > Duration::from_secs(120) {
            // Do not hang the suite: kill the run (and under time, its child) and fail.
            for pid in children(child.id()) {
                let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            }
            let _ = child.kill();
            let _ = child.wait();
            panic!("registrar {args:?} ran for more than 120 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let secs = start.elapsed().as_secs_f64();
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let mut stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let peak_kb = if gnu_time {
        let t = std::fs::read_to_string(&time_path).unwrap_or_default();
        // Under time, a child killed by a signal shows as 128+N and a line in the -o file.
        if t.contains("terminated by signal") {
            stderr.push_str(&t);
        }
        t.lines()
            .filter_map(|l| l.trim().parse::<u64>().ok())
            .next_back()
            .unwrap_or(0)
    } else {
        polled_kb
    };
    #[cfg(unix)]
    if status.code().is_none() {
        use std::os::unix::process::ExitStatusExt;
        stderr.push_str(&format!("terminated by signal {:?}", status.signal()));
    }
    Run {
        code: status.code(),
        stdout,
        stderr,
        secs,
        peak_kb,
    }
}

fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// A tiny zip writer, so that declared sizes can be made to lie.

/// One zip member: its raw deflate stream (or stored bytes), CRC and real size.
struct Member {
    name: String,
    deflated: bool,
    data: Vec<u8>,
    crc: u32,
    size: u64,
    /// The uncompressed size written into the headers (normally `size`).
    declared: u64,
}

impl Member {
    fn stored(name: &str, bytes: &[u8]) -> Member {
        let mut crc = Crc::new();
        crc.update(bytes);
        Member {
            name: name.into(),
            deflated: false,
            data: bytes.to_vec(),
            crc: crc.sum(),
            size: bytes.len() as u64,
            declared: bytes.len() as u64,
        }
    }
}

/// Raw deflate of `bytes`; `last` ends the stream, otherwise the output is a full flush (byte
/// aligned, no back-references to it), so such pieces can be concatenated or repeated.
fn deflate_piece(bytes: &[u8], last: bool) -> Vec<u8> {
    let mut c = Compress::new(Compression::best(), false);
    let mut out = Vec::with_capacity(bytes.len() / 2 + 1024);
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Full
    };
    loop {
        let consumed = c.total_in() as usize;
        out.reserve(64 * 1024);
        let status = c
            .compress_vec(&bytes[consumed..], &mut out, flush)
            .expect("deflate");
        if c.total_in() as usize == bytes.len()
            && (status == flate2::Status::StreamEnd || (!last && out.capacity() > out.len()))
        {
            break;
        }
    }
    out
}

fn write_zip(path: &Path, members: &[Member]) {
    let mut w = BufWriter::new(std::fs::File::create(path).expect("create zip"));
    let mut central = Vec::new();
    let mut offset: u64 = 0;
    for m in members {
        let method: u16 = if m.deflated { 8 } else { 0 };
        let mut local = Vec::new();
        local.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        local.extend_from_slice(&20u16.to_le_bytes()); // version needed
        local.extend_from_slice(&0u16.to_le_bytes()); // flags
        local.extend_from_slice(&method.to_le_bytes());
        local.extend_from_slice(&0u16.to_le_bytes()); // time
        local.extend_from_slice(&0x21u16.to_le_bytes()); // date 1980-01-01
        local.extend_from_slice(&m.crc.to_le_bytes());
        local.extend_from_slice(&(m.data.len() as u32).to_le_bytes());
        local.extend_from_slice(&(m.declared as u32).to_le_bytes());
        local.extend_from_slice(&(m.name.len() as u16).to_le_bytes());
        local.extend_from_slice(&0u16.to_le_bytes());
        local.extend_from_slice(m.name.as_bytes());
        w.write_all(&local).expect("write");
        w.write_all(&m.data).expect("write");

        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // made by
        central.extend_from_slice(&20u16.to_le_bytes()); // needed
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&method.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&0x21u16.to_le_bytes());
        central.extend_from_slice(&m.crc.to_le_bytes());
        central.extend_from_slice(&(m.data.len() as u32).to_le_bytes());
        central.extend_from_slice(&(m.declared as u32).to_le_bytes());
        central.extend_from_slice(&(m.name.len() as u16).to_le_bytes());
        central.extend_from_slice(&[0u8; 12]); // extra, comment, disk, int attr, ext attr
        central.extend_from_slice(&(offset as u32).to_le_bytes());
        central.extend_from_slice(m.name.as_bytes());
        offset += local.len() as u64 + m.data.len() as u64;
    }
    w.write_all(&central).expect("write");
    let mut end = Vec::new();
    end.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    end.extend_from_slice(&[0u8; 4]);
    end.extend_from_slice(&(members.len() as u16).to_le_bytes());
    end.extend_from_slice(&(members.len() as u16).to_le_bytes());
    end.extend_from_slice(&(central.len() as u32).to_le_bytes());
    end.extend_from_slice(&(offset as u32).to_le_bytes());
    end.extend_from_slice(&0u16.to_le_bytes());
    w.write_all(&end).expect("write");
    w.flush().expect("flush");
}

const NS: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const RNS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

/// The members of a one-sheet workbook around `sheet` (style 1 is a date format).
fn workbook(sheet: Member, date1904: bool) -> Vec<Member> {
    let types = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>"#;
    let rels = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
    let pr = if date1904 {
        r#"<workbookPr date1904="1"/>"#
    } else {
        "<workbookPr/>"
    };
    let wb = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="{NS}" xmlns:r="{RNS}">{pr}<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#
    );
    let wb_rels = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>"#;
    let styles = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="{NS}"><fonts count="1"><font/></fonts><fills count="1"><fill/></fills><borders count="1"><border/></borders><cellStyleXfs count="1"><xf numFmtId="0"/></cellStyleXfs><cellXfs count="2"><xf numFmtId="0" xfId="0"/><xf numFmtId="14" xfId="0" applyNumberFormat="1"/></cellXfs></styleSheet>"#
    );
    vec![
        Member::stored("[Content_Types].xml", types.as_bytes()),
        Member::stored("_rels/.rels", rels.as_bytes()),
        Member::stored("xl/workbook.xml", wb.as_bytes()),
        Member::stored("xl/_rels/workbook.xml.rels", wb_rels.as_bytes()),
        Member::stored("xl/styles.xml", styles.as_bytes()),
        sheet,
    ]
}

fn sheet_xml(rows: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="{NS}"><sheetData>{rows}</sheetData></worksheet>"#
    )
}

fn s(cell: &str, text: &str) -> String {
    format!(r#"<c r="{cell}" t="inlineStr"><is><t>{text}</t></is></c>"#)
}

fn n(cell: &str, value: &str, style: u32) -> String {
    format!(r#"<c r="{cell}" s="{style}"><v>{value}</v></c>"#)
}

/// A sheet member that inflates to about 1 GiB: a header row, then 1 MiB of XML (rows of the
/// same course, then blanks between elements) deflated once and its bytes repeated 1024 times.
fn bomb_sheet() -> Member {
    let head = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="{NS}"><sheetData><row r="1">{}{}</row>"#,
        s("A1", "course_code"),
        s("B1", "course_name")
    );
    let row = r#"<row><c t="inlineStr"><is><t>MATH101</t></is></c><c t="inlineStr"><is><t>Calculus</t></is></c></row>"#;
    // 64 KiB of rows, then spaces to 1 MiB: deflate packs a run of spaces ~1000:1 but a
    // ~100-byte period only ~300:1, and the file should be about 1 MB.
    let mut chunk = String::with_capacity(1 << 20);
    while chunk.len() + row.len() <= 1 << 16 {
        chunk.push_str(row);
    }
    chunk.push_str(&" ".repeat((1 << 20) - chunk.len()));
    let foot = "</sheetData></worksheet>";
    let repeats = (1u64 << 30) / chunk.len() as u64 + 1;

    let mut data = deflate_piece(head.as_bytes(), false);
    let piece = deflate_piece(chunk.as_bytes(), false);
    let mut crc = Crc::new();
    crc.update(head.as_bytes());
    for _ in 0..repeats {
        data.extend_from_slice(&piece);
        crc.update(chunk.as_bytes());
    }
    data.extend_from_slice(&deflate_piece(foot.as_bytes(), true));
    crc.update(foot.as_bytes());
    let size = head.len() as u64 + repeats * chunk.len() as u64 + foot.len() as u64;
    Member {
        name: "xl/worksheets/sheet1.xml".into(),
        deflated: true,
        data,
        crc: crc.sum(),
        size,
        declared: size,
    }
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

// ---------------------------------------------------------------------------------------------
// The tests

#[test]
fn xlsx_zip_bomb_is_refused_from_its_declared_size() {
    let dir = tmp();
    let path = dir.path().join("courses.xlsx");
    let sheet = bomb_sheet();
    assert!(sheet.size >= 1 << 30, "the sheet inflates to 1 GiB");
    write_zip(&path, &workbook(sheet, false));
    let on_disk = std::fs::metadata(&path).expect("size").len();
    assert!(on_disk < 3 << 19, "about 1 MB on disk, is {on_disk}");

    let run = validate(&path, &[]);
    run.assert_bounded("xlsx zip bomb");
    assert_eq!(run.code, Some(1));
    assert!(
        run.text().contains("malformed-file") && run.text().contains("inflates"),
        "{}",
        tail(&run.text())
    );
    // Refused from the directory, before inflating anything.
    assert!(run.secs < 5.0, "took {:.1} s", run.secs);
}

#[test]
fn xlsx_zip_bomb_whose_declared_size_lies_stops_at_the_declared_size() {
    let dir = tmp();
    let path = dir.path().join("courses.xlsx");
    let mut sheet = bomb_sheet();
    // Declared: 4 MiB (ratio and total checks pass); real: 1 GiB.
    sheet.declared = 4 << 20;
    write_zip(&path, &workbook(sheet, false));

    let run = validate(&path, &[]);
    run.assert_bounded("xlsx zip bomb, lying declared size");
    assert_eq!(run.code, Some(1));
    assert!(
        run.codes().iter().any(|c| c == "malformed-file"),
        "{}",
        tail(&run.text())
    );
    assert!(run.secs < 30.0, "took {:.1} s", run.secs);
}

#[test]
fn sparse_sheet_with_a_cell_at_xfd1048576() {
    let dir = tmp();
    let path = dir.path().join("courses.xlsx");
    let rows = format!(
        r#"<row r="1">{}{}</row><row r="2">{}{}</row><row r="1048576">{}</row>"#,
        s("A1", "course_code"),
        s("B1", "course_name"),
        s("A2", "MATH101"),
        s("B2", "Calculus I"),
        s("XFD1048576", "far away")
    );
    let xml = sheet_xml(&rows);
    write_zip(
        &path,
        &workbook(
            Member::stored("xl/worksheets/sheet1.xml", xml.as_bytes()),
            false,
        ),
    );
    let on_disk = std::fs::metadata(&path).expect("size").len();
    assert!(on_disk < 4096, "a small file, is {on_disk}");

    let run = validate(&path, &[]);
    run.assert_bounded("sheet with A1 and XFD1048576");
    assert!(run.secs < 10.0, "took {:.1} s", run.secs);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("a JSON report");
    // The far cell is outside the header's width: its row is malformed-row (issue 10, item 13:
    // a value under no header is never dropped silently), the other row is valid.
    assert_eq!(v["files"][0]["rows"], 2, "{}", run.stdout);
    assert_eq!(v["files"][0]["valid"], 1, "{}", run.stdout);
    assert_eq!(v["issues"][0]["code"], "malformed-row", "{}", run.stdout);
    assert_eq!(v["issues"][0]["row"], 1048576, "{}", run.stdout);
}

#[test]
fn csv_with_one_500_mb_field() {
    let dir = tmp();
    let path = dir.path().join("courses.csv");
    {
        let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(&path).expect("csv"));
        w.write_all(b"course_code,course_name\nMATH101,Calculus I\nBIG1,")
            .expect("write");
        let block = vec![b'x'; 1 << 20];
        for _ in 0..500 {
            w.write_all(&block).expect("write");
        }
        w.write_all(b"\nENG101,English\n").expect("write");
        w.flush().expect("flush");
    }
    let run = validate(&path, &[]);
    run.assert_bounded("CSV with a 500 MB field");
    assert_eq!(run.code, Some(1));
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("a JSON report");
    let issues = v["issues"].as_array().expect("issues");
    assert!(
        issues
            .iter()
            .any(|i| i["code"] == "malformed-row" && i["row"] == 3),
        "{}",
        run.stdout
    );
    // The rows around it are read.
    assert_eq!(v["files"][0]["valid"], 2, "{}", run.stdout);
    // The field is never echoed.
    assert!(run.stdout.len() < 100_000);
}

#[test]
fn csv_with_an_unbalanced_quote() {
    let dir = tmp();
    let path = dir.path().join("courses.csv");
    std::fs::write(
        &path,
        "course_code,course_name\nMATH101,Calculus I\nBIO101,\"Biology\nCHEM101,Chemistry\nENG101,English\n",
    )
    .expect("write");
    let run = validate(&path, &[]);
    run.assert_bounded("CSV with an unbalanced quote");
    assert_eq!(run.code, Some(1));
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("a JSON report");
    let issues = v["issues"].as_array().expect("issues");
    assert!(
        issues
            .iter()
            .any(|i| i["code"] == "malformed-row" && i["row"] == 3),
        "{}",
        run.stdout
    );
    // The rows after the stray quote are not swallowed.
    assert_eq!(v["files"][0]["valid"], 3, "{}", run.stdout);
}

#[test]
fn json_nested_100000_levels_deep() {
    let dir = tmp();
    for (name, body) in [
        ("grades.json", {
            let mut b = "[".repeat(100_000);
            b.push_str(&"]".repeat(100_000));
            b
        }),
        ("courses.json", {
            let mut b = String::from("[{\"course_code\":");
            b.push_str(&"{\"a\":".repeat(100_000));
            b.push('1');
            b.push_str(&"}".repeat(100_001));
            b.push(']');
            b
        }),
        ("attendance.ndjson", {
            let mut b = "[".repeat(100_000);
            b.push_str(&"]".repeat(100_000));
            b.push('\n');
            b
        }),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, body).expect("write");
        let run = validate(&path, &[]);
        run.assert_bounded(&format!("{name} nested 100,000 deep"));
        assert_eq!(run.code, Some(1), "{name}");
        assert!(
            run.text().contains("malformed-file") || run.text().contains("malformed-row"),
            "{name}: {}",
            tail(&run.text())
        );
        assert!(run.secs < 10.0, "{name}: took {:.1} s", run.secs);
    }
}

#[test]
fn ten_million_blank_lines() {
    let dir = tmp();
    for (name, eol) in [("courses.csv", "\n"), ("attendance.ndjson", "\r\n")] {
        let path = dir.path().join(name);
        {
            let mut w =
                BufWriter::with_capacity(1 << 20, std::fs::File::create(&path).expect("file"));
            if name.ends_with(".csv") {
                w.write_all(b"course_code,course_name\n").expect("write");
            }
            let block = eol.repeat(100_000);
            for _ in 0..100 {
                w.write_all(block.as_bytes()).expect("write");
            }
            if name.ends_with(".csv") {
                w.write_all(b"MATH101,Calculus I\n").expect("write");
            }
            w.flush().expect("flush");
        }
        let run = validate(&path, &[]);
        run.assert_bounded(&format!("{name} with 10 million blank lines"));
        if name.ends_with(".csv") {
            assert_eq!(run.code, Some(0), "{}", tail(&run.text()));
            let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON report");
            assert_eq!(v["files"][0]["rows"], 1);
            // The row is numbered by its real line.
            assert!(run.codes().is_empty(), "{}", run.stdout);
        } else {
            assert!(run.code == Some(0) || run.code == Some(1));
        }
    }
}

#[test]
fn max_rows_limit_refuses_more_rows() {
    let dir = tmp();
    let path = dir.path().join("courses.csv");
    let mut body = String::from("course_code,course_name\n");
    for i in 0..20 {
        body.push_str(&format!("C{i},Course {i}\n"));
    }
    std::fs::write(&path, body).expect("write");
    let run = validate(&path, &["--max-rows", "10"]);
    run.assert_bounded("--max-rows 10");
    assert_eq!(run.code, Some(1));
    assert!(run.codes().iter().any(|c| c == "malformed-file"));
    let run = validate(&path, &["--max-file-size", "100"]);
    run.assert_bounded("--max-file-size 100");
    assert_eq!(run.code, Some(1));
    assert!(run.text().contains("malformed-file"), "{}", run.text());
}

/// The attendance rows of a date test: (row, value XML).
fn date_workbook(path: &Path, date1904: bool, cells: &[String]) {
    let mut rows = format!(
        r#"<row r="1">{}{}{}{}</row>"#,
        s("A1", "student_email"),
        s("B1", "course_code"),
        s("C1", "date"),
        s("D1", "status")
    );
    for (i, cell) in cells.iter().enumerate() {
        let r = i + 2;
        rows.push_str(&format!(
            r#"<row r="{r}">{}{}{cell}{}</row>"#,
            s(&format!("A{r}"), "ann@school.edu"),
            s(&format!("B{r}"), "MATH101"),
            s(&format!("D{r}"), "present")
        ));
    }
    let xml = sheet_xml(&rows);
    write_zip(
        path,
        &workbook(
            Member::stored("xl/worksheets/sheet1.xml", xml.as_bytes()),
            date1904,
        ),
    );
}

/// The `invalid-date` issues of a run: (row, message).
fn date_issues(run: &Run) -> Vec<(u64, String)> {
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("a JSON report");
    v["issues"]
        .as_array()
        .expect("issues")
        .iter()
        .filter(|i| i["code"] == "invalid-date")
        .map(|i| {
            (
                i["row"].as_u64().unwrap_or(0),
                i["message"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[test]
fn excel_date_serials_59_60_61_and_the_1904_system() {
    let dir = tmp();
    let path = dir.path().join("attendance.xlsx");
    // Whole serials are valid dates; a time of day makes the message show the date read.
    date_workbook(
        &path,
        false,
        &[
            n("C2", "59", 1),
            n("C3", "60", 1),
            n("C4", "61", 1),
            n("C5", "59.5", 1),
            n("C6", "61.5", 1),
        ],
    );
    let run = validate(&path, &[]);
    run.assert_bounded("date serials");
    let issues = date_issues(&run);
    let rows: Vec<u64> = issues.iter().map(|(r, _)| *r).collect();
    assert_eq!(rows, [3, 5, 6], "{issues:?}");
    assert!(issues[0].1.contains("60"), "{issues:?}");
    assert!(issues[1].1.contains("1900-02-28 12:00:00"), "{issues:?}");
    assert!(issues[2].1.contains("1900-03-01 12:00:00"), "{issues:?}");

    let path = dir.path().join("attendance-1904.xlsx");
    date_workbook(
        &path,
        true,
        &[
            n("C2", "0", 1),
            n("C3", "60", 1),
            n("C4", "0.5", 1),
            n("C5", "45000.5", 1),
        ],
    );
    let run = validate(&path, &["--entity", "attendance"]);
    run.assert_bounded("1904 date system");
    let issues = date_issues(&run);
    let rows: Vec<u64> = issues.iter().map(|(r, _)| *r).collect();
    assert_eq!(rows, [4, 5], "serial 60 is a real date in 1904: {issues:?}");
    assert!(issues[0].1.contains("1904-01-01 12:00:00"), "{issues:?}");
    assert!(issues[1].1.contains("2027-03-16 12:00:00"), "{issues:?}");
}

#[test]
fn id_like_text_stays_text() {
    let dir = tmp();
    let path = dir.path().join("courses.xlsx");
    let rows = format!(
        r#"<row r="1">{}{}</row><row r="2">{}{}</row><row r="3">{}{}</row>"#,
        s("A1", "course_code"),
        s("B1", "course_name"),
        s("A2", "00123"),
        s("B2", "Leading zeros"),
        s("A3", "MATH101"),
        s("B3", "00123"),
    );
    let xml = sheet_xml(&rows);
    write_zip(
        &path,
        &workbook(
            Member::stored("xl/worksheets/sheet1.xml", xml.as_bytes()),
            false,
        ),
    );
    let run = validate(&path, &[]);
    run.assert_bounded("00123 as text");
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("a JSON report");
    let issues = v["issues"].as_array().expect("issues");
    // The code cell is reported with its text as written, never as the number 123.
    let bad: Vec<_> = issues.iter().filter(|i| i["row"] == 2).collect();
    assert_eq!(bad.len(), 1, "{}", run.stdout);
    let msg = bad[0]["message"].as_str().unwrap_or("");
    assert!(msg.contains("00123"), "{msg}");
    // A name "00123" is a valid name (text, not a number).
    assert!(!issues.iter().any(|i| i["row"] == 3), "{}", run.stdout);
    assert_eq!(v["files"][0]["valid"], 1);
}

/// An `.ods` member list around `content` (calamine needs the manifest).
fn ods(content: &str) -> Vec<Member> {
    let manifest = r#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/></manifest:manifest>"#;
    let doc = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="Sheet1">{content}</table:table></office:spreadsheet></office:body></office:document-content>"#
    );
    vec![
        Member::stored(
            "mimetype",
            b"application/vnd.oasis.opendocument.spreadsheet",
        ),
        Member::stored("content.xml", doc.as_bytes()),
        Member::stored("META-INF/manifest.xml", manifest.as_bytes()),
    ]
}

fn ods_text(text: &str, repeat: u32) -> String {
    format!(
        r#"<table:table-cell table:number-columns-repeated="{repeat}" office:value-type="string"><text:p>{text}</text:p></table:table-cell>"#
    )
}

/// Issue 10 item 13, end to end: a score typed as a percentage in an `.ods` is validated as
/// the number it shows. `92.5%` is the valid score 92.5; `105%` is 105, out of range (read as
/// the stored fraction 1.05, it passed unnoticed).
#[test]
fn an_ods_percentage_score_is_validated_as_shown() {
    let dir = tmp();
    let path = dir.path().join("grades.ods");
    let row = |email: &str, fraction: &str| {
        format!(
            r#"<table:table-row>{}{}{}<table:table-cell office:value-type="percentage" office:value="{fraction}"><text:p>{fraction}</text:p></table:table-cell></table:table-row>"#,
            ods_text(email, 1),
            ods_text("MATH101", 1),
            ods_text("mid", 1),
        )
    };
    let content = format!(
        "<table:table-row>{}{}{}{}</table:table-row>{}{}",
        ods_text("student_email", 1),
        ods_text("course_code", 1),
        ods_text("assessment", 1),
        ods_text("score", 1),
        row("ana@school.edu", "0.925"),
        row("bo@school.edu", "1.05"),
    );
    write_zip(&path, &ods(&content));
    let run = validate(&path, &[]);
    run.assert_bounded("ods percentage scores");
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("a JSON report");
    let score_issues: Vec<(i64, String, String)> = v["issues"]
        .as_array()
        .expect("issues")
        .iter()
        .filter(|i| i["column"] == "score")
        .map(|i| {
            (
                i["row"].as_i64().unwrap_or(0),
                i["code"].as_str().unwrap_or("").to_owned(),
                i["message"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(score_issues.len(), 1, "{}", tail(&run.text()));
    assert_eq!(
        (score_issues[0].0, score_issues[0].1.as_str()),
        (3, "out-of-range")
    );
    assert!(
        score_issues[0].2.starts_with("105 "),
        "{}",
        score_issues[0].2
    );
}

#[test]
fn ods_of_repeated_cells_is_refused_before_expanding() {
    let dir = tmp();
    // 1 KB on disk, 90 million cells once expanded (calamine would take gigabytes).
    let path = dir.path().join("courses.ods");
    let content = format!(
        r#"<table:table-row>{}{}</table:table-row><table:table-row table:number-rows-repeated="1000000">{}</table:table-row>"#,
        ods_text("course_code", 1),
        ods_text("course_name", 1),
        ods_text("x", 90)
    );
    write_zip(&path, &ods(&content));
    let run = validate(&path, &[]);
    run.assert_bounded("ods of repeated cells");
    assert_eq!(run.code, Some(1));
    assert!(
        run.text().contains("malformed-file") && run.text().contains("cells"),
        "{}",
        tail(&run.text())
    );

    // The same with cells at A1 and XFD1048576: refused too, and in no time.
    let path = dir.path().join("grades.ods");
    let content = format!(
        r#"<table:table-row>{}</table:table-row><table:table-row table:number-rows-repeated="1048574"><table:table-cell/></table:table-row><table:table-row><table:table-cell table:number-columns-repeated="16383"/>{}</table:table-row>"#,
        ods_text("student_email", 1),
        ods_text("far", 1)
    );
    write_zip(&path, &ods(&content));
    let run = validate(&path, &[]);
    run.assert_bounded("ods with A1 and XFD1048576");
    assert_eq!(run.code, Some(1));
    assert!(
        run.text().contains("malformed-file"),
        "{}",
        tail(&run.text())
    );

    // A genuine small .ods with LibreOffice's trailing formatting rows still reads.
    let path = dir.path().join("courses-ok.ods");
    let content = format!(
        r#"<table:table-row>{}{}</table:table-row><table:table-row>{}{}</table:table-row><table:table-row table:number-rows-repeated="1048574"><table:table-cell table:number-columns-repeated="1024"/></table:table-row>"#,
        ods_text("course_code", 1),
        ods_text("course_name", 1),
        ods_text("MATH101", 1),
        ods_text("Calculus I", 1)
    );
    write_zip(&path, &ods(&content));
    let run = validate(&path, &["--entity", "courses"]);
    run.assert_bounded("small genuine ods");
    assert_eq!(run.code, Some(0), "{}", tail(&run.text()));
}
