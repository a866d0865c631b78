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
use registrar_model::{Progress, ProgressUnit, Record, Report};
use registrar_rules::{RowOutcome, ValidationOptions, Validator};
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
}

pub(crate) struct ReadOutcome {
    pub(crate) report: Report,
    /// For each file of the run, the index of its summary in `report.files`.
    pub(crate) summary_of: Vec<Option<usize>>,
    pub(crate) rejects: rejects::PendingRejectsGuard,
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
        } = self;
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
            let mut writer: Option<rejects::RejectsWriter> = None;
            let mut write_error: Option<Error> = None;
            let mut batch: Vec<Item> = Vec::with_capacity(BATCH);
            let mut seen: u64 = 0;
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
                        existing,
                        ..
                    } => {
                        if !sending_now() {
                            return; // plain passwords are dropped (zeroized) here
                        }
                        let mut slot = None;
                        if let Record::User(u) = &mut record {
                            // A pre-hashed row keeps its hash; a plain password is moved
                            // into the hashing job (and zeroized there once hashed).
                            let plain = u.password.take();
                            if u.password_hash.is_none() {
                                if let (Some(p), Some(h)) = (plain, &hasher) {
                                    h.submit(next_slot, p);
                                    slot = Some(next_slot);
                                    next_slot += 1;
                                }
                            }
                        }
                        batch.push(Item {
                            record,
                            existing,
                            hash_slot: slot,
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
                            match rejects::RejectsWriter::create(dir, &name, &headers) {
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
            summary_of.push((report.files.len() > files_before).then_some(files_before));
            if let Some(w) = writer {
                rejects.0.push(w.finish()?);
            }
        }
        Ok(ReadOutcome {
            report,
            summary_of,
            rejects,
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
        }
    }
}
