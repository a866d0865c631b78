//! The grades file: (student, course, assessment) unique, a score or a letter grade.

use super::changes;
use super::header::col;
use super::row::RowCx;
use super::State;
use super::{normalize_assessment, DEFAULT_ASSESSMENT, MAX_ASSESSMENT_LEN};
use crate::parse::{self, quote};
use registrar_model::{Grade, IssueCode, Record, RowChange};

impl State {
    pub(super) fn check_grade(&mut self, rc: &mut RowCx<'_, '_>) -> Option<(Record, RowChange)> {
        let (email, code, student, course) = self.student_and_course(rc);
        let assessment = {
            let v = rc.value(col::G_ASSESSMENT);
            if v.is_blank() {
                Some(DEFAULT_ASSESSMENT.to_owned())
            } else {
                match parse::text(v, MAX_ASSESSMENT_LEN) {
                    Ok(a) => Some(normalize_assessment(&a)),
                    Err(e) => {
                        rc.push(col::G_ASSESSMENT, e.code, e.message);
                        None
                    }
                }
            }
        };
        let score = rc.optional(col::G_SCORE, parse::score);
        let letter = rc.optional(col::G_LETTER, parse::letter_grade);
        if let (Some(None), Some(None)) = (&score, &letter) {
            rc.push(
                col::G_SCORE,
                IssueCode::MissingValue,
                "the row has neither a score nor a letter_grade; give at least one".to_owned(),
            );
        }
        let order = self.date_order;
        let graded_on = rc.optional(col::G_GRADED_ON, |v| parse::date_in(v, order));
        let (email, code, student, cid) = match (email, code, student, course) {
            (Some(e), Some(c), Some(s), Some(cid)) => (e, c, s, cid),
            _ => return None,
        };
        self.check_enrolled(rc, &email, &code, student, cid);
        let assessment = assessment?;
        let mut change = RowChange::New;
        if rc.issues.is_empty() {
            let aid = self.assessment_id(&assessment);
            let mut slot = self
                .grades
                .get(&(student.0, cid, aid))
                .copied()
                .unwrap_or_default();
            let stored = &self.db_grades;
            let diff = |db: u32| match (stored.get(db as usize), score, letter, graded_on) {
                (Some(s), Some(sc), Some(l), Some(g)) => changes::grade(&s.values, sc, l, g),
                _ => Vec::new(),
            };
            match self.claim(
                &mut slot,
                rc,
                || {
                    format!(
                        "the {} grade of {} in {}",
                        quote(&assessment),
                        quote(email.as_str()),
                        quote(code.as_str())
                    )
                },
                diff,
            ) {
                Ok(c) => {
                    change = c;
                    self.grades.insert((student.0, cid, aid), slot);
                }
                Err((c, m)) => rc.push(col::STUDENT, c, m),
            }
        }
        match (score, letter, graded_on) {
            (Some(score), Some(letter_grade), Some(graded_on)) if rc.issues.is_empty() => Some((
                Record::Grade(Grade {
                    student_email: email,
                    course_code: code,
                    assessment,
                    score,
                    letter_grade,
                    graded_on,
                }),
                change,
            )),
            _ => None,
        }
    }
}
