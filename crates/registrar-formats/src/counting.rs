//! Bytes read of a file, shared between a reader and its [`registrar_model::RowSource`]
//! (`bytes_read`), so that a progress bar can show how far into the file a run is.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A count of bytes read, shared with the reading thread.
#[derive(Debug, Clone, Default)]
pub(crate) struct Counter(Arc<AtomicU64>);

impl Counter {
    /// Bytes read so far.
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// `inner`, counting every byte read from it here.
    pub(crate) fn reader<R: Read>(&self, inner: R) -> Counting<R> {
        Counting {
            inner,
            counter: self.clone(),
        }
    }
}

/// A reader that adds the bytes it reads to a [`Counter`].
#[derive(Debug)]
pub(crate) struct Counting<R> {
    inner: R,
    counter: Counter,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.0.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_byte_read() {
        let c = Counter::default();
        let mut r = c.reader(&b"hello, world"[..]);
        let mut buf = [0u8; 5];
        r.read_exact(&mut buf).unwrap();
        assert_eq!(c.get(), 5);
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).unwrap();
        assert_eq!(c.get(), 12);
    }
}
