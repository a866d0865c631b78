//! The one validation driver: every command that reads data (`validate`, `validate --database`,
//! `import --validate`, `import --execute`, `migrate`) runs its sources through [`Driver::run`],
//! on a blocking thread. It opens each source, validates it with `registrar_rules::Validator`
//! (against what the database holds when the caller gives the existing keys), writes the
//! rejects files (with `skip_invalid`), moves plain passwords into the hashing pipeline and
//! streams valid records in batches to the loader (when there is one).

use crate::import::rejects;
use crate::input::Source;
use crate::Error;
use registrar_db::hash::HashPipeline;
use registrar_db::load::{LoadItem as Item, LoadMsg as Msg};
use registrar_formats::{Event, Format, ReaderOptions, RowSource};
use registrar_model::{
    Entity, FieldChange, MissingPassword, NaturalKey, Password, Progress, ProgressUnit, Record,
    Report, RowChange,
};
use registrar_rules::{RowOutcome, ValidationOptions, Validator};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

type Result<T, E = Error> = std::result::Result<T, E>;

/// Records per channel message.
pub(crate) const BATCH: usize = 8_192;
/// Messages the channel holds before the reader waits for the loader.
pub(crate) const CHANNEL: usize = 4;

/// The reading + validating side of a run (runs on a blocking thread).
pub(crate) struct Driver {
    pub(crate) sources: Vec<Source>,
    pub(crate) reader: ReaderOptions,
    pub(crate) validator: Validator,
    /// `None` in validate mode.
    pub(crate) tx: Option<mpsc::Sender<Msg>>,
    pub(crate) hasher: Option<HashPipeline>,
    pub(crate) skip_invalid: bool,
    pub(crate) rejects_dir: Option<PathBuf>,
    pub(crate) progress: Option<Arc<dyn Progress>>,
    /// Set by the loader when it failed: stop reading.
    pub(crate) stop: Arc<AtomicBool>,
    /// Set here when the run can no longer commit: stop sending rows.
    pub(crate) failed: Arc<AtomicBool>,
    pub(crate) report: Report,
    /// Collect the rows a plan lists (new and changed rows with their fields).
    pub(crate) collect_plan: bool,
    /// Compute what a sync would remove (the database rows no file row named).
    pub(crate) sync: bool,
    /// `--update-passwords`: the stored hash of each existing user (lower-case email), so a
    /// plain password that already verifies is not re-hashed. `None`: passwords of existing
    /// users are never changed.
    pub(crate) stored_hashes: Option<HashMap<String, String>>,
    /// The `password_hash` policy: with `--legacy-hashes reset` the emails of the users
    /// written with a legacy hash are collected ([`ReadOutcome::reset_emails`]).
    pub(crate) hash_policy: registrar_hashes::HashPolicy,
    /// `--missing-password`: what a new account without a password or hash gets (no usable
    /// password, or a generated one collected in [`ReadOutcome::credentials`]).
    pub(crate) missing_password: registrar_model::MissingPassword,
}

/// One row a plan lists.
#[derive(Debug)]
pub(crate) struct PlanRow {
    pub(crate) file: usize,
    pub(crate) row: u64,
    pub(crate) key: NaturalKey,
    /// Empty for a new row.
    pub(crate) changes: Vec<FieldChange>,
    /// The key is in the database.
    pub(crate) existing: bool,
    /// It differs and `--on-existing skip` leaves it.
    pub(crate) skipped: bool,
}

/// A plain password of an existing user, to verify against the stored hash before a plan says
/// it changes (verified on every core at the end of the pass).
pub(crate) struct PasswordCheck {
    /// Index into `ReadOutcome::plan_rows`.
    pub(crate) plan_row: usize,
    pub(crate) password: Password,
    pub(crate) stored: String,
}

pub(crate) struct ReadOutcome {
    pub(crate) report: Report,
    /// Rows a plan lists (with `collect_plan`).
    pub(crate) plan_rows: Vec<PlanRow>,
    /// Passwords to verify before the plan is final (with `collect_plan`).
    pub(crate) password_checks: Vec<PasswordCheck>,
    /// With `sync`: per entity that had a file read completely and cleanly, the database rows
    /// no row named, each with whether an import made it. Entities without such a file are
    /// absent (nothing of theirs is removed).
    pub(crate) unclaimed: Vec<(Entity, Vec<(NaturalKey, bool)>)>,
    /// Entities with a file that was not read cleanly (no removals computed for them).
    pub(crate) unclean: Vec<Entity>,
    /// For each file of the run, the index of its summary in `report.files`.
    pub(crate) summary_of: Vec<Option<usize>>,
    pub(crate) rejects: rejects::PendingRejectsGuard,
    /// With `--legacy-hashes reset`: the (lower-case) emails of the users sent to the loader
    /// with a legacy hash, to flag `password_reset_required` once they are written.
    pub(crate) reset_emails: Vec<String>,
    /// With `--missing-password reset|generate`: the (lower-case) emails of the new accounts
    /// sent to the loader without a password of their own, to flag `password_reset_required`.
    pub(crate) missing_emails: Vec<String>,
    /// With `--missing-password generate`: each such account's email (as stored) and its
    /// generated password, for the credentials file.
    pub(crate) credentials: Vec<(String, Password)>,
}

/// Events between two progress reports of the bytes read.
const PROGRESS_EVERY: u64 = 4096;

/// A row source that ends early when the run is stopped, and reports the bytes read of its
/// file every [`PROGRESS_EVERY`] events (when `bytes_progress` is given).
struct Stoppable<'a> {
    inner: &'a mut dyn RowSource,
    stop: &'a AtomicBool,
    bytes_progress: Option<&'a dyn Progress>,
    events: u64,
}

impl Iterator for Stoppable<'_> {
    type Item = std::result::Result<Event, registrar_formats::Error>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.stop.load(Ordering::Relaxed) {
            return None;
        }
        self.events += 1;
        if self.events % PROGRESS_EVERY == 0 {
            if let (Some(p), Some(n)) = (self.bytes_progress, self.inner.bytes_read()) {
                p.set_position(n);
            }
        }
        self.inner.next()
    }
}

impl RowSource for Stoppable<'_> {
    fn headers(&self) -> &[String] {
        self.inner.headers()
    }
    fn header_row(&self) -> u64 {
        self.inner.header_row()
    }
    fn format(&self) -> Format {
        self.inner.format()
    }
    fn file_name(&self) -> &str {
        self.inner.file_name()
    }
    fn take_malformed_values(&mut self) -> Option<Vec<registrar_formats::Value>> {
        self.inner.take_malformed_values()
    }
    fn bytes_read(&self) -> Option<u64> {
        self.inner.bytes_read()
    }
    fn recycle(&mut self, row: registrar_formats::Row) {
        self.inner.recycle(row);
    }
}

impl Driver {
    /// Reads and validates every source in order; see the module docs.
    pub(crate) fn run(self) -> Result<ReadOutcome> {
        let Driver {
            sources,
            reader,
            mut validator,
            tx,
            hasher,
            skip_invalid,
            rejects_dir,
            progress,
            stop,
            failed,
            mut report,
            collect_plan,
            sync,
            stored_hashes,
            hash_policy,
            missing_password,
        } = self;
        let mut missing_emails: Vec<String> = Vec::new();
        let mut credentials: Vec<(String, Password)> = Vec::new();
        let mut missing_counts = registrar_model::MissingPasswordCounts::default();
        let reset_legacy = hash_policy.legacy == registrar_hashes::LegacyHashes::Reset;
        let mut reset_emails: Vec<String> = Vec::new();
        let mut hash_counts = registrar_model::HashCounts::default();
        let mut plan_rows: Vec<PlanRow> = Vec::new();
        let mut password_checks: Vec<PasswordCheck> = Vec::new();
        let mut clean: Vec<(Entity, bool)> = Vec::new();
        let sending_now =
            || tx.is_some() && !failed.load(Ordering::Relaxed) && !stop.load(Ordering::Relaxed);
        let send = |msg: Msg| {
            if let Some(tx) = &tx {
                if tx.blocking_send(msg).is_err() {
                    // The loader is gone (it failed): stop reading.
                    stop.store(true, Ordering::Relaxed);
                }
            }
        };
        let mut summary_of = Vec::with_capacity(sources.len());
        let mut rejects = rejects::PendingRejectsGuard::default();
        let mut next_slot: u32 = 0;
        for (index, mut file) in sources.into_iter().enumerate() {
            if stop.load(Ordering::Relaxed) {
                summary_of.push(None);
                continue;
            }
            let name = file.name();
            let entity = file.entity();
            let mut source = match file.open(&reader) {
                Ok(s) => s,
                Err(registrar_formats::Error::File(issue)) => {
                    report.push(*issue);
                    failed.store(true, Ordering::Relaxed);
                    summary_of.push(None);
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            // A reader that counts its bytes gets a bar of the file's length; the others
            // (spreadsheets) count rows.
            let by_bytes = source.bytes_read().is_some();
            if let Some(p) = &progress {
                if by_bytes {
                    let len = file
                        .path()
                        .and_then(|p| std::fs::metadata(p).ok())
                        .map(|m| m.len());
                    p.phase_in(&name, ProgressUnit::Bytes, len);
                } else {
                    p.phase_in(&name, ProgressUnit::Rows, None);
                }
            }
            let row_progress = if by_bytes { None } else { progress.as_deref() };
            let issues_before = report.issues.len();
            let files_before = report.files.len();
            let sending = sending_now();
            if sending {
                send(Msg::Begin {
                    file: index,
                    entity,
                });
            }
            let headers = source.headers().to_vec();
            let column_keys: Vec<String> = validator
                .columns_of(entity, &headers)
                .iter()
                .zip(&headers)
                .map(|(c, h)| match c {
                    Some(c) => (*c).to_owned(),
                    None => registrar_formats::header_key(h),
                })
                .collect();
            let mut writer: Option<rejects::RejectsWriter> = None;
            let mut write_error: Option<Error> = None;
            let mut batch: Vec<Item> = Vec::with_capacity(BATCH);
            let mut seen: u64 = 0;
            let mut unchanged: u64 = 0;
            let mut sink = |outcome: RowOutcome<'_>| {
                seen += 1;
                if seen % 4096 == 0 {
                    if let Some(p) = row_progress {
                        p.advance(4096);
                    }
                }
                match outcome {
                    RowOutcome::Valid {
                        mut record,
                        change,
                        row,
                    } => {
                        if let Record::User(u) = &record {
                            if let Some(h) = u.password_hash.as_deref() {
                                if let Some(scheme) = registrar_hashes::detect(h) {
                                    hash_counts
                                        .count(scheme.as_str(), registrar_hashes::is_legacy(h));
                                }
                            }
                        }
                        if change == RowChange::Unchanged {
                            unchanged += 1;
                            return; // nothing to write
                        }
                        // A new account with neither a password nor a hash (allowed by
                        // `--missing-password reset|generate`): counted here, given its
                        // marker or generated password below when it is written.
                        let no_password = matches!(&record, Record::User(u)
                            if u.password.is_none() && u.password_hash.is_none())
                            && !change.existing()
                            && change != RowChange::Skipped;
                        if no_password {
                            match missing_password {
                                MissingPassword::Reset => {
                                    missing_counts.no_password += 1;
                                }
                                MissingPassword::Generate => {
                                    missing_counts.generated += 1;
                                }
                                MissingPassword::Error => {}
                            }
                        }
                        if collect_plan {
                            if let RowChange::New | RowChange::Changed(_) | RowChange::Skipped =
                                &change
                            {
                                let key = NaturalKey::of(&record);
                                if let (Record::User(u), Some(stored)) =
                                    (&mut record, &stored_hashes)
                                {
                                    let checks_password = matches!(&change, RowChange::Changed(f)
                                        if f.iter().any(FieldChange::is_password));
                                    if let (true, Some(p), Some(h)) = (
                                        checks_password,
                                        u.password.take(),
                                        stored.get(key_email(&key)),
                                    ) {
                                        password_checks.push(PasswordCheck {
                                            plan_row: plan_rows.len(),
                                            password: p,
                                            stored: h.clone(),
                                        });
                                    }
                                }
                                let changes = match change {
                                    RowChange::Changed(ref f) => f.clone(),
                                    _ => Vec::new(),
                                };
                                plan_rows.push(PlanRow {
                                    file: index,
                                    row,
                                    key,
                                    changes,
                                    existing: change.existing(),
                                    skipped: change == RowChange::Skipped,
                                });
                            }
                        }
                        if !sending_now() {
                            return; // plain passwords are dropped (zeroized) here
                        }
                        let existing = change.existing();
                        let password_only = matches!(&change, RowChange::Changed(f)
                            if f.iter().all(FieldChange::is_password));
                        let mut slot = None;
                        let mut unchanged_if_hash = None;
                        if let Record::User(u) = &mut record {
                            if no_password {
                                match missing_password {
                                    MissingPassword::Generate => {
                                        let generated = crate::credentials::generate_password_for(
                                            u.email.as_str(),
                                        );
                                        u.password = Some(Password::new(
                                            generated.expose_secret().to_owned(),
                                        ));
                                        credentials.push((u.email.as_str().to_owned(), generated));
                                    }
                                    _ => {
                                        u.password_hash =
                                            Some(registrar_hashes::NO_PASSWORD.to_owned());
                                    }
                                }
                                missing_emails.push(u.email.as_str().to_lowercase());
                            }
                            let plain = u.password.take();
                            let stored = if existing {
                                stored_hashes
                                    .as_ref()
                                    .and_then(|m| m.get(&u.email.as_str().to_lowercase()))
                            } else {
                                None
                            };
                            if existing && stored.is_none() {
                                // Without --update-passwords an existing account keeps its
                                // password, whatever the file says.
                                u.password_hash = None;
                            } else if u.password_hash.is_none() {
                                // A pre-hashed row keeps its hash; a plain password is moved
                                // into the hashing job (and zeroized there once hashed), which
                                // keeps the stored hash when it already verifies it.
                                if let (Some(p), Some(h)) = (plain, &hasher) {
                                    match stored {
                                        Some(old) => {
                                            if password_only {
                                                unchanged_if_hash = Some(old.clone());
                                            }
                                            h.submit_unless_verifies(next_slot, p, old.clone())
                                        }
                                        None => h.submit(next_slot, p),
                                    }
                                    slot = Some(next_slot);
                                    next_slot += 1;
                                }
                            }
                        }
                        if let Record::User(u) = &record {
                            if reset_legacy
                                && u.password_hash
                                    .as_deref()
                                    .is_some_and(registrar_hashes::is_legacy)
                            {
                                reset_emails.push(u.email.as_str().to_lowercase());
                            }
                        }
                        batch.push(Item {
                            record,
                            existing,
                            hash_slot: slot,
                            unchanged_if_hash,
                        });
                        if batch.len() >= BATCH {
                            send(Msg::Rows(std::mem::replace(
                                &mut batch,
                                Vec::with_capacity(BATCH),
                            )));
                        }
                    }
                    RowOutcome::Invalid { values, issues, .. } => {
                        if !skip_invalid {
                            failed.store(true, Ordering::Relaxed);
                            if let Some(h) = &hasher {
                                h.cancel();
                            }
                        }
                        let Some(dir) = &rejects_dir else {
                            return;
                        };
                        if write_error.is_some() {
                            return;
                        }
                        if writer.is_none() {
                            match rejects::RejectsWriter::create_with_columns(
                                dir,
                                &name,
                                &headers,
                                &column_keys,
                            ) {
                                Ok(w) => writer = Some(w),
                                Err(e) => {
                                    write_error = Some(e);
                                    return;
                                }
                            }
                        }
                        if let Some(w) = &mut writer {
                            if let Err(e) = w.write(values, issues) {
                                write_error = Some(e);
                            }
                        }
                    }
                }
            };
            let mut stoppable = Stoppable {
                inner: &mut *source,
                stop: &stop,
                bytes_progress: if by_bytes { progress.as_deref() } else { None },
                events: 0,
            };
            validator.validate_source(entity, &mut stoppable, &mut report, &mut sink)?;
            if let Some(e) = write_error {
                return Err(e);
            }
            if let Some(p) = &progress {
                match source.bytes_read() {
                    Some(n) => p.set_position(n),
                    None => p.advance(seen % 4096),
                }
            }
            if sending && !batch.is_empty() && sending_now() {
                send(Msg::Rows(batch));
            }
            if sending {
                send(Msg::End);
            }
            if report.issues[issues_before..]
                .iter()
                .any(|i| i.is_file_level() || (i.is_error() && !skip_invalid))
            {
                failed.store(true, Ordering::Relaxed);
            }
            if failed.load(Ordering::Relaxed) {
                // Nothing will be written: stop spending the cores on hashing.
                if let Some(h) = &hasher {
                    h.cancel();
                }
            }
            let has_summary = report.files.len() > files_before;
            if has_summary {
                if let Some(s) = report.files.get_mut(files_before) {
                    s.unchanged = unchanged;
                }
            }
            // Removals come only from files read completely and cleanly: no error at all
            // (a wrong header or encoding makes every row invalid; a skipped invalid row
            // must never read as a row the export no longer holds).
            let file_clean = has_summary
                && !stop.load(Ordering::Relaxed)
                && !report.issues[issues_before..].iter().any(|i| i.is_error())
                && report
                    .suppressed
                    .iter()
                    .all(|s| s.file != name || s.severity != registrar_model::Severity::Error);
            clean.push((entity, file_clean));
            summary_of.push(has_summary.then_some(files_before));
            if let Some(w) = writer {
                rejects.0.push(w.finish()?);
            }
        }
        let mut unclaimed = Vec::new();
        let mut unclean = Vec::new();
        if sync {
            for entity in Entity::ALL {
                let files: Vec<bool> = clean
                    .iter()
                    .filter(|(e, _)| *e == entity)
                    .map(|(_, c)| *c)
                    .collect();
                if files.is_empty() {
                    continue;
                }
                if files.iter().all(|c| *c) {
                    unclaimed.push((entity, validator.unclaimed(entity)));
                } else {
                    unclean.push(entity);
                }
            }
        }
        report.password_hashes = hash_counts;
        report.missing_passwords = missing_counts;
        Ok(ReadOutcome {
            report,
            reset_emails,
            missing_emails,
            credentials,
            summary_of,
            rejects,
            plan_rows,
            password_checks,
            unclaimed,
            unclean,
        })
    }
}

impl Driver {
    /// A driver that only validates (no loader, no hashing, no rejects files).
    pub(crate) fn validating(
        sources: Vec<Source>,
        reader: ReaderOptions,
        validation: ValidationOptions,
        report: Report,
    ) -> Driver {
        let hash_policy = validation.hash_policy;
        let validation_missing = validation.missing_password;
        Driver {
            sources,
            reader,
            validator: Validator::new(validation),
            tx: None,
            hasher: None,
            skip_invalid: false,
            rejects_dir: None,
            progress: None,
            stop: Arc::new(AtomicBool::new(false)),
            failed: Arc::new(AtomicBool::new(false)),
            report,
            collect_plan: false,
            sync: false,
            stored_hashes: None,
            hash_policy,
            missing_password: validation_missing,
        }
    }
}

/// The email of a user key ("" for other keys).
fn key_email(key: &NaturalKey) -> &str {
    match key {
        NaturalKey::User(e) => e,
        _ => "",
    }
}
