//! A compact hash table for the packed attendance keys: about 13 bytes a key, grown a little at
//! a time, so a validation pass over millions of attendance rows holds little more than the
//! keys themselves (issue 16).
//!
//! The key goes through a bijective mix (`fmix64`); its top 16 bits choose one of 65,536 small
//! open-addressing tables (linear probing, at most 7/8 full, grown by a quarter), which store
//! only the other 48 bits and a `u32` value: 10 bytes a bucket. Because the mix is invertible,
//! the key is recovered from the part and the stored bits ([`KeyTable::iter`]). A growing part
//! rehashes only its own ~100 keys, so there is never a second copy of the whole table in
//! memory (a `HashMap` doubling at 5 M keys briefly holds both the old and the new table).
//!
//! Value 0 means "no entry"; callers store non-zero values only.

const PART_BITS: u32 = 16;
const PARTS: usize = 1 << PART_BITS;
const REM_BITS: u32 = 64 - PART_BITS;
const REM_MASK: u64 = (1 << REM_BITS) - 1;

/// 48 bits of the mixed key (little-endian), then the value.
type Bucket = [u8; 10];

#[derive(Default)]
struct Part {
    buckets: Vec<Bucket>,
    used: u32,
}

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

/// MurmurHash3's 64-bit finaliser: a bijection of `u64`.
fn mix(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(C1);
    k ^= k >> 33;
    k = k.wrapping_mul(C2);
    k ^= k >> 33;
    k
}

/// The inverse of [`mix`] (`x ^= x >> 33` is its own inverse on 64 bits).
fn unmix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(C2_INV);
    h ^= h >> 33;
    h = h.wrapping_mul(C1_INV);
    h ^= h >> 33;
    h
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
    /// Room for one more key, keeping the part at most 7/8 full.
    fn make_room(&mut self) {
        let cap = self.buckets.len();
        if (self.used as usize + 1) * 8 <= cap * 7 {
            return;
        }
        self.resize(cap + cap / 4 + 4);
    }

    fn resize(&mut self, cap: usize) {
        let old = std::mem::replace(&mut self.buckets, vec![[0u8; 10]; cap]);
        for b in old.iter().filter(|b| val_of(b) != 0) {
            let rem = rem_of(b);
            let mut i = home(rem, cap);
            while let Some(slot) = self.buckets.get_mut(i) {
                if val_of(slot) == 0 {
                    *slot = *b;
                    break;
                }
                i = if i + 1 == cap { 0 } else { i + 1 };
            }
        }
    }

    /// The bucket holding `rem`, or the empty bucket where it would go.
    fn find(&self, rem: u64) -> usize {
        let cap = self.buckets.len();
        let mut i = home(rem, cap);
        // The part is never full, so an empty bucket ends every probe.
        for _ in 0..cap {
            match self.buckets.get(i) {
                Some(b) if val_of(b) != 0 && rem_of(b) != rem => {
                    i = if i + 1 == cap { 0 } else { i + 1 };
                }
                _ => return i,
            }
        }
        i
    }
}

impl KeyTable {
    /// Keys held.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.len
    }

    fn split(key: u64) -> (usize, u64) {
        let h = mix(key);
        ((h >> REM_BITS) as usize, h & REM_MASK)
    }

    /// The value of `key` (0: none).
    pub(super) fn get(&self, key: u64) -> u32 {
        let (p, rem) = Self::split(key);
        let Some(part) = self.parts.get(p) else {
            return 0;
        };
        if part.buckets.is_empty() {
            return 0;
        }
        part.buckets.get(part.find(rem)).map_or(0, val_of)
    }

    /// Gives `key` the value `f(old)` (`old` is 0 when the key is new). A new key given 0
    /// stays out of the table; an existing key keeps its value when `f` returns 0.
    pub(super) fn update(&mut self, key: u64, f: impl FnOnce(u32) -> u32) {
        if self.parts.is_empty() {
            self.parts = (0..PARTS).map(|_| Part::default()).collect();
        }
        let (p, rem) = Self::split(key);
        let Some(part) = self.parts.get_mut(p) else {
            return;
        };
        part.make_room();
        let i = part.find(rem);
        let Some(b) = part.buckets.get_mut(i) else {
            return;
        };
        let old = val_of(b);
        let new = f(old);
        if new == 0 {
            return;
        }
        if old == 0 {
            part.used += 1;
            self.len += 1;
        }
        write(b, rem, new);
    }

    /// Makes room for `n` keys in all (before loading the database's keys).
    pub(super) fn reserve(&mut self, n: usize) {
        if self.parts.is_empty() {
            self.parts = (0..PARTS).map(|_| Part::default()).collect();
        }
        let per = (n / PARTS) * 8 / 7 + 8;
        for part in &mut self.parts {
            if part.buckets.len() < per {
                part.resize(per);
            }
        }
    }

    /// Every key with its value, in no particular order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        self.parts.iter().enumerate().flat_map(|(p, part)| {
            part.buckets
                .iter()
                .filter(|b| val_of(b) != 0)
                .map(move |b| (unmix(((p as u64) << REM_BITS) | rem_of(b)), val_of(b)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_is_a_bijection() {
        for k in [0u64, 1, 2, 42, u64::MAX, 1 << 40, 0xdead_beef_cafe_f00d] {
            assert_eq!(unmix(mix(k)), k);
        }
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

    #[test]
    fn reserve_keeps_what_is_there() {
        let mut t = KeyTable::default();
        t.update(5, |_| 9);
        t.reserve(1_000_000);
        assert_eq!(t.get(5), 9);
        t.update(u64::MAX, |_| 1);
        assert_eq!(t.get(u64::MAX), 1);
        assert_eq!(t.len(), 2);
    }
}
