-- Registrar schema v1 (PostgreSQL). Every statement is IF NOT EXISTS so that an existing SMS
-- database is adopted as it is: its tables are never dropped or rewritten.

CREATE TABLE IF NOT EXISTS users (
    id                      BIGSERIAL PRIMARY KEY,
    email                   TEXT NOT NULL UNIQUE,
    password_hash           TEXT NOT NULL,
    role                    TEXT NOT NULL CHECK (role IN ('admin', 'teacher', 'student', 'viewer')),
    first_name              TEXT NOT NULL CHECK (char_length(first_name) <= 100),
    last_name               TEXT NOT NULL CHECK (char_length(last_name) <= 100),
    is_active               BOOLEAN NOT NULL DEFAULT TRUE,
    password_reset_required BOOLEAN NOT NULL DEFAULT FALSE,
    created_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at              TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS courses (
    id          BIGSERIAL PRIMARY KEY,
    course_code TEXT NOT NULL UNIQUE CHECK (course_code ~ '^[A-Z][A-Z0-9_.-]{0,19}$'),
    course_name TEXT NOT NULL CHECK (char_length(course_name) <= 200),
    description TEXT,
    semester    TEXT,
    credits     INTEGER CHECK (credits BETWEEN 0 AND 20),
    status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'archived')),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS enrollments (
    id              BIGSERIAL PRIMARY KEY,
    student_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    course_id       BIGINT NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    enrollment_date DATE,
    UNIQUE (student_id, course_id)
);
CREATE INDEX IF NOT EXISTS enrollments_course_id_idx ON enrollments (course_id);

CREATE TABLE IF NOT EXISTS grades (
    id           BIGSERIAL PRIMARY KEY,
    student_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    course_id    BIGINT NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    assessment   TEXT NOT NULL DEFAULT 'final',
    score        DOUBLE PRECISION CHECK (score BETWEEN 0 AND 100),
    letter_grade TEXT CHECK (letter_grade IN ('A+','A','A-','B+','B','B-','C+','C','C-','D+','D','D-','F','P','NP','I','W')),
    graded_on    DATE,
    CHECK (score IS NOT NULL OR letter_grade IS NOT NULL),
    UNIQUE (student_id, course_id, assessment)
);
CREATE INDEX IF NOT EXISTS grades_course_id_idx ON grades (course_id);

CREATE TABLE IF NOT EXISTS attendances (
    id              BIGSERIAL PRIMARY KEY,
    student_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    course_id       BIGINT NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
    attendance_date DATE NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('present', 'absent', 'late', 'excused')),
    UNIQUE (student_id, course_id, attendance_date)
);
CREATE INDEX IF NOT EXISTS attendances_course_id_idx ON attendances (course_id);

CREATE TABLE IF NOT EXISTS import_runs (
    id           BIGSERIAL PRIMARY KEY,
    started_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ,
    mode         TEXT NOT NULL,
    operator     TEXT NOT NULL,
    tool_version TEXT NOT NULL,
    files        JSONB NOT NULL DEFAULT '[]',
    counts       JSONB NOT NULL DEFAULT '{}',
    outcome      TEXT NOT NULL,
    error        TEXT
);
