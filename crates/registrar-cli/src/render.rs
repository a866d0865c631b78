//! Human and JSON rendering of reports.

use registrar::model::Report;
use std::collections::BTreeMap;
use std::fmt::Write as _;

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
        .any(|f| f.inserted + f.updated + f.skipped > 0)
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
            "  {:>8}  {:>8}  {:>8}",
            "inserted", "updated", "skipped"
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
                "  {:>8}  {:>8}  {:>8}",
                f.inserted, f.updated, f.skipped
            );
        }
        out.push('\n');
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
