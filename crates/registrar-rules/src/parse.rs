//! Value parsers (placeholder: being implemented).
