//! Runs a push-style parser (calamine's borrowed cell reader, serde's visitors) on its own
//! thread and turns it into a pull-style iterator through a bounded channel.

use crate::{Error, Event, Value};
use registrar_model::{Issue, IssueCode};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Rows per message.
const BATCH: usize = 256;

/// One event, with the cells of the row when it is a `malformed-row` issue that has them
/// (for [`crate::RowSource::take_malformed_values`]).
type Sent = (Result<Event, Error>, Option<Vec<Value>>);

/// What the producer thread sends.
pub(crate) enum Msg {
    /// The header (names, header row); sent once, first.
    Headers(Vec<String>, u64),
    /// A batch of events.
    Events(Vec<Sent>),
    /// The producer finished normally.
    Done,
}

/// The producer's end: batches events; `send` returns false when the consumer is gone.
pub(crate) struct Producer {
    tx: SyncSender<Msg>,
    batch: Vec<Sent>,
}

impl Producer {
    /// Sends the header at once.
    pub(crate) fn headers(&mut self, headers: Vec<String>, row: u64) -> bool {
        self.tx.send(Msg::Headers(headers, row)).is_ok()
    }

    /// Queues one event; false when the consumer has hung up.
    pub(crate) fn send(&mut self, event: Result<Event, Error>) -> bool {
        self.push((event, None))
    }

    /// Queues a `malformed-row` issue with the cells of its row as read; false when the
    /// consumer has hung up.
    pub(crate) fn send_malformed(&mut self, issue: Issue, values: Vec<Value>) -> bool {
        self.push((Ok(Event::Issue(issue)), Some(values)))
    }

    fn push(&mut self, sent: Sent) -> bool {
        self.batch.push(sent);
        if self.batch.len() >= BATCH {
            return self.flush();
        }
        true
    }

    fn flush(&mut self) -> bool {
        if self.batch.is_empty() {
            return true;
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        self.tx.send(Msg::Events(batch)).is_ok()
    }

    /// Flushes and signals the end.
    pub(crate) fn done(mut self) {
        if self.flush() {
            let _ = self.tx.send(Msg::Done);
        }
    }
}

/// The consumer's end.
pub(crate) struct Consumer {
    rx: Receiver<Msg>,
    current: std::vec::IntoIter<Sent>,
    finished: bool,
    file: String,
    /// The cells sent with the event yielded last, if any.
    malformed: Option<Vec<Value>>,
}

/// Starts `work` on a new thread.
pub(crate) fn spawn<F>(file: &str, work: F) -> Consumer
where
    F: FnOnce(&mut Producer) + Send + 'static,
{
    let (tx, rx) = sync_channel(8);
    let spawned = std::thread::Builder::new()
        .name("registrar-reader".into())
        .spawn(move || {
            let mut producer = Producer {
                tx,
                batch: Vec::with_capacity(BATCH),
            };
            work(&mut producer);
            producer.done();
        });
    Consumer {
        rx,
        current: Vec::new().into_iter(),
        finished: spawned.is_err(),
        file: file.to_owned(),
        malformed: None,
    }
}

impl Consumer {
    /// Waits for the header; `Err` when the producer failed before it (its first error) or
    /// ended without one.
    pub(crate) fn headers(&mut self) -> Result<(Vec<String>, u64), Error> {
        loop {
            match self.rx.recv() {
                Ok(Msg::Headers(h, row)) => return Ok((h, row)),
                Ok(Msg::Events(batch)) => {
                    for (e, _) in batch {
                        e?;
                    }
                }
                Ok(Msg::Done) => return Ok((Vec::new(), 1)),
                Err(_) => return Err(self.crashed()),
            }
        }
    }

    /// The cells sent with the event yielded last (a `malformed-row` issue), once.
    pub(crate) fn take_malformed(&mut self) -> Option<Vec<Value>> {
        self.malformed.take()
    }

    fn crashed(&self) -> Error {
        crate::file_error(
            IssueCode::MalformedFile,
            &self.file,
            "the file could not be read (the reader stopped unexpectedly); check that it is not damaged".into(),
        )
    }
}

impl Iterator for Consumer {
    type Item = Result<Event, Error>;
    fn next(&mut self) -> Option<Self::Item> {
        self.malformed = None;
        loop {
            if let Some((e, values)) = self.current.next() {
                self.malformed = values;
                return Some(e);
            }
            if self.finished {
                return None;
            }
            match self.rx.recv() {
                Ok(Msg::Events(batch)) => self.current = batch.into_iter(),
                Ok(Msg::Headers(..)) => {}
                Ok(Msg::Done) => self.finished = true,
                Err(_) => {
                    self.finished = true;
                    return Some(Ok(Event::Issue(Issue::error(
                        IssueCode::MalformedFile,
                        self.file.clone(),
                        None,
                        None,
                        "the file could not be read to the end (the reader stopped unexpectedly); check that it is not damaged",
                    ))));
                }
            }
        }
    }
}
