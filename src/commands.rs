//! Every command of the `registrar` binary as a facade call, so that an embedding program can
//! do exactly what the CLI does (the binary only parses arguments, calls these and renders).
//!
//! A [`Session`] opens databases the way each command needs ([`Access`]), takes the run lock
//! and writes the audit row of writing commands ([`Session::begin_writing`]), tells its caller
//! what it noticed on the way ([`Notice`]: runs it marked interrupted, a plan checked against
//! an empty database) and closes every database it opened ([`Session::close`]).
//!
//! ```no_run
//! # async fn f() -> Result<(), registrar::commands::CommandError> {
//! use registrar::commands::{CleanSettings, Session};
//! let session = Session::new();
//! let outcome = session
//!     .clean("sqlite://sms.db", &CleanSettings { execute: false, ..Default::default() })
//!     .await;
//! session.close().await;
//! assert!(outcome?.ok());
//! # Ok(()) }
//! ```

use crate::import::{ImportMode, ImportOptions, Input};
use crate::{Error, OnExisting, Progress, ReaderOptions, Report};
use registrar_checks::{CheckResult, Expectations, LoginReport, Stats};
use registrar_db::audit::{self, ImportRun, RunOutcome};
use registrar_db::backup::{BackupSummary, VerifyReport};
use registrar_db::clean::{CleanOptions, CleanReport};
use registrar_db::command::{self, WritingRun};
use registrar_db::seed::SeedSummary;
use registrar_db::{mask_url, Database, Engine};
use registrar_model::{Password, Role};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Errors of a command: opening its database, a refusal the operator must act on, or the
/// command's own failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The command's database could not be opened (the URL is shown with any password masked).
    #[error("database {url}: {source}")]
    Open {
        /// The URL, password masked.
        url: String,
        /// The cause.
        #[source]
        source: registrar_db::Error,
    },
    /// A safety rule refused the command (a backup over an existing file or the live
    /// database, a scratch database that holds rows); the message says what to do.
    #[error("refused: {0}")]
    Refused(String),
    /// The command failed.
    #[error(transparent)]
    Failed(#[from] Error),
}

impl CommandError {
    /// What kind of failure this is ([`crate::error_kind`] finds it in any error).
    pub fn kind(&self) -> crate::ErrorKind {
        match self {
            CommandError::Open { source, .. } => source.kind(),
            CommandError::Refused(_) => crate::ErrorKind::Refused,
            CommandError::Failed(e) => e.kind(),
        }
    }
}

impl From<registrar_db::Error> for CommandError {
    fn from(e: registrar_db::Error) -> Self {
        CommandError::Failed(Error::Db(e))
    }
}

impl From<registrar_checks::Error> for CommandError {
    fn from(e: registrar_checks::Error) -> Self {
        CommandError::Failed(Error::Checks(e))
    }
}

/// `Result` of a command.
pub type Result<T, E = CommandError> = std::result::Result<T, E>;

/// How a command opens its database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A writing command: a missing SQLite file is created (0600), the schema brought up to date.
    Write,
    /// A read-only command: a missing SQLite file is an error, never created.
    Existing,
    /// A plan (`import --validate`): a missing SQLite file is not created; the plan is checked
    /// against an empty database instead ([`Notice::PlannedWithoutDatabase`]).
    Planning,
}

/// Something a command noticed that its operator should hear about (the CLI prints these as
/// `note:` lines on stderr, when they happen).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Notice {
    /// A run that had started and never finished (killed) was marked interrupted when this
    /// command took the run lock.
    Interrupted(ImportRun),
    /// No database exists at `url` yet: the plan was checked against an empty one and nothing
    /// was created.
    PlannedWithoutDatabase {
        /// The URL, password masked.
        url: String,
    },
}

/// Where a [`Session`] sends its [`Notice`]s.
pub type Notices = Arc<dyn Fn(&Notice) + Send + Sync>;

/// The databases a command opened and where its notices go.
#[derive(Default)]
pub struct Session {
    opened: Mutex<Vec<Database>>,
    notices: Option<Notices>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("notices", &self.notices.is_some())
            .finish_non_exhaustive()
    }
}

/// What `init` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitSummary {
    /// The engine.
    pub engine: Engine,
    /// The schema version the database now has.
    pub schema_version: i64,
    /// The database URL, password masked.
    pub url: String,
}

/// The value rules of `validate` (the CLI's flags): what `password_hash` accepts, what a user
/// without a password does, how slash dates are read.
#[derive(Debug, Clone, Default)]
pub struct ValidateSettings {
    /// `--legacy-hashes`, `--accept-unsalted-hashes`.
    pub hash_policy: registrar_hashes::HashPolicy,
    /// `--missing-password` (see [`ImportOptions::missing_password`]).
    pub missing_password: registrar_model::MissingPassword,
    /// `--date-order` (see [`ImportOptions::date_order`]).
    pub date_order: Option<registrar_rules::parse::DateOrder>,
    /// `--mapping FILE.toml` (see [`ImportOptions::mapping`]).
    pub mapping: Option<Arc<registrar_rules::mapping::Mapping>>,
}

/// What `import` should do, as plain settings (the CLI's flags).
#[derive(Clone, Default)]
pub struct ImportSettings {
    /// Write (`--execute`) rather than only plan (`--validate`).
    pub execute: bool,
    /// What a row already in the database does.
    pub on_existing: OnExisting,
    /// Load the valid rows and write the invalid ones to `rejects_dir`.
    pub skip_invalid: bool,
    /// Where rejects files go (with `skip_invalid`).
    pub rejects_dir: Option<PathBuf>,
    /// Reader options.
    pub reader: ReaderOptions,
    /// Progress callbacks.
    pub progress: Option<Arc<dyn Progress>>,
    /// `--update-passwords` (see [`ImportOptions::update_passwords`]).
    pub update_passwords: bool,
    /// `--sync` / `--sync-all`.
    pub sync: crate::SyncMode,
    /// `--max-changes PCT`.
    pub max_changes: Option<f64>,
    /// `--legacy-hashes`, `--accept-unsalted-hashes` (see [`ImportOptions::hash_policy`]).
    pub hash_policy: registrar_hashes::HashPolicy,
    /// `--mapping FILE.toml` (see [`ImportOptions::mapping`]).
    pub mapping: Option<Arc<registrar_rules::mapping::Mapping>>,
    /// `--missing-password` (see [`ImportOptions::missing_password`]).
    pub missing_password: registrar_model::MissingPassword,
    /// `--credentials-out FILE` (see [`ImportOptions::credentials_out`]).
    pub credentials_out: Option<PathBuf>,
    /// `--date-order` (see [`ImportOptions::date_order`]).
    pub date_order: Option<registrar_rules::parse::DateOrder>,
}

impl std::fmt::Debug for ImportSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportSettings")
            .field("execute", &self.execute)
            .field("on_existing", &self.on_existing)
            .field("skip_invalid", &self.skip_invalid)
            .field("rejects_dir", &self.rejects_dir)
            .field("reader", &self.reader)
            .field("progress", &self.progress.is_some())
            .field("update_passwords", &self.update_passwords)
            .field("sync", &self.sync)
            .field("max_changes", &self.max_changes)
            .field("hash_policy", &self.hash_policy)
            .field("mapping", &self.mapping.is_some())
            .field("missing_password", &self.missing_password)
            .field("credentials_out", &self.credentials_out)
            .field("date_order", &self.date_order)
            .finish()
    }
}

impl ImportSettings {
    /// The options of [`crate::import::run_import`] for these settings.
    pub fn options(&self) -> ImportOptions {
        ImportOptions {
            mode: if self.execute {
                ImportMode::Execute
            } else {
                ImportMode::Validate
            },
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
}

/// What `import` did.
#[derive(Debug, Clone)]
pub struct ImportOutcome {
    /// The run's report.
    pub report: Report,
    /// True when the run succeeded: a clean report, or (executing with `skip_invalid`) invalid
    /// rows left out but no file-level error (those are never skipped: a file not read fails).
    pub ok: bool,
}

/// What `clean` should do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanSettings {
    /// Delete (`--execute`) rather than report what would be deleted (`--dry-run`).
    pub execute: bool,
    /// Emails matching this regex are training accounts (default: the runbook's pattern).
    pub pattern: Option<String>,
    /// Course codes to delete (default: the sample courses); matched trimmed and upper-cased.
    pub course_codes: Option<Vec<String>>,
    /// Delete even when real students are enrolled or no active admin would remain.
    pub force: bool,
}

impl CleanSettings {
    /// The clean-up options: course codes are trimmed and upper-cased, as the schema stores them.
    pub fn options(&self) -> CleanOptions {
        let mut opts = CleanOptions {
            force: self.force,
            ..Default::default()
        };
        if let Some(p) = &self.pattern {
            opts.pattern = p.clone();
        }
        if let Some(c) = &self.course_codes {
            opts.course_codes = c.iter().map(|c| c.trim().to_uppercase()).collect();
        }
        opts
    }
}

/// What `clean` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CleanOutcome {
    /// The report of what was (or would be) deleted, with any refusal of a dry run.
    Done(CleanReport),
    /// Clean-up refused to run (it would leave no active admin, real students enrolled, a bad
    /// pattern); nothing was deleted.
    Refused(String),
}

impl CleanOutcome {
    /// True when clean-up ran, or a dry run found nothing that would be refused.
    pub fn ok(&self) -> bool {
        match self {
            CleanOutcome::Done(r) => r.executed || r.refusals.is_empty(),
            CleanOutcome::Refused(_) => false,
        }
    }
}

/// What `check` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOutcome {
    /// True when every check passed.
    pub ok: bool,
    /// Each check, the unfinished-runs check last.
    pub checks: Vec<CheckResult>,
}

/// What `set-password` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordChange {
    /// The password was changed.
    Changed,
    /// Refused (wrong current password, weak new one, unknown user); the message never holds
    /// a password.
    Refused(String),
}

/// True when the audit log's run never finished (it is running, or was killed): outcome
/// `running` or `committed` with no end time ([`ImportRun::is_unfinished`]).
pub fn is_unfinished(run: &ImportRun) -> bool {
    run.is_unfinished()
}

impl Session {
    /// A session whose notices go nowhere.
    pub fn new() -> Session {
        Session::default()
    }

    /// Sends notices to `notices`, when they happen.
    pub fn with_notices(mut self, notices: Notices) -> Session {
        self.notices = Some(notices);
        self
    }

    fn notice(&self, n: Notice) {
        if let Some(f) = &self.notices {
            f(&n);
        }
    }

    /// Opens the database at `url` as `access` says; [`Session::close`] closes it.
    pub async fn open(&self, url: &str, access: Access) -> Result<Database> {
        let opened = match access {
            Access::Write => Database::open(url).await,
            Access::Existing => Database::open_existing(url).await,
            Access::Planning => Database::open_for_planning(url).await.map(|(db, existed)| {
                if !existed {
                    self.notice(Notice::PlannedWithoutDatabase { url: mask_url(url) });
                }
                db
            }),
        };
        let database = opened.map_err(|source| CommandError::Open {
            url: mask_url(url),
            source,
        })?;
        if let Ok(mut v) = self.opened.lock() {
            v.push(database.clone());
        }
        Ok(database)
    }

    /// Closes every database the session opened (SQLite: checkpointed, no `-wal` left behind).
    pub async fn close(&self) {
        let opened = match self.opened.lock() {
            Ok(mut v) => std::mem::take(&mut *v),
            Err(_) => return,
        };
        for database in opened {
            database.close().await;
        }
    }

    /// Starts a writing command: takes the run lock (refused while another run holds it),
    /// marks runs that never finished as interrupted ([`Notice::Interrupted`]), and records
    /// this run as started.
    pub async fn begin_writing(
        &self,
        db: &Database,
        mode: &str,
        files: serde_json::Value,
    ) -> Result<WritingRun> {
        let run = WritingRun::begin(db, mode, files).await?;
        for r in &run.interrupted {
            self.notice(Notice::Interrupted(r.clone()));
        }
        Ok(run)
    }

    /// `init`: creates or upgrades the schema; locked and audited like every writing command.
    pub async fn init(&self, url: &str) -> Result<InitSummary> {
        let database = self.open(url, Access::Write).await?;
        // The schema is up to date once connected; the audit table exists only from here on.
        let run = self
            .begin_writing(&database, command::INIT, serde_json::json!([]))
            .await?;
        let schema_version = database.schema_version().await?;
        run.finish(
            &database,
            RunOutcome::Success,
            serde_json::json!({ "schema_version": schema_version }),
            None,
        )
        .await?;
        Ok(InitSummary {
            engine: database.engine(),
            schema_version,
            url: mask_url(url),
        })
    }

    /// `seed-training`: loads the runbook's training accounts and sample courses.
    pub async fn seed_training(&self, url: &str) -> Result<SeedSummary> {
        let database = self.open(url, Access::Write).await?;
        let run = self
            .begin_writing(&database, command::SEED_TRAINING, serde_json::json!([]))
            .await?;
        let r = registrar_db::seed::seed_training(&database).await;
        let counts = match &r {
            Ok(s) => serde_json::json!({
                "users": { "inserted": s.users_inserted, "skipped": s.users_skipped },
                "courses": { "inserted": s.courses_inserted, "skipped": s.courses_skipped },
            }),
            Err(_) => serde_json::json!({}),
        };
        run.finish_with(&database, &r, counts).await?;
        Ok(r?)
    }

    /// `validate`: checks the files alone, or (with `database`) against what it holds.
    pub async fn validate(
        &self,
        input: &Input,
        database: Option<&str>,
        reader: &ReaderOptions,
    ) -> Result<Report> {
        self.validate_with(input, database, reader, &ValidateSettings::default())
            .await
    }

    /// [`Session::validate`] with the value rules of `settings` (`--legacy-hashes`,
    /// `--accept-unsalted-hashes`, `--missing-password`, `--date-order`, `--mapping`).
    pub async fn validate_with(
        &self,
        input: &Input,
        database: Option<&str>,
        reader: &ReaderOptions,
        settings: &ValidateSettings,
    ) -> Result<Report> {
        match database {
            None => Ok(crate::validate_input_with(
                input,
                reader,
                registrar_rules::ValidationOptions {
                    hash_policy: settings.hash_policy,
                    missing_password: settings.missing_password,
                    date_order: settings.date_order,
                    mapping: settings.mapping.clone(),
                    ..Default::default()
                },
            )?),
            Some(url) => {
                let database = self.open(url, Access::Existing).await?;
                let opts = ImportOptions {
                    mode: ImportMode::Validate,
                    reader: reader.clone(),
                    hash_policy: settings.hash_policy,
                    missing_password: settings.missing_password,
                    date_order: settings.date_order,
                    mapping: settings.mapping.clone(),
                    ..Default::default()
                };
                Ok(crate::import::run_import(&database, input, &opts).await?)
            }
        }
    }

    /// `import`: plans (`execute: false`, against an empty database when none exists yet) or
    /// loads, all or nothing, under the run lock (never beside a runbook or another import).
    pub async fn import(
        &self,
        url: &str,
        input: &Input,
        settings: &ImportSettings,
    ) -> Result<ImportOutcome> {
        let access = if settings.execute {
            Access::Write
        } else {
            Access::Planning
        };
        let database = self.open(url, access).await?;
        let _run_lock = if settings.execute {
            let lock = database.run_lock().await?;
            // Holding the lock, an unfinished run in the audit log is one that ended without
            // finishing: mark it interrupted.
            for r in audit::close_interrupted(&database).await? {
                self.notice(Notice::Interrupted(r));
            }
            Some(lock)
        } else {
            None
        };
        let report = crate::import::run_import(&database, input, &settings.options()).await?;
        // skip_invalid skips invalid rows, never unread ones: a file-level error fails.
        let ok = report.is_ok()
            || (settings.skip_invalid && settings.execute && !report.has_file_level_errors());
        Ok(ImportOutcome { report, ok })
    }

    /// `plan`: what `import` with `settings` would do, row by row; writes nothing (a database
    /// that does not exist yet is planned against an empty one, never created).
    pub async fn plan(
        &self,
        url: &str,
        input: &Input,
        settings: &ImportSettings,
    ) -> Result<crate::plan::Plan> {
        let database = self.open(url, Access::Planning).await?;
        let plan = crate::plan::make_plan(
            &database,
            input,
            &settings.options(),
            &registrar_db::mask_url(url),
        )
        .await?;
        Ok(plan)
    }

    /// `import --plan FILE --execute`: applies a saved plan (see [`crate::plan::apply_plan`]).
    pub async fn apply_plan(
        &self,
        url: &str,
        plan: &crate::plan::Plan,
        progress: Option<Arc<dyn Progress>>,
        credentials_out: Option<&std::path::Path>,
    ) -> Result<ImportOutcome> {
        let report = crate::plan::apply_plan_with(url, plan, progress, credentials_out).await?;
        let ok = report.is_ok();
        Ok(ImportOutcome { report, ok })
    }

    /// `backup`: a consistent, compressed, checksummed backup at `out` (an existing file only
    /// with `overwrite`; the live database never).
    pub async fn backup(&self, url: &str, out: &Path, overwrite: bool) -> Result<BackupSummary> {
        let database = self.open(url, Access::Existing).await?;
        registrar_db::backup::backup_with(&database, out, overwrite)
            .await
            .map_err(refused)
    }

    /// `export --oneroster`: the database as a OneRoster bundle ([`crate::export`]); reads
    /// only (a missing SQLite file is refused, never created).
    pub async fn export_oneroster(
        &self,
        url: &str,
        settings: &crate::export::OneRosterExport,
    ) -> Result<crate::export::ExportSummary> {
        let database = self.open(url, Access::Existing).await?;
        crate::export::export_oneroster(&database, settings)
            .await
            .map_err(|e| match e {
                Error::Refused(m) => CommandError::Refused(m),
                e => CommandError::Failed(e),
            })
    }

    /// `restore`: replaces the SMS tables' data with the backup's, locked and audited.
    pub async fn restore(&self, url: &str, from: &Path) -> Result<BackupSummary> {
        let database = self.open(url, Access::Write).await?;
        // Never beside or in the middle of a runbook, and one row of the audit log.
        let run = self
            .begin_writing(&database, command::RESTORE, command::file_json(from))
            .await?;
        let r = registrar_db::backup::restore(&database, from).await;
        let counts = match &r {
            Ok(s) => serde_json::Value::Object(
                s.tables
                    .iter()
                    .map(|t| (t.table.clone(), serde_json::json!({ "restored": t.rows })))
                    .collect(),
            ),
            Err(_) => serde_json::json!({}),
        };
        run.finish_with(&database, &r, counts).await?;
        Ok(r?)
    }

    /// `verify-backup`: checks the checksums and restores into a scratch database to compare
    /// (a temporary SQLite file when `scratch` is `None`; a non-empty one only with `replace`).
    pub async fn verify_backup(
        &self,
        file: &Path,
        scratch: Option<&str>,
        replace: bool,
    ) -> Result<VerifyReport> {
        registrar_db::backup::verify_backup_with(file, scratch, replace)
            .await
            .map_err(refused)
    }

    /// `clean`: deletes (or plans to delete) the training accounts and sample courses.
    pub async fn clean(&self, url: &str, settings: &CleanSettings) -> Result<CleanOutcome> {
        let access = if settings.execute {
            Access::Write
        } else {
            Access::Existing
        };
        let database = self.open(url, access).await?;
        let opts = settings.options();
        let result = if settings.execute {
            let run = self
                .begin_writing(&database, command::CLEAN, serde_json::json!([]))
                .await?;
            let r = registrar_db::clean::execute(&database, &opts).await;
            let counts = match &r {
                Ok(c) => serde_json::json!({
                    "users": { "deleted": c.users.len() },
                    "courses": { "deleted": c.courses.len() },
                    "enrollments": { "deleted": c.enrollments },
                    "grades": { "deleted": c.grades },
                    "attendances": { "deleted": c.attendances },
                }),
                Err(_) => serde_json::json!({}),
            };
            run.finish_with(&database, &r, counts).await?;
            r
        } else {
            registrar_db::clean::plan(&database, &opts).await
        };
        match result {
            Ok(r) => Ok(CleanOutcome::Done(r)),
            // A safety rule, or a pattern that is not a regex: reported, nothing deleted.
            Err(registrar_db::Error::Refused(msg) | registrar_db::Error::Usage(msg)) => {
                Ok(CleanOutcome::Refused(msg))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// `check`: the integrity checks and count expectations, then the unfinished-runs check.
    pub async fn check(&self, url: &str, expect: &Expectations) -> Result<CheckOutcome> {
        self.check_with(url, expect, &Default::default()).await
    }

    /// [`Session::check`] with [`registrar_checks::CheckOptions`] (`--fail-on-legacy`).
    pub async fn check_with(
        &self,
        url: &str,
        expect: &Expectations,
        options: &registrar_checks::CheckOptions,
    ) -> Result<CheckOutcome> {
        let database = self.open(url, Access::Existing).await?;
        let mut checks = registrar_checks::run_checks_with(&database, expect, options).await?;
        checks.push(registrar_checks::unfinished_runs_check(&database).await?);
        let ok = checks.iter().all(|c| c.passed);
        Ok(CheckOutcome { ok, checks })
    }

    /// `verify-logins`: logs in as `sample` users of `file` (all when `None`) with their file
    /// passwords.
    pub async fn verify_logins(
        &self,
        url: &str,
        file: &Path,
        reader: &ReaderOptions,
        sample: Option<usize>,
    ) -> Result<LoginReport> {
        let database = self.open(url, Access::Existing).await?;
        Ok(crate::verify_logins(&database, file, reader, sample).await?)
    }

    /// `verify-logins --credentials FILE`: logs in as `sample` accounts (all when `None`) of
    /// a credentials file that `--missing-password generate` wrote, with their generated
    /// passwords.
    pub async fn verify_generated_logins(
        &self,
        url: &str,
        credentials: &Path,
        sample: Option<usize>,
    ) -> Result<LoginReport> {
        let database = self.open(url, Access::Existing).await?;
        Ok(crate::verify_generated_logins(&database, credentials, sample).await?)
    }

    /// `set-password`: changes `email`'s password, locked and audited (the audit row names the
    /// account, never a password).
    pub async fn set_password(
        &self,
        url: &str,
        email: &str,
        current: &Password,
        new: &Password,
    ) -> Result<PasswordChange> {
        let database = self.open(url, Access::Write).await?;
        let run = self
            .begin_writing(&database, command::SET_PASSWORD, serde_json::json!([]))
            .await?;
        let r = registrar_checks::set_password(&database, email, current, new).await;
        let (outcome, error) = match &r {
            Ok(()) => (RunOutcome::Success, None),
            Err(e @ registrar_checks::Error::Refused(_)) => {
                (RunOutcome::Refused, Some(e.to_string()))
            }
            Err(e) => (RunOutcome::Error, Some(e.to_string())),
        };
        run.finish(
            &database,
            outcome,
            serde_json::json!({ "users": { "updated": u8::from(r.is_ok()), "email": email } }),
            error,
        )
        .await?;
        match r {
            Ok(()) => Ok(PasswordChange::Changed),
            Err(registrar_checks::Error::Refused(m)) => Ok(PasswordChange::Refused(m)),
            Err(e) => Err(e.into()),
        }
    }

    /// `force-password-reset`: every user (but those of `except_role`) must change their
    /// password at next login; returns how many were marked.
    pub async fn force_password_reset(&self, url: &str, except_role: Option<Role>) -> Result<u64> {
        let database = self.open(url, Access::Write).await?;
        let run = self
            .begin_writing(
                &database,
                command::FORCE_PASSWORD_RESET,
                serde_json::json!([]),
            )
            .await?;
        let r = registrar_checks::force_password_reset(&database, except_role).await;
        let counts = match &r {
            Ok(n) => serde_json::json!({ "users": { "updated": n } }),
            Err(_) => serde_json::json!({}),
        };
        run.finish_with(&database, &r, counts).await?;
        Ok(r?)
    }

    /// `stats`: counts per role and table, database and table sizes.
    pub async fn stats(&self, url: &str) -> Result<Stats> {
        let database = self.open(url, Access::Existing).await?;
        Ok(registrar_checks::stats(&database).await?)
    }

    /// `audit`: the audit log, newest first ([`is_unfinished`] tells the runs that never ended).
    pub async fn audit_log(&self, url: &str) -> Result<Vec<ImportRun>> {
        let database = self.open(url, Access::Existing).await?;
        Ok(audit::list_runs(&database).await?)
    }
}

/// A refusal of a backup command as [`CommandError::Refused`].
fn refused(e: registrar_db::Error) -> CommandError {
    match e {
        registrar_db::Error::Refused(m) => CommandError::Refused(m),
        e => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_course_codes_are_trimmed_and_upper_cased_by_the_facade_not_the_cli() {
        let s = CleanSettings {
            execute: true,
            pattern: Some("^demo".into()),
            course_codes: Some(vec![" math101 ".into(), "Hist200".into()]),
            force: true,
        };
        let o = s.options();
        assert_eq!(o.course_codes, ["MATH101", "HIST200"]);
        assert_eq!(o.pattern, "^demo");
        assert!(o.force);
        // Defaults when not given.
        let d = CleanSettings::default().options();
        assert_eq!(d, CleanOptions::default());
    }

    #[test]
    fn import_settings_build_the_pipeline_options() {
        let s = ImportSettings {
            execute: true,
            skip_invalid: true,
            rejects_dir: Some(PathBuf::from("rejects")),
            on_existing: OnExisting::Skip,
            ..Default::default()
        };
        let o = s.options();
        assert_eq!(o.mode, ImportMode::Execute);
        assert!(o.skip_invalid && !o.skip_audit);
        assert_eq!(o.rejects_dir.as_deref(), Some(Path::new("rejects")));
        assert_eq!(o.on_existing, OnExisting::Skip);
        assert_eq!(
            ImportSettings::default().options().mode,
            ImportMode::Validate
        );
    }

    #[tokio::test]
    async fn a_writing_command_tells_its_caller_about_the_runs_it_marked_interrupted() {
        let dir = tempfile::tempdir().unwrap();
        let url = registrar_db::testing::fresh_sqlite(dir.path());
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let log = seen.clone();
        let session = Session::new().with_notices(Arc::new(move |n| {
            if let Notice::Interrupted(r) = n {
                log.lock().unwrap().push(r.mode.clone());
            }
        }));
        session.init(&url).await.unwrap();
        // A run that started and never finished (killed).
        let db = session.open(&url, Access::Write).await.unwrap();
        audit::start_run(&db, chrono::Utc::now(), "execute", &serde_json::json!([]))
            .await
            .unwrap();
        let n = session.force_password_reset(&url, None).await.unwrap();
        assert_eq!(n, 0);
        assert_eq!(*seen.lock().unwrap(), ["execute"]);
        let runs = session.audit_log(&url).await.unwrap();
        assert!(runs.iter().all(|r| !is_unfinished(r)), "{runs:?}");
        session.close().await;
    }
}
