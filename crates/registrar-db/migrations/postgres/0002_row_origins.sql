-- Registrar schema v2 (PostgreSQL): which import run created or last changed each row, so that
-- a sync (`--sync`) removes only rows that came from an earlier import, never rows made in the
-- SMS by hand, the adopted database's own rows or the training data. A table of Registrar's
-- own: the SMS tables are not touched. A run locks the tables it writes against other writers
-- (SHARE ROW EXCLUSIVE: readers go on) and records the id ranges it inserted and the ids it
-- updated; a row whose id is in no range is of unknown origin.
CREATE TABLE IF NOT EXISTS registrar_row_origins (
    table_name TEXT   NOT NULL CHECK (table_name IN ('users', 'courses', 'enrollments', 'grades', 'attendances')),
    first_id   BIGINT NOT NULL,
    last_id    BIGINT NOT NULL CHECK (last_id >= first_id),
    run_id     BIGINT,
    PRIMARY KEY (table_name, first_id, last_id)
);
