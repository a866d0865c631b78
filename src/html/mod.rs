//! The run report as one self-contained HTML page (`--report FILE.html`), for the people who fix
//! the data: open it in a browser, filter and sort the issues, download the filtered rows as CSV,
//! print it, send it on.
//!
//! # What the page holds
//! - A summary: the command, its verdict, the database (password masked), the tool's version,
//!   when it ran and how long it took; per file rows, valid, invalid, inserted, updated, skipped.
//! - Every issue (file, row, column, severity, code, message) in a table that filters by file,
//!   severity and code, sorts by any column and pages (50, 200, 1,000 or all rows at a time), so
//!   100,000 issues open in seconds; counts per code (including issues counted but not listed).
//! - For `migrate`, the runbook steps with their outcome and the backups written; for `check`,
//!   each check with its count and verdict; for `plan`, the changes per entity (counts, then the
//!   rows to insert, to update with their old → new fields, and to remove, at most
//!   [`MAX_CHANGES_LISTED`] of each kind).
//!
//! The page state is in the address's fragment (`report.html#code=invalid-email&sort=row`), so a
//! filtered view can be bookmarked or sent as a link, and tests can open it in a headless browser.
//!
//! # Safe by construction
//! - Everything the server side writes into the markup goes through [`escape`]; the issues travel
//!   as JSON in a `<script type="application/json">` block in which `<`, `>` and `&` are written
//!   as `\u003c`, `\u003e`, `\u0026` (no value can close the block), and the page's script puts
//!   them in the table with `textContent` only. A name like `<script>alert(1)</script>` shows as
//!   text.
//! - A Content-Security-Policy meta tag allows only the page's own inline script and style (by
//!   their SHA-256) and nothing from the network (`default-src 'none'`): no CDN, no fonts, no
//!   requests.
//! - No password is ever in it: issues never quote a password (the rules' guarantee), and the
//!   database address is masked.
//! - The file is written 0600, atomically (a temporary file in the same folder, then renamed).
//!
//! # Size
//! About 40 KB of page plus roughly 100 to 200 bytes per listed issue (its message is most of it).
//! At most [`MAX_LISTED`] issues are listed; the rest are counted in the per-code table. A report
//! itself lists at most 1,000 issues per file and code, so a real run stays far below that bound.

use crate::Error;
use base64::Engine as _;
use registrar_model::{Issue, Report, Severity};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The most issues one page lists (the rest are counted per code).
pub const MAX_LISTED: usize = 200_000;

/// The most rows of one kind (insert, update, remove) of one entity a plan's page lists (the
/// counts are complete; `registrar plan --format json` has every row).
pub const MAX_CHANGES_LISTED: usize = 1_000;

const SCRIPT: &str = include_str!("report.js");
const STYLE: &str = include_str!("report.css");

/// One runbook step of a `migrate` run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRow {
    /// The step (`validate`, `backup`, ...).
    pub step: String,
    /// Whether it succeeded.
    pub ok: bool,
    /// What it did or why it failed.
    pub detail: String,
}

/// One integrity check of a `check` run (or of `migrate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRow {
    /// The check's name.
    pub name: String,
    /// Offending rows (or the actual count).
    pub count: i64,
    /// Whether it passed.
    pub passed: bool,
    /// What was checked.
    pub detail: String,
}

impl From<&registrar_checks::CheckResult> for CheckRow {
    fn from(c: &registrar_checks::CheckResult) -> CheckRow {
        CheckRow {
            name: c.name.clone(),
            count: c.count,
            passed: c.passed,
            detail: c.detail.clone(),
        }
    }
}

/// What one page shows: build it with [`HtmlReport::new`] and the `with_*` methods, then
/// [`HtmlReport::render`] or [`HtmlReport::write`].
///
/// ```
/// use registrar::html::HtmlReport;
/// use registrar::model::{Issue, IssueCode, Mode, Report};
///
/// let mut report = Report::new(Mode::Validate);
/// report.push(Issue::error(IssueCode::InvalidEmail, "users.csv", Some(3), Some("email"),
///     "the value is not a valid email address: it has no @"));
/// let page = HtmlReport::new("validate", false).with_report(&report).render();
/// assert!(page.contains("Content-Security-Policy"));
/// assert!(page.contains("invalid-email"));
/// ```
#[derive(Debug, Clone)]
pub struct HtmlReport<'a> {
    command: String,
    ok: bool,
    database: Option<String>,
    outcome: Option<String>,
    report: Option<&'a Report>,
    steps: Vec<StepRow>,
    backups: Vec<PathBuf>,
    checks: Vec<CheckRow>,
    plan: Option<&'a crate::plan::Plan>,
    duration_ms: Option<u64>,
    generated_at: chrono::DateTime<chrono::Utc>,
}

impl<'a> HtmlReport<'a> {
    /// A page for `command` (`validate`, `import`, `migrate`, `check`, ...) whose verdict is `ok`.
    pub fn new(command: impl Into<String>, ok: bool) -> HtmlReport<'a> {
        HtmlReport {
            command: command.into(),
            ok,
            database: None,
            outcome: None,
            report: None,
            steps: Vec::new(),
            backups: Vec::new(),
            checks: Vec::new(),
            plan: None,
            duration_ms: None,
            generated_at: chrono::Utc::now(),
        }
    }

    /// The database the run used (shown with its password masked).
    pub fn with_database(mut self, url: &str) -> Self {
        self.database = Some(registrar_db::mask_url(url));
        self
    }

    /// How the run ended, as recorded in the audit log (`success`, `rolled-back`, ...).
    pub fn with_outcome(mut self, outcome: impl Into<String>) -> Self {
        self.outcome = Some(outcome.into());
        self
    }

    /// The validation or import report: files and issues.
    pub fn with_report(mut self, report: &'a Report) -> Self {
        self.duration_ms = self.duration_ms.or(Some(report.duration_ms));
        self.report = Some(report);
        self
    }

    /// The runbook steps (`migrate`).
    pub fn with_steps(mut self, steps: impl IntoIterator<Item = StepRow>) -> Self {
        self.steps.extend(steps);
        self
    }

    /// The backups the run wrote.
    pub fn with_backups(mut self, backups: impl IntoIterator<Item = PathBuf>) -> Self {
        self.backups.extend(backups);
        self
    }

    /// The integrity checks and their verdicts.
    pub fn with_checks(mut self, checks: impl IntoIterator<Item = CheckRow>) -> Self {
        self.checks.extend(checks);
        self
    }

    /// A plan (`registrar plan`): its validation report, and per entity the rows to insert,
    /// to update (with old → new fields) and to remove.
    pub fn with_plan(mut self, plan: &'a crate::plan::Plan) -> Self {
        self.plan = Some(plan);
        self.with_report(&plan.report)
    }

    /// The run's wall time (default: the report's).
    pub fn with_duration_ms(mut self, ms: u64) -> Self {
        self.duration_ms = Some(ms);
        self
    }

    /// The page, as one HTML document.
    pub fn render(&self) -> String {
        let mut h = String::with_capacity(64 * 1024);
        let verdict = if self.ok { "OK" } else { "FAILED" };
        let title = format!("registrar {}: {verdict}", self.command);
        h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        h.push_str(&format!(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
             script-src 'sha256-{}'; style-src 'sha256-{}'; img-src data:; base-uri 'none'; \
             form-action 'none'\">\n",
            csp_hash(SCRIPT),
            csp_hash(STYLE)
        ));
        h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        h.push_str(&format!("<title>{}</title>\n", escape(&title)));
        h.push_str(&format!("<style>{STYLE}</style>\n</head>\n<body>\n"));
        h.push_str(&format!(
            "<header><h1>{}</h1><p class=\"verdict {}\" id=\"verdict\">{}</p></header>\n",
            escape(&format!("registrar {}", self.command)),
            if self.ok { "ok" } else { "failed" },
            verdict
        ));
        self.summary(&mut h);
        self.files(&mut h);
        self.steps_and_backups(&mut h);
        self.checks(&mut h);
        self.changes(&mut h);
        self.issues(&mut h);
        h.push_str(&format!("<script>{SCRIPT}</script>\n</body>\n</html>\n"));
        h
    }

    /// Writes the page to `path`, 0600, atomically (an existing file is replaced).
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let context = || format!("cannot write the report {}", path.display());
        // tempfile creates the file 0600 on Unix.
        let mut tmp = tempfile::Builder::new()
            .prefix(".registrar-report")
            .suffix(".tmp")
            .tempfile_in(&dir)
            .map_err(|e| Error::io(context(), e))?;
        tmp.write_all(self.render().as_bytes())
            .and_then(|_| tmp.as_file().sync_all())
            .map_err(|e| Error::io(context(), e))?;
        tmp.persist(path)
            .map_err(|e| Error::io(context(), e.error))?;
        Ok(())
    }

    fn summary(&self, h: &mut String) {
        h.push_str("<section id=\"summary\"><h2>Summary</h2><dl>\n");
        let mut item = |k: &str, v: String| {
            h.push_str(&format!(
                "<div class=\"fact\"><dt>{}</dt><dd>{}</dd></div>\n",
                escape(k),
                escape(&v)
            ));
        };
        item("Command", format!("registrar {}", self.command));
        if let Some(o) = &self.outcome {
            item("Outcome", o.clone());
        }
        if let Some(db) = &self.database {
            item("Database", db.clone());
        }
        if let Some(r) = self.report {
            let sum = |f: fn(&registrar_model::FileSummary) -> u64| -> u64 {
                r.files.iter().map(f).sum()
            };
            item("Files", r.files.len().to_string());
            item("Rows", sum(|f| f.rows).to_string());
            item(
                "Valid / invalid",
                format!("{} / {}", sum(|f| f.valid), sum(|f| f.invalid)),
            );
            if let Some(p) = self.plan {
                let n = |f: fn(&crate::plan::EntityPlan) -> u64| -> u64 {
                    p.entities.iter().map(f).sum()
                };
                item(
                    "To insert / update / remove",
                    format!(
                        "{} / {} / {}",
                        n(|e| e.insert.len() as u64),
                        n(|e| e.update.len() as u64),
                        n(|e| e.remove.len() as u64)
                    ),
                );
                item("Unchanged", n(|e| e.unchanged).to_string());
            } else {
                item(
                    "Inserted / updated / unchanged / skipped",
                    format!(
                        "{} / {} / {} / {}",
                        sum(|f| f.inserted),
                        sum(|f| f.updated),
                        sum(|f| f.unchanged),
                        sum(|f| f.skipped)
                    ),
                );
                let removed: u64 = r.removed.iter().map(|e| e.removed).sum();
                if !r.removed.is_empty() {
                    item("Removed (sync)", removed.to_string());
                }
            }
            item(
                "Errors / warnings",
                format!("{} / {}", r.error_count(), warnings(r)),
            );
            let h = &r.password_hashes;
            if !h.is_empty() {
                let schemes: Vec<String> =
                    h.schemes.iter().map(|(s, n)| format!("{s} {n}")).collect();
                item(
                    "Password hashes (legacy / reset)",
                    format!(
                        "{} ({} / {})",
                        schemes.join(", "),
                        h.legacy,
                        h.reset_required
                    ),
                );
            }
        }
        if let Some(ms) = self.duration_ms {
            item("Duration", format!("{:.1} s", ms as f64 / 1000.0));
        }
        item(
            "Generated",
            self.generated_at
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string(),
        );
        item(
            "Registrar",
            format!("version {}", env!("CARGO_PKG_VERSION")),
        );
        h.push_str("</dl></section>\n");
    }

    fn files(&self, h: &mut String) {
        let Some(r) = self.report else { return };
        if r.files.is_empty() {
            return;
        }
        h.push_str(
            "<section id=\"files\"><h2>Files</h2><table class=\"grid\"><thead><tr>\
             <th>file</th><th>entity</th><th>format</th><th class=\"num\">rows</th>\
             <th class=\"num\">valid</th><th class=\"num\">invalid</th>\
             <th class=\"num\">inserted</th><th class=\"num\">updated</th>\
             <th class=\"num\">unchanged</th><th class=\"num\">skipped</th></tr></thead><tbody>\n",
        );
        for f in &r.files {
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
                escape(&f.file),
                escape(f.entity.as_str()),
                escape(&f.format),
                f.rows,
                f.valid,
                f.invalid,
                f.inserted,
                f.updated,
                f.unchanged,
                f.skipped
            ));
        }
        h.push_str("</tbody></table></section>\n");
    }

    fn steps_and_backups(&self, h: &mut String) {
        if !self.steps.is_empty() {
            h.push_str(
                "<section id=\"steps\"><h2>Runbook steps</h2><table class=\"grid\"><thead><tr>\
                 <th>step</th><th>outcome</th><th>detail</th></tr></thead><tbody>\n",
            );
            for s in &self.steps {
                h.push_str(&format!(
                    "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                    if s.ok { "ok" } else { "failed" },
                    escape(&s.step),
                    if s.ok { "ok" } else { "FAILED" },
                    escape(&s.detail)
                ));
            }
            h.push_str("</tbody></table></section>\n");
        }
        if !self.backups.is_empty() {
            h.push_str("<section id=\"backups\"><h2>Backups written</h2><ul>\n");
            for b in &self.backups {
                h.push_str(&format!(
                    "<li><code>{}</code></li>\n",
                    escape(&b.display().to_string())
                ));
            }
            h.push_str("</ul></section>\n");
        }
    }

    fn checks(&self, h: &mut String) {
        if self.checks.is_empty() {
            return;
        }
        h.push_str(
            "<section id=\"checks\"><h2>Checks</h2><table class=\"grid\"><thead><tr>\
             <th>check</th><th class=\"num\">count</th><th>verdict</th><th>detail</th>\
             </tr></thead><tbody>\n",
        );
        for c in &self.checks {
            h.push_str(&format!(
                "<tr class=\"{}\"><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>\n",
                if c.passed { "ok" } else { "failed" },
                escape(&c.name),
                c.count,
                if c.passed { "passed" } else { "FAILED" },
                escape(&c.detail)
            ));
        }
        h.push_str("</tbody></table></section>\n");
    }

    fn changes(&self, h: &mut String) {
        let Some(p) = self.plan else { return };
        h.push_str(
            "<section id=\"changes\"><h2>Changes</h2><p class=\"note\">Nothing was written: \
             this is what <code>registrar import --execute</code> of the same files would do.</p>\
             <table class=\"grid\" id=\"change-counts\"><thead><tr><th>entity</th>\
             <th class=\"num\">in the database</th><th class=\"num\">insert</th>\
             <th class=\"num\">update</th><th class=\"num\">unchanged</th>\
             <th class=\"num\">skipped</th><th class=\"num\">remove</th>\
             <th class=\"num\">kept (unknown origin)</th></tr></thead><tbody>\n",
        );
        for e in &p.entities {
            h.push_str(&format!(
                "<tr data-entity=\"{0}\"><td>{0}</td><td class=\"num\">{1}</td>\
                 <td class=\"num\">{2}</td><td class=\"num\">{3}</td><td class=\"num\">{4}</td>\
                 <td class=\"num\">{5}</td><td class=\"num\">{6}</td><td class=\"num\">{7}</td></tr>\n",
                escape(e.entity.as_str()),
                e.existing,
                e.insert.len(),
                e.update.len(),
                e.unchanged,
                e.skipped,
                e.remove.len(),
                e.kept_unknown_origin
            ));
        }
        h.push_str("</tbody></table>\n");
        for e in &p.entities {
            let kinds: [(&str, &[crate::plan::PlannedRow]); 3] = [
                ("insert", &e.insert),
                ("update", &e.update),
                ("remove", &e.remove),
            ];
            for (kind, rows) in kinds {
                if rows.is_empty() {
                    continue;
                }
                h.push_str(&format!(
                    "<details class=\"changes\" data-entity=\"{0}\" data-kind=\"{1}\"{4}>\
                     <summary>{0}: {2} to {1}{3}</summary>\
                     <table class=\"grid\"><thead><tr><th>key</th><th>file</th>\
                     <th class=\"num\">row</th><th>{5}</th></tr></thead><tbody>\n",
                    escape(e.entity.as_str()),
                    kind,
                    rows.len(),
                    if rows.len() > MAX_CHANGES_LISTED {
                        format!(" (the first {MAX_CHANGES_LISTED} listed)")
                    } else {
                        String::new()
                    },
                    if kind == "insert" { "" } else { " open" },
                    if kind == "remove" {
                        "action"
                    } else {
                        "changes"
                    },
                ));
                for r in rows.iter().take(MAX_CHANGES_LISTED) {
                    let detail = if kind == "remove" {
                        escape(r.action.as_deref().unwrap_or(""))
                    } else {
                        r.changes
                            .iter()
                            .map(|c| {
                                format!("<span class=\"change\">{}</span>", escape(&c.to_string()))
                            })
                            .collect::<Vec<_>>()
                            .join("<br>")
                    };
                    h.push_str(&format!(
                        "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>\n",
                        escape(&r.key.to_string()),
                        escape(r.file.as_deref().unwrap_or("")),
                        r.row.map(|n| n.to_string()).unwrap_or_default(),
                        detail
                    ));
                }
                h.push_str("</tbody></table></details>\n");
            }
        }
        h.push_str("</section>\n");
    }

    fn issues(&self, h: &mut String) {
        let Some(r) = self.report else { return };
        // Counts per code: listed plus counted-but-not-listed.
        let mut per_code: BTreeMap<(String, &'static str), (u64, u64)> = BTreeMap::new();
        for i in &r.issues {
            per_code
                .entry((i.code.as_str().to_owned(), severity(i.severity)))
                .or_default()
                .0 += 1;
        }
        for s in &r.suppressed {
            per_code
                .entry((s.code.as_str().to_owned(), severity(s.severity)))
                .or_default()
                .1 += s.count;
        }
        h.push_str("<section id=\"issues\"><h2>Issues</h2>\n");
        if r.issues.is_empty() {
            h.push_str("<p id=\"no-issues\">No issues.</p>\n");
        }
        if !per_code.is_empty() {
            h.push_str("<ul class=\"codes\" id=\"codes\">\n");
            for ((code, sev), (listed, more)) in &per_code {
                let more = if *more > 0 {
                    format!(" + {more} not listed")
                } else {
                    String::new()
                };
                h.push_str(&format!(
                    "<li class=\"sev-{1}\" data-code=\"{0}\"><a href=\"#code={0}\">{0}</a> \
                     <span class=\"count\">{2}{3}</span></li>\n",
                    escape(code),
                    sev,
                    listed,
                    escape(&more)
                ));
            }
            h.push_str("</ul>\n");
        }
        let listed: Vec<IssueRow<'_>> = r.issues.iter().take(MAX_LISTED).map(row_of).collect();
        if r.issues.len() > MAX_LISTED {
            h.push_str(&format!(
                "<p class=\"note\">The first {MAX_LISTED} issues are listed; {} more are counted above.</p>\n",
                r.issues.len() - MAX_LISTED
            ));
        }
        if !listed.is_empty() {
            h.push_str(
                "<div class=\"controls\" id=\"controls\">\
                 <label>File <select id=\"f-file\"><option value=\"\">all</option></select></label>\
                 <label>Severity <select id=\"f-severity\"><option value=\"\">all</option></select></label>\
                 <label>Code <select id=\"f-code\"><option value=\"\">all</option></select></label>\
                 <label>Rows per page <select id=\"f-size\"><option>50</option>\
                 <option selected>200</option><option>1000</option><option value=\"all\">all</option></select></label>\
                 <button type=\"button\" id=\"download\">Download these rows as CSV</button>\
                 </div>\n<p id=\"status\" aria-live=\"polite\"></p>\n\
                 <table class=\"grid\" id=\"issue-table\"><thead><tr>\
                 <th><button type=\"button\" data-sort=\"file\">file</button></th>\
                 <th class=\"num\"><button type=\"button\" data-sort=\"row\">row</button></th>\
                 <th><button type=\"button\" data-sort=\"column\">column</button></th>\
                 <th><button type=\"button\" data-sort=\"severity\">severity</button></th>\
                 <th><button type=\"button\" data-sort=\"code\">code</button></th>\
                 <th><button type=\"button\" data-sort=\"message\">message</button></th>\
                 </tr></thead><tbody id=\"issue-rows\"></tbody></table>\n\
                 <nav class=\"pager\" id=\"pager\"><button type=\"button\" id=\"prev\">previous</button>\
                 <span id=\"page\"></span><button type=\"button\" id=\"next\">next</button></nav>\n",
            );
        }
        h.push_str("<script type=\"application/json\" id=\"issues-data\">");
        h.push_str(&json_for_script(&listed));
        h.push_str("</script>\n</section>\n");
    }
}

/// One issue in the page's JSON: `[file, row, column, severity, code, message]`.
#[derive(Serialize)]
struct IssueRow<'a>(
    &'a str,
    Option<u64>,
    Option<&'a str>,
    &'static str,
    &'static str,
    &'a str,
);

fn row_of(i: &Issue) -> IssueRow<'_> {
    IssueRow(
        &i.file,
        i.row,
        i.column.as_deref(),
        severity(i.severity),
        i.code.as_str(),
        &i.message,
    )
}

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn warnings(r: &Report) -> usize {
    r.issues
        .iter()
        .filter(|i| i.severity == Severity::Warning)
        .count()
}

/// JSON that can sit inside a `<script>` element: no `<`, `>` or `&` left (written as `\u003c`,
/// `\u003e`, `\u0026`, which JSON reads back as the same characters), so no value can end the
/// element or start a comment.
fn json_for_script<T: Serialize>(value: &T) -> String {
    let json = serde_json::to_string(value).unwrap_or_else(|_| "[]".into());
    let mut out = String::with_capacity(json.len() + 64);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// HTML-escapes text for element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn csp_hash(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(s.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use registrar_model::{IssueCode, Mode};

    fn hostile_report() -> Report {
        let mut r = Report::new(Mode::Validate);
        r.push(Issue::error(
            IssueCode::InvalidEmail,
            "users.csv",
            Some(2),
            Some("email"),
            "'<script>alert(1)</script>' is not valid",
        ));
        r.push(Issue::warning(
            IssueCode::UnknownColumn,
            "\"><img src=x onerror=alert(1)>.csv",
            Some(1),
            None,
            "</script><script>alert(2)</script> & more",
        ));
        r
    }

    #[test]
    fn the_summary_counts_the_password_hashes_per_scheme() {
        let mut r = Report::new(Mode::Execute);
        r.password_hashes.count("bcrypt", true);
        r.password_hashes.count("bcrypt", true);
        r.password_hashes.count("argon2id", false);
        let page = HtmlReport::new("import", true).with_report(&r).render();
        assert!(
            page.contains("argon2id 1, bcrypt 2 (2 / 0)"),
            "per-scheme counts in the summary"
        );
        let plain = HtmlReport::new("import", true)
            .with_report(&Report::new(Mode::Execute))
            .render();
        assert!(!plain.contains("Password hashes"), "no line without hashes");
    }

    #[test]
    fn no_value_reaches_the_markup_unescaped() {
        let page = HtmlReport::new("validate", false)
            .with_report(&hostile_report())
            .with_database("postgres://admin:s3cret@db.school/sms")
            .render();
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(!page.contains("<img"), "{page}");
        assert!(!page.contains("</script><script>alert(2)"));
        // Exactly the page's own two script elements (data + code).
        assert_eq!(page.matches("<script").count(), 2);
        assert!(!page.contains("s3cret"));
        assert!(page.contains("postgres://admin:***@db.school/sms") || page.contains("***"));
    }

    #[test]
    fn the_csp_allows_only_the_pages_own_script_and_style() {
        let page = HtmlReport::new("check", true).render();
        assert!(page.contains("default-src 'none'"));
        assert!(page.contains(&format!("'sha256-{}'", csp_hash(SCRIPT))));
        assert!(page.contains(&format!("<script>{SCRIPT}</script>")));
        assert!(page.contains(&format!("<style>{STYLE}</style>")));
        assert!(!page.contains("http://") && !page.contains("https://"));
    }

    #[test]
    fn json_in_a_script_element_cannot_close_it() {
        let s = json_for_script(&vec!["</script>", "<!--", "a&b"]);
        assert!(!s.contains('<') && !s.contains('>') && !s.contains('&'));
        let back: Vec<String> = serde_json::from_str(&s).unwrap();
        assert_eq!(back, ["</script>", "<!--", "a&b"]);
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_written_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.html");
        std::fs::write(&path, "old").unwrap();
        HtmlReport::new("validate", true).write(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(std::fs::read_to_string(&path)
            .unwrap()
            .starts_with("<!DOCTYPE html>"));
    }
}
