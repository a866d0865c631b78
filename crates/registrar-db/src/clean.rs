//! clean (placeholder: being implemented).
