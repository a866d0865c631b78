//! What the database already holds, as the validation pass needs it.

use crate::Role;
use chrono::NaiveDate;
use std::collections::{HashMap, HashSet};

/// The natural keys already in the database, so that `already-exists` can be reported and
/// references can resolve against database rows. Keys are normalised as the rules normalise
/// them: emails lower-case, course codes upper-case. `registrar-db` reads it, `registrar-rules`
/// validates against it.
#[derive(Debug, Clone, Default)]
pub struct Existing {
    /// email → role of each user in the database.
    pub users: HashMap<String, Role>,
    /// Course codes in the database.
    pub courses: HashSet<String>,
    /// (student email, course code) of each enrollment in the database.
    pub enrollments: HashSet<(String, String)>,
    /// (student email, course code, assessment) of each grade in the database.
    pub grades: HashSet<(String, String, String)>,
    /// (student email, course code, date) of each attendance row in the database.
    pub attendance: HashSet<(String, String, NaiveDate)>,
}
