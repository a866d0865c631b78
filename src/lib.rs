//! Registrar: move a school's Student Management System from training data to production data
//! without losing a row or leaking a password (placeholder: being implemented).
#![deny(missing_docs)]

pub use registrar_checks as checks;
pub use registrar_db as db;
pub use registrar_formats as formats;
pub use registrar_model as model;
pub use registrar_rules as rules;
