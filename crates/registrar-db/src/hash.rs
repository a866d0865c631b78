//! Password hashing: argon2id with OWASP's parameters (m = 19456 KiB, t = 2, p = 1), a random
//! 16-byte salt per password, stored as a PHC string
//! (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`).
//!
//! [`hash_password`] hashes one password; [`HashPipeline`] hashes many on every core while the
//! caller goes on reading and validating: each rayon thread reuses its own 19 MiB argon2 memory
//! block (no allocation per hash), and each plain password is zeroized as soon as it is hashed
//! ([`Password`] zeroizes on drop, and the job drops it right after hashing).
//!
//! # Example
//! ```
//! use registrar_db::hash::{hash_password, verify_password, is_argon2_hash};
//! use registrar_model::Password;
//! let phc = hash_password(&Password::new("correct horse battery"));
//! assert!(is_argon2_hash(&phc));
//! assert!(verify_password("correct horse battery", &phc));
//! assert!(!verify_password("wrong", &phc));
//! ```

use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand_core::{OsRng, RngCore};
use registrar_model::Password;
use std::cell::RefCell;
use std::sync::{Arc, OnceLock};
use tokio::sync::mpsc;

/// argon2 memory cost in KiB (OWASP).
pub const M_COST: u32 = 19_456;
/// argon2 iterations (OWASP).
pub const T_COST: u32 = 2;
/// argon2 lanes (OWASP).
pub const P_COST: u32 = 1;
/// Salt length in bytes.
const SALT_LEN: usize = 16;
/// Hash output length in bytes.
const OUT_LEN: usize = 32;

fn params() -> Params {
    // The constants are valid argon2 parameters; `Params::DEFAULT` is the same set.
    Params::new(M_COST, T_COST, P_COST, Some(OUT_LEN)).unwrap_or(Params::DEFAULT)
}

fn hasher() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
}

thread_local! {
    /// Each thread's argon2 working memory, allocated once and reused for every hash.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Hashes with this thread's reusable memory block and builds the PHC string.
fn hash_with_thread_memory(plain: &[u8]) -> Result<String, argon2::password_hash::Error> {
    let argon = hasher();
    let mut salt = [0u8; SALT_LEN];
    OsRng.fill_bytes(&mut salt);
    let mut out = [0u8; OUT_LEN];
    BLOCKS.with(|cell| {
        let mut blocks = cell.borrow_mut();
        let need = argon.params().block_count();
        if blocks.len() != need {
            *blocks = vec![Block::default(); need];
        }
        argon.hash_password_into_with_memory(plain, &salt, &mut out, &mut blocks[..])
    })?;
    let salt_string = SaltString::encode_b64(&salt)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: argon2::password_hash::ParamsString::try_from(argon.params())?,
        salt: Some(salt_string.as_salt()),
        hash: Some(Output::new(&out)?),
    };
    Ok(phc.to_string())
}

/// Hashes a password with argon2id (m = 19456 KiB, t = 2, p = 1) and a random salt, returning
/// the PHC string. Reuses the calling thread's argon2 memory block.
///
/// # Panics
/// Only if argon2 refuses its input, which happens for passwords over 4 GiB (the password
/// policy allows at most 128 characters).
pub fn hash_password(p: &Password) -> String {
    match hash_with_thread_memory(p.expose_secret().as_bytes()) {
        Ok(s) => s,
        Err(e) => panic!("argon2 refused to hash a password: {e}"),
    }
}

/// True when `plain` matches the stored hash `phc`, of any scheme `registrar-hashes` knows
/// (argon2, bcrypt, SHA-crypt, MD5-crypt, SSHA, Django PBKDF2, hex MD5/SHA-1); false for a
/// wrong password, for a hash that does not parse and for one whose cost is beyond the caps
/// (it is never run, so this is bounded).
pub fn verify_password(plain: &str, phc: &str) -> bool {
    matches!(registrar_hashes::verify(plain, phc), Ok(true))
}

fn is_argon2_ident(s: &str) -> bool {
    matches!(s, "argon2id" | "argon2i" | "argon2d")
}

/// True when `phc` parses as an argon2 (id, i or d) PHC string with a salt and a hash.
pub fn is_argon2_hash(phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(h) => is_argon2_ident(h.algorithm.as_str()) && h.salt.is_some() && h.hash.is_some(),
        Err(_) => false,
    }
}

/// The process-wide hashing pool: one thread per core.
fn pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("registrar-argon2-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

/// The result of one hashing job: the slot it was submitted with, and the PHC string (or why
/// there is none).
pub type HashResult = (u32, Result<String, HashError>);

/// Why a hashing job gave no hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashError {
    /// [`HashPipeline::cancel`] was called before the job started: the run that submitted it
    /// can no longer succeed, and the password was dropped unhashed. Not a failure of its own:
    /// a consumer stops waiting and lets the run report why it failed.
    Cancelled,
    /// argon2 refused the input (text that never contains the password).
    Refused(String),
}

impl std::fmt::Display for HashError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HashError::Cancelled => f.write_str("hashing cancelled"),
            HashError::Refused(m) => f.write_str(m),
        }
    }
}

/// A hashing pipeline: [`HashPipeline::submit`] queues a password on the rayon pool (one
/// thread per core, each reusing its memory block) and returns at once; results arrive on the
/// [`HashResults`] half, in completion order, tagged with the caller's slot number.
///
/// The submitting half is `Clone + Send`, so a reading/validating thread can submit while an
/// async loader collects.
#[derive(Clone)]
pub struct HashPipeline {
    tx: mpsc::UnboundedSender<HashResult>,
    submitted: Arc<std::sync::atomic::AtomicU64>,
    cancelled: Arc<std::sync::atomic::AtomicBool>,
}

/// The receiving half of a [`HashPipeline`].
pub struct HashResults {
    rx: mpsc::UnboundedReceiver<HashResult>,
    submitted: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for HashPipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashPipeline").finish_non_exhaustive()
    }
}

impl HashPipeline {
    /// A new pipeline and its results half.
    pub fn new() -> (HashPipeline, HashResults) {
        let (tx, rx) = mpsc::unbounded_channel();
        let submitted = Arc::new(std::sync::atomic::AtomicU64::new(0));
        (
            HashPipeline {
                tx,
                submitted: submitted.clone(),
                cancelled: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            },
            HashResults { rx, submitted },
        )
    }

    /// Queues `password` for hashing under `slot`. The password is moved into the job and
    /// zeroized (dropped) right after it is hashed.
    pub fn submit(&self, slot: u32, password: Password) {
        self.submitted
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tx = self.tx.clone();
        let cancelled = self.cancelled.clone();
        let job = move || {
            if cancelled.load(std::sync::atomic::Ordering::Acquire) {
                drop(password);
                let _ = tx.send((slot, Err(HashError::Cancelled)));
                return;
            }
            let r = hash_with_thread_memory(password.expose_secret().as_bytes())
                .map_err(|e| HashError::Refused(format!("argon2 refused to hash a password: {e}")));
            drop(password);
            // The receiver may be gone (the run failed); nothing to do then.
            let _ = tx.send((slot, r));
        };
        match pool() {
            Some(p) => p.spawn(job),
            None => rayon::spawn(job),
        }
    }
}

impl HashPipeline {
    /// Like [`HashPipeline::submit`] for an account that has a hash already: when `stored`
    /// verifies `password`, the result is `stored` itself (the account is never re-hashed);
    /// otherwise `password` is hashed.
    pub fn submit_unless_verifies(&self, slot: u32, password: Password, stored: String) {
        self.submitted
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tx = self.tx.clone();
        let cancelled = self.cancelled.clone();
        let job = move || {
            if cancelled.load(std::sync::atomic::Ordering::Acquire) {
                drop(password);
                let _ = tx.send((slot, Err(HashError::Cancelled)));
                return;
            }
            let r = if verify_password(password.expose_secret(), &stored) {
                Ok(stored)
            } else {
                hash_with_thread_memory(password.expose_secret().as_bytes()).map_err(|e| {
                    HashError::Refused(format!("argon2 refused to hash a password: {e}"))
                })
            };
            drop(password);
            let _ = tx.send((slot, r));
        };
        match pool() {
            Some(p) => p.spawn(job),
            None => rayon::spawn(job),
        }
    }

    /// Cancels the jobs not started yet (their passwords are dropped unhashed and their
    /// results are [`HashError::Cancelled`]): used when the run can no longer succeed. Writes
    /// the caller made before cancelling (the run's `failed` flag) are visible to whoever
    /// receives a `Cancelled` result.
    pub fn cancel(&self) {
        self.cancelled
            .store(true, std::sync::atomic::Ordering::Release);
    }
}

impl HashResults {
    /// How many passwords were submitted so far.
    pub fn submitted(&self) -> u64 {
        self.submitted.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The next finished hash; `None` when every submitter is gone and all results were taken.
    pub async fn recv(&mut self) -> Option<HashResult> {
        self.rx.recv().await
    }
}

/// Hashes many passwords on every core (each thread reusing its memory block), returning the
/// PHC strings in input order. Used by benches and tools; the importer uses [`HashPipeline`].
pub fn hash_all(passwords: Vec<Password>) -> Vec<String> {
    use rayon::prelude::*;
    let work = || {
        passwords
            .into_par_iter()
            .map(|p| hash_password(&p))
            .collect::<Vec<_>>()
    };
    match pool() {
        Some(p) => p.install(work),
        None => work(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phc_string_has_owasp_parameters_and_verifies() {
        let phc = hash_password(&Password::new("Tr1cky-Passw0rd"));
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(is_argon2_hash(&phc));
        assert!(verify_password("Tr1cky-Passw0rd", &phc));
        assert!(!verify_password("Tr1cky-Passw0rd!", &phc));
        // Same password, different salt.
        assert_ne!(phc, hash_password(&Password::new("Tr1cky-Passw0rd")));
    }

    #[test]
    fn unparsable_hashes_are_rejected() {
        assert!(!is_argon2_hash("plain"));
        assert!(!is_argon2_hash("$2b$12$abcdefghijklmnopqrstuv"));
        assert!(!verify_password("x", "not a hash"));
        assert!(!verify_password("x", ""));
    }

    #[test]
    fn hashes_made_by_the_argon2_crate_verify() {
        use argon2::PasswordHasher;
        let salt = SaltString::generate(&mut OsRng);
        let phc = Argon2::default()
            .hash_password(b"another-secret", &salt)
            .map(|h| h.to_string())
            .expect("hash");
        assert!(verify_password("another-secret", &phc));
    }

    #[tokio::test]
    async fn pipeline_returns_every_slot() {
        let (pipe, mut results) = HashPipeline::new();
        for i in 0..4u32 {
            pipe.submit(i, Password::new(format!("pw-number-{i}")));
        }
        drop(pipe);
        assert_eq!(results.submitted(), 4);
        let mut got = vec![None; 4];
        while let Some((slot, r)) = results.recv().await {
            got[slot as usize] = Some(r.expect("hashed"));
        }
        for (i, h) in got.iter().enumerate() {
            let h = h.as_ref().expect("every slot answered");
            assert!(verify_password(&format!("pw-number-{i}"), h));
        }
        let (pipe, mut results) = HashPipeline::new();
        pipe.cancel();
        pipe.submit(7, Password::new("never-hashed-1"));
        drop(pipe);
        let (slot, r) = results.recv().await.expect("a result");
        assert_eq!(slot, 7);
        assert!(r.is_err());
        assert_eq!(r, Err(HashError::Cancelled));
        let all = hash_all(vec![
            Password::new("a-b-c-d-e-f"),
            Password::new("g-h-i-j-k"),
        ]);
        assert!(verify_password("a-b-c-d-e-f", &all[0]));
        assert!(verify_password("g-h-i-j-k", &all[1]));
    }
}
