//! A compact hash table for the packed attendance keys: about 13 bytes a key, grown a little at
//! a time, so a validation pass over millions of attendance rows holds little more than the
//! keys themselves (issue 16).
//!
//! The key's high 44 bits (an attendance key's student and course) go through a bijective mix
//! (`fmix64` narrowed); its top 16 bits choose one of 65,536 small open-addressing tables
//! (ordered linear probing, at most 7/8 full, grown by a quarter); the rest and the low 20 bits
//! (the day) are mixed again into the 48 bits the part stores with a `u32` value: 10 bytes a
//! bucket. All the days of one student and course land in one part, so a file sorted by student
//! stays in cache. Because both mixes are invertible,
//! the key is recovered from the part and the stored bits ([`KeyTable::iter`]). A growing part
//! rehashes only its own keys (~100 on average), so there is never a second copy of the whole table in
//! memory (a `HashMap` doubling at 5 M keys briefly holds both the old and the new table).
//!
//! Value 0 means "no entry"; callers store non-zero values only.

const PART_BITS: u32 = 16;
const PARTS: usize = 1 << PART_BITS;
const REM_BITS: u32 = 64 - PART_BITS;
#[cfg(test)]
const REM_MASK: u64 = (1 << REM_BITS) - 1;

/// 48 bits of the mixed key (little-endian), then the value.
type Bucket = [u8; 10];

/// One of the small tables: `cap` home positions, then [`SLACK`] buckets past the last home
/// (a run never wraps around). Keys are kept in order of their 48 bits along the array (ordered
/// linear probing, Amble and Knuth 1974): a lookup stops at the first larger key, so a key that
/// is not there costs about as few probes as one that is, instead of the ~30 probes of plain
/// linear probing at 7/8 full (a third of a validation pass's CPU went there).
#[derive(Default)]
struct Part {
    buckets: Vec<Bucket>,
    /// Home positions (`buckets.len() - SLACK`, or 0 for an empty part).
    cap: u32,
    used: u32,
}

/// Buckets past the last home position.
const SLACK: usize = 4;

/// The table (see the module docs).
#[derive(Default)]
pub(super) struct KeyTable {
    parts: Vec<Part>,
    len: usize,
}

const C1: u64 = 0xff51_afd7_ed55_8ccd;
const C2: u64 = 0xc4ce_b9fe_1a85_ec53;

/// The multiplicative inverse of an odd `a` modulo 2^64 (Newton's iteration).
const fn inverse(a: u64) -> u64 {
    let mut x = a; // correct to 3 bits
    let mut i = 0;
    while i < 6 {
        x = x.wrapping_mul(2u64.wrapping_sub(a.wrapping_mul(x)));
        i += 1;
    }
    x
}
const C1_INV: u64 = inverse(C1);
const C2_INV: u64 = inverse(C2);

/// The low bits of a key that do not choose its part (an attendance key's day): all the keys
/// of one student and course share a part, so a file sorted by student, as SIS exports usually
/// are, keeps working in the same few kilobytes instead of a random place of a table of tens of
/// megabytes (two cache misses a row were a third of a validation pass).
const LOCAL_BITS: u32 = 20;
/// The bits above them, mixed to choose the part (16 bits) and the rest of the remainder.
const HIGH_BITS: u32 = 64 - LOCAL_BITS;

const fn mask(bits: u32) -> u64 {
    (1u64 << bits) - 1
}

/// MurmurHash3's finaliser on `bits`-bit values (`bits` ≤ 63, shifts of half the width, the
/// products taken mod 2^bits): a bijection of `0..2^bits`.
fn mix(mut k: u64, bits: u32) -> u64 {
    let (m, s) = (mask(bits), bits / 2);
    k ^= k >> s;
    k = k.wrapping_mul(C1) & m;
    k ^= k >> s;
    k = k.wrapping_mul(C2) & m;
    k ^= k >> s;
    k
}

/// The inverse of [`mix`] (`x ^= x >> s` with `s` ≥ half the width is its own inverse).
fn unmix(mut h: u64, bits: u32) -> u64 {
    let (m, s) = (mask(bits), bits / 2);
    h ^= h >> s;
    h = h.wrapping_mul(C2_INV) & m;
    h ^= h >> s;
    h = h.wrapping_mul(C1_INV) & m;
    h ^= h >> s;
    h
}

/// A key's part and its 48 stored bits: the high bits are mixed and their top 16 choose the
/// part; the rest of them and the local bits are mixed again into the remainder, so the keys
/// of a part are spread evenly over it. A bijection (see [`join`]).
fn split(key: u64) -> (usize, u64) {
    let h = mix(key >> LOCAL_BITS, HIGH_BITS);
    let part = (h >> (HIGH_BITS - PART_BITS)) as usize;
    let r = ((h & mask(HIGH_BITS - PART_BITS)) << LOCAL_BITS) | (key & mask(LOCAL_BITS));
    (part, mix(r, REM_BITS))
}

/// The key of a part and remainder: the inverse of [`split`].
fn join(part: usize, rem: u64) -> u64 {
    let r = unmix(rem, REM_BITS);
    let h = ((part as u64) << (HIGH_BITS - PART_BITS)) | (r >> LOCAL_BITS);
    (unmix(h, HIGH_BITS) << LOCAL_BITS) | (r & mask(LOCAL_BITS))
}

fn rem_of(b: &Bucket) -> u64 {
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], 0, 0])
}

fn val_of(b: &Bucket) -> u32 {
    u32::from_le_bytes([b[6], b[7], b[8], b[9]])
}

fn write(b: &mut Bucket, rem: u64, val: u32) {
    let r = rem.to_le_bytes();
    let v = val.to_le_bytes();
    *b = [r[0], r[1], r[2], r[3], r[4], r[5], v[0], v[1], v[2], v[3]];
}

/// The home bucket of `rem` (< 2^48) in a part of `cap` buckets.
fn home(rem: u64, cap: usize) -> usize {
    ((u128::from(rem) * cap as u128) >> REM_BITS) as usize
}

impl Part {
    /// Room for one more key, keeping the part at most 7/8 full; true if the part was re-laid
    /// out (positions found before are stale).
    fn make_room(&mut self) -> bool {
        let cap = self.cap as usize;
        if (self.used as usize + 1) * 8 <= cap * 7 {
            return false;
        }
        self.resize(cap + cap / 4 + 4);
        true
    }

    /// Re-lays the part out over `cap` home positions; the keys stay in order, each at its
    /// home or right after the previous one (more slack is added if the last run needs it).
    fn resize(&mut self, cap: usize) {
        let old = std::mem::replace(&mut self.buckets, vec![[0u8; 10]; cap + SLACK]);
        self.cap = cap as u32;
        let mut next = 0;
        for b in old.iter().filter(|b| val_of(b) != 0) {
            let i = home(rem_of(b), cap).max(next);
            if i >= self.buckets.len() {
                self.buckets.reserve_exact(i + 1 - self.buckets.len());
                self.buckets.resize(i + 1, [0u8; 10]);
            }
            if let Some(slot) = self.buckets.get_mut(i) {
                *slot = *b;
            }
            next = i + 1;
        }
    }

    /// `Ok(i)`: the bucket holding `rem`; `Err(i)`: where it would go (an empty bucket, or the
    /// first larger key).
    fn find(&self, rem: u64) -> Result<usize, usize> {
        let mut i = home(rem, self.cap as usize);
        while let Some(b) = self.buckets.get(i) {
            if val_of(b) == 0 {
                return Err(i);
            }
            let r = rem_of(b);
            if r == rem {
                return Ok(i);
            }
            if r > rem {
                return Err(i);
            }
            i += 1;
        }
        Err(i)
    }

    /// Puts `rem` at `i` (from [`Part::find`]), moving the larger keys of the run up by one;
    /// false when the run reaches the end of the array (the caller grows the part).
    fn insert_at(&mut self, i: usize, rem: u64, val: u32) -> bool {
        let Some(gap) = self
            .buckets
            .get(i..)
            .and_then(|tail| tail.iter().position(|b| val_of(b) == 0))
        else {
            return false;
        };
        self.buckets.copy_within(i..i + gap, i + 1);
        if let Some(b) = self.buckets.get_mut(i) {
            write(b, rem, val);
        }
        self.used += 1;
        true
    }
}

impl KeyTable {
    /// Keys held.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The value of `key` (0: none).
    pub(super) fn get(&self, key: u64) -> u32 {
        let (p, rem) = split(key);
        let Some(part) = self.parts.get(p) else {
            return 0;
        };
        match part.find(rem) {
            Ok(i) => part.buckets.get(i).map_or(0, val_of),
            Err(_) => 0,
        }
    }

    /// Gives `key` the value `f(old)` (`old` is 0 when the key is new). A new key given 0
    /// stays out of the table; an existing key keeps its value when `f` returns 0.
    pub(super) fn update(&mut self, key: u64, f: impl FnOnce(u32) -> u32) {
        if self.parts.is_empty() {
            self.parts = (0..PARTS).map(|_| Part::default()).collect();
        }
        let (p, rem) = split(key);
        let Some(part) = self.parts.get_mut(p) else {
            return;
        };
        let at = match part.find(rem) {
            Ok(i) => {
                if let Some(b) = part.buckets.get_mut(i) {
                    let new = f(val_of(b));
                    if new != 0 {
                        write(b, rem, new);
                    }
                }
                return;
            }
            Err(i) => i,
        };
        let new = f(0);
        if new == 0 {
            return;
        }
        let mut at = at;
        if part.make_room() {
            at = match part.find(rem) {
                Ok(i) | Err(i) => i,
            };
        }
        // A run that reaches the end of the array gets more slack (nothing moves).
        while !part.insert_at(at, rem, new) {
            let len = part.buckets.len();
            part.buckets.reserve_exact(SLACK);
            part.buckets.resize(len + SLACK, [0u8; 10]);
        }
        self.len += 1;
    }

    /// Every key with its value, in no particular order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        self.parts.iter().enumerate().flat_map(|(p, part)| {
            part.buckets
                .iter()
                .filter(|b| val_of(b) != 0)
                .map(move |b| (join(p, rem_of(b)), val_of(b)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_is_a_bijection() {
        for k in [0u64, 1, 2, 42, u64::MAX, 1 << 40, 0xdead_beef_cafe_f00d] {
            let (p, rem) = split(k);
            assert!(p < PARTS && rem <= REM_MASK);
            assert_eq!(join(p, rem), k);
            for bits in [HIGH_BITS, REM_BITS] {
                let x = k & mask(bits);
                assert_eq!(unmix(mix(x, bits), bits), x);
                assert!(mix(x, bits) <= mask(bits));
            }
        }
        // The keys of one student and course (the same high bits) share a part.
        let key = |s: u64, c: u64, d: u64| (s << 40) | (c << 20) | d;
        assert!((0..200).all(|d| split(key(7, 3, d)).0 == split(key(7, 3, 0)).0));
        assert_eq!(C1.wrapping_mul(C1_INV), 1);
        assert_eq!(C2.wrapping_mul(C2_INV), 1);
    }

    #[test]
    fn keys_are_found_updated_and_listed() {
        let mut t = KeyTable::default();
        assert_eq!(t.get(7), 0);
        let n = 300_000u64;
        for k in 0..n {
            let key = k.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            t.update(key, |old| {
                assert_eq!(old, 0);
                (k + 1) as u32
            });
        }
        assert_eq!(t.len(), n as usize);
        for k in (0..n).step_by(7) {
            let key = k.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            assert_eq!(t.get(key), (k + 1) as u32);
        }
        // Updating keeps the count; 0 keeps the old value; a new key given 0 is not added.
        t.update(0, |old| old + 10);
        assert_eq!(t.get(0), 11);
        t.update(0, |_| 0);
        assert_eq!(t.get(0), 11);
        t.update(12345, |_| 0);
        assert_eq!(t.get(12345), 0);
        assert_eq!(t.len(), n as usize);
        let mut seen: Vec<(u64, u32)> = t.iter().collect();
        seen.sort_unstable();
        assert_eq!(seen.len(), n as usize);
        let mut want: Vec<(u64, u32)> = (0..n)
            .map(|k| (k.wrapping_mul(0x9e37_79b9_7f4a_7c15), (k + 1) as u32))
            .collect();
        want[0].1 = 11;
        want.sort_unstable();
        assert_eq!(seen, want);
    }

    /// Every part holds its keys in order, each at or after its home, with no gap between.
    fn assert_ordered(t: &KeyTable) {
        for part in &t.parts {
            let mut last: Option<u64> = None;
            for (i, b) in part.buckets.iter().enumerate() {
                if val_of(b) == 0 {
                    continue;
                }
                let rem = rem_of(b);
                assert!(last.is_none_or(|l| l < rem), "keys out of order");
                let h = home(rem, part.cap as usize);
                assert!(h <= i, "a key before its home");
                assert!(
                    part.buckets[h..i].iter().all(|b| val_of(b) != 0),
                    "a gap in a run"
                );
                last = Some(rem);
            }
        }
    }

    #[test]
    fn runs_at_the_end_of_a_part_get_more_room() {
        // 2,000 keys of part 0 whose 48 bits are the largest: all want the last home.
        let mut t = KeyTable::default();
        let keys: Vec<u64> = (0..2_000u64).map(|j| join(0, REM_MASK - j * 3)).collect();
        for (n, &k) in keys.iter().enumerate() {
            t.update(k, |old| {
                assert_eq!(old, 0);
                n as u32 + 1
            });
        }
        assert_ordered(&t);
        for (n, &k) in keys.iter().enumerate() {
            assert_eq!(t.get(k), n as u32 + 1);
        }
        // Keys that are not there, between and beyond them, are not found.
        assert_eq!(t.get(join(0, REM_MASK - 1)), 0);
        assert_eq!(t.get(join(0, 0)), 0);
        assert_eq!(t.iter().count(), keys.len());
    }

    #[test]
    fn agrees_with_a_hash_map_on_random_keys() {
        let mut t = KeyTable::default();
        let mut m = std::collections::HashMap::new();
        let mut x = 0x1234_5678_9abc_def0u64;
        for i in 0..400_000u32 {
            // xorshift; a quarter of the keys repeat an earlier one, a quarter are days of a
            // few hundred students and courses (many keys a part).
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let key = match i % 4 {
                3 => x % 50_000,
                2 => ((x % 300) << 20) | (x >> 44),
                _ => x,
            };
            let v = i + 1;
            t.update(key, |old| {
                assert_eq!(old, m.get(&key).copied().unwrap_or(0));
                v
            });
            m.insert(key, v);
            if i % 1_000 == 0 {
                assert_eq!(
                    t.get(x.rotate_left(7)),
                    m.get(&x.rotate_left(7)).copied().unwrap_or(0)
                );
            }
        }
        assert_eq!(t.len(), m.len());
        assert_ordered(&t);
        for (k, v) in &m {
            assert_eq!(t.get(*k), *v);
        }
        let mut listed: Vec<(u64, u32)> = t.iter().collect();
        let mut want: Vec<(u64, u32)> = m.into_iter().collect();
        listed.sort_unstable();
        want.sort_unstable();
        assert_eq!(listed, want);
    }
}
