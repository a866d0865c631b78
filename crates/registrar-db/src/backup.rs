//! backup (placeholder: being implemented).
