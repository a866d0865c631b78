//! Cell values.

use chrono::{NaiveDate, NaiveDateTime};
use std::fmt;

/// One value as read: text from CSV/JSON strings, typed values from spreadsheet cells and
/// JSON numbers/booleans.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// An empty cell, an empty CSV field, or JSON `null`.
    #[default]
    Empty,
    /// Text, as written (not trimmed).
    Text(String),
    /// An integer (JSON integer).
    Int(i64),
    /// A number (spreadsheet numeric cell, JSON float). `3.0` is a float here; the rules
    /// accept it where an integer is expected.
    Float(f64),
    /// A boolean cell or JSON boolean.
    Bool(bool),
    /// A spreadsheet date cell (no time part).
    Date(NaiveDate),
    /// A spreadsheet date-time cell.
    DateTime(NaiveDateTime),
    /// A spreadsheet error cell (`#N/A`, `#DIV/0!`, ...) with its text.
    Error(String),
}

impl Value {
    /// True for [`Value::Empty`] and for text that is only whitespace.
    pub fn is_blank(&self) -> bool {
        match self {
            Value::Empty => true,
            Value::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }

    /// The text, when this is [`Value::Text`].
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    /// The value as a person would type it (used for rejects files): dates as `YYYY-MM-DD`,
    /// whole floats without a fraction, errors as their text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Empty => Ok(()),
            Value::Text(s) => f.write_str(s),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => {
                if x.fract() == 0.0 && x.abs() < 1e15 {
                    write!(f, "{}", *x as i64)
                } else {
                    write!(f, "{x}")
                }
            }
            Value::Bool(b) => write!(f, "{b}"),
            Value::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            Value::DateTime(dt) => write!(f, "{}", dt.format("%Y-%m-%d %H:%M:%S")),
            Value::Error(e) => f.write_str(e),
        }
    }
}
