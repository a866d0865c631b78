//! The `Migration` plan API: import a data folder, or run the whole runbook.

use crate::import::{ImportMode, ImportOptions, Input, Progress, Staged};
use crate::input::{Records, TypedRecord};
use crate::Error;
use registrar_db::audit::RunOutcome;
use registrar_db::{backup, clean, Database, RunLock};
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
    update_passwords: bool,
    sync: crate::SyncMode,
    max_changes: Option<f64>,
    hash_policy: registrar_hashes::HashPolicy,
    mapping: Option<Arc<registrar_rules::mapping::Mapping>>,
    missing_password: registrar_model::MissingPassword,
    credentials_out: Option<PathBuf>,
    date_order: Option<registrar_rules::parse::DateOrder>,
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
    /// The step (serialized as its text: `validate`, `backup`, `clean`, `import`, `check`,
    /// `password-reset`, `post-backup`, `verify-backup`, `rollback`, ...).
    pub step: RunbookStep,
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
    /// How the run ended, as recorded in `import_runs`: `success`, `validation-failed`,
    /// `rolled-back` (nothing of the run is left in the database), `rollback-failed`,
    /// `rollback-refused` (not restored: the database changed since this run committed),
    /// `lock-lost`; `planned` for `--validate` (serialized as that text).
    pub outcome: RunOutcome,
    /// The steps in order.
    pub steps: Vec<StepOutcome>,
    /// The import (or validation) report.
    pub report: Option<Report>,
    /// The integrity checks after the import.
    pub checks: Vec<registrar_checks::CheckResult>,
    /// Backups written.
    pub backups: Vec<PathBuf>,
    /// True when a failure undid the run: its transaction was rolled back, or (after the
    /// commit) the first backup was restored.
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
            writeln!(
                f,
                "the run's changes were undone: the database is as before the run"
            )?;
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
            update_passwords: false,
            sync: crate::SyncMode::Off,
            max_changes: None,
            hash_policy: registrar_hashes::HashPolicy::default(),
            mapping: None,
            missing_password: registrar_model::MissingPassword::Error,
            credentials_out: None,
            date_order: None,
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

    /// Reads `input` (a folder, a file or records); replaces any input given before.
    pub fn with_input(mut self, input: Input) -> Migration {
        self.input = Some(input);
        self
    }

    /// Reads typed records an embedding program already holds, with the same rules, issues and
    /// all-or-nothing guarantee as a file (see [`Records`]). Call it once per entity, in any
    /// order: the run reads users, courses, enrollments, grades and attendance in that order.
    /// It replaces a folder or file given before.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), registrar::Error> {
    /// use registrar::model::{Course, CourseCode, CourseStatus};
    /// use registrar::Migration;
    /// let courses = vec![Course {
    ///     course_code: CourseCode::new_unchecked("MATH101"),
    ///     course_name: "Algebra".into(),
    ///     description: None,
    ///     semester: None,
    ///     credits: Some(3),
    ///     status: CourseStatus::Active,
    /// }];
    /// let report = Migration::new("sqlite://registrar.db")
    ///     .records(courses)
    ///     .execute()
    ///     .await?;
    /// assert!(report.is_ok());
    /// # Ok(()) }
    /// ```
    pub fn records<R: TypedRecord>(self, records: impl IntoIterator<Item = R>) -> Migration {
        self.record_set(Records::from_records(records))
    }

    /// Reads rows of values held in memory (see [`Records::from_rows`]); like
    /// [`Migration::records`].
    pub fn record_set(mut self, records: Records) -> Migration {
        match &mut self.input {
            Some(Input::Records(sets)) => sets.push(records),
            _ => self.input = Some(Input::Records(vec![records])),
        }
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

    /// `--update-passwords`: with [`OnExisting::Update`], change existing accounts' passwords
    /// too (a stored hash that already verifies the file's password is kept as it is).
    pub fn update_passwords(mut self, yes: bool) -> Migration {
        self.update_passwords = yes;
        self
    }

    /// `--legacy-hashes` and `--accept-unsalted-hashes`: what the users file's `password_hash`
    /// accepts (see [`registrar_hashes::HashPolicy`]; default: every supported scheme kept and
    /// upgraded at first login, unsalted hex digests refused).
    pub fn hash_policy(mut self, policy: registrar_hashes::HashPolicy) -> Migration {
        self.hash_policy = policy;
        self
    }

    /// `--mapping FILE.toml`: what the site's export calls things (column renames, value
    /// maps, rows to skip, defaults; see [`registrar_rules::mapping`]).
    pub fn mapping(mut self, mapping: registrar_rules::mapping::Mapping) -> Migration {
        self.mapping = Some(Arc::new(mapping));
        self
    }

    /// `--missing-password`: what a user row with neither a password nor a hash does (see
    /// [`crate::import::ImportOptions::missing_password`]; default: an error).
    pub fn missing_password(mut self, policy: registrar_model::MissingPassword) -> Migration {
        self.missing_password = policy;
        self
    }

    /// `--credentials-out FILE`: where `MissingPassword::Generate` writes the generated
    /// passwords (0600, put in place only when the run commits; see [`crate::credentials`]).
    pub fn credentials_out(mut self, path: impl AsRef<Path>) -> Migration {
        self.credentials_out = Some(path.as_ref().to_path_buf());
        self
    }

    /// `--date-order mdy|dmy`: how dates written with slashes are read (default: refused).
    pub fn date_order(mut self, order: Option<registrar_rules::parse::DateOrder>) -> Migration {
        self.date_order = order;
        self
    }

    /// `--sync` / `--sync-all`: remove what the export no longer holds (see
    /// [`crate::SyncMode`]).
    pub fn sync(mut self, mode: crate::SyncMode) -> Migration {
        self.sync = mode;
        self
    }

    /// `--max-changes PCT`: most percent of an entity's rows a run may update or remove
    /// (default [`crate::DEFAULT_MAX_CHANGES`]).
    pub fn max_changes(mut self, pct: f64) -> Migration {
        self.max_changes = Some(pct);
        self
    }

    /// What [`Migration::execute`] would do, row by row, without writing: see
    /// [`crate::plan::Plan`].
    pub async fn plan(&self) -> Result<crate::plan::Plan, Error> {
        let (db, _existed) = Database::open_for_planning(&self.database_url).await?;
        let plan = crate::plan::make_plan(
            &db,
            self.input()?,
            &self.import_options(ImportMode::Validate),
            &registrar_db::mask_url(&self.database_url),
        )
        .await;
        db.close().await;
        plan
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
            Error::Usage("no input: call data_dir(..), file(..) or records(..) first".into())
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
            update_passwords: self.update_passwords,
            sync: self.sync,
            max_changes: self.max_changes,
            expect_digest: None,
            hash_policy: self.hash_policy,
            mapping: self.mapping.clone(),
            missing_password: self.missing_password,
            credentials_out: self.credentials_out.clone(),
            date_order: self.date_order,
        }
    }

    /// `import --validate`: validation plus the database (nothing is written but the schema).
    pub async fn validate(&self) -> Result<Report, Error> {
        // A database that does not exist yet is validated against an empty one, never created.
        let (db, _existed) = Database::open_for_planning(&self.database_url).await?;
        let report = crate::import::run_import(
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
        registrar_db::audit::close_interrupted(&db).await?;
        let report = crate::import::run_import(
            &db,
            self.input()?,
            &self.import_options(ImportMode::Execute),
        )
        .await?;
        db.close().await;
        Ok(report)
    }

    fn log(
        &self,
        steps: &mut Vec<StepOutcome>,
        step: RunbookStep,
        ok: bool,
        detail: impl Into<String>,
    ) {
        let s = StepOutcome {
            step,
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
        // A database that does not exist yet is planned against an empty one, never created.
        let (db, _existed) = Database::open_for_planning(&self.database_url).await?;
        let input = self.input()?;
        let mut ok = true;
        let clean_opts = clean::CleanOptions::default();
        if self.clean_training_data {
            match clean::plan(&db, &clean_opts).await {
                Ok(r) if r.refusals.len() > usize::from(r.active_admins_left == 0) => {
                    ok = false;
                    self.log(
                        &mut steps,
                        RunbookStep::Clean,
                        false,
                        format!("would refuse: {}", r.refusals.join("; ")),
                    );
                }
                Ok(r) => self.log(
                    &mut steps,
                    RunbookStep::Clean,
                    true,
                    format!("would delete {}", clean_summary(&r)),
                ),
                Err(registrar_db::Error::Refused(m)) => {
                    ok = false;
                    self.log(
                        &mut steps,
                        RunbookStep::Clean,
                        false,
                        format!("would refuse: {m}"),
                    );
                }
                Err(e) => return Err(e.into()),
            }
        }
        // With clean-up, the training rows will be gone before the import: validate the files alone.
        let report = if self.clean_training_data {
            crate::validate_input_with(
                input,
                &self.reader,
                self.import_options(ImportMode::Validate).validation(None),
            )?
        } else {
            crate::import::run_import(&db, input, &self.import_options(ImportMode::Validate))
                .await?
        };
        let rows: u64 = report.files.iter().map(|f| f.valid).sum();
        ok &= report.is_ok();
        self.log(
            &mut steps,
            RunbookStep::Validate,
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
            RunbookStep::Backup,
            true,
            format!("would write a backup to {}", self.backup_dir.display()),
        );
        self.log(
            &mut steps,
            RunbookStep::Import,
            true,
            format!("would import {rows} row(s) in one transaction"),
        );
        if self.force_password_reset {
            self.log(
                &mut steps,
                RunbookStep::PasswordReset,
                true,
                "would require non-admin users to change their password",
            );
        }
        self.log(
            &mut steps,
            RunbookStep::PostBackup,
            true,
            "would write and verify a post-migration backup",
        );
        db.close().await;
        Ok(RunbookOutcome {
            mode: "migrate-validate".into(),
            ok,
            outcome: RunOutcome::Planned,
            steps,
            report: Some(report),
            checks: Vec::new(),
            backups: Vec::new(),
            rolled_back: false,
            duration_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// `migrate --execute`: the runbook (see the README, "The runbook"):
    ///
    /// 1. Take the run lock; mark any unfinished earlier run `interrupted` (step
    ///    `previous-run`, which says what that run left behind) and record this run as started
    ///    (`import_runs` outcome `running`) before anything is written.
    /// 2. Validate the files (errors stop the run before anything is written); back up.
    /// 3. ONE transaction: clean-up (optional), import, integrity checks, forced password reset
    ///    (optional), this run's audit row moved to `committed`; it commits only when all of it
    ///    succeeded, so a failure or a kill before the commit leaves the database as before.
    /// 4. Back up again and verify that backup. When that fails, restore the first backup, but
    ///    only when the database is still exactly what this run committed (same table
    ///    checksums); otherwise leave it as it is and say so (`rollback-refused`).
    ///
    /// The run lock is checked before every step and before any restore: a run that lost it
    /// stops at once ([`registrar_db::Error::LockLost`], exit 2), restores nothing, and its
    /// audit row says `lock-lost` and what had been committed.
    pub async fn run_runbook(&self) -> Result<RunbookOutcome, Error> {
        let started_at = chrono::Utc::now();
        let input = self.input()?.clone();
        // `--missing-password generate` without a usable --credentials-out: refused before
        // anything is opened or written.
        self.import_options(ImportMode::Execute)
            .check_credentials(true)?;
        let db = Database::open(&self.database_url).await?;
        let mode = registrar_model::Mode::MigrateExecute.as_str().to_owned();
        let new_run = |outcome: RunOutcome, error: Option<String>, report: Option<&Report>| {
            registrar_db::audit::NewRun {
                started_at,
                finished_at: chrono::Utc::now(),
                mode: mode.clone(),
                operator: registrar_db::audit::current_operator(),
                tool_version: registrar_db::audit::TOOL_VERSION.to_owned(),
                files: crate::import::files_summary(&input, report).unwrap_or_default(),
                counts: crate::import::counts_with_policy(report, &self.hash_policy),
                outcome,
                error,
            }
        };
        // One runbook at a time per database: a second one beside it could roll back to a
        // backup taken before this one's import committed, wiping it. A refusal is audited too.
        let mut lock = match db.run_lock().await {
            Ok(lock) => lock,
            Err(e) => {
                let _ = registrar_db::audit::record_run(
                    &db,
                    &new_run(RunOutcome::Error, Some(e.to_string()), None),
                )
                .await;
                db.close().await;
                return Err(e.into());
            }
        };
        // Holding the lock, no other run is going on: an unfinished row is a run that ended
        // without finishing. Then this run is recorded as started, before it writes.
        let begun = async {
            let interrupted = registrar_db::audit::close_interrupted(&db).await?;
            let files = crate::import::files_summary(&input, None).unwrap_or_default();
            let id = registrar_db::audit::start_run(&db, started_at, &mode, &files).await?;
            Ok::<_, registrar_db::Error>((interrupted, id))
        }
        .await;
        let (interrupted, run_id) = match begun {
            Ok(x) => x,
            Err(e) => {
                db.close().await;
                return Err(e.into());
            }
        };
        let result = self
            .runbook(&db, &input, &mut lock, run_id, &interrupted)
            .await;
        // The whole run is one row of the audit log, filled in last so that it says how the
        // run ended (it survives a rollback: restores touch only the SMS tables).
        let run = match &result {
            Ok(o) => new_run(
                o.outcome.clone(),
                (!o.ok)
                    .then(|| {
                        o.steps
                            .iter()
                            .rev()
                            .find(|s| !s.ok)
                            .map(|s| format!("{}: {}", s.step, s.detail))
                    })
                    .flatten(),
                o.report.as_ref(),
            ),
            Err(e) => new_run(RunOutcome::Error, Some(e.to_string()), None),
        };
        let recorded = registrar_db::audit::finish_run(&db, run_id, &run).await;
        drop(lock);
        db.close().await;
        let out = result?;
        if out.outcome == RunOutcome::LockLost {
            let detail = out
                .steps
                .iter()
                .rev()
                .find(|s| !s.ok)
                .map(|s| s.detail.clone())
                .unwrap_or_default();
            return Err(Error::Db(registrar_db::Error::LockLost(detail)));
        }
        recorded?;
        Ok(out)
    }

    async fn runbook(
        &self,
        db: &Database,
        input: &Input,
        lock: &mut RunLock,
        run_id: i64,
        interrupted: &[registrar_db::audit::ImportRun],
    ) -> Result<RunbookOutcome, Error> {
        let started = Instant::now();
        let mut out = RunbookOutcome {
            mode: "migrate-execute".into(),
            ok: false,
            outcome: RunOutcome::ValidationFailed,
            steps: Vec::new(),
            report: None,
            checks: Vec::new(),
            backups: Vec::new(),
            rolled_back: false,
            duration_ms: 0,
        };
        for r in interrupted {
            self.log(
                &mut out.steps,
                RunbookStep::PreviousRun,
                true,
                format!(
                    "{}; marked {}",
                    registrar_db::audit::describe_unfinished(r),
                    RunOutcome::Interrupted
                ),
            );
        }
        // 1. Validate the files before touching anything.
        // The same value rules as the import (`--legacy-hashes`, `--missing-password`,
        // `--date-order`).
        let report = crate::validate_input_with(
            input,
            &self.reader,
            self.import_options(ImportMode::Validate).validation(None),
        )?;
        let valid = report.is_ok() || (self.skip_invalid && !report.has_file_level_errors());
        self.log(
            &mut out.steps,
            RunbookStep::Validate,
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
        if !self.lock_held(lock, &mut out, "nothing was written").await {
            return Ok(self.done(out, started));
        }
        std::fs::create_dir_all(&self.backup_dir).map_err(|e| {
            registrar_db::Error::io(format!("cannot create {}", self.backup_dir.display()), e)
        })?;
        // Millisecond time and a random suffix: two runs never share a name, and backup()
        // never overwrites one.
        let stamp = backup::unique_stamp();
        let pre = self
            .backup_dir
            .join(format!("pre-migration-{stamp}.registrar.gz"));
        let pre_summary = backup::backup(db, &pre).await?;
        out.backups.push(pre.clone());
        self.log(
            &mut out.steps,
            RunbookStep::Backup,
            true,
            format!("{}", pre.display()),
        );
        if !self.lock_held(lock, &mut out, "nothing was written").await {
            return Ok(self.done(out, started));
        }

        // 3. Clean-up, import, checks and lock-down: one transaction.
        let committed = match self
            .data_transaction(db, input, lock, run_id, &mut out)
            .await
        {
            Ok(Committed::Yes(left)) => left,
            Ok(Committed::LockLost) => return Ok(self.done(out, started)),
            Ok(Committed::No(msg)) => {
                self.after_rollback(db, &pre_summary.tables, &mut out, &msg)
                    .await?;
                return Ok(self.done(out, started));
            }
            Err(e) => {
                let msg = e.to_string();
                self.after_rollback(db, &pre_summary.tables, &mut out, &msg)
                    .await?;
                return Ok(self.done(out, started));
            }
        };

        // 4. The post-migration backup, verified; on failure, restore the first backup, but
        // never over changes this run did not make.
        let failure = match self.after_commit(db, lock, &mut out, &stamp).await {
            Ok(None) => None,
            Ok(Some(msg)) => Some(msg),
            Err(e) => Some(e.to_string()),
        };
        if out.outcome == RunOutcome::LockLost {
            return Ok(self.done(out, started));
        }
        let Some(msg) = failure else {
            out.ok = true;
            out.outcome = RunOutcome::Success;
            return Ok(self.done(out, started));
        };
        if !self
            .lock_held(
                lock,
                &mut out,
                "the data had committed; nothing was restored",
            )
            .await
        {
            return Ok(self.done(out, started));
        }
        let now = backup::table_checksums(db).await?;
        if now != committed {
            let changed: Vec<&str> = now
                .iter()
                .zip(&committed)
                .filter(|(a, b)| a != b)
                .map(|(a, _)| a.table.as_str())
                .collect();
            out.outcome = RunOutcome::RollbackRefused;
            self.log(
                &mut out.steps,
                RunbookStep::Rollback,
                false,
                format!(
                    "{msg}; NOT restored: the database changed since this run committed \
                     (table(s) {}), so restoring {} would undo changes this run did not make; \
                     the database was left as it is",
                    changed.join(", "),
                    pre.display()
                ),
            );
            return Ok(self.done(out, started));
        }
        match backup::restore(db, &pre).await {
            Ok(_) => {
                let now = backup::table_checksums(db).await?;
                let same = now == pre_summary.tables;
                out.rolled_back = true;
                // The generated passwords were for accounts the restore just removed: the
                // credentials file (new: an existing one is refused) goes with them.
                if let Some(c) = &self.credentials_out {
                    let _ = std::fs::remove_file(c);
                }
                out.outcome = if same {
                    RunOutcome::RolledBack
                } else {
                    RunOutcome::RollbackFailed
                };
                self.log(
                    &mut out.steps,
                    RunbookStep::Rollback,
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
                out.outcome = RunOutcome::RollbackFailed;
                self.log(
                    &mut out.steps,
                    RunbookStep::Rollback,
                    false,
                    format!("{msg}; restoring {} FAILED: {e}", pre.display()),
                );
            }
        }
        Ok(self.done(out, started))
    }

    fn done(&self, mut out: RunbookOutcome, started: Instant) -> RunbookOutcome {
        out.duration_ms = started.elapsed().as_millis() as u64;
        out
    }

    /// True when the run lock is still held; else logs the loss (`lock` step, with `state`:
    /// what the database holds of this run) and sets the outcome to `lock-lost`.
    async fn lock_held(&self, lock: &mut RunLock, out: &mut RunbookOutcome, state: &str) -> bool {
        match lock.ensure_held().await {
            Ok(()) => true,
            Err(e) => {
                out.ok = false;
                out.outcome = RunOutcome::LockLost;
                self.log(
                    &mut out.steps,
                    RunbookStep::Lock,
                    false,
                    format!("{e}; {state}"),
                );
                false
            }
        }
    }

    /// After the data transaction was rolled back: nothing of this run was written. Logs the
    /// `rollback` step (and notes when the database no longer matches the first backup, which
    /// means another program wrote to it meanwhile: it is left as it is).
    async fn after_rollback(
        &self,
        db: &Database,
        pre: &[backup::TableChecksum],
        out: &mut RunbookOutcome,
        msg: &str,
    ) -> Result<(), Error> {
        let now = backup::table_checksums(db).await?;
        out.ok = false;
        out.rolled_back = true;
        out.outcome = RunOutcome::RolledBack;
        let note = if now == pre {
            "the database equals the first backup (checksums verified)"
        } else {
            "the database differs from the first backup: another program changed it \
             meanwhile, and it was left as it is"
        };
        self.log(
            &mut out.steps,
            RunbookStep::Rollback,
            true,
            format!(
                "{msg}; the transaction was rolled back, nothing of this run was written; {note}"
            ),
        );
        Ok(())
    }

    /// Step 3: clean-up, import, checks and lock-down in one transaction.
    async fn data_transaction(
        &self,
        db: &Database,
        input: &Input,
        lock: &mut RunLock,
        run_id: i64,
        out: &mut RunbookOutcome,
    ) -> Result<Committed, Error> {
        let mut tx = db.begin_write().await?;
        let result = self.in_transaction(&mut tx, input, run_id, out).await;
        let (mut staged, left) = match result {
            Ok(Ok(x)) => x,
            Ok(Err(msg)) => {
                let _ = tx.rollback().await;
                return Ok(Committed::No(msg));
            }
            Err(e) => {
                let _ = tx.rollback().await;
                return Err(e);
            }
        };
        // The last moment to find out that another run may have started beside this one.
        if !self
            .lock_held(
                lock,
                out,
                "the transaction was rolled back, nothing of this run was written",
            )
            .await
        {
            let _ = tx.rollback().await;
            out.report = Some(staged.discard());
            return Ok(Committed::LockLost);
        }
        let installed = match staged.install_rejects() {
            Ok(i) => i,
            Err(e) => {
                let _ = tx.rollback().await;
                out.report = Some(staged.discard());
                self.log(&mut out.steps, RunbookStep::Commit, false, e.to_string());
                return Ok(Committed::No(format!("commit failed: {e}")));
            }
        };
        if let Err(e) = tx.commit().await {
            installed.undo();
            out.report = Some(staged.discard());
            self.log(&mut out.steps, RunbookStep::Commit, false, e.to_string());
            return Ok(Committed::No(format!("commit failed: {e}")));
        }
        installed.keep();
        out.report = Some(staged.into_report());
        self.log(
            &mut out.steps,
            RunbookStep::Commit,
            true,
            "clean-up, import and lock-down committed together",
        );
        Ok(Committed::Yes(left))
    }

    /// Inside the data transaction; `Ok(Err(reason))` for a failure that rolls back.
    #[allow(clippy::type_complexity)]
    async fn in_transaction(
        &self,
        tx: &mut registrar_db::WriteTx,
        input: &Input,
        run_id: i64,
        out: &mut RunbookOutcome,
    ) -> Result<Result<(Staged, Vec<backup::TableChecksum>), String>, Error> {
        if self.clean_training_data {
            // The runbook deletes the training admins before the real ones are imported, so
            // "no active admin left" is judged after the import (the `active-admin` check);
            // every other refusal still stops the run.
            let plan = clean::execute_in(
                tx.conn()?,
                &clean::CleanOptions {
                    force: true,
                    ..Default::default()
                },
            )
            .await?;
            let admin_refusal =
                usize::from(plan.active_admins_left == 0 && !plan.refusals.is_empty());
            if plan.refusals.len() > admin_refusal {
                let m = format!("clean-up refused: {}", plan.refusals.join("; "));
                self.log(
                    &mut out.steps,
                    RunbookStep::Clean,
                    false,
                    format!("refused: {m}"),
                );
                return Ok(Err(m));
            }
            self.log(
                &mut out.steps,
                RunbookStep::Clean,
                true,
                format!("deleted {}", clean_summary(&plan)),
            );
        }
        let options = ImportOptions {
            skip_audit: true,
            ..self.import_options(ImportMode::Execute)
        };
        let staged = match crate::import::stage(tx.conn()?, input, &options).await {
            Ok(s) => s,
            Err(e) => {
                self.log(&mut out.steps, RunbookStep::Import, false, e.to_string());
                return Ok(Err(format!("import failed: {e}")));
            }
        };
        let report = staged.report();
        let inserted: u64 = report.files.iter().map(|f| f.inserted).sum();
        let imported_ok = staged.would_commit()
            && (report.is_ok() || (self.skip_invalid && !report.has_file_level_errors()));
        self.log(
            &mut out.steps,
            RunbookStep::Import,
            imported_ok,
            format!(
                "{inserted} row(s) inserted, {} error(s)",
                report.error_count()
            ),
        );
        if !imported_ok {
            out.report = Some(staged.discard());
            return Ok(Err("the import found errors".into()));
        }
        out.report = Some(staged.report().clone());
        let checks = registrar_checks::run_checks_on(tx.conn()?, &Default::default()).await?;
        let failed: Vec<String> = checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.name.clone())
            .collect();
        self.log(
            &mut out.steps,
            RunbookStep::Check,
            failed.is_empty(),
            if failed.is_empty() {
                format!("{} integrity check(s) passed", checks.len())
            } else {
                format!("failed: {}", failed.join(", "))
            },
        );
        out.checks = checks;
        if !failed.is_empty() {
            if let Some(r) = out.report.take() {
                out.report = Some(zero_counts(r));
            }
            return Ok(Err(format!(
                "integrity checks failed: {}",
                failed.join(", ")
            )));
        }
        if self.force_password_reset {
            let n =
                registrar_checks::force_password_reset_on(tx.conn()?, Some(Role::Admin)).await?;
            self.log(
                &mut out.steps,
                RunbookStep::PasswordReset,
                true,
                format!("{n} non-admin user(s) must change their password"),
            );
        }
        registrar_db::audit::set_outcome_on(&mut tx.conn()?, run_id, &RunOutcome::Committed)
            .await?;
        // What this transaction leaves in the database, to compare with before any restore.
        let left = backup::table_checksums_on(&mut tx.conn()?).await?;
        Ok(Ok((staged, left)))
    }

    /// Step 4: the post-migration backup and its verification; `Ok(Some(reason))` for a failure
    /// that calls for a restore.
    async fn after_commit(
        &self,
        db: &Database,
        lock: &mut RunLock,
        out: &mut RunbookOutcome,
        stamp: &str,
    ) -> Result<Option<String>, Error> {
        const COMMITTED_STATE: &str = "the data had committed; nothing was restored; take a \
                                       backup now (the post-migration backup was not finished)";
        if !self.lock_held(lock, out, COMMITTED_STATE).await {
            return Ok(None);
        }
        let post = self
            .backup_dir
            .join(format!("post-migration-{stamp}.registrar.gz"));
        backup::backup(db, &post).await?;
        out.backups.push(post.clone());
        self.log(
            &mut out.steps,
            RunbookStep::PostBackup,
            true,
            format!("{}", post.display()),
        );
        if !self.lock_held(lock, out, COMMITTED_STATE).await {
            return Ok(None);
        }
        let v = backup::verify_backup(&post, None).await?;
        self.log(
            &mut out.steps,
            RunbookStep::VerifyBackup,
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

/// A step of the runbook, as [`StepOutcome::step`] names it (and `migrate`'s JSON prints it:
/// [`RunbookStep::as_str`], stable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RunbookStep {
    /// `previous-run`: an unfinished earlier run, marked interrupted.
    PreviousRun,
    /// `validate`: the files are validated.
    Validate,
    /// `backup`: the pre-migration backup.
    Backup,
    /// `clean`: the training accounts and sample courses are deleted.
    Clean,
    /// `import`: the files are loaded.
    Import,
    /// `check`: the integrity checks.
    Check,
    /// `password-reset`: non-admin users must change their password.
    PasswordReset,
    /// `commit`: clean-up, import and lock-down commit together.
    Commit,
    /// `post-backup`: the post-migration backup.
    PostBackup,
    /// `verify-backup`: the post-migration backup is verified.
    VerifyBackup,
    /// `rollback`: a failure is undone.
    Rollback,
    /// `lock`: the run lock was lost.
    Lock,
}

impl RunbookStep {
    /// Every step, in runbook order.
    pub const ALL: [RunbookStep; 12] = [
        RunbookStep::PreviousRun,
        RunbookStep::Validate,
        RunbookStep::Backup,
        RunbookStep::Clean,
        RunbookStep::Import,
        RunbookStep::Check,
        RunbookStep::PasswordReset,
        RunbookStep::Commit,
        RunbookStep::PostBackup,
        RunbookStep::VerifyBackup,
        RunbookStep::Rollback,
        RunbookStep::Lock,
    ];

    /// The stable text (`validate`, `post-backup`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            RunbookStep::PreviousRun => "previous-run",
            RunbookStep::Validate => "validate",
            RunbookStep::Backup => "backup",
            RunbookStep::Clean => "clean",
            RunbookStep::Import => "import",
            RunbookStep::Check => "check",
            RunbookStep::PasswordReset => "password-reset",
            RunbookStep::Commit => "commit",
            RunbookStep::PostBackup => "post-backup",
            RunbookStep::VerifyBackup => "verify-backup",
            RunbookStep::Rollback => "rollback",
            RunbookStep::Lock => "lock",
        }
    }
}

impl fmt::Display for RunbookStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl std::str::FromStr for RunbookStep {
    type Err = String;

    fn from_str(s: &str) -> Result<RunbookStep, String> {
        RunbookStep::ALL
            .into_iter()
            .find(|step| step.as_str() == s)
            .ok_or_else(|| format!("no runbook step {s:?}"))
    }
}

impl Serialize for RunbookStep {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl PartialEq<&str> for RunbookStep {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// How the data transaction ended.
enum Committed {
    /// Committed; the table checksums it left.
    Yes(Vec<backup::TableChecksum>),
    /// Rolled back for this reason (nothing written).
    No(String),
    /// Rolled back because the run lock was lost (logged).
    LockLost,
}

fn zero_counts(mut r: Report) -> Report {
    for f in &mut r.files {
        f.inserted = 0;
        f.updated = 0;
        f.skipped = 0;
    }
    r
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_runbook_step_round_trips_through_its_text() {
        for step in RunbookStep::ALL {
            assert_eq!(step.as_str().parse::<RunbookStep>(), Ok(step));
            assert_eq!(step.to_string(), step.as_str());
            assert_eq!(
                serde_json::to_value(step).unwrap(),
                serde_json::Value::String(step.as_str().to_owned())
            );
        }
        let texts: Vec<&str> = RunbookStep::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            texts,
            [
                "previous-run",
                "validate",
                "backup",
                "clean",
                "import",
                "check",
                "password-reset",
                "commit",
                "post-backup",
                "verify-backup",
                "rollback",
                "lock",
            ]
        );
        assert!("restore".parse::<RunbookStep>().is_err());
        // The step log pads the name as it did when it was a string.
        assert_eq!(
            format!("{:<15}|", RunbookStep::PostBackup),
            "post-backup    |"
        );
    }

    #[test]
    fn a_runbook_outcome_serializes_its_outcome_and_steps_as_their_texts() {
        let out = RunbookOutcome {
            mode: "migrate-execute".into(),
            ok: false,
            outcome: RunOutcome::RollbackRefused,
            steps: vec![StepOutcome {
                step: RunbookStep::VerifyBackup,
                ok: false,
                detail: "checksums differ".into(),
            }],
            report: None,
            checks: Vec::new(),
            backups: Vec::new(),
            rolled_back: false,
            duration_ms: 1,
        };
        let v = serde_json::to_value(&out).unwrap();
        assert_eq!(v["outcome"], "rollback-refused");
        assert_eq!(v["steps"][0]["step"], "verify-backup");
    }

    #[tokio::test]
    async fn a_migration_without_input_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("sms.db").display());
        let e = Migration::new(&url).plan_runbook().await.unwrap_err();
        assert!(matches!(e, Error::Usage(_)), "{e:?}");
        assert_eq!(e.kind(), crate::ErrorKind::Usage);
        assert!(
            e.to_string().starts_with("no input: call data_dir(..)"),
            "{e}"
        );
    }
}
