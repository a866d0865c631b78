//! The caps on a stored argon2 hash's cost, shared by validation (`invalid-hash` at import)
//! and by every place that verifies a password against a stored hash (so a hostile hash can
//! never make a login check take minutes or gigabytes).

/// Largest argon2 memory cost accepted, in KiB (256 MiB; OWASP's setting is 19 MiB, RFC 9106's
/// second recommendation 64 MiB).
pub const MAX_HASH_M_COST: u32 = 256 * 1024;
/// Largest argon2 iteration count accepted.
pub const MAX_HASH_T_COST: u32 = 10;
/// Largest argon2 parallelism (lanes) accepted.
pub const MAX_HASH_P_COST: u32 = 16;
/// Largest memory × iterations accepted, in KiB passes (1 GiB: e.g. 256 MiB × 4, 64 MiB × 10).
/// One verification then costs at most about a second and 256 MiB, so `verify-logins` and
/// `set-password` are bounded on any hash Registrar accepts.
pub const MAX_HASH_WORK: u64 = 1024 * 1024;

/// Checks argon2 parameters (memory `m` in KiB, iterations `t`, lanes `p`) against the caps.
/// The message names the parameters, never the hash.
///
/// ```
/// assert!(registrar_model::check_argon2_cost(19_456, 2, 1).is_ok());
/// assert!(registrar_model::check_argon2_cost(4_000_000, 2, 1).is_err());
/// ```
pub fn check_argon2_cost(m: u32, t: u32, p: u32) -> Result<(), String> {
    if m > MAX_HASH_M_COST
        || t > MAX_HASH_T_COST
        || p > MAX_HASH_P_COST
        || u64::from(m) * u64::from(t) > MAX_HASH_WORK
    {
        return Err(format!(
            "the argon2 password hash's cost is too high (m = {m} KiB, t = {t}, p = {p}); Registrar accepts m up to {MAX_HASH_M_COST} KiB, t up to {MAX_HASH_T_COST}, p up to {MAX_HASH_P_COST} and m × t up to {MAX_HASH_WORK}, so that checking a login stays fast; give a plain password instead to have it hashed"
        ));
    }
    Ok(())
}
