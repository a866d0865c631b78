-- Registrar schema v1 (SQLite). Every statement is IF NOT EXISTS so that an existing SMS
-- database is adopted as it is: its tables are never dropped or rewritten.
-- Dates are TEXT 'YYYY-MM-DD', times TEXT ISO 8601 UTC, booleans INTEGER 0/1.

CREATE TABLE IF NOT EXISTS users (
    id                      INTEGER PRIMARY KEY,
    email                   TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash           TEXT NOT NULL,
    role                    TEXT NOT NULL CHECK (role IN ('admin', 'teacher', 'student', 'viewer')),
    first_name              TEXT NOT NULL CHECK (length(first_name) <= 100),
    last_name               TEXT NOT NULL CHECK (length(last_name) <= 100),
    is_active               INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    password_reset_required INTEGER NOT NULL DEFAULT 0 CHECK (password_reset_required IN (0, 1)),
    created_at              TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at              TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE IF NOT EXISTS courses (
    id          INTEGER PRIMARY KEY,
    course_code TEXT NOT NULL UNIQUE CHECK (length(course_code) BETWEEN 1 AND 20 AND course_code = upper(course_code)),
    course_name TEXT NOT NULL CHECK (length(course_name) <= 200),
    description TEXT,
    semester    TEXT,
    credits     INTEGER CHECK (credits BETWEEN 0 AND 20),
    status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'archived')),
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE IF NOT EXISTS enrollments (
    id              INTEGER PRIMARY KEY,
    student_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    course_id       INTEGER NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    enrollment_date TEXT CHECK (enrollment_date IS NULL OR date(enrollment_date) = enrollment_date),
    UNIQUE (student_id, course_id)
);
CREATE INDEX IF NOT EXISTS enrollments_course_id_idx ON enrollments (course_id);

CREATE TABLE IF NOT EXISTS grades (
    id           INTEGER PRIMARY KEY,
    student_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    course_id    INTEGER NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    assessment   TEXT NOT NULL DEFAULT 'final',
    score        REAL CHECK (score BETWEEN 0 AND 100),
    letter_grade TEXT CHECK (letter_grade IN ('A+','A','A-','B+','B','B-','C+','C','C-','D+','D','D-','F','P','NP','I','W')),
    graded_on    TEXT CHECK (graded_on IS NULL OR date(graded_on) = graded_on),
    CHECK (score IS NOT NULL OR letter_grade IS NOT NULL),
    UNIQUE (student_id, course_id, assessment)
);
CREATE INDEX IF NOT EXISTS grades_course_id_idx ON grades (course_id);

CREATE TABLE IF NOT EXISTS attendances (
    id              INTEGER PRIMARY KEY,
    student_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    course_id       INTEGER NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    attendance_date TEXT NOT NULL CHECK (date(attendance_date) = attendance_date),
    status          TEXT NOT NULL CHECK (status IN ('present', 'absent', 'late', 'excused')),
    UNIQUE (student_id, course_id, attendance_date)
);
CREATE INDEX IF NOT EXISTS attendances_course_id_idx ON attendances (course_id);

CREATE TABLE IF NOT EXISTS import_runs (
    id           INTEGER PRIMARY KEY,
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    mode         TEXT NOT NULL,
    operator     TEXT NOT NULL,
    tool_version TEXT NOT NULL,
    files        TEXT NOT NULL DEFAULT '[]',
    counts       TEXT NOT NULL DEFAULT '{}',
    outcome      TEXT NOT NULL,
    error        TEXT
);
