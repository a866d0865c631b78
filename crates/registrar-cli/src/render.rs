//! Every output of the binary: human and JSON rendering of reports, outcomes, notices and errors.

use registrar::commands::{is_unfinished, CheckOutcome, InitSummary, Notice};
use registrar::db::audit::ImportRun;
use registrar::db::backup::{BackupSummary, VerifyReport};
use registrar::model::Report;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// Output format chosen with `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Lines for a person, grouped by file, then a summary table.
    Human,
    /// One JSON document on stdout.
    Json,
}

/// Renders a report for a person: issues grouped by file (one line each), then a summary table.
pub fn human_report(report: &Report) -> String {
    let mut out = String::new();
    // Group by file, keeping the order in which files appear in the summary.
    let mut order: Vec<&str> = report.files.iter().map(|f| f.file.as_str()).collect();
    for file in report
        .issues
        .iter()
        .map(|i| i.file.as_str())
        .chain(report.suppressed.iter().map(|s| s.file.as_str()))
    {
        if !order.contains(&file) {
            order.push(file);
        }
    }
    let mut by_file: BTreeMap<&str, Vec<&registrar::model::Issue>> = BTreeMap::new();
    for i in &report.issues {
        by_file.entry(i.file.as_str()).or_default().push(i);
    }
    for file in &order {
        let issues = by_file.get(file).map(Vec::as_slice).unwrap_or_default();
        let suppressed: Vec<_> = report
            .suppressed
            .iter()
            .filter(|s| s.file == *file)
            .collect();
        if issues.is_empty() && suppressed.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{file}");
        for i in issues {
            let _ = writeln!(out, "  {i}");
        }
        for s in suppressed {
            let _ = writeln!(
                out,
                "  {file}: {}[{}] ... and {} more like this, not listed (only the first {} of each code per file are)",
                s.severity,
                s.code,
                s.count,
                registrar::model::MAX_ISSUES_PER_FILE_AND_CODE
            );
        }
        let _ = writeln!(out);
    }
    let show_load = report
        .files
        .iter()
        .any(|f| f.inserted + f.updated + f.skipped + f.unchanged > 0)
        || matches!(
            report.mode,
            registrar::model::Mode::Execute | registrar::model::Mode::MigrateExecute
        );
    let name_w = report
        .files
        .iter()
        .map(|f| f.file.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = write!(
        out,
        "{:<name_w$}  {:<11}  {:<6}  {:>8}  {:>8}  {:>8}",
        "file", "entity", "format", "rows", "valid", "invalid"
    );
    if show_load {
        let _ = write!(
            out,
            "  {:>8}  {:>8}  {:>9}  {:>8}",
            "inserted", "updated", "unchanged", "skipped"
        );
    }
    out.push('\n');
    for f in &report.files {
        let _ = write!(
            out,
            "{:<name_w$}  {:<11}  {:<6}  {:>8}  {:>8}  {:>8}",
            f.file,
            f.entity.as_str(),
            f.format,
            f.rows,
            f.valid,
            f.invalid
        );
        if show_load {
            let _ = write!(
                out,
                "  {:>8}  {:>8}  {:>9}  {:>8}",
                f.inserted, f.updated, f.unchanged, f.skipped
            );
        }
        out.push('\n');
    }
    for r in &report.removed {
        let _ = write!(out, "sync: {} {} removed", r.removed, r.entity.as_str());
        if r.kept_unknown_origin > 0 {
            let _ = write!(
                out,
                ", {} kept (not made by an import; --sync-all removes them)",
                r.kept_unknown_origin
            );
        }
        out.push('\n');
    }
    let h = &report.password_hashes;
    if !h.is_empty() {
        let per: Vec<String> = h.schemes.iter().map(|(s, n)| format!("{s} {n}")).collect();
        let _ = write!(
            out,
            "password hashes: {}; {} legacy (upgraded to argon2id at first login)",
            per.join(", "),
            h.legacy
        );
        if h.reset_required > 0 {
            let _ = write!(
                out,
                ", {} flagged password_reset_required",
                h.reset_required
            );
        }
        out.push('\n');
    }
    let m = &report.missing_passwords;
    if m.no_password > 0 {
        let _ = writeln!(
            out,
            "accounts without a password: {} stored with no usable password, flagged password_reset_required",
            m.no_password
        );
    }
    if m.generated > 0 {
        let _ = writeln!(
            out,
            "accounts without a password: {} given a generated temporary password (in the credentials file only), flagged password_reset_required",
            m.generated
        );
    }
    if report.teacher_links > 0 {
        let _ = writeln!(
            out,
            "teacher links: {} written (registrar_course_teachers, from the teacher and aide enrollments)",
            report.teacher_links
        );
    }
    // Counts include the issues counted but not listed (report.suppressed).
    let errors = report.error_count();
    let warnings = report.warning_count();
    let _ = writeln!(
        out,
        "\n{}: {} error(s), {} warning(s) in {} ms",
        if errors == 0 { "OK" } else { "FAILED" },
        errors,
        warnings,
        report.duration_ms
    );
    out
}

/// The report as pretty JSON (SPEC §3).
pub fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// What clean-up deleted or would delete, and any refusal.
pub fn clean_report(r: &registrar::db::clean::CleanReport) -> String {
    let mut out = String::new();
    let verb = if r.executed {
        "deleted"
    } else {
        "would delete"
    };
    let _ = writeln!(out, "{verb} {} training user(s):", r.users.len());
    for u in &r.users {
        let _ = writeln!(out, "  {u}");
    }
    let _ = writeln!(
        out,
        "{verb} {} course(s): {}",
        r.courses.len(),
        r.courses.join(", ")
    );
    let _ = writeln!(
        out,
        "{verb} with them: {} enrollment(s), {} grade(s), {} attendance row(s)",
        r.enrollments, r.grades, r.attendances
    );
    let _ = writeln!(
        out,
        "active admins left afterwards: {}",
        r.active_admins_left
    );
    for refusal in &r.refusals {
        let _ = writeln!(out, "refused without --force: {refusal}");
    }
    out
}

/// Login verification results (emails only, never passwords).
pub fn login_report(r: &registrar::checks::LoginReport) -> String {
    let mut out = String::new();
    for f in &r.failed {
        let _ = writeln!(out, "FAIL {} (row {}): {}", f.email, f.row, f.reason);
    }
    let _ = writeln!(
        out,
        "{} of {} sampled login(s) succeeded ({} user(s) in the file, {} without a plain password skipped)",
        r.passed, r.checked, r.candidates, r.skipped
    );
    if r.no_password > 0 {
        let _ = writeln!(
            out,
            "{} account(s): reset required, no password (imported with --missing-password reset; nobody can log in until a reset sets one)",
            r.no_password
        );
    }
    out
}

/// Counts per role and table, and sizes.
pub fn stats(s: &registrar::checks::Stats) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "engine: {}", s.engine);
    let _ = writeln!(out, "users by role:");
    for (role, n) in &s.roles {
        let _ = writeln!(out, "  {role:<10} {n:>10}");
    }
    let _ = writeln!(out, "{:<14} {:>10} {:>14}", "table", "rows", "size");
    for t in &s.tables {
        let size = t.size_bytes.map(human_bytes).unwrap_or_else(|| "-".into());
        let _ = writeln!(out, "{:<14} {:>10} {:>14}", t.table, t.rows, size);
    }
    let _ = writeln!(
        out,
        "database size: {} ({})",
        human_bytes(s.database_size_bytes),
        s.size_method
    );
    let h = &s.password_hashes;
    let _ = writeln!(out, "password hashes by scheme:");
    for (scheme, n) in &h.schemes {
        let _ = writeln!(out, "  {scheme:<22} {n:>10}");
    }
    let _ = writeln!(
        out,
        "  {:<22} {:>10}  (upgraded to argon2id at first login)",
        "legacy", h.legacy
    );
    let _ = writeln!(
        out,
        "  {:<22} {:>10}  (no hash Registrar can verify)",
        "unusable", h.unusable
    );
    if h.no_password > 0 {
        let _ = writeln!(
            out,
            "  {:<22} {:>10}  (imported without a password; waiting for a reset)",
            "no password", h.no_password
        );
    }
    out
}

fn human_bytes(n: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// The end of a runbook for a person whose terminal already shows the steps: the issues, any
/// failed check, whether it rolled back, and the verdict.
pub fn runbook_summary(o: &registrar::RunbookOutcome) -> String {
    let mut out = String::new();
    if let Some(r) = &o.report {
        if !r.issues.is_empty() {
            out.push_str(&human_report(r));
        }
    }
    for c in o.checks.iter().filter(|c| !c.passed) {
        let _ = writeln!(out, "check failed: {} ({}) {}", c.name, c.count, c.detail);
    }
    if o.rolled_back {
        let _ = writeln!(
            out,
            "the run's changes were undone: the database is as before the run"
        );
    }
    let _ = writeln!(
        out,
        "{} in {} ms",
        if o.ok {
            "migration OK"
        } else {
            "migration FAILED"
        },
        o.duration_ms
    );
    out
}

/// Prints a report on stdout in `format`.
pub fn print_report(report: &Report, format: OutputFormat) {
    match format {
        OutputFormat::Json => println!("{}", json(report)),
        OutputFormat::Human => print!("{}", human_report(report)),
    }
}

/// The error and its causes on one line (`a: b: c`), without repeating a cause already in the text.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut s = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !s.contains(&c) {
            s.push_str(": ");
            s.push_str(&c);
        }
    }
    s.replace('\n', " ")
}

/// A session's notice, as the `note:` line printed on stderr.
pub fn notice(n: &Notice) -> String {
    match n {
        Notice::Interrupted(r) => format!(
            "note: {}; marked interrupted",
            registrar::db::audit::describe_unfinished(r)
        ),
        Notice::PlannedWithoutDatabase { url } => format!(
            "note: no database at {url} yet: validated against an empty database (nothing was created)"
        ),
        _ => "note: (a notice this version cannot describe)".to_owned(),
    }
}

/// What `init` did.
pub fn init(s: &InitSummary) -> String {
    format!(
        "schema ready ({} schema version {}) at {}",
        s.engine.as_str(),
        s.schema_version,
        s.url
    )
}

/// What `seed-training` did.
pub fn seed(s: &registrar::db::seed::SeedSummary) -> String {
    format!(
        "training data: {} user(s) inserted ({} already there), {} course(s) inserted ({} already there)",
        s.users_inserted, s.users_skipped, s.courses_inserted, s.courses_skipped
    )
}

/// The backup written to `out`, table by table.
pub fn backup_written(out: &Path, s: &BackupSummary) -> String {
    let mut text = format!(
        "backup written to {} (schema version {})\n",
        out.display(),
        s.schema_version
    );
    for t in &s.tables {
        let _ = writeln!(
            text,
            "  {:<25} {:>10} rows  sha256 {}",
            t.table, t.rows, t.sha256
        );
    }
    text
}

/// A note naming the tables an older-format backup does not hold (empty when it holds all).
fn missing_tables_note(s: &BackupSummary, what: &str) -> String {
    let missing = s.missing_tables();
    if missing.is_empty() {
        return String::new();
    }
    format!(
        "note: this backup predates external ids and teacher links (backup format 1): it holds no {}; {what}\n",
        missing.join(" or ")
    )
}

/// The OneRoster bundle written, file by file.
pub fn export_written(s: &registrar::export::ExportSummary) -> String {
    let mut text = format!(
        "OneRoster {} bundle written to {} ({}{})\n",
        s.version,
        s.out.display(),
        if s.zip {
            "zip, 0600"
        } else {
            "folder 0700, files 0600"
        },
        if s.replaced {
            "; the previous export was replaced"
        } else {
            ""
        }
    );
    for f in &s.files {
        let _ = writeln!(text, "  {:<22} {:>10} rows", f.name, f.rows);
    }
    if s.attendance_not_exported > 0 {
        let _ = writeln!(
            text,
            "note: {} attendance marks are not exported (OneRoster has no attendance); a backup keeps them",
            s.attendance_not_exported
        );
    }
    text
}

/// The backup restored from `from`, table by table.
pub fn restored(from: &Path, s: &BackupSummary) -> String {
    let mut text = format!(
        "restored {} (checksums verified after the restore)\n",
        from.display()
    );
    for t in &s.tables {
        let _ = writeln!(text, "  {:<25} {:>10} rows", t.table, t.rows);
    }
    text.push_str(&missing_tables_note(s, "they were left empty"));
    text
}

/// The verdict of `verify-backup` on `file`.
pub fn verify_report(file: &Path, r: &VerifyReport) -> String {
    if r.ok {
        let mut text = format!("backup {} verified: checksums match and it restores with identical counts and checksums\n", file.display());
        if let Some(s) = &r.summary {
            text.push_str(&missing_tables_note(s, "a restore leaves them empty"));
        }
        text
    } else {
        let mut text = format!("backup {} FAILED verification:\n", file.display());
        for p in &r.problems {
            let _ = writeln!(text, "  {p}");
        }
        text
    }
}

/// One line per check, then the verdict.
pub fn checks(o: &CheckOutcome) -> String {
    let mut out = String::new();
    for c in &o.checks {
        let _ = writeln!(
            out,
            "{:<4} {:<34} {:>8}  {}",
            if c.passed { "ok" } else { "FAIL" },
            c.name,
            c.count,
            c.detail
        );
    }
    let _ = writeln!(
        out,
        "{}",
        if o.ok {
            "all checks passed"
        } else {
            "some checks FAILED"
        }
    );
    out
}

/// The audit log, one line per run.
pub fn audit_log(runs: &[ImportRun]) -> String {
    let mut out = String::new();
    if runs.is_empty() {
        let _ = writeln!(out, "no runs recorded");
    }
    for r in runs {
        let _ = writeln!(
            out,
            "#{:<5} {}  {:<16} {:<18} by {:<12} v{}{}",
            r.id,
            r.started_at,
            r.mode,
            if is_unfinished(r) {
                format!("{} (UNFINISHED)", r.outcome)
            } else {
                r.outcome.to_string()
            },
            r.operator,
            r.tool_version,
            r.error
                .as_deref()
                .map(|e| format!("  error: {e}"))
                .unwrap_or_default()
        );
    }
    out
}

/// Rows of each kind a human plan shows (the JSON plan has them all).
const PLAN_SHOWN: usize = 10;

/// The human form of a plan: per entity the counts, then the first rows of each kind.
pub fn plan_summary(plan: &registrar::plan::Plan, saved: Option<&std::path::Path>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Plan against {} (nothing written)", plan.database);
    for e in &plan.entities {
        let _ = write!(
            s,
            "{:<12} {} new, {} changed, {} unchanged",
            e.entity.as_str(),
            e.insert.len(),
            e.update.len(),
            e.unchanged
        );
        if e.skipped > 0 {
            let _ = write!(s, ", {} skipped", e.skipped);
        }
        if plan.options.sync {
            let _ = write!(s, ", {} to remove", e.remove.len());
            if e.kept_unknown_origin > 0 {
                let _ = write!(
                    s,
                    " ({} kept: not made by an import)",
                    e.kept_unknown_origin
                );
            }
        }
        let _ = writeln!(s, " (of {} in the database)", e.existing);
        let place = |r: &registrar::plan::PlannedRow| match (&r.file, r.row) {
            (Some(f), Some(n)) => format!(" ({f} row {n})"),
            _ => String::new(),
        };
        for r in e.insert.iter().take(PLAN_SHOWN) {
            let _ = writeln!(s, "  + {}{}", r.key, place(r));
        }
        more(&mut s, e.insert.len());
        for r in e.update.iter().take(PLAN_SHOWN) {
            let fields: Vec<String> = r.changes.iter().map(ToString::to_string).collect();
            let _ = writeln!(s, "  ~ {}{}: {}", r.key, place(r), fields.join("; "));
        }
        more(&mut s, e.update.len());
        for r in e.remove.iter().take(PLAN_SHOWN) {
            let action = r.action.as_deref().unwrap_or("remove");
            let _ = writeln!(s, "  - {} ({action})", r.key);
        }
        more(&mut s, e.remove.len());
    }
    const ISSUES_SHOWN: usize = 50;
    for i in plan.report.issues.iter().take(ISSUES_SHOWN) {
        let _ = writeln!(s, "{i}");
    }
    if plan.report.issues.len() > ISSUES_SHOWN {
        let _ = writeln!(
            s,
            "… and {} more issues (--format json lists them all)",
            plan.report.issues.len() - ISSUES_SHOWN
        );
    }
    if plan.ok {
        let _ = writeln!(s, "OK: the plan writes {} rows", plan.writes());
    } else {
        let _ = writeln!(
            s,
            "FAILED: the plan cannot be applied as it is (see the errors above)"
        );
    }
    if let Some(p) = saved {
        let _ = writeln!(
            s,
            "Saved to {}: apply it with registrar import --plan {} --execute",
            p.display(),
            p.display()
        );
    }
    s
}

fn more(s: &mut String, n: usize) {
    if n > PLAN_SHOWN {
        s.push_str(&format!(
            "  … and {} more (--format json lists them all)\n",
            n - PLAN_SHOWN
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use registrar::model::{Entity, FileSummary, Issue, IssueCode, Mode};

    #[test]
    fn human_groups_by_file() {
        let mut r = Report::new(Mode::Validate);
        r.files
            .push(FileSummary::new("users.csv", Entity::Users, "csv"));
        r.push(Issue::error(
            IssueCode::InvalidEmail,
            "users.csv",
            Some(4),
            Some("email"),
            "bad",
        ));
        let s = human_report(&r);
        assert!(
            s.contains("users.csv\n  users.csv:4 email: error[invalid-email] bad"),
            "{s}"
        );
        assert!(s.contains("FAILED: 1 error(s)"));
    }
}
