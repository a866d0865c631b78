//! `registrar import`: validate data files against the database and load them, all or
//! nothing, fast, on both engines.
//!
//! # How a run goes
//! 1. The files are found ([`Input::Dir`] by stem, in import order) or given ([`Input::File`]).
//! 2. **Execute**: the run is recorded as started (`import_runs` outcome `running`, see
//!    [`registrar_db::audit`]), then one transaction is opened for the whole run
//!    ([`registrar_db::WriteTx`]; PostgreSQL: plus `pg_try_advisory_xact_lock`, so two runs never
//!    interleave; SQLite: `BEGIN IMMEDIATE`). [`stage`] runs the same import inside a
//!    transaction the caller owns (the runbook's clean-up + import + lock-down).
//!    What the database already holds is read inside it with one set-based query per table.
//! 3. A blocking thread reads and validates the files in order (`registrar_rules::Validator`)
//!    and streams valid records in batches through a bounded channel to the loader, an async
//!    task writing into the transaction (see [`registrar_db::load`]): reading overlaps writing, memory stays
//!    bounded (batches, plus email / course-code → id maps, never the whole file).
//!    Plain passwords go to the argon2 pipeline ([`registrar_db::hash::HashPipeline`], every core) the
//!    moment a user row is valid; the loader writes users once their hashes are ready, while
//!    courses are already loading.
//! 4. **Validate first or stream?** We stream: rows are written while later rows are still
//!    being validated, and if any validation error turns up (without `skip_invalid`) the
//!    loader stops writing and the transaction is **rolled back at the end**, so nothing is
//!    written. This reads every file once and keeps memory bounded.
//! 5. Commit when the data is clean (or `skip_invalid`), else roll back; a database error rolls
//!    back and returns `Err`. Either way the run's one `import_runs` row is filled in **after** the
//!    transaction ended, so it survives a rollback.
//!
//! With `skip_invalid`, invalid rows (and rows depending on them, which the rules reject too)
//! are left out and written to `rejects_dir/<file>.rejects.csv` (0600, renamed into place right
//! before the commit, taken back out if the commit fails; anything in the way fails the run
//! before its commit),
//! with `password` / `password_hash` cells blanked (the operator fills them in again) and
//! spreadsheet formulas neutralised with a leading `'`. File-level errors
//! ([`Issue::is_file_level`]: a missing column, no header, an unreadable file, two files with
//! the same stem, an empty folder, a bad byte that stops reading mid-file) are never skipped:
//! nothing is written and the run fails. `skip_invalid` skips invalid rows, never unread ones.
//!
//! SQLite bulk settings: during an execute run the connection uses `PRAGMA synchronous = NORMAL`
//! (in WAL mode a commit is still atomic and the database never corrupts; at worst a power cut
//! right after the commit loses that last transaction) and a 16 MiB page cache; both are restored
//! afterwards.

pub(crate) mod rejects;
mod roster;

use crate::driver::{Driver, CHANNEL};
use crate::input::{self, Source};
use crate::sync::EntityChanges;
use crate::Error;
use registrar_db::audit::{self, NewRun};
use registrar_db::hash::HashPipeline;
use registrar_db::load::{self as loader, Loader, Need};
use registrar_db::{Conn, Database};
use registrar_formats::ReaderOptions;
use registrar_model::{Entity, Issue, Mode, OnExisting, Report};
use registrar_rules::{ValidationOptions, Validator};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;

pub use crate::input::{Input, Records};

/// `--validate` or `--execute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImportMode {
    /// Validate against the database; write nothing but the audit row.
    #[default]
    Validate,
    /// Load, all or nothing.
    Execute,
}

pub use registrar_model::{Progress, ProgressUnit};

type Result<T, E = Error> = std::result::Result<T, E>;

/// Options of [`run_import`].
#[derive(Clone, Default)]
pub struct ImportOptions {
    /// Validate or execute.
    pub mode: ImportMode,
    /// What a row already in the database does.
    pub on_existing: OnExisting,
    /// Load the valid rows and leave the invalid ones out (instead of writing nothing).
    pub skip_invalid: bool,
    /// Where to write `<file>.rejects.csv` (with `skip_invalid`).
    pub rejects_dir: Option<PathBuf>,
    /// Reader options (`--encoding`, `--delimiter`, `--sheet`).
    pub reader: ReaderOptions,
    /// Progress callbacks.
    pub progress: Option<Arc<dyn Progress>>,
    /// Do not write an `import_runs` row: the caller records the run itself (the runbook of
    /// `registrar migrate` writes one row for the whole run).
    pub skip_audit: bool,
    /// `--update-passwords`: with `OnExisting::Update`, change the passwords of existing
    /// accounts too (a stored hash that already verifies the file's password is kept as it
    /// is). Without it an existing account's password is never changed.
    pub update_passwords: bool,
    /// `--sync` / `--sync-all`: remove what the export no longer holds (see [`crate::SyncMode`]).
    pub sync: crate::SyncMode,
    /// `--max-changes PCT`: most percent of an entity's rows a run may update or remove
    /// (`None`: [`crate::DEFAULT_MAX_CHANGES`]).
    pub max_changes: Option<f64>,
    /// The digest of the database a saved plan was made against
    /// ([`crate::plan::Plan::database_digest`]): the run refuses when the database changed.
    pub expect_digest: Option<String>,
    /// What the users file's `password_hash` accepts (`--legacy-hashes keep|reset|refuse`,
    /// `--accept-unsalted-hashes`); see [`registrar_hashes::HashPolicy`]. With `Reset` the
    /// accounts written with a legacy hash are flagged `password_reset_required`.
    pub hash_policy: registrar_hashes::HashPolicy,
    /// The mapping file (`--mapping FILE.toml`): column renames, value maps, rows to skip and
    /// defaults for what the site's export calls things (see [`registrar_rules::mapping`]).
    pub mapping: Option<Arc<registrar_rules::mapping::Mapping>>,
    /// What a user row with neither `password` nor `password_hash` does
    /// (`--missing-password`): an error, an account with no usable password
    /// ([`registrar_hashes::NO_PASSWORD`]), or one with a generated temporary password written
    /// to [`ImportOptions::credentials_out`]; both flagged `password_reset_required`. Only new
    /// accounts get either: an existing account keeps its password.
    pub missing_password: registrar_model::MissingPassword,
    /// Where the generated passwords go (`--credentials-out`, required with
    /// `MissingPassword::Generate` when executing): see [`crate::credentials`].
    pub credentials_out: Option<PathBuf>,
    /// How slash dates are read (`--date-order`); `None` refuses them.
    pub date_order: Option<registrar_rules::parse::DateOrder>,
}

impl ImportOptions {
    /// The options of the validation pass for these import options.
    pub(crate) fn validation(
        &self,
        existing: Option<registrar_model::Existing>,
    ) -> ValidationOptions {
        ValidationOptions {
            on_existing: self.on_existing,
            existing,
            update_passwords: self.update_passwords,
            hash_policy: self.hash_policy,
            mapping: self.mapping.clone(),
            missing_password: self.missing_password,
            date_order: self.date_order,
            sequential: false,
        }
    }

    /// Refuses `MissingPassword::Generate` without a usable credentials file target (only
    /// when the run writes).
    pub(crate) fn check_credentials(&self, writes: bool) -> Result<()> {
        if !writes || self.missing_password != registrar_model::MissingPassword::Generate {
            return Ok(());
        }
        match &self.credentials_out {
            None => Err(Error::Usage(
                "--missing-password generate needs --credentials-out FILE: the generated passwords are written there (0600) and nowhere else".into(),
            )),
            Some(p) => crate::credentials::check_target(p),
        }
    }
}

impl std::fmt::Debug for ImportOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportOptions")
            .field("mode", &self.mode)
            .field("on_existing", &self.on_existing)
            .field("skip_invalid", &self.skip_invalid)
            .field("rejects_dir", &self.rejects_dir)
            .field("reader", &self.reader)
            .field("progress", &self.progress.is_some())
            .field("skip_audit", &self.skip_audit)
            .field("update_passwords", &self.update_passwords)
            .field("sync", &self.sync)
            .field("max_changes", &self.max_changes)
            .field("hash_policy", &self.hash_policy)
            .field("mapping", &self.mapping.is_some())
            .field("missing_password", &self.missing_password)
            .field("credentials_out", &self.credentials_out)
            .field("date_order", &self.date_order)
            .finish_non_exhaustive()
    }
}

pub use rejects::InstalledRejects;

/// Imports `input` into `db`: validates (always) and loads (with [`ImportMode::Execute`]).
///
/// Returns the report (`report.mode` is `Validate` or `Execute`; per-file `inserted`,
/// `updated`, `skipped` filled in). A run with validation errors returns `Ok` with a report
/// that is not ok, and (without `skip_invalid`) writes nothing. `Err` is for I/O and database
/// failures; the transaction is then rolled back. Every run leaves one `import_runs` row.
pub async fn run_import(db: &Database, input: &Input, options: &ImportOptions) -> Result<Report> {
    let started_at = chrono::Utc::now();
    let t0 = Instant::now();
    let mode = match options.mode {
        ImportMode::Validate => Mode::Validate,
        ImportMode::Execute => Mode::Execute,
    };
    options.check_credentials(options.mode == ImportMode::Execute)?;
    let (files, pre_issues) = input::resolve(input)?;
    let sha_paths: Vec<Option<PathBuf>> = files
        .iter()
        .map(|f| f.path().map(|p| p.to_path_buf()))
        .collect();
    let shas = tokio::task::spawn_blocking(move || {
        sha_paths
            .iter()
            .map(|p| p.as_deref().and_then(input::sha256_file))
            .collect::<Vec<_>>()
    });

    // An execute run records itself as started before it writes, so that a run killed
    // half-way is visible as unfinished (see `audit`).
    let run_id = if options.mode == ImportMode::Execute && !options.skip_audit {
        Some(
            audit::start_run(
                db,
                started_at,
                mode.as_str(),
                &files_json(&files, &[], None),
            )
            .await?,
        )
    } else {
        None
    };
    let result = match options.mode {
        ImportMode::Validate => run_validate(db, files.clone(), pre_issues, options).await,
        ImportMode::Execute => run_execute(db, files.clone(), pre_issues, options, run_id).await,
    };
    if let Some(p) = &options.progress {
        p.finish();
    }
    let shas = shas.await.unwrap_or_default();
    finish_audit(
        db, run_id, started_at, mode, &files, &shas, &result, options,
    )
    .await?;
    let (mut report, _) = result?;
    report.duration_ms = t0.elapsed().as_millis() as u64;
    report.finish();
    Ok(report)
}

/// Writes (or fills in) the run's `import_runs` row; returns the error of writing it.
#[allow(clippy::too_many_arguments)]
async fn finish_audit(
    db: &Database,
    run_id: Option<i64>,
    started_at: chrono::DateTime<chrono::Utc>,
    mode: Mode,
    files: &[Source],
    shas: &[Option<String>],
    result: &Result<(Report, bool)>,
    options: &ImportOptions,
) -> Result<()> {
    let (outcome, error) = match result {
        Ok((report, committed)) => match (options.mode, committed) {
            (ImportMode::Execute, true) => (audit::RunOutcome::Success, None),
            (ImportMode::Validate, _) if report.is_ok() => (audit::RunOutcome::Validated, None),
            _ => (audit::RunOutcome::ValidationFailed, None),
        },
        Err(
            e @ Error::Db(
                registrar_db::Error::Sqlx(_)
                | registrar_db::Error::Locked(_)
                | registrar_db::Error::Refused(_)
                | registrar_db::Error::Usage(_)
                | registrar_db::Error::Internal(_)
                | registrar_db::Error::Migrate(_)
                | registrar_db::Error::LockLost(_),
            ),
        ) => (audit::RunOutcome::DatabaseError, Some(e.to_string())),
        Err(e) => (audit::RunOutcome::Error, Some(e.to_string())),
    };
    let report_ref = result.as_ref().ok().map(|(r, _)| r);
    let run = NewRun {
        started_at,
        finished_at: chrono::Utc::now(),
        mode: mode.as_str().to_owned(),
        operator: audit::current_operator(),
        tool_version: audit::TOOL_VERSION.to_owned(),
        files: files_json(files, shas, report_ref),
        counts: counts_with_policy(report_ref, &options.hash_policy),
        outcome,
        error,
    };
    if options.skip_audit {
        return Ok(());
    }
    let recorded = match run_id {
        Some(id) => audit::finish_run(db, id, &run).await,
        None => audit::record_run(db, &run).await,
    };
    // A failed run's own error matters more than a failure to audit it.
    if result.is_ok() {
        recorded?;
    }
    Ok(())
}

pub(crate) fn files_json(
    files: &[Source],
    shas: &[Option<String>],
    report: Option<&Report>,
) -> serde_json::Value {
    serde_json::Value::Array(
        files
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let name = f.name();
                let rows = report
                    .and_then(|r| r.file(&name))
                    .map(|s| s.rows)
                    .unwrap_or(0);
                serde_json::json!({
                    "name": name,
                    "entity": f.entity().as_str(),
                    "sha256": shas.get(i).cloned().flatten(),
                    "rows": rows,
                })
            })
            .collect(),
    )
}

pub(crate) fn counts_json(report: Option<&Report>) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    if let Some(r) = report {
        for s in &r.files {
            let e = map.entry(s.entity.as_str().to_owned()).or_insert_with(
                || serde_json::json!({"inserted": 0, "updated": 0, "unchanged": 0, "skipped": 0, "rejected": 0}),
            );
            for (k, v) in [
                ("inserted", s.inserted),
                ("updated", s.updated),
                ("unchanged", s.unchanged),
                ("skipped", s.skipped),
                ("rejected", s.invalid),
            ] {
                let old = e[k].as_u64().unwrap_or(0);
                e[k] = serde_json::json!(old + v);
            }
        }
        for r in &r.removed {
            let e = map.entry(r.entity.as_str().to_owned()).or_insert_with(
                || serde_json::json!({"inserted": 0, "updated": 0, "unchanged": 0, "skipped": 0, "rejected": 0}),
            );
            e["removed"] = serde_json::json!(r.removed);
        }
    }
    serde_json::Value::Object(map)
}

/// [`counts_json`] plus the run's `password_hash` policy and what it did, under
/// `password_hashes`: `{"policy": "keep", "accept_unsalted": false, "schemes": {...},
/// "legacy": N, "reset_required": N}` (issue 14: the decision is in the audit row).
pub(crate) fn counts_with_policy(
    report: Option<&Report>,
    policy: &registrar_hashes::HashPolicy,
) -> serde_json::Value {
    let mut counts = counts_json(report);
    let done = report
        .map(|r| r.password_hashes.clone())
        .unwrap_or_default();
    if let serde_json::Value::Object(map) = &mut counts {
        map.insert(
            "password_hashes".into(),
            serde_json::json!({
                "policy": policy.legacy.as_str(),
                "accept_unsalted": policy.accept_unsalted,
                "schemes": done.schemes,
                "legacy": done.legacy,
                "reset_required": done.reset_required,
            }),
        );
        // `--missing-password reset|generate`: how many accounts, never a password.
        if let Some(m) = report
            .map(|r| &r.missing_passwords)
            .filter(|m| !m.is_empty())
        {
            map.insert(
                "missing_passwords".into(),
                serde_json::json!({"no_password": m.no_password, "generated": m.generated}),
            );
        }
    }
    counts
}

pub(crate) fn need_of(files: &[Source]) -> Need {
    let has = |e| files.iter().any(|f| f.entity() == e);
    Need {
        enrollments: has(Entity::Enrollments) || has(Entity::Grades) || has(Entity::Attendance),
        grades: has(Entity::Grades),
        attendance: has(Entity::Attendance),
    }
}

/// `--validate`: the validation pass against what the database holds; nothing is written.
async fn run_validate(
    db: &Database,
    files: Vec<Source>,
    pre_issues: Vec<Issue>,
    options: &ImportOptions,
) -> Result<(Report, bool)> {
    let (existing, _) = loader::load_existing_with_ids(db, need_of(&files)).await?;
    let mut report = Report::new(Mode::Validate);
    for i in pre_issues {
        report.push(i);
    }
    let mut reader = Driver::validating(
        files,
        options.reader.clone(),
        options.validation(Some(existing)),
        report,
    );
    reader.missing_password = options.missing_password;
    reader.skip_invalid = options.skip_invalid;
    reader.progress = options.progress.clone();
    let out = tokio::task::spawn_blocking(move || reader.run())
        .await
        .map_err(|e| Error::Internal(format!("the reading thread failed: {e}")))??;
    Ok((out.report, false))
}

/// `--execute`: one write transaction ([`Database::begin_write`]) around [`execute_in`].
async fn run_execute(
    db: &Database,
    files: Vec<Source>,
    pre_issues: Vec<Issue>,
    options: &ImportOptions,
    run_id: Option<i64>,
) -> Result<(Report, bool)> {
    let mut tx = db.begin_write().await?;
    let out = match tx.conn() {
        Ok(conn) => execute_in(conn, files, pre_issues, options, run_id).await,
        Err(e) => Err(e.into()),
    };
    let mut staged = match out {
        Ok(o) => Staged { out: o },
        Err(e) => {
            let _ = tx.rollback().await;
            return Err(e);
        }
    };
    if !staged.would_commit() {
        tx.rollback().await?;
        return Ok((staged.discard(), false));
    }
    // Everything that can fail happens before the commit: the rejects files are put in
    // place first (a failure there rolls back, with nothing written), then the commit (a
    // failure there takes the rejects files back out).
    let installed = match staged.install_rejects() {
        Ok(i) => i,
        Err(e) => {
            let _ = tx.rollback().await;
            return Err(e);
        }
    };
    if let Err(e) = tx.commit().await {
        installed.undo();
        return Err(e.into());
    }
    installed.keep();
    Ok((staged.into_report(), true))
}

/// An import run inside a transaction the caller owns ([`stage`]): validated and written, not
/// committed. The caller decides: when [`Staged::would_commit`], put the rejects files in place
/// ([`Staged::install_rejects`]) and commit, else roll back and take [`Staged::discard`].
pub struct Staged {
    out: ExecOutcome,
}

impl std::fmt::Debug for Staged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Staged")
            .field("commit", &self.out.commit)
            .finish_non_exhaustive()
    }
}

impl Staged {
    /// True when the data is clean (or `skip_invalid`) and every file was read: the run may
    /// commit.
    pub fn would_commit(&self) -> bool {
        self.out.commit
    }

    /// The report so far (counts as written in the transaction).
    pub fn report(&self) -> &Report {
        &self.out.report
    }

    /// Puts the rejects files in place (call right before the commit; undo them when the
    /// commit fails).
    pub fn install_rejects(&mut self) -> Result<InstalledRejects> {
        std::mem::take(&mut self.out.rejects).install()
    }

    /// The report of a run that committed.
    pub fn into_report(self) -> Report {
        self.out.report
    }

    /// The report of a run that was rolled back: nothing inserted, updated or skipped; the
    /// rejects files are discarded.
    pub fn discard(mut self) -> Report {
        drop(std::mem::take(&mut self.out.rejects));
        for f in &mut self.out.report.files {
            f.inserted = 0;
            f.updated = 0;
            f.skipped = 0;
        }
        for r in &mut self.out.report.removed {
            r.removed = 0;
        }
        self.out.report
    }
}

/// Imports `input` on `conn`, inside a transaction the caller owns (the runbook of
/// `registrar migrate`, whose clean-up, import and lock-down commit together). Nothing is
/// committed and no `import_runs` row is written: see [`Staged`]. `options.mode` is ignored
/// (this always writes). File-level issues and validation errors are in the report, as for
/// [`run_import`].
pub async fn stage(conn: Conn<'_>, input: &Input, options: &ImportOptions) -> Result<Staged> {
    let t0 = Instant::now();
    options.check_credentials(true)?;
    let (files, pre_issues) = input::resolve(input)?;
    let mut out = execute_in(conn, files, pre_issues, options, None).await?;
    if let Some(p) = &options.progress {
        p.finish();
    }
    out.report.duration_ms = t0.elapsed().as_millis() as u64;
    out.report.finish();
    Ok(Staged { out })
}

struct ExecOutcome {
    report: Report,
    commit: bool,
    rejects: rejects::PendingRejectsGuard,
}

/// The execute run inside an open transaction: existing keys, the reading thread, the loader,
/// then (with a sync) the removals, the threshold, and the provenance of what was written.
async fn execute_in(
    mut conn: Conn<'_>,
    files: Vec<Source>,
    pre_issues: Vec<Issue>,
    options: &ImportOptions,
    run_id: Option<i64>,
) -> Result<ExecOutcome> {
    let marks = registrar_db::origin::mark(&mut conn).await?;
    let (existing, ids) = loader::read_existing(&mut conn, need_of(&files)).await?;
    // A OneRoster bundle: its teacher links and removals are written after the rows. A delta
    // bundle updates what it names (its `active` rows are changes by definition).
    let bundle = input::roster_of(&files);
    let roster_keys = bundle.as_ref().map(|_| roster::Keys::of(&existing));
    let delta_options;
    let options = match &bundle {
        Some(b) if b.is_delta() && options.on_existing == OnExisting::Error => {
            delta_options = ImportOptions {
                on_existing: OnExisting::Update,
                ..options.clone()
            };
            &delta_options
        }
        _ => options,
    };
    let mut report = Report::new(Mode::Execute);
    if let Some(want) = &options.expect_digest {
        if *want != existing.digest {
            return Err(Error::StalePlan(
                "the database changed since the plan was made; make a new plan and review it"
                    .into(),
            ));
        }
    }
    let existing_rows = Entity::ALL.map(|e| existing.rows(e));
    let stored_hashes = stored_hashes(&existing, options);
    let fatal_early = pre_issues.iter().any(Issue::is_error);
    for i in pre_issues {
        report.push(i);
    }
    let (tx, mut rx) = mpsc::channel(CHANNEL);
    let (hasher, hashes) = HashPipeline::new();
    let stop = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicBool::new(fatal_early));
    let nfiles = files.len();
    let reader = Driver {
        sources: files,
        reader: options.reader.clone(),
        validator: Validator::new(options.validation(Some(existing))),
        tx: Some(tx),
        hasher: Some(hasher),
        skip_invalid: options.skip_invalid,
        rejects_dir: if options.skip_invalid {
            options.rejects_dir.clone()
        } else {
            None
        },
        progress: options.progress.clone(),
        stop: stop.clone(),
        failed: failed.clone(),
        report,
        collect_plan: false,
        sync: options.sync.is_on(),
        stored_hashes,
        hash_policy: options.hash_policy,
        missing_password: options.missing_password,
    };
    let reading = tokio::task::spawn_blocking(move || reader.run());
    let mut loader = Loader::new(
        &mut conn,
        ids,
        nfiles,
        options.on_existing,
        hashes,
        options.progress.clone(),
    );
    let loaded = loader.run(&mut rx, &failed).await;
    if loaded.is_err() {
        stop.store(true, Ordering::Relaxed);
    }
    drop(rx);
    let counts = loader.counts().to_vec();
    let abandoned = loader.abandoned();
    let read = reading
        .await
        .map_err(|e| Error::Internal(format!("the reading thread failed: {e}")))?;
    loaded?;
    let mut out = read?;
    for (i, idx) in out.summary_of.iter().enumerate() {
        if let (Some(idx), Some(c)) = (idx, counts.get(i)) {
            if let Some(s) = out.report.files.get_mut(*idx) {
                s.inserted = c.inserted;
                s.updated = c.updated;
                s.skipped = c.skipped;
                s.unchanged += c.unchanged;
            }
        }
    }
    let mut decision = crate::sync::decide(
        std::mem::take(&mut out.unclaimed),
        &out.unclean,
        options.sync,
    );
    for i in decision.issues {
        out.report.push(i);
    }
    let mut link_removals = Vec::new();
    let mut teacher_links = Vec::new();
    if let (Some(b), Some(keys)) = (&bundle, &roster_keys) {
        let side = b.sidecar();
        let (keys, links, issues) = roster::removals(&side, keys, b.name());
        for i in issues {
            out.report.push(i);
        }
        for k in keys {
            let e = k.entity();
            match decision.summary.iter_mut().find(|r| r.entity == e) {
                Some(r) => r.removed += 1,
                None => decision.summary.push(registrar_model::EntityRemoved {
                    entity: e,
                    removed: 1,
                    kept_unknown_origin: 0,
                }),
            }
            if !decision.remove.contains(&k) {
                decision.remove.push(k);
            }
        }
        link_removals = links;
        teacher_links = roster::links(&side);
    }
    let changes: Vec<EntityChanges> = Entity::ALL
        .iter()
        .map(|&e| EntityChanges {
            entity: e,
            existing: existing_rows[e as usize],
            updated: out
                .report
                .files
                .iter()
                .filter(|f| f.entity == e)
                .map(|f| f.updated)
                .sum(),
            removed: decision
                .summary
                .iter()
                .filter(|r| r.entity == e)
                .map(|r| r.removed)
                .sum(),
        })
        .collect();
    let max = options.max_changes.unwrap_or(crate::DEFAULT_MAX_CHANGES);
    for i in crate::sync::threshold_issues(&changes, max) {
        out.report.push(i);
    }
    out.report.removed = decision.summary;
    let has_errors = out.report.issues.iter().any(Issue::is_error);
    let file_level = out.report.has_file_level_errors();
    let commit = !abandoned
        && !failed.load(Ordering::Relaxed)
        && !file_level
        && (!has_errors || options.skip_invalid);
    if commit {
        let removed = loader.remove(&decision.remove).await?;
        for r in &mut out.report.removed {
            r.removed = removed[r.entity as usize];
        }
        let updated = loader.updated_ids().clone();
        drop(loader);
        if !teacher_links.is_empty() || !link_removals.is_empty() {
            let (written, _deleted) =
                loader::write_teacher_links(&mut conn, &teacher_links, &link_removals).await?;
            if written.unresolved > 0 {
                out.report.push(Issue::warning(
                    registrar_model::IssueCode::UnknownReference,
                    "enrollments.csv",
                    None,
                    Some("userSourcedId"),
                    format!(
                        "{} teacher or aide enrollments name a teacher (by sourcedId) or a class that is not in the database: those teacher links are not kept",
                        written.unresolved
                    ),
                ));
            }
            out.report.teacher_links = written.written;
        }
        if !out.reset_emails.is_empty() {
            out.report.password_hashes.reset_required =
                registrar_db::inspect::require_password_reset(&mut conn, &out.reset_emails).await?;
        }
        if !out.missing_emails.is_empty() {
            registrar_db::inspect::require_password_reset(&mut conn, &out.missing_emails).await?;
        }
        if !out.credentials.is_empty() {
            // Written now, put in place with the rejects files right before the commit.
            let target = options.credentials_out.as_deref().ok_or_else(|| {
                Error::Usage("--missing-password generate needs --credentials-out FILE".into())
            })?;
            let pending = crate::credentials::write_pending(target, &out.credentials)?;
            out.credentials.clear();
            out.rejects.0.push(pending);
        }
        marks.record(&mut conn, run_id, &updated).await?;
    }
    Ok(ExecOutcome {
        report: out.report,
        commit,
        rejects: out.rejects,
    })
}

/// The stored hash of each existing user, when `--update-passwords` needs them.
pub(crate) fn stored_hashes(
    existing: &registrar_model::Existing,
    options: &ImportOptions,
) -> Option<std::collections::HashMap<String, String>> {
    options.update_passwords.then(|| {
        existing
            .users
            .iter()
            .map(|(e, s)| (e.clone(), s.values.password_hash.clone()))
            .collect()
    })
}

/// The `files` column of the audit log for a run over `input`: each file's name, entity,
/// SHA-256 and row count (rows from `report` when given).
pub fn files_summary(input: &Input, report: Option<&Report>) -> Result<serde_json::Value> {
    let (files, _) = input::resolve(input)?;
    let shas: Vec<Option<String>> = files
        .iter()
        .map(|f| f.path().and_then(input::sha256_file))
        .collect();
    Ok(files_json(&files, &shas, report))
}

/// The `counts` column of the audit log for a run: inserted/updated/skipped/rejected per entity.
pub fn counts_summary(report: Option<&Report>) -> serde_json::Value {
    counts_json(report)
}
