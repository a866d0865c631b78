//! JSON reader: an array of objects, `{"data": [...]}`, or NDJSON (`.jsonl`, `.ndjson`).
//!
//! # What it does
//! - **Headers** are the union of the keys of all objects, in first-seen order (trimmed). To
//!   know them before the first row without holding the file in memory, the file is read
//!   twice: a first pass collects the keys, the second yields the rows. At most 16,384 keys
//!   are kept; later new keys are ignored.
//! - **Values**: string → [`Value::Text`] (empty string → [`Value::Empty`]), integer →
//!   [`Value::Int`], other number → [`Value::Float`], boolean → [`Value::Bool`], null →
//!   [`Value::Empty`]; a missing key is [`Value::Empty`]. A nested object or array is a
//!   `malformed-row` issue naming the key; an item that is not an object is `malformed-row`.
//!   Either way the row's cells as read are kept for
//!   [`RowSource::take_malformed_values`] (see there), so a rejects file holds them.
//! - **Rows**: [`Row::row`] is the 1-based position in the array, or the line for NDJSON.
//! - **`.json`** is streamed element by element (serde on a reader thread). Broken JSON,
//!   nesting deeper than serde_json's recursion limit (128), a top level that is neither an
//!   array nor an object with a `data` array, or trailing garbage is [`Error::File`]
//!   (`malformed-file`) naming line and column, never the text.
//! - **NDJSON** is read line by line: a line that is not a JSON object is `malformed-row` at
//!   that line and reading goes on; blank lines are skipped; a line longer than
//!   `4 × max_field_size` (at least 64 KiB) is refused without being held in memory.
//! - More than `max_rows` rows is a `malformed-file` issue; reading stops.
use crate::channel::{spawn, Consumer, Producer};
use crate::counting::{Counter, Counting};
use crate::{Error, Event, Format, ReaderOptions, Row, RowSource, Value};
use registrar_model::{Issue, IssueCode};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value as Json;
use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

const MAX_KEYS: usize = crate::excel::MAX_COLUMNS;

/// Streaming JSON / NDJSON reader (see the module docs).
pub struct JsonSource {
    headers: Vec<String>,
    file: String,
    format: Format,
    inner: Inner,
    /// Bytes of the file read so far (by the pass that yields the rows).
    bytes: Counter,
}

enum Inner {
    Array(Consumer),
    Lines(Lines),
}

/// One array item or NDJSON line: an object with its members in file order, or anything else
/// (an array's elements, or the one scalar value).
enum Item {
    Object(Vec<(String, Json)>),
    Other(Vec<Json>),
}

impl<'de> serde::Deserialize<'de> for Item {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Item, D::Error> {
        struct ItemVisitor;
        impl<'de> Visitor<'de> for ItemVisitor {
            type Value = Item;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item, A::Error> {
                let mut members = Vec::new();
                while let Some(entry) = map.next_entry::<String, Json>()? {
                    members.push(entry);
                }
                Ok(Item::Object(members))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Item, A::Error> {
                // `Json`, not `IgnoredAny`: keeps serde_json's nesting limit in force. The
                // elements are kept (as an object's members are) for the rejects file.
                let mut elements = Vec::new();
                while let Some(e) = seq.next_element::<Json>()? {
                    elements.push(e);
                }
                Ok(Item::Other(elements))
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Item, E> {
                Ok(Item::Other(vec![Json::Bool(b)]))
            }
            fn visit_i64<E: de::Error>(self, i: i64) -> Result<Item, E> {
                Ok(Item::Other(vec![Json::from(i)]))
            }
            fn visit_u64<E: de::Error>(self, u: u64) -> Result<Item, E> {
                Ok(Item::Other(vec![Json::from(u)]))
            }
            fn visit_f64<E: de::Error>(self, f: f64) -> Result<Item, E> {
                Ok(Item::Other(vec![Json::from(f)]))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Item, E> {
                Ok(Item::Other(vec![Json::String(s.to_owned())]))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Item, E> {
                Ok(Item::Other(vec![Json::Null]))
            }
        }
        d.deserialize_any(ItemVisitor)
    }
}

/// The header: names and their positions.
#[derive(Clone, Default)]
struct Keys {
    names: Vec<String>,
    index: HashMap<String, usize>,
}

impl Keys {
    fn add_object(&mut self, obj: &[(String, Json)]) {
        for (k, _) in obj {
            if self.names.len() >= MAX_KEYS {
                return;
            }
            let name = crate::header_name(k);
            if !self.index.contains_key(name) {
                self.index.insert(name.to_owned(), self.names.len());
                self.names.push(name.to_owned());
            }
        }
    }

    /// Turns an item into an event: a row, or a `malformed-row` issue with the row's cells as
    /// read (see [`RowSource::take_malformed_values`]).
    fn event(&self, file: &str, row: u64, item: Item) -> (Event, Option<Vec<Value>>) {
        let obj = match item {
            Item::Object(obj) => obj,
            Item::Other(elements) => {
                let issue = Issue::error(
                    IssueCode::MalformedRow,
                    file,
                    Some(row),
                    None,
                    "this item is not a JSON object ({\"column\": value, ...})",
                );
                return (
                    Event::Issue(issue),
                    Some(elements.into_iter().map(cell).collect()),
                );
            }
        };
        let mut values = vec![Value::Empty; self.names.len()];
        let mut nested: Option<Issue> = None;
        for (k, v) in obj {
            let name = crate::header_name(&k);
            let Some(&i) = self.index.get(name) else {
                continue;
            };
            if nested.is_none() && (v.is_array() || v.is_object()) {
                let what = if v.is_array() {
                    "an array"
                } else {
                    "an object"
                };
                nested = Some(Issue::error(
                    IssueCode::MalformedRow,
                    file,
                    Some(row),
                    Some(name),
                    format!(
                        "the value of {name:?} is {what}; only strings, numbers, booleans and null are accepted"
                    ),
                ));
            }
            values[i] = cell(v);
        }
        match nested {
            Some(issue) => (Event::Issue(issue), Some(values)),
            None => (Event::Row(Row { row, values }), None),
        }
    }
}

/// A JSON value as a cell: a nested array or object is its compact JSON text.
fn cell(v: Json) -> Value {
    match v {
        Json::Null => Value::Empty,
        Json::Bool(b) => Value::Bool(b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) if s.is_empty() => Value::Empty,
        Json::String(s) => Value::Text(s),
        nested @ (Json::Array(_) | Json::Object(_)) => Value::Text(nested.to_string()),
    }
}

impl JsonSource {
    /// Opens a JSON or NDJSON file and determines its header (first pass).
    pub fn open(path: &Path, format: Format, options: &ReaderOptions) -> Result<JsonSource, Error> {
        let file = crate::file_name_of(path);
        let len = std::fs::metadata(path)
            .map_err(|source| Error::Io {
                path: path.to_path_buf(),
                source,
            })?
            .len();
        if len > options.max_file_size {
            return Err(crate::file_error(
                IssueCode::MalformedFile,
                &file,
                format!(
                    "the file is {len} bytes, more than the limit of {} bytes; raise --max-file-size if it is genuine",
                    options.max_file_size
                ),
            ));
        }
        let mut keys = Keys::default();
        // The first pass (the keys) is not counted: the bar shows the pass that yields rows.
        let bytes = Counter::default();
        let inner = if format == Format::Ndjson {
            let mut lines =
                Lines::open(path, &file, options, Keys::default(), &Counter::default())?;
            while let Some(item) = lines.next_item()? {
                if let LineItem::Object(Item::Object(obj)) = item.1 {
                    keys.add_object(&obj);
                }
            }
            Inner::Lines(Lines::open(path, &file, options, keys.clone(), &bytes)?)
        } else {
            stream_array(path, &file, &Counter::default(), &mut |item| {
                if let Item::Object(obj) = &item {
                    keys.add_object(obj);
                }
                true
            })?;
            let (p, f, k, max_rows, b) = (
                path.to_path_buf(),
                file.clone(),
                keys.clone(),
                options.max_rows,
                bytes.clone(),
            );
            Inner::Array(spawn(&file, move |out| {
                array_rows(p, f, k, max_rows, &b, out)
            }))
        };
        Ok(JsonSource {
            headers: keys.names,
            file,
            format,
            inner,
            bytes,
        })
    }
}

fn array_rows(
    path: PathBuf,
    file: String,
    keys: Keys,
    max_rows: u64,
    bytes: &Counter,
    out: &mut Producer,
) {
    let mut n: u64 = 0;
    let result = stream_array(&path, &file, bytes, &mut |item| {
        n += 1;
        if n > max_rows {
            out.send(Ok(Event::Issue(too_many_rows(&file, max_rows))));
            return false;
        }
        match keys.event(&file, n, item) {
            (Event::Issue(issue), Some(values)) => out.send_malformed(issue, values),
            (event, _) => out.send(Ok(event)),
        }
    });
    if let Err(e) = result {
        // The first pass read the whole file; this only happens if it changed meanwhile.
        let issue = match e {
            Error::File(issue) => *issue,
            Error::Io { source, .. } => Issue::error(
                IssueCode::UnreadableFile,
                file.clone(),
                None,
                None,
                format!("the file could not be read to the end: {source}"),
            ),
        };
        out.send(Ok(Event::Issue(issue)));
    }
}

fn too_many_rows(file: &str, max_rows: u64) -> Issue {
    Issue::error(
        IssueCode::MalformedFile,
        file,
        None,
        None,
        format!(
            "the file has more than {max_rows} rows (the --max-rows limit); the rest is not read"
        ),
    )
}

/// Why the top level was not accepted.
enum Top {
    Ok,
    Stopped,
    NotArray,
}

const STOP: &str = "registrar: reading stopped";

struct TopVisitor<'f> {
    f: &'f mut dyn FnMut(Item) -> bool,
    /// True inside `{"data": ...}`: only an array is accepted.
    data_only: bool,
}

impl<'de> Visitor<'de> for TopVisitor<'_> {
    type Value = Top;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of objects or {\"data\": [...]}")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Top, A::Error> {
        while let Some(item) = seq.next_element::<Item>()? {
            if !(self.f)(item) {
                return Err(de::Error::custom(STOP));
            }
        }
        Ok(Top::Ok)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        if self.data_only {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(Top::NotArray);
        }
        let mut result = Top::NotArray;
        let mut seen = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "data" && !seen {
                seen = true;
                result = map.next_value_seed(TopVisitor {
                    f: &mut *self.f,
                    data_only: true,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(result)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Top, E> {
        Ok(Top::NotArray)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Top, E> {
        Ok(Top::NotArray)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Top, E> {
        Ok(Top::NotArray)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Top, E> {
        Ok(Top::NotArray)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Top, E> {
        Ok(Top::NotArray)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Top, E> {
        Ok(Top::NotArray)
    }
}

impl<'de> DeserializeSeed<'de> for TopVisitor<'_> {
    type Value = Top;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Top, D::Error> {
        d.deserialize_any(self)
    }
}

/// Streams the items of a `.json` file to `f` (which returns false to stop).
/// `bytes` counts the bytes read.
fn stream_array(
    path: &Path,
    file: &str,
    bytes: &Counter,
    f: &mut dyn FnMut(Item) -> bool,
) -> Result<(), Error> {
    let reader = bytes.reader(crate::open_regular(path)?);
    let mut de = serde_json::Deserializer::from_reader(BufReader::with_capacity(64 * 1024, reader));
    let top = TopVisitor {
        f,
        data_only: false,
    }
    .deserialize(&mut de);
    let top = match top {
        Ok(t) => t,
        Err(e) if e.to_string().starts_with(STOP) => Top::Stopped,
        Err(e) => return Err(json_file_error(file, &e)),
    };
    match top {
        Top::Stopped => Ok(()),
        Top::NotArray => Err(crate::file_error(
            IssueCode::MalformedFile,
            file,
            "the JSON must be an array of objects, or an object whose \"data\" member is that array".into(),
        )),
        Top::Ok => de.end().map_err(|e| json_file_error(file, &e)),
    }
}

/// A `malformed-file` error for broken JSON: where and what kind, never the text.
fn json_file_error(file: &str, e: &serde_json::Error) -> Error {
    if e.is_io() {
        return crate::file_error(
            IssueCode::UnreadableFile,
            file,
            "the file could not be read".into(),
        );
    }
    let what = if e.to_string().contains("recursion limit") {
        "it is nested too deeply (more than 128 levels)"
    } else if e.is_eof() {
        "it ends too early"
    } else if e.is_data() {
        "a value has the wrong type"
    } else {
        "it is not valid JSON (or not UTF-8)"
    };
    crate::file_error_at(
        IssueCode::MalformedFile,
        file,
        e.line() as u64,
        format!(
            "the JSON cannot be read: {what} at line {} column {}",
            e.line(),
            e.column()
        ),
    )
}

/// One NDJSON line, parsed.
enum LineItem {
    Object(Item),
    /// Valid JSON, not an object: an array's elements, or the one value.
    NotObject(Vec<Json>),
    Bad(String),
}

/// Reads an NDJSON file line by line with a bounded line length.
struct Lines {
    reader: BufReader<Counting<File>>,
    path: PathBuf,
    file: String,
    keys: Keys,
    buf: Vec<u8>,
    line: u64,
    limit: usize,
    max_rows: u64,
    rows: u64,
    done: bool,
    /// The cells of the last `malformed-row` line, when it had any.
    malformed: Option<Vec<Value>>,
}

impl Lines {
    /// `bytes` counts the bytes read.
    fn open(
        path: &Path,
        file: &str,
        options: &ReaderOptions,
        keys: Keys,
        bytes: &Counter,
    ) -> Result<Lines, Error> {
        let f = crate::open_regular(path)?;
        Ok(Lines {
            reader: BufReader::with_capacity(64 * 1024, bytes.reader(f)),
            path: path.to_path_buf(),
            file: file.to_owned(),
            keys,
            buf: Vec::new(),
            line: 0,
            limit: options.max_field_size.saturating_mul(4).max(64 * 1024),
            max_rows: options.max_rows,
            rows: 0,
            done: false,
            malformed: None,
        })
    }

    /// Reads one line into `buf`; `Ok(None)` at the end, `Ok(Some(false))` when too long.
    fn read_line(&mut self) -> Result<Option<bool>, Error> {
        self.buf.clear();
        let mut any = false;
        let mut fits = true;
        loop {
            let chunk = match self.reader.fill_buf() {
                Ok(c) => c,
                Err(source) => {
                    return Err(Error::Io {
                        path: self.path.clone(),
                        source,
                    })
                }
            };
            if chunk.is_empty() {
                return Ok(if any { Some(fits) } else { None });
            }
            any = true;
            let (take, end) = match chunk.iter().position(|&b| b == b'\n') {
                Some(p) => (p + 1, true),
                None => (chunk.len(), false),
            };
            if fits {
                if self.buf.len() + take > self.limit {
                    fits = false;
                    self.buf.clear();
                } else {
                    self.buf.extend_from_slice(&chunk[..take]);
                }
            }
            self.reader.consume(take);
            if end {
                return Ok(Some(fits));
            }
        }
    }

    /// The next non-blank line: its number and what it holds.
    fn next_item(&mut self) -> Result<Option<(u64, LineItem)>, Error> {
        loop {
            let Some(fits) = self.read_line()? else {
                return Ok(None);
            };
            self.line += 1;
            if !fits {
                return Ok(Some((
                    self.line,
                    LineItem::Bad(format!("this line is longer than {} bytes", self.limit)),
                )));
            }
            let mut text: &[u8] = &self.buf;
            if self.line == 1 {
                text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
            }
            let text = text.trim_ascii();
            if text.is_empty() {
                continue;
            }
            let item = match serde_json::from_slice::<Item>(text) {
                Ok(v @ Item::Object(_)) => LineItem::Object(v),
                Ok(Item::Other(elements)) => LineItem::NotObject(elements),
                Err(e) => {
                    let what = if e.to_string().contains("recursion limit") {
                        "it is nested too deeply"
                    } else {
                        "it is not valid JSON (or not UTF-8)"
                    };
                    LineItem::Bad(format!(
                        "this line cannot be read: {what} at column {}",
                        e.column()
                    ))
                }
            };
            return Ok(Some((self.line, item)));
        }
    }

    fn next_event(&mut self) -> Option<Result<Event, Error>> {
        self.malformed = None;
        if self.done {
            return None;
        }
        let (line, item) = match self.next_item() {
            Ok(Some(x)) => x,
            Ok(None) => {
                self.done = true;
                return None;
            }
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        Some(Ok(match item {
            LineItem::Bad(message) => Event::Issue(Issue::error(
                IssueCode::MalformedRow,
                self.file.clone(),
                Some(line),
                None,
                message,
            )),
            LineItem::NotObject(elements) => {
                self.malformed = Some(elements.into_iter().map(cell).collect());
                Event::Issue(Issue::error(
                    IssueCode::MalformedRow,
                    self.file.clone(),
                    Some(line),
                    None,
                    "this line is not a JSON object ({\"column\": value, ...})",
                ))
            }
            LineItem::Object(item) => {
                self.rows += 1;
                if self.rows > self.max_rows {
                    self.done = true;
                    return Some(Ok(Event::Issue(too_many_rows(&self.file, self.max_rows))));
                }
                match self.keys.event(&self.file, line, item) {
                    (Event::Row(r), _) if r.is_blank() => return self.next_event(),
                    (event, cells) => {
                        self.malformed = cells;
                        event
                    }
                }
            }
        }))
    }
}

impl Iterator for JsonSource {
    type Item = Result<Event, Error>;
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            Inner::Array(c) => loop {
                match c.next()? {
                    Ok(Event::Row(r)) if r.is_blank() => continue,
                    other => return Some(other),
                }
            },
            Inner::Lines(l) => l.next_event(),
        }
    }
}

impl RowSource for JsonSource {
    fn headers(&self) -> &[String] {
        &self.headers
    }
    fn take_malformed_values(&mut self) -> Option<Vec<Value>> {
        match &mut self.inner {
            Inner::Array(c) => c.take_malformed(),
            Inner::Lines(l) => l.malformed.take(),
        }
    }
    fn header_row(&self) -> u64 {
        1
    }
    fn format(&self) -> Format {
        self.format
    }
    fn file_name(&self) -> &str {
        &self.file
    }
    fn bytes_read(&self) -> Option<u64> {
        Some(self.bytes.get())
    }
}
