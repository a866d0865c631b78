//! seed (placeholder: being implemented).
