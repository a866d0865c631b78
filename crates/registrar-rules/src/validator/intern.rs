//! Interned keys: users and courses as `u32` ids, and the raw spellings already seen.

use super::keys::RefSlot;
use super::FxMap;
use registrar_model::Value;

/// Interned users or courses. `get` remembers the last hit: attendance and grade files are
/// usually sorted by course or student, so consecutive rows often name the same key, and one
/// string comparison is cheaper than hashing and probing.
#[derive(Default)]
pub(super) struct Interner {
    ids: FxMap<Box<str>, u32>,
    keys: Vec<std::sync::Arc<str>>,
    slots: Vec<RefSlot>,
    last: std::cell::Cell<u32>,
}

impl Interner {
    pub(super) fn get(&self, s: &str) -> Option<u32> {
        let last = self.last.get();
        if let Some(k) = self.keys.get(last as usize) {
            if **k == *s {
                return Some(last);
            }
        }
        let id = self.ids.get(s).copied()?;
        self.last.set(id);
        Some(id)
    }
    pub(super) fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
        self.slots.push(RefSlot::default());
        self.keys.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }
    /// How many keys are interned (ids are `0..len`).
    pub(super) fn len(&self) -> u32 {
        u32::try_from(self.slots.len()).unwrap_or(u32::MAX)
    }
    pub(super) fn slot(&self, id: u32) -> RefSlot {
        self.slots.get(id as usize).copied().unwrap_or_default()
    }
    /// The normalised key of `id`.
    pub(super) fn key(&self, id: u32) -> &str {
        self.keys.get(id as usize).map(|k| &**k).unwrap_or("")
    }
    /// [`Interner::key`], shared: the records of every row that names `id` hold this one
    /// copy of its text (no allocation a row).
    pub(super) fn key_shared(&self, id: u32) -> std::sync::Arc<str> {
        self.keys
            .get(id as usize)
            .cloned()
            .unwrap_or_else(|| "".into())
    }
    pub(super) fn slot_mut(&mut self, id: u32) -> Option<&mut RefSlot> {
        self.slots.get_mut(id as usize)
    }
}

/// Raw cell text (trimmed, as written) → id of an interned key that this text was parsed to.
/// Only text that parsed successfully and named a known key is remembered, so a hit is known
/// valid and skips the parser; its normalised value is the interned key. Remembers the last hit
/// too (files are usually sorted by course or student).
#[derive(Default)]
pub(super) struct RawCache {
    ids: FxMap<Box<str>, u32>,
    last_raw: String,
    last_id: u32,
}

/// At most this many raw spellings are remembered (case variants of the same key each take one).
const RAW_CACHE_MAX: usize = 1 << 20;

impl RawCache {
    pub(super) fn get(&mut self, raw: &str) -> Option<u32> {
        if !self.last_raw.is_empty() && self.last_raw == raw {
            return Some(self.last_id);
        }
        let id = self.ids.get(raw).copied()?;
        self.last_raw.clear();
        self.last_raw.push_str(raw);
        self.last_id = id;
        Some(id)
    }
    pub(super) fn remember(&mut self, raw: &str, id: u32) {
        if self.ids.len() < RAW_CACHE_MAX {
            self.ids.insert(raw.into(), id);
        }
    }
}

/// The trimmed text of a text cell (the only kind the raw caches serve).
pub(super) fn raw_text(v: &Value) -> Option<&str> {
    match v {
        Value::Text(s) => Some(registrar_model::trim(s)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_cache_remembers_exact_text_and_the_last_hit() {
        let mut c = RawCache::default();
        assert_eq!(c.get("Carol@School.edu"), None);
        c.remember("Carol@School.edu", 3);
        c.remember("carol@school.edu", 3);
        assert_eq!(c.get("Carol@School.edu"), Some(3));
        assert_eq!(c.get("Carol@School.edu"), Some(3));
        assert_eq!(c.get("carol@school.edu"), Some(3));
        assert_eq!(c.get("CAROL@SCHOOL.EDU"), None);
        assert_eq!(c.get(""), None);
    }
}
