//! Integrity checks, count verification, statistics and login verification (placeholder:
//! being implemented).
#![deny(missing_docs)]
