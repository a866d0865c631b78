//! hash (placeholder: being implemented).
