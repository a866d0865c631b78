//! The users file: email, password or hash, role, names, is_active, training accounts.

use super::changes;
use super::header::col;
use super::keys::row32;
use super::row::RowCx;
use super::State;
use super::{is_training_account, SisSlot, MAX_NAME_LEN, MAX_SIS_ID_LEN};
use crate::parse::{self, quote};
use crate::password;
use registrar_model::{Email, Issue, IssueCode, Password, Record, RowChange, User, Value};

impl State {
    pub(super) fn check_user(&mut self, rc: &mut RowCx<'_, '_>) -> Option<(Record, RowChange)> {
        // In the users file no raw value is echoed: a value in the wrong column may be a password.
        let email = rc.required(col::U_EMAIL, |v| parse::email_with(v, false));
        let role = rc.required(col::U_ROLE, |v| parse::role_with(v, false));
        let first_name = rc.required(col::U_FIRST, |v| parse::text(v, MAX_NAME_LEN));
        let last_name = rc.required(col::U_LAST, |v| parse::text(v, MAX_NAME_LEN));
        let is_active = rc
            .optional(col::U_ACTIVE, |v| parse::is_active_with(v, false))
            .map(|b| b.unwrap_or(true));
        let sis_id = rc.optional(col::U_SIS, |v| parse::text(v, MAX_SIS_ID_LEN));

        // password_hash: never echoed.
        let hash_v = rc.value(col::U_HASH);
        let hash_given = !hash_v.is_blank();
        let password_hash = if !hash_given {
            Some(None)
        } else {
            match hash_v {
                Value::Text(s) => match password::check_hash_with(s.trim(), &self.hash_policy) {
                    Ok((_, warning)) => {
                        if let Some(m) = warning {
                            let column = rc.cx.lay.names.get(col::U_HASH).map(String::as_str);
                            self.row_warnings.push(Issue::warning(
                                IssueCode::UnsaltedHash,
                                rc.cx.file,
                                Some(rc.row),
                                column,
                                m,
                            ));
                        }
                        Some(Some(s.trim().to_owned()))
                    }
                    Err((code, m)) => {
                        rc.push(col::U_HASH, code, m);
                        None
                    }
                },
                _ => {
                    rc.push(
                        col::U_HASH,
                        IssueCode::InvalidHash,
                        "the password hash is not text; export it as text (an argon2, bcrypt, SHA-crypt, MD5-crypt, {SSHA} or Django PBKDF2 hash)".to_owned(),
                    );
                    None
                }
            }
        };

        // password: taken exactly as written (not trimmed), never echoed.
        let pw_v = rc.value(col::U_PASSWORD);
        let password = if pw_v.is_blank() {
            if hash_given || self.missing_password.passwords_optional() {
                // Without either, under `--missing-password reset|generate` the importer
                // gives a new account no usable password or a generated one (an existing
                // account keeps its own).
                Some(None)
            } else {
                rc.push(
                    col::U_PASSWORD,
                    IssueCode::MissingValue,
                    "a password is required unless password_hash is given; fill it in, or import with --missing-password reset (no usable password until a reset) or --missing-password generate --credentials-out FILE (a temporary password each)".to_owned(),
                );
                None
            }
        } else if let Value::Error(_) = pw_v {
            rc.push(
                col::U_PASSWORD,
                IssueCode::MissingValue,
                "the password cell holds a spreadsheet error, not a password; type the password as text".to_owned(),
            );
            None
        } else {
            let plain = match pw_v {
                Value::Text(s) => Password::new(s.clone()),
                other => Password::new(other.to_string()),
            };
            if let Some(m) = password::whitespace_warning(plain.expose_secret()) {
                let column = rc.cx.lay.names.get(col::U_PASSWORD).map(String::as_str);
                self.row_warnings.push(Issue::warning(
                    IssueCode::PasswordWhitespace,
                    rc.cx.file,
                    Some(rc.row),
                    column,
                    m,
                ));
            }
            let local = email.as_ref().map(Email::local_part);
            match password::check_password(plain.expose_secret(), local) {
                Ok(()) => Some(Some(plain)),
                Err(m) => {
                    rc.push(col::U_PASSWORD, IssueCode::WeakPassword, m);
                    None
                }
            }
        };

        if let Some(e) = &email {
            if is_training_account(e.as_str()) {
                rc.push(
                    col::U_EMAIL,
                    IssueCode::TrainingAccount,
                    format!(
                        "{} is a training account (admin/teacher/student + number @school.edu); production data must not contain them",
                        quote(e.as_str())
                    ),
                );
            }
        }

        let email = email?;
        let id = self.users.intern(email.as_str());
        if let Some(Some(sis)) = &sis_id {
            self.claim_sis(rc, sis, id, &email);
        }
        let mut slot = self.users.slot(id);
        let mut change = RowChange::New;
        if rc.issues.is_empty() {
            let stored = &self.db_users;
            let update_passwords = self.update_passwords;
            let sis = sis_id.as_ref().and_then(|s| s.as_deref());
            let diff = |db: u32| match (
                stored.get(db as usize),
                role,
                &first_name,
                &last_name,
                is_active,
                &password,
                &password_hash,
            ) {
                (Some(s), Some(r), Some(f), Some(l), Some(a), Some(p), Some(h)) => changes::user(
                    &s.values,
                    r,
                    f,
                    l,
                    a,
                    p.as_ref(),
                    h.as_deref(),
                    sis,
                    update_passwords,
                ),
                _ => Vec::new(),
            };
            match self.claim_ref(&mut slot, rc, || "this email address".to_owned(), diff) {
                Ok(c) => change = c,
                Err((code, m)) => rc.push(col::U_EMAIL, code, m),
            }
        }
        let complete = (
            role,
            first_name,
            last_name,
            is_active,
            password,
            password_hash,
            sis_id,
        );
        let out = match complete {
            (
                Some(role),
                Some(first_name),
                Some(last_name),
                Some(is_active),
                Some(password),
                Some(password_hash),
                Some(sis_id),
            ) if rc.issues.is_empty() => {
                if change != RowChange::Skipped {
                    slot.run_role = Some(role);
                }
                Some((
                    Record::User(User {
                        email,
                        password,
                        password_hash,
                        role,
                        first_name,
                        last_name,
                        is_active,
                        sis_id,
                    }),
                    change,
                ))
            }
            _ => {
                Self::reject_ref(&mut slot, rc);
                None
            }
        };
        if let Some(s) = self.users.slot_mut(id) {
            *s = slot;
        }
        out
    }
}

impl State {
    /// Gives `sis` to user `id`, or pushes `duplicate-key` when another user of the file or the
    /// database holds it.
    fn claim_sis(&mut self, rc: &mut RowCx<'_, '_>, sis: &str, id: u32, email: &Email) {
        match self.sis.get(sis).copied() {
            Some(held) if held.user != id => {
                let other = quote(self.users.key(held.user));
                let place = if held.row == 0 {
                    "in the database".to_owned()
                } else {
                    format!("on {} row {}", self.file_name(held.file), held.row)
                };
                rc.push(
                    col::U_SIS,
                    IssueCode::DuplicateKey,
                    format!(
                        "the sis_id {} of {} already belongs to {other} ({place}); each user needs their own sis_id",
                        quote(sis),
                        quote(email.as_str())
                    ),
                );
            }
            Some(_) => {}
            None => {
                self.sis.insert(
                    sis.into(),
                    SisSlot {
                        user: id,
                        row: row32(rc.row).max(1),
                        file: rc.cx.file_idx,
                    },
                );
            }
        }
    }
}
