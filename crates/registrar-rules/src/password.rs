//! The password policy (placeholder: being implemented).
