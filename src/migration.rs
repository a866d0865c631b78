//! The `Migration` plan API: import a data folder, or run the whole runbook.

use crate::Error;
use registrar_db::import::{ImportMode, ImportOptions, Input, Progress};
use registrar_db::{backup, clean, Database};
use registrar_formats::ReaderOptions;
use registrar_model::{Entity, OnExisting, Report, Role};
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// A callback that receives one line per runbook step.
pub type StepLog = Arc<dyn Fn(&str) + Send + Sync>;

/// A migration of data files into a database, built step by step.
///
/// ```no_run
/// # async fn f() -> Result<(), registrar::Error> {
/// use registrar::{Migration, OnExisting};
/// let report = Migration::new("sqlite://registrar.db")
///     .data_dir("examples/data")
///     .on_existing(OnExisting::Skip)
///     .execute()
///     .await?;
/// assert!(report.is_ok());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Migration {
    database_url: String,
    input: Option<Input>,
    reader: ReaderOptions,
    on_existing: OnExisting,
    skip_invalid: bool,
    rejects_dir: Option<PathBuf>,
    backup_dir: PathBuf,
    clean_training_data: bool,
    force_password_reset: bool,
    progress: Option<Arc<dyn Progress>>,
    step_log: Option<StepLog>,
}

impl fmt::Debug for Migration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Migration")
            .field("database_url", &registrar_db::mask_url(&self.database_url))
            .field("on_existing", &self.on_existing)
            .field("backup_dir", &self.backup_dir)
            .finish_non_exhaustive()
    }
}

/// One step of the runbook and how it ended.
#[derive(Debug, Clone, Serialize)]
pub struct StepOutcome {
    /// The step (`validate`, `backup`, `clean`, `import`, `check`, `password-reset`, `post-backup`,
    /// `verify-backup`, `rollback`).
    pub step: String,
    /// Whether it succeeded.
    pub ok: bool,
    /// What it did or why it failed.
    pub detail: String,
}

/// The result of [`Migration::run_runbook`] or [`Migration::plan_runbook`].
#[derive(Debug, Clone, Serialize)]
pub struct RunbookOutcome {
    /// `"migrate-validate"` or `"migrate-execute"`.
    pub mode: String,
    /// True when every step succeeded.
    pub ok: bool,
    /// The steps in order.
    pub steps: Vec<StepOutcome>,
    /// The import (or validation) report.
    pub report: Option<Report>,
    /// The integrity checks after the import.
    pub checks: Vec<registrar_checks::CheckResult>,
    /// Backups written.
    pub backups: Vec<PathBuf>,
    /// True when a failure made the runbook restore the first backup.
    pub rolled_back: bool,
    /// Wall time.
    pub duration_ms: u64,
}

impl fmt::Display for RunbookOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(r) = &self.report {
            for i in &r.issues {
                writeln!(f, "  {i}")?;
            }
        }
        for s in &self.steps {
            writeln!(
                f,
                "{:<4} {:<15} {}",
                if s.ok { "ok" } else { "FAIL" },
                s.step,
                s.detail
            )?;
        }
        for c in self.checks.iter().filter(|c| !c.passed) {
            writeln!(
                f,
                "     check failed: {} ({}) {}",
                c.name, c.count, c.detail
            )?;
        }
        if self.rolled_back {
            writeln!(f, "the database was restored to the first backup")?;
        }
        writeln!(
            f,
            "{} in {} ms",
            if self.ok {
                "migration OK"
            } else {
                "migration FAILED"
            },
            self.duration_ms
        )
    }
}

impl Migration {
    /// A migration into the database at `database_url` (`sqlite://...` or `postgres://...`).
    pub fn new(database_url: impl Into<String>) -> Migration {
        Migration {
            database_url: database_url.into(),
            input: None,
            reader: ReaderOptions::default(),
            on_existing: OnExisting::Error,
            skip_invalid: false,
            rejects_dir: None,
            backup_dir: PathBuf::from("backups"),
            clean_training_data: false,
            force_password_reset: false,
            progress: None,
            step_log: None,
        }
    }

    /// Reads the data files of a folder (found by stem).
    pub fn data_dir(mut self, dir: impl AsRef<Path>) -> Migration {
        self.input = Some(Input::Dir(dir.as_ref().to_path_buf()));
        self
    }

    /// Reads one file (entity from its stem when `None`).
    pub fn file(mut self, path: impl AsRef<Path>, entity: Option<Entity>) -> Migration {
        self.input = Some(Input::File {
            path: path.as_ref().to_path_buf(),
            entity,
        });
        self
    }

    /// Reader options (encoding, delimiter, sheet, limits).
    pub fn reader_options(mut self, options: ReaderOptions) -> Migration {
        self.reader = options;
        self
    }

    /// What rows already in the database do.
    pub fn on_existing(mut self, on_existing: OnExisting) -> Migration {
        self.on_existing = on_existing;
        self
    }

    /// Load the valid rows and write invalid ones to `DIR/<file>.rejects.csv`.
    pub fn skip_invalid(mut self, rejects_dir: impl AsRef<Path>) -> Migration {
        self.skip_invalid = true;
        self.rejects_dir = Some(rejects_dir.as_ref().to_path_buf());
        self
    }

    /// Where the runbook writes its backups (default `./backups`).
    pub fn backup_dir(mut self, dir: impl AsRef<Path>) -> Migration {
        self.backup_dir = dir.as_ref().to_path_buf();
        self
    }

    /// Delete the training accounts and sample courses before importing (runbook Phase 1).
    pub fn clean_training_data(mut self, yes: bool) -> Migration {
        self.clean_training_data = yes;
        self
    }

    /// Require every non-admin user to change their password (runbook Phase 4).
    pub fn force_password_reset(mut self, yes: bool) -> Migration {
        self.force_password_reset = yes;
        self
    }

    /// Progress callbacks (the CLI draws bars).
    pub fn progress(mut self, progress: Option<Arc<dyn Progress>>) -> Migration {
        self.progress = progress;
        self
    }

    /// A callback that receives one line per runbook step as it finishes.
    pub fn step_log(mut self, log: Option<StepLog>) -> Migration {
        self.step_log = log;
        self
    }

    fn input(&self) -> Result<&Input, Error> {
        self.input.as_ref().ok_or_else(|| {
            Error::Db(registrar_db::Error::Refused(
                "no input: call data_dir(..) or file(..) first".into(),
            ))
        })
    }

    fn import_options(&self, mode: ImportMode) -> ImportOptions {
        ImportOptions {
            mode,
            on_existing: self.on_existing,
            skip_invalid: self.skip_invalid,
            rejects_dir: self.rejects_dir.clone(),
            reader: self.reader.clone(),
            progress: self.progress.clone(),
            skip_audit: false,
        }
    }

    /// `import --validate`: validation plus the database (nothing is written but the schema).
    pub async fn validate(&self) -> Result<Report, Error> {
        let db = Database::open(&self.database_url).await?;
        let report = registrar_db::import::run_import(
            &db,
            self.input()?,
            &self.import_options(ImportMode::Validate),
        )
        .await?;
        db.close().await;
        Ok(report)
    }

    /// `import --execute`: all or nothing (unless [`Migration::skip_invalid`]); one `import_runs` row.
    pub async fn execute(&self) -> Result<Report, Error> {
        let db = Database::open(&self.database_url).await?;
        // Never beside a runbook (or another import) on the same database.
        let _run_lock = db.run_lock().await?;
        let report = registrar_db::import::run_import(
            &db,
            self.input()?,
            &self.import_options(ImportMode::Execute),
        )
        .await?;
        db.close().await;
        Ok(report)
    }

    fn log(&self, steps: &mut Vec<StepOutcome>, step: &str, ok: bool, detail: impl Into<String>) {
        let s = StepOutcome {
            step: step.into(),
            ok,
            detail: detail.into(),
        };
        if let Some(log) = &self.step_log {
            log(&format!(
                "{:<4} {:<15} {}",
                if ok { "ok" } else { "FAIL" },
                s.step,
                s.detail
            ));
        }
        steps.push(s);
    }

    /// `migrate --validate`: every step that can be checked without writing data, and what
    /// `--execute` would do.
    pub async fn plan_runbook(&self) -> Result<RunbookOutcome, Error> {
        let started = Instant::now();
        let mut steps = Vec::new();
        let db = Database::open(&self.database_url).await?;
        let input = self.input()?;
        let mut ok = true;
        let clean_opts = clean::CleanOptions::default();
        if self.clean_training_data {
            match clean::plan(&db, &clean_opts).await {
                Ok(r) if r.refusals.len() > usize::from(r.active_admins_left == 0) => {
                    ok = false;
                    self.log(
                        &mut steps,
                        "clean",
                        false,
                        format!("would refuse: {}", r.refusals.join("; ")),
                    );
                }
                Ok(r) => self.log(
                    &mut steps,
                    "clean",
                    true,
                    format!("would delete {}", clean_summary(&r)),
                ),
                Err(registrar_db::Error::Refused(m)) => {
                    ok = false;
                    self.log(&mut steps, "clean", false, format!("would refuse: {m}"));
                }
                Err(e) => return Err(e.into()),
            }
        }
        // With clean-up, the training rows will be gone before the import: validate the files alone.
        let report = if self.clean_training_data {
            match input {
                Input::Dir(d) => registrar_rules::validate_dir(d, &self.reader)?,
                Input::File { path, entity } => {
                    registrar_rules::validate_file(path, *entity, &self.reader)?
                }
            }
        } else {
            registrar_db::import::run_import(&db, input, &self.import_options(ImportMode::Validate))
                .await?
        };
        let rows: u64 = report.files.iter().map(|f| f.valid).sum();
        ok &= report.is_ok();
        self.log(
            &mut steps,
            "validate",
            report.is_ok(),
            format!(
                "{} file(s), {} valid row(s), {} error(s)",
                report.files.len(),
                rows,
                report.error_count()
            ),
        );
        self.log(
            &mut steps,
            "backup",
            true,
            format!("would write a backup to {}", self.backup_dir.display()),
        );
        self.log(
            &mut steps,
            "import",
            true,
            format!("would import {rows} row(s) in one transaction"),
        );
        if self.force_password_reset {
            self.log(
                &mut steps,
                "password-reset",
                true,
                "would require non-admin users to change their password",
            );
        }
        self.log(
            &mut steps,
            "post-backup",
            true,
            "would write and verify a post-migration backup",
        );
        db.close().await;
        Ok(RunbookOutcome {
            mode: "migrate-validate".into(),
            ok,
            steps,
            report: Some(report),
            checks: Vec::new(),
            backups: Vec::new(),
            rolled_back: false,
            duration_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// `migrate --execute`: validate the files; back up; optionally clean up; import in order;
    /// run the integrity checks; optionally force password resets; back up again and verify
    /// that backup. On any failure after the first backup, restore it, verify the restore, and
    /// report what failed. Validation errors stop the run before anything is written.
    pub async fn run_runbook(&self) -> Result<RunbookOutcome, Error> {
        let started_at = chrono::Utc::now();
        let input = self.input()?.clone();
        let db = Database::open(&self.database_url).await?;
        // One runbook at a time per database: a second one beside it could roll back to a
        // backup taken before this one's import committed, wiping it. A refusal is audited too.
        let result = match db.run_lock().await {
            Ok(lock) => {
                let r = self.runbook(&db, &input).await;
                drop(lock);
                r
            }
            Err(e) => Err(e.into()),
        };
        // The whole run is one row of the audit log, written last so that it survives a rollback.
        let (outcome, error) = match &result {
            Ok(o) if o.ok => ("success", None),
            Ok(o) if o.rolled_back => (
                "rolled-back",
                o.steps
                    .iter()
                    .rev()
                    .find(|s| !s.ok)
                    .map(|s| format!("{}: {}", s.step, s.detail)),
            ),
            Ok(o) if o.steps.iter().any(|s| s.step == "rollback") => (
                "rollback-failed",
                o.steps
                    .iter()
                    .rev()
                    .find(|s| !s.ok)
                    .map(|s| format!("{}: {}", s.step, s.detail)),
            ),
            Ok(_) => ("validation-failed", None),
            Err(e) => ("error", Some(e.to_string())),
        };
        let report = result.as_ref().ok().and_then(|o| o.report.as_ref());
        let run = registrar_db::audit::NewRun {
            started_at,
            finished_at: chrono::Utc::now(),
            mode: registrar_model::Mode::MigrateExecute.as_str().to_owned(),
            operator: registrar_db::audit::current_operator(),
            tool_version: registrar_db::audit::TOOL_VERSION.to_owned(),
            files: registrar_db::audit::files_summary(&input, report).unwrap_or_default(),
            counts: registrar_db::audit::counts_summary(report),
            outcome: outcome.to_owned(),
            error,
        };
        let recorded = registrar_db::audit::record_run(&db, &run).await;
        db.close().await;
        let out = result?;
        recorded?;
        Ok(out)
    }

    async fn runbook(&self, db: &Database, input: &Input) -> Result<RunbookOutcome, Error> {
        let started = Instant::now();
        let mut out = RunbookOutcome {
            mode: "migrate-execute".into(),
            ok: false,
            steps: Vec::new(),
            report: None,
            checks: Vec::new(),
            backups: Vec::new(),
            rolled_back: false,
            duration_ms: 0,
        };
        // 1. Validate the files before touching anything.
        let report = match input {
            Input::Dir(d) => registrar_rules::validate_dir(d, &self.reader)?,
            Input::File { path, entity } => {
                registrar_rules::validate_file(path, *entity, &self.reader)?
            }
        };
        let valid = report.is_ok() || self.skip_invalid;
        self.log(
            &mut out.steps,
            "validate",
            valid,
            format!(
                "{} file(s), {} error(s)",
                report.files.len(),
                report.error_count()
            ),
        );
        if !valid {
            out.report = Some(report);
            out.duration_ms = started.elapsed().as_millis() as u64;
            return Ok(out);
        }

        // 2. The first backup.
        std::fs::create_dir_all(&self.backup_dir).map_err(|e| {
            registrar_db::Error::io(format!("cannot create {}", self.backup_dir.display()), e)
        })?;
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let pre = self
            .backup_dir
            .join(format!("pre-migration-{stamp}.registrar.gz"));
        let pre_summary = backup::backup(db, &pre).await?;
        out.backups.push(pre.clone());
        self.log(&mut out.steps, "backup", true, format!("{}", pre.display()));

        // 3..7. Everything after the first backup rolls back on failure.
        let result = self
            .after_backup(db, input, &mut out, &stamp.to_string())
            .await;
        let failure = match result {
            Ok(None) => None,
            Ok(Some(msg)) => Some(msg),
            Err(e) => Some(e.to_string()),
        };
        if let Some(msg) = failure {
            match backup::restore(db, &pre).await {
                Ok(_) => {
                    let now = backup::table_checksums(db).await?;
                    let same = now == pre_summary.tables;
                    out.rolled_back = true;
                    self.log(
                        &mut out.steps,
                        "rollback",
                        same,
                        if same {
                            format!(
                                "{msg}; restored {} and verified its checksums",
                                pre.display()
                            )
                        } else {
                            format!("{msg}; restored {} but checksums differ", pre.display())
                        },
                    );
                }
                Err(e) => {
                    self.log(
                        &mut out.steps,
                        "rollback",
                        false,
                        format!("{msg}; restoring {} FAILED: {e}", pre.display()),
                    );
                }
            }
            out.ok = false;
        } else {
            out.ok = true;
        }
        out.duration_ms = started.elapsed().as_millis() as u64;
        Ok(out)
    }

    /// The steps after the first backup; `Ok(Some(reason))` for a failure that needs a rollback.
    async fn after_backup(
        &self,
        db: &Database,
        input: &Input,
        out: &mut RunbookOutcome,
        stamp: &str,
    ) -> Result<Option<String>, Error> {
        if self.clean_training_data {
            // The runbook deletes the training admins before the real ones are imported, so
            // "no active admin left" is judged after the import (the `active-admin` check);
            // every other refusal still stops the run.
            let plan = clean::plan(db, &clean::CleanOptions::default()).await?;
            let admin_refusal =
                usize::from(plan.active_admins_left == 0 && !plan.refusals.is_empty());
            let force = plan.refusals.len() == admin_refusal;
            let opts = clean::CleanOptions {
                force,
                ..Default::default()
            };
            match clean::execute(db, &opts).await {
                Ok(r) => self.log(
                    &mut out.steps,
                    "clean",
                    true,
                    format!("deleted {}", clean_summary(&r)),
                ),
                Err(registrar_db::Error::Refused(m)) => {
                    self.log(&mut out.steps, "clean", false, format!("refused: {m}"));
                    return Ok(Some(m));
                }
                Err(e) => return Err(e.into()),
            }
        }
        let options = ImportOptions {
            skip_audit: true,
            ..self.import_options(ImportMode::Execute)
        };
        let report = registrar_db::import::run_import(db, input, &options).await;
        let report = match report {
            Ok(r) => r,
            Err(e) => {
                self.log(&mut out.steps, "import", false, e.to_string());
                return Ok(Some(format!("import failed: {e}")));
            }
        };
        let inserted: u64 = report.files.iter().map(|f| f.inserted).sum();
        let imported_ok = report.is_ok() || self.skip_invalid;
        self.log(
            &mut out.steps,
            "import",
            imported_ok,
            format!(
                "{inserted} row(s) inserted, {} error(s)",
                report.error_count()
            ),
        );
        out.report = Some(report);
        if !imported_ok {
            return Ok(Some("the import found errors".into()));
        }
        let checks = registrar_checks::run_checks(db, &Default::default()).await?;
        let failed: Vec<String> = checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.name.clone())
            .collect();
        self.log(
            &mut out.steps,
            "check",
            failed.is_empty(),
            if failed.is_empty() {
                format!("{} integrity check(s) passed", checks.len())
            } else {
                format!("failed: {}", failed.join(", "))
            },
        );
        out.checks = checks;
        if !failed.is_empty() {
            return Ok(Some(format!(
                "integrity checks failed: {}",
                failed.join(", ")
            )));
        }
        if self.force_password_reset {
            let n = registrar_checks::force_password_reset(db, Some(Role::Admin)).await?;
            self.log(
                &mut out.steps,
                "password-reset",
                true,
                format!("{n} non-admin user(s) must change their password"),
            );
        }
        let post = self
            .backup_dir
            .join(format!("post-migration-{stamp}.registrar.gz"));
        backup::backup(db, &post).await?;
        out.backups.push(post.clone());
        self.log(
            &mut out.steps,
            "post-backup",
            true,
            format!("{}", post.display()),
        );
        let v = backup::verify_backup(&post, None).await?;
        self.log(
            &mut out.steps,
            "verify-backup",
            v.ok,
            if v.ok {
                "restores with identical counts and checksums".to_string()
            } else {
                v.problems.join("; ")
            },
        );
        if !v.ok {
            return Ok(Some("the post-migration backup did not verify".into()));
        }
        Ok(None)
    }
}

/// One line: what a clean-up deleted (or would delete).
pub(crate) fn clean_summary(r: &clean::CleanReport) -> String {
    format!(
        "{} training user(s), {} course(s), {} enrollment(s), {} grade(s), {} attendance row(s)",
        r.users.len(),
        r.courses.len(),
        r.enrollments,
        r.grades,
        r.attendances
    )
}
