//! `--report FILE.html` (issue 15) in a real browser: headless Chromium (Debian's `chromium`)
//! loads the page, runs its script under its Content-Security-Policy, and the test reads the DOM
//! it dumps (`--dump-dom`), with the filters given in the address's fragment.
//!
//! Without a browser the tests say SKIPPED loudly; with `REGISTRAR_REQUIRE_BROWSER=1` (set by
//! `.ci/run`) a missing browser fails them. `REGISTRAR_CHROMIUM` names another binary.

mod common;

use common::{code, run, text};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn chromium() -> Option<PathBuf> {
    let candidates = [
        std::env::var("REGISTRAR_CHROMIUM").unwrap_or_default(),
        "/usr/bin/chromium".into(),
        "/usr/bin/chromium-browser".into(),
        "/usr/bin/google-chrome".into(),
    ];
    let found = candidates
        .iter()
        .filter(|c| !c.is_empty())
        .map(PathBuf::from)
        .find(|p| p.is_file());
    if found.is_none() {
        if std::env::var_os("REGISTRAR_REQUIRE_BROWSER").is_some() {
            panic!("REGISTRAR_REQUIRE_BROWSER is set but no Chromium was found (apt-get install chromium)");
        }
        eprintln!("SKIPPED: no Chromium (apt-get install chromium, or set REGISTRAR_CHROMIUM)");
    }
    found
}

fn browser(bin: &Path, profile: &Path) -> Command {
    let mut c = Command::new(bin);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// The DOM after the page's script ran, for `page#fragment`.
fn dump_dom(bin: &Path, page: &Path, fragment: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}#{fragment}", page.display());
    let out = browser(bin, profile.path())
        .args(["--virtual-time-budget=10000", "--dump-dom"])
        .arg(&url)
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        dom.contains("data-ready=\"true\""),
        "the page's script did not run for {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dom
}

/// The rows of the issue table in a dumped DOM: (file, row, column, severity, code, message).
fn table_rows(dom: &str) -> Vec<[String; 6]> {
    let start = dom.find("<tbody id=\"issue-rows\">").expect("issue table");
    let body = &dom[start..];
    let body = &body[..body.find("</tbody>").unwrap()];
    body.split("<tr ")
        .skip(1)
        .map(|tr| {
            let cells: Vec<String> = tr
                .split("<td")
                .skip(1)
                .map(|td| {
                    let inner = &td[td.find('>').unwrap() + 1..];
                    unescape(&inner[..inner.find("</td>").unwrap()])
                })
                .collect();
            assert_eq!(cells.len(), 6, "{tr}");
            [
                cells[0].clone(),
                cells[1].clone(),
                cells[2].clone(),
                cells[3].clone(),
                cells[4].clone(),
                cells[5].clone(),
            ]
        })
        .collect()
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// FAULTS.md's table: (file, row, column, severity, code), `-` as empty.
fn planted_faults() -> Vec<[String; 5]> {
    let md = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/messy/FAULTS.md"
    ))
    .unwrap();
    md.lines()
        .filter(|l| l.starts_with("| ") && (l.contains("| error |") || l.contains("| warning |")))
        .map(|l| {
            let c: Vec<String> = l
                .split('|')
                .map(|c| c.trim().to_owned())
                .map(|c| if c == "-" { String::new() } else { c })
                .collect();
            [
                c[1].clone(),
                c[2].clone(),
                c[3].clone(),
                c[4].clone(),
                c[5].clone(),
            ]
        })
        .collect()
}

#[test]
fn the_messy_example_report_in_a_real_browser() {
    let Some(bin) = chromium() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("messy");
    std::fs::create_dir(&data).unwrap();
    let messy = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/messy"));
    for f in std::fs::read_dir(messy).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, data.join(f.file_name().unwrap())).unwrap();
    }
    // Injected markup: a header and a course code that the messages quote.
    let users = std::fs::read_to_string(data.join("users.csv")).unwrap();
    let mut lines = users.lines();
    let mut with_column = format!("{},<script>alert(1)</script>\n", lines.next().unwrap());
    for l in lines {
        with_column += &format!("{l},\n");
    }
    std::fs::write(data.join("users.csv"), with_column).unwrap();
    let enrollments = std::fs::read_to_string(data.join("enrollments.csv")).unwrap();
    std::fs::write(
        data.join("enrollments.csv"),
        format!("{enrollments}ava.nguyen@lincoln-high.example.org;x\"><img src=x onerror=alert(1)>;2026-01-12\n"),
    )
    .unwrap();

    let page = tmp.path().join("report.html");
    let o = run(&[
        "validate",
        "--data",
        data.to_str().unwrap(),
        "--report",
        page.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&page).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the report holds personal data");
    }
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let issues = json["issues"].as_array().unwrap();

    // Every issue of the run is in the table, and every planted fault of FAULTS.md with it.
    let dom = dump_dom(&bin, &page, "size=all");
    let rows = table_rows(&dom);
    assert_eq!(rows.len(), issues.len());
    let shown: BTreeSet<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r[0].clone(),
                r[1].clone(),
                r[2].clone(),
                r[3].clone(),
                r[4].clone(),
            ]
        })
        .collect();
    for fault in planted_faults() {
        assert!(
            shown.contains(&fault),
            "FAULTS.md's {fault:?} is not in the table"
        );
    }
    for i in issues {
        let msg = i["message"].as_str().unwrap();
        assert!(rows.iter().any(|r| r[5] == msg), "{msg} not in the table");
    }

    // The injected markup renders as text: no element came from a value.
    assert!(
        rows.iter()
            .any(|r| r[5].contains("<script>alert(1)</script>")
                || r[2] == "<script>alert(1)</script>")
    );
    assert!(
        rows.iter().any(|r| r[5]
            .to_lowercase()
            .contains("\"><img src=x onerror=alert(1)>")),
        "{rows:?}"
    );
    assert!(
        !dom.to_lowercase().contains("<img"),
        "an img element came from a value"
    );
    assert_eq!(
        dom.matches("<script").count(),
        2,
        "only the page's own two script elements"
    );

    // Filtering by a code shows exactly that code's rows; the page says how many.
    let codes: BTreeSet<&str> = issues.iter().map(|i| i["code"].as_str().unwrap()).collect();
    for c in ["invalid-email", "weak-password", "unknown-course"] {
        assert!(codes.contains(c));
        let want = issues.iter().filter(|i| i["code"] == c).count();
        let dom = dump_dom(&bin, &page, &format!("code={c}&size=all"));
        let rows = table_rows(&dom);
        assert_eq!(rows.len(), want, "{c}");
        assert!(rows.iter().all(|r| r[4] == c), "{c}: {rows:?}");
        assert!(dom.contains(&format!("data-matching=\"{want}\"")));
    }
    // Sorting by row, descending, and filtering by file together.
    let dom = dump_dom(&bin, &page, "file=users.csv&sort=-row&size=all");
    let rows = table_rows(&dom);
    assert!(!rows.is_empty() && rows.iter().all(|r| r[0] == "users.csv"));
    let nums: Vec<u64> = rows.iter().filter_map(|r| r[1].parse().ok()).collect();
    assert!(nums.windows(2).all(|w| w[0] >= w[1]), "{nums:?}");

    // A screenshot, not blank. REGISTRAR_UPDATE_SCREENSHOT=1 refreshes docs/report.png.
    let shot = tmp.path().join("report.png");
    let profile = tempfile::tempdir().unwrap();
    let out = browser(&bin, profile.path())
        .args(["--window-size=1280,1100", "--virtual-time-budget=10000"])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(shot.is_file(), "{}", String::from_utf8_lossy(&out.stderr));
    let colours = distinct_colours(&shot);
    assert!(
        colours > 8,
        "the screenshot looks blank ({colours} colours)"
    );
    if std::env::var_os("REGISTRAR_UPDATE_SCREENSHOT").is_some() {
        let docs = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs"));
        std::fs::copy(&shot, docs.join("report.png")).unwrap();
    }
}

/// Distinct pixel values of an 8-bit RGB(A) PNG's scanlines (a blank page has one or two). The
/// image data is inflated with flate2 and unfiltered here (PNG filters 0 to 4), so the test needs
/// no image crate.
fn distinct_colours(png_file: &Path) -> usize {
    use std::io::Read;
    let bytes = std::fs::read(png_file).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let (mut width, mut channels, mut idat) = (0usize, 0usize, Vec::new());
    let mut at = 8;
    while at + 8 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let kind = &bytes[at + 4..at + 8];
        let data = &bytes[at + 8..at + 8 + len];
        match kind {
            b"IHDR" => {
                width = u32::from_be_bytes(data[0..4].try_into().unwrap()) as usize;
                assert_eq!(data[8], 8, "8-bit samples");
                channels = match data[9] {
                    2 => 3,
                    6 => 4,
                    other => panic!("colour type {other}"),
                };
            }
            b"IDAT" => idat.extend_from_slice(data),
            _ => {}
        }
        at += 12 + len;
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut raw)
        .unwrap();
    let stride = width * channels;
    let mut prev = vec![0u8; stride];
    let mut colours = BTreeSet::new();
    for line in raw.chunks(stride + 1) {
        let (filter, data) = (line[0], &line[1..]);
        let mut cur = data.to_vec();
        for i in 0..stride {
            let a = if i >= channels { cur[i - channels] } else { 0 } as i16;
            let b = prev[i] as i16;
            let c = if i >= channels { prev[i - channels] } else { 0 } as i16;
            let add = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => (a + b) / 2,
                4 => {
                    let p = a + b - c;
                    let (pa, pb, pc) = ((p - a).abs(), (p - b).abs(), (p - c).abs());
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                f => panic!("filter {f}"),
            };
            cur[i] = cur[i].wrapping_add(add as u8);
        }
        for px in cur.chunks(channels) {
            colours.insert(px.to_vec());
        }
        prev = cur;
    }
    colours.len()
}

/// 100,000 issues: the page stays within its documented size and opens in seconds (it pages:
/// the DOM holds 200 rows, not 100,000).
#[test]
fn a_report_of_100000_issues_opens_in_seconds() {
    let Some(bin) = chromium() else { return };
    use registrar::model::{Issue, IssueCode, Mode, Report};
    let mut report = Report::new(Mode::Validate);
    for i in 0..100_000u64 {
        report.issues.push(Issue::error(
            IssueCode::InvalidEmail,
            format!("users-{}.csv", i % 100),
            Some(i + 2),
            Some("email"),
            format!("'student{i}@school' is not a valid email address: the domain needs a dot"),
        ));
    }
    let tmp = tempfile::tempdir().unwrap();
    let page = tmp.path().join("big.html");
    registrar::html::HtmlReport::new("validate", false)
        .with_report(&report)
        .write(&page)
        .unwrap();
    let size = std::fs::metadata(&page).unwrap().len();
    // The documented bound: about 40 KB plus 100 to 200 bytes per issue.
    assert!(size < 40_000 + 200 * 100_000, "{size} bytes");
    let t0 = Instant::now();
    let dom = dump_dom(&bin, &page, "");
    let took = t0.elapsed();
    assert_eq!(table_rows(&dom).len(), 200, "one page of rows in the DOM");
    assert!(dom.contains("of 100000 issue(s)"));
    // Generous for a loaded 2-core CI machine; on a quiet one it is 2 to 4 s, browser start
    // included (BENCHMARKS.md).
    assert!(
        took < Duration::from_secs(60),
        "opening 100,000 issues took {took:?}"
    );
    eprintln!("100,000 issues: {size} bytes, opened in {took:?}");
}

/// `migrate --report` shows the runbook steps and the backups; `check --report` each check with
/// its count and verdict; `import --report` the counts. No browser needed: the sections are
/// written by the server side.
#[test]
fn migrate_check_and_import_reports_hold_their_sections() {
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", tmp.path().join("sms.db").display());
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/data");
    let page = tmp.path().join("migrate.html");
    let backups = tmp.path().join("backups");
    let o = run(&[
        "migrate",
        "--data",
        data,
        "--execute",
        "--database",
        &url,
        "--backup-dir",
        backups.to_str().unwrap(),
        "--report",
        page.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let html = std::fs::read_to_string(&page).unwrap();
    for want in [
        "<h2>Runbook steps</h2>",
        "<h2>Backups written</h2>",
        "pre-migration-",
        "<h2>Checks</h2>",
        "migrate --execute",
        "class=\"verdict ok\"",
    ] {
        assert!(html.contains(want), "{want} missing");
    }

    let page = tmp.path().join("check.html");
    let o = run(&[
        "check",
        "--database",
        &url,
        "--expect",
        "courses=999",
        "--report",
        page.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("<h2>Checks</h2>") && html.contains("FAILED"));
    assert!(
        html.contains("expected-courses"),
        "the failing check is named"
    );

    let page = tmp.path().join("import.html");
    let o = run(&[
        "import",
        "--data",
        data,
        "--validate",
        "--database",
        &url,
        "--on-existing",
        "skip",
        "--report",
        page.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("import --validate") && html.contains("<h2>Files</h2>"));
}

/// `plan --report`: the changes per entity (counts, then each update with old → new fields),
/// with the injected markup of a hostile name shown as text in a real browser.
#[test]
fn a_plan_report_lists_the_changes_and_shows_markup_as_text() {
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", tmp.path().join("sms.db").display());
    let example = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/data"));
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    for f in std::fs::read_dir(example).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, data.join(f.file_name().unwrap())).unwrap();
    }
    let d = data.to_str().unwrap();
    let o = run(&["import", "--data", d, "--execute", "--database", &url]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let users = std::fs::read_to_string(data.join("users.csv")).unwrap();
    let users = users.replace(
        ",Elias,Grant,",
        ",<script>alert(1)</script>,\"\"\"><img src=x onerror=alert(2)>\",",
    );
    std::fs::write(data.join("users.csv"), users).unwrap();
    let page = tmp.path().join("plan.html");
    let o = run(&[
        "plan",
        "--data",
        d,
        "--database",
        &url,
        "--on-existing",
        "update",
        "--max-changes",
        "100",
        "--report",
        page.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&page).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the plan's page is written 0600");
    }
    let html = std::fs::read_to_string(&page).unwrap();
    for want in [
        "<h2>Changes</h2>",
        "id=\"change-counts\"",
        "data-kind=\"update\"",
        "elias.grant.2@district.example.org",
        "first_name: Elias → &lt;script&gt;alert(1)&lt;/script&gt;",
    ] {
        assert!(html.contains(want), "{want} missing from the plan's page");
    }
    assert!(!html.contains("<script>alert(1)"), "markup must be escaped");
    assert!(!html.contains("<img src=x"), "markup must be escaped");
    assert!(!html.contains("harbor-Copper-falcon467+"), "no password");
    let Some(bin) = chromium() else { return };
    let dom = dump_dom(&bin, &page, "");
    let changes = &dom[dom.find("id=\"changes\"").expect("the changes section")..];
    let changes = &changes[..changes.find("</section>").unwrap()];
    assert!(
        changes.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the hostile name shows as text: {changes}"
    );
    assert!(
        !changes.contains("<img") && !dom.contains("<script>alert"),
        "no markup from the data became an element"
    );
    // One user to update, nothing else changes.
    let users_row = &changes[changes.find("data-entity=\"users\"").unwrap()..];
    let cells: Vec<&str> = users_row
        .split("<td class=\"num\">")
        .skip(1)
        .take(3)
        .map(|c| &c[..c.find('<').unwrap()])
        .collect();
    assert_eq!(cells[1..], ["0", "1"], "users: insert 0, update 1");
}
