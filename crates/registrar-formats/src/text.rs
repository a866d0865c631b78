//! Byte sources for the text formats: BOM sniffing, streaming transcoding to UTF-8 and a
//! replayable "tape" that lets the CSV reader restart at a given line.

use encoding_rs::{DecoderResult, Encoding, UTF_16BE, UTF_16LE};
use std::fmt;
use std::io::{self, Read};

/// How the text of a file is encoded, as decided from `--encoding` and the BOM.
pub(crate) enum Source {
    /// UTF-8 bytes (BOM removed) that the reader validates itself.
    Utf8(Box<dyn Read + Send>),
    /// Bytes transcoded to UTF-8 from another encoding.
    Decoded(Box<dyn Read + Send>, &'static Encoding),
}

/// Opens a text stream: `label` is a WHATWG encoding label (`None`: UTF-8, or UTF-16 with a BOM).
/// An unknown label is `Err(label)`.
pub(crate) fn text_source<R: Read + Send + 'static>(
    mut inner: R,
    label: Option<&str>,
) -> io::Result<Result<Source, String>> {
    let mut prefix = [0u8; 3];
    let mut n = 0;
    while n < 3 {
        match inner.read(&mut prefix[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let head = prefix[..n].to_vec();
    if let Some(label) = label {
        let Some(enc) = Encoding::for_label(label.trim().as_bytes()) else {
            return Ok(Err(label.to_owned()));
        };
        let chained = io::Cursor::new(head).chain(inner);
        // `new_decoder` sniffs a BOM, which wins over the label (as browsers do).
        return Ok(Ok(Source::Decoded(
            Box::new(DecodeReader::new(chained, enc)),
            enc,
        )));
    }
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Ok(Ok(Source::Utf8(Box::new(inner))));
    }
    let utf16 = if head.starts_with(&[0xFF, 0xFE]) {
        Some(UTF_16LE)
    } else if head.starts_with(&[0xFE, 0xFF]) {
        Some(UTF_16BE)
    } else {
        None
    };
    let chained = io::Cursor::new(head).chain(inner);
    Ok(Ok(match utf16 {
        Some(enc) => Source::Decoded(Box::new(DecodeReader::new(chained, enc)), enc),
        None => Source::Utf8(Box::new(chained)),
    }))
}

/// A transcoding error: the input is not valid in its encoding; `line` is the first bad line.
#[derive(Debug)]
pub(crate) struct DecodeError {
    pub(crate) line: u64,
    pub(crate) encoding: &'static str,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {} is not valid {}", self.line, self.encoding)
    }
}

impl std::error::Error for DecodeError {}

/// Streams bytes of any encoding as UTF-8, with no replacement characters: a malformed
/// sequence is an `io::Error` wrapping [`DecodeError`].
pub(crate) struct DecodeReader<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    encoding: &'static Encoding,
    input: Box<[u8]>,
    in_start: usize,
    in_end: usize,
    input_done: bool,
    output: Box<[u8]>,
    out_start: usize,
    out_end: usize,
    newlines: u64,
    pending_error: bool,
    finished: bool,
}

impl<R: Read> DecodeReader<R> {
    pub(crate) fn new(inner: R, encoding: &'static Encoding) -> Self {
        DecodeReader {
            inner,
            decoder: encoding.new_decoder(),
            encoding,
            input: vec![0; 32 * 1024].into_boxed_slice(),
            in_start: 0,
            in_end: 0,
            input_done: false,
            output: vec![0; 96 * 1024 + 16].into_boxed_slice(),
            out_start: 0,
            out_end: 0,
            newlines: 0,
            pending_error: false,
            finished: false,
        }
    }

    fn refill(&mut self) -> io::Result<()> {
        loop {
            if self.pending_error {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    DecodeError {
                        line: self.newlines + 1,
                        encoding: self.encoding.name(),
                    },
                ));
            }
            if self.finished {
                return Ok(());
            }
            if self.in_start == self.in_end && !self.input_done {
                self.in_start = 0;
                self.in_end = 0;
                loop {
                    match self.inner.read(&mut self.input) {
                        Ok(0) => {
                            self.input_done = true;
                            break;
                        }
                        Ok(n) => {
                            self.in_end = n;
                            break;
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            let last = self.input_done;
            let (result, read, written) = self.decoder.decode_to_utf8_without_replacement(
                &self.input[self.in_start..self.in_end],
                &mut self.output,
                last,
            );
            self.in_start += read;
            self.out_start = 0;
            self.out_end = written;
            match result {
                DecoderResult::InputEmpty => {
                    if last {
                        self.finished = true;
                    }
                }
                DecoderResult::OutputFull => {}
                DecoderResult::Malformed(_, _) => self.pending_error = true,
            }
            if written > 0 {
                return Ok(());
            }
        }
    }
}

impl<R: Read> Read for DecodeReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.out_start == self.out_end {
            self.refill()?;
        }
        let n = (self.out_end - self.out_start).min(buf.len());
        let chunk = &self.output[self.out_start..self.out_start + n];
        self.newlines += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
        buf[..n].copy_from_slice(chunk);
        self.out_start += n;
        Ok(n)
    }
}

/// Classic Mac line endings: when the first line of `inner` ends with a lone `\r`, every
/// `\r` and `\r\n` is read as `\n`, so that lines (and row numbers) are counted as a person
/// sees them; any other file is passed through unchanged.
pub(crate) fn cr_lines(mut inner: Box<dyn Read + Send>) -> io::Result<Box<dyn Read + Send>> {
    const PEEK: usize = 64 * 1024;
    let mut head = Vec::new();
    let mut chunk = [0u8; 8 * 1024];
    let cr_only = loop {
        if let Some(p) = head.iter().position(|&b| b == b'\r' || b == b'\n') {
            if head[p] == b'\n' {
                break false;
            }
            if p + 1 < head.len() {
                break head[p + 1] != b'\n';
            }
        } else if head.len() >= PEEK {
            break false;
        }
        let n = loop {
            match inner.read(&mut chunk) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        if n == 0 {
            // End of input: a lone `\r` as the very last byte counts.
            break head.last() == Some(&b'\r') && !head.contains(&b'\n');
        }
        head.extend_from_slice(&chunk[..n]);
    };
    let chained: Box<dyn Read + Send> = Box::new(io::Cursor::new(head).chain(inner));
    Ok(if cr_only {
        Box::new(CrToLf {
            inner: chained,
            last_was_cr: false,
        })
    } else {
        chained
    })
}

/// Reads `\r` and `\r\n` as `\n`.
struct CrToLf {
    inner: Box<dyn Read + Send>,
    last_was_cr: bool,
}

impl Read for CrToLf {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.inner.read(buf)?;
            if n == 0 {
                return Ok(0);
            }
            let mut w = 0;
            for i in 0..n {
                let b = buf[i];
                if b == b'\n' && self.last_was_cr {
                    self.last_was_cr = false;
                    continue;
                }
                self.last_was_cr = b == b'\r';
                buf[w] = if b == b'\r' { b'\n' } else { b };
                w += 1;
            }
            if w > 0 {
                return Ok(w);
            }
        }
    }
}

/// The record being read is longer than the limit (bytes since the mark).
#[derive(Debug)]
pub(crate) struct TooLong;

impl fmt::Display for TooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("record too long")
    }
}

impl std::error::Error for TooLong {}

/// A reader that keeps every byte from a *mark* onwards so that reading can restart there.
///
/// Offsets are absolute (bytes of the stream since its start). Bytes before the mark are
/// dropped; more than `limit` bytes after the mark (not counting blank lines right after
/// it) make `read` fail with [`TooLong`], which bounds memory for a huge record.
pub(crate) struct Tape {
    inner: Box<dyn Read + Send>,
    buf: Vec<u8>,
    base: u64,
    cursor: u64,
    mark: u64,
    mark_line: u64,
    limit: u64,
}

impl Tape {
    pub(crate) fn new(inner: Box<dyn Read + Send>, limit: u64) -> Tape {
        Tape {
            inner,
            buf: Vec::new(),
            base: 0,
            cursor: 0,
            mark: 0,
            mark_line: 1,
            limit,
        }
    }

    /// Absolute offset of the next byte `read` returns.
    pub(crate) fn cursor(&self) -> u64 {
        self.cursor
    }

    /// The line of the mark (advanced over blank lines skipped while reading).
    pub(crate) fn mark_line(&self) -> u64 {
        self.mark_line
    }

    /// The absolute offset and line of the first byte after the mark that is not a line end:
    /// where the record read since the mark really starts (csv positions include the blank
    /// lines and the `\n` of a CRLF before a record).
    pub(crate) fn record_start(&self) -> (u64, u64) {
        let end = self.base + self.buf.len() as u64;
        let (mut off, mut line) = (self.mark, self.mark_line);
        while off < end {
            match self.buf[(off - self.base) as usize] {
                b'\n' => line += 1,
                b'\r' => {}
                _ => break,
            }
            off += 1;
        }
        (off, line)
    }

    /// Sets the mark (a record start at `offset`, on line `line`).
    pub(crate) fn set_mark(&mut self, offset: u64, line: u64) {
        self.mark = offset.max(self.base);
        self.mark_line = line;
    }

    /// Moves the cursor back to the mark.
    pub(crate) fn rewind(&mut self) {
        self.cursor = self.mark;
    }

    /// The kept bytes from `from` up to what has been read from the source so far.
    pub(crate) fn kept(&self, from: u64, to: u64) -> Option<&[u8]> {
        let end = self.base + self.buf.len() as u64;
        if from < self.base || to > end || from > to {
            return None;
        }
        Some(&self.buf[(from - self.base) as usize..(to - self.base) as usize])
    }

    /// Reads more of the source into the tape; false at end of input.
    fn fill(&mut self) -> io::Result<bool> {
        self.compact();
        let old = self.buf.len();
        self.buf.resize(old + 64 * 1024, 0);
        let n = loop {
            match self.inner.read(&mut self.buf[old..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buf.truncate(old);
                    return Err(e);
                }
            }
        };
        self.buf.truncate(old + n);
        Ok(n > 0)
    }

    /// Drops bytes before the mark once enough of them pile up; advances the mark over
    /// blank lines so that millions of them never accumulate.
    fn compact(&mut self) {
        let end = self.base + self.buf.len() as u64;
        let mut m = (self.mark - self.base) as usize;
        let stop = (self.cursor.min(end) - self.base) as usize;
        while m < stop && (self.buf[m] == b'\n' || self.buf[m] == b'\r') {
            if self.buf[m] == b'\n' {
                self.mark_line += 1;
            }
            m += 1;
        }
        self.mark = self.base + m as u64;
        if m >= 64 * 1024 && m * 2 >= self.buf.len() {
            self.buf.drain(..m);
            self.base += m as u64;
        }
    }

    /// Peeks at the first line (at most `max` bytes) from the cursor without consuming it.
    pub(crate) fn peek_line(&mut self, max: usize) -> io::Result<&[u8]> {
        loop {
            let start = (self.cursor - self.base) as usize;
            let avail = &self.buf[start..];
            if avail.contains(&b'\n') || avail.len() >= max {
                break;
            }
            if !self.fill()? {
                break;
            }
        }
        let start = (self.cursor - self.base) as usize;
        let avail = &self.buf[start..];
        let end = avail
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(avail.len())
            .min(max);
        Ok(&avail[..end])
    }

    /// Skips to just after the next `\n` without keeping the bytes; false at end of input.
    pub(crate) fn skip_line(&mut self) -> io::Result<bool> {
        loop {
            let end = self.base + self.buf.len() as u64;
            if self.cursor < end {
                let start = (self.cursor - self.base) as usize;
                if let Some(p) = self.buf[start..].iter().position(|&b| b == b'\n') {
                    self.cursor += p as u64 + 1;
                    self.mark = self.cursor;
                    return Ok(true);
                }
                self.cursor = end;
            }
            self.mark = self.cursor;
            // Nothing before the cursor is needed: drop it all.
            self.base = self.cursor;
            self.buf.clear();
            if !self.fill()? {
                return Ok(false);
            }
        }
    }

    /// Skips `\r` and `\n` bytes at the cursor, returning how many `\n` were skipped.
    pub(crate) fn skip_blank(&mut self) -> io::Result<u64> {
        let mut lines = 0;
        loop {
            let end = self.base + self.buf.len() as u64;
            while self.cursor < end {
                match self.buf[(self.cursor - self.base) as usize] {
                    b'\n' => lines += 1,
                    b'\r' => {}
                    _ => {
                        self.mark = self.cursor;
                        return Ok(lines);
                    }
                }
                self.cursor += 1;
            }
            self.mark = self.cursor;
            self.base = self.cursor;
            self.buf.clear();
            if !self.fill()? {
                return Ok(lines);
            }
        }
    }
}

impl Read for Tape {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut end = self.base + self.buf.len() as u64;
        if self.cursor >= end {
            if self.cursor - self.mark > self.limit {
                self.compact();
                if self.cursor - self.mark > self.limit {
                    return Err(io::Error::other(TooLong));
                }
            }
            if !self.fill()? {
                return Ok(0);
            }
            end = self.base + self.buf.len() as u64;
        }
        let start = (self.cursor - self.base) as usize;
        let n = ((end - self.cursor) as usize).min(out.len());
        out[..n].copy_from_slice(&self.buf[start..start + n]);
        self.cursor += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(mut r: impl Read) -> io::Result<Vec<u8>> {
        let mut v = Vec::new();
        r.read_to_end(&mut v)?;
        Ok(v)
    }

    #[test]
    fn decodes_utf16le_with_bom() -> io::Result<()> {
        let mut bytes = vec![0xFF, 0xFE];
        for u in "a,b\nc,d\n".encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        let Ok(Source::Decoded(r, enc)) = text_source(io::Cursor::new(bytes), None)? else {
            panic!("expected a decoded source");
        };
        assert_eq!(enc, UTF_16LE);
        assert_eq!(read_all(r)?, b"a,b\nc,d\n");
        Ok(())
    }

    #[test]
    fn malformed_input_names_the_line() -> io::Result<()> {
        let bytes = b"ok\nok\n\xFF\xFEx".to_vec();
        let r = DecodeReader::new(io::Cursor::new(bytes), encoding_rs::UTF_8);
        let err = read_all(r).expect_err("must fail");
        let de = err
            .get_ref()
            .and_then(|e| e.downcast_ref::<DecodeError>())
            .expect("a DecodeError");
        assert_eq!(de.line, 3);
        Ok(())
    }

    #[test]
    fn classic_mac_line_endings_read_as_lines() -> io::Result<()> {
        let r = cr_lines(Box::new(io::Cursor::new(b"a,b\rc,d\r\ne\r".to_vec())))?;
        assert_eq!(read_all(r)?, b"a,b\nc,d\ne\n");
        // Files whose first line ends in \n or \r\n are passed through unchanged.
        let r = cr_lines(Box::new(io::Cursor::new(b"a\r\nb\rc\n".to_vec())))?;
        assert_eq!(read_all(r)?, b"a\r\nb\rc\n");
        let r = cr_lines(Box::new(io::Cursor::new(b"a\nb\rc".to_vec())))?;
        assert_eq!(read_all(r)?, b"a\nb\rc");
        Ok(())
    }

    #[test]
    fn unknown_label_is_refused() -> io::Result<()> {
        let r = text_source(io::Cursor::new(b"x".to_vec()), Some("klingon"))?;
        assert!(matches!(r, Err(l) if l == "klingon"));
        Ok(())
    }

    #[test]
    fn tape_rewinds_to_mark_and_limits_records() -> io::Result<()> {
        let mut t = Tape::new(Box::new(io::Cursor::new(b"abc\ndef\n".to_vec())), 100);
        let mut b = [0u8; 4];
        t.read_exact(&mut b)?;
        assert_eq!(&b, b"abc\n");
        t.set_mark(4, 2);
        t.read_exact(&mut b)?;
        t.rewind();
        t.read_exact(&mut b)?;
        assert_eq!(&b, b"def\n");

        let mut big = Tape::new(Box::new(io::Cursor::new(vec![b'x'; 300_000])), 1000);
        let err = read_all(&mut big).expect_err("too long");
        assert!(err.get_ref().is_some_and(|e| e.is::<TooLong>()));
        Ok(())
    }

    #[test]
    fn tape_skips_blank_lines_without_keeping_them() -> io::Result<()> {
        let mut data = vec![b'\n'; 1_000_000];
        data.extend_from_slice(b"x\n");
        let mut t = Tape::new(Box::new(io::Cursor::new(data)), 1000);
        let v = read_all(&mut t)?;
        assert_eq!(v.len(), 1_000_002);
        assert_eq!(t.mark_line(), 1_000_001);
        Ok(())
    }
}
