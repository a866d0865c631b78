-- Registrar schema v3 (PostgreSQL): external ids and teacher links, in tables of Registrar's
-- own so that an adopted SMS's tables are not touched.
--
-- `registrar_user_sis_ids`: a user's external id (a student number or a OneRoster sourcedId);
-- optional, at most one per user, unique across users. Enrollments, grades and attendance may
-- name a student by it (`student_sis_id`).
CREATE TABLE IF NOT EXISTS registrar_user_sis_ids (
    user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    sis_id  TEXT   NOT NULL UNIQUE CHECK (length(sis_id) BETWEEN 1 AND 255)
);
-- `registrar_course_teachers`: who teaches a course (a OneRoster class's teacher and aide
-- enrollments), which the SMS schema has no place for. `role` is the OneRoster role.
CREATE TABLE IF NOT EXISTS registrar_course_teachers (
    course_id  BIGINT NOT NULL REFERENCES courses(id) ON DELETE CASCADE,
    teacher_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role       TEXT   NOT NULL DEFAULT 'teacher' CHECK (role IN ('teacher', 'aide')),
    PRIMARY KEY (course_id, teacher_id)
);
