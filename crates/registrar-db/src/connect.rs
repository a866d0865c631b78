//! Connecting to SQLite or PostgreSQL, and creating / upgrading / adopting the schema.

use crate::{Error, Result};
#[cfg(feature = "postgres")]
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
#[cfg(feature = "sqlite")]
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::ConnectOptions;
use std::str::FromStr;
use std::time::Duration;

/// The embedded default: a SQLite file `registrar.db` in the current folder.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://registrar.db";

/// The database engine behind a [`Database`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Engine {
    /// SQLite (the embedded default).
    Sqlite,
    /// PostgreSQL (production).
    Postgres,
}

impl Engine {
    /// `"sqlite"` or `"postgres"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
}

/// A connection pool to a Registrar database on either engine.
#[derive(Debug, Clone)]
pub enum Database {
    /// PostgreSQL (feature `postgres`).
    #[cfg(feature = "postgres")]
    Postgres(PgPool),
    /// SQLite, foreign keys on for every connection (feature `sqlite`).
    #[cfg(feature = "sqlite")]
    Sqlite(SqlitePool),
}

/// Columns Registrar needs in each SMS table (checked when adopting an existing database).
const REQUIRED_COLUMNS: &[(&str, &[&str])] = &[
    (
        "users",
        &[
            "id",
            "email",
            "password_hash",
            "role",
            "first_name",
            "last_name",
            "is_active",
            "password_reset_required",
            "created_at",
            "updated_at",
        ],
    ),
    (
        "courses",
        &[
            "id",
            "course_code",
            "course_name",
            "description",
            "semester",
            "credits",
            "status",
        ],
    ),
    (
        "enrollments",
        &["id", "student_id", "course_id", "enrollment_date"],
    ),
    (
        "grades",
        &[
            "id",
            "student_id",
            "course_id",
            "assessment",
            "score",
            "letter_grade",
            "graded_on",
        ],
    ),
    (
        "attendances",
        &["id", "student_id", "course_id", "attendance_date", "status"],
    ),
];

/// The URL with any password replaced by `***`, safe to print: everything between `://` and
/// the last `@` (the user part, whose password may hold an unencoded `@`, `/`, `?` or `:`)
/// except the user name before the first `:`, and the values of query parameters such as
/// `password=` / `sslpassword=`. Works on the text, without parsing the URL, so a URL that
/// does not parse is masked the same way; when in doubt, more is masked, never less.
pub fn mask_url(url: &str) -> String {
    fn secret_key(k: &str) -> bool {
        let k = k.trim().to_ascii_lowercase();
        k.contains("pass") || k == "pwd" || k.contains("secret") || k.contains("token")
    }
    fn mask_pairs(s: &str, sep: char, out: &mut String) {
        for (i, pair) in s.split(sep).enumerate() {
            if i > 0 {
                out.push(sep);
            }
            match pair.split_once('=') {
                Some((k, _)) if secret_key(k) => {
                    out.push_str(k);
                    out.push_str("=***");
                }
                _ => out.push_str(pair),
            }
        }
    }
    let (head, rest) = match url.find("://") {
        Some(i) => (&url[..i + 3], &url[i + 3..]),
        None => ("", url),
    };
    let mut out = String::with_capacity(url.len() + 4);
    if head.is_empty() && url.contains('=') {
        // A libpq key/value string (`host=h password=x`).
        mask_pairs(url, ' ', &mut out);
        return out;
    }
    out.push_str(head);
    // The host follows the last `@`: a password may hold `@`, `/`, `?` or `#` unencoded.
    let host_part = match rest.rfind('@') {
        Some(at) => {
            let user_info = &rest[..at];
            match user_info.find(':') {
                Some(c) => {
                    out.push_str(&user_info[..c]);
                    out.push_str(":***");
                }
                None => out.push_str(user_info),
            }
            &rest[at..]
        }
        None => rest,
    };
    match host_part.find('?') {
        Some(q) => {
            out.push_str(&host_part[..=q]);
            mask_pairs(&host_part[q + 1..], '&', &mut out);
        }
        None => out.push_str(host_part),
    }
    out
}

impl Database {
    /// Connects to `url` (`sqlite://FILE`, `sqlite::memory:`, `postgres://...`). A SQLite file
    /// is created when missing, with mode 0600 (its `-wal` and `-shm` files take the same
    /// mode: they hold password hashes and personal data). Does not touch the schema; see
    /// [`Database::init`].
    pub async fn connect(url: &str) -> Result<Database> {
        Database::connect_with(url, true).await
    }

    /// Connects to an existing database only: a SQLite file that does not exist is refused
    /// with [`Error::NoDatabase`] and is not created (PostgreSQL never creates a database).
    /// For read-only commands, so that a typo in a URL is an error, not an empty database.
    pub async fn connect_existing(url: &str) -> Result<Database> {
        Database::connect_with(url, false).await
    }

    /// [`Database::connect_existing`], then [`Database::init`].
    pub async fn open_existing(url: &str) -> Result<Database> {
        let db = Database::connect_existing(url).await?;
        db.init().await?;
        Ok(db)
    }

    /// For plans (`import --validate`, `migrate --validate`): the existing database
    /// ([`Database::open_existing`]), or, when its SQLite file does not exist yet, an empty
    /// in-memory stand-in, so that the plan is checked against what a first run would find
    /// and no file is created. The flag is false for the stand-in.
    pub async fn open_for_planning(url: &str) -> Result<(Database, bool)> {
        match Database::open_existing(url).await {
            Ok(db) => Ok((db, true)),
            Err(Error::NoDatabase { .. }) => Ok((Database::open("sqlite::memory:").await?, false)),
            Err(e) => Err(e),
        }
    }

    async fn connect_with(url: &str, create: bool) -> Result<Database> {
        let masked = mask_url(url);
        if url.starts_with("sqlite:") {
            #[cfg(feature = "sqlite")]
            return connect_sqlite(url, masked, create).await;
            #[cfg(not(feature = "sqlite"))]
            return Err(not_built(masked, "SQLite", "sqlite"));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            #[cfg(feature = "postgres")]
            return connect_postgres(url, masked).await;
            #[cfg(not(feature = "postgres"))]
            return Err(not_built(masked, "PostgreSQL", "postgres"));
        }
        Err(Error::InvalidUrl {
            url: masked,
            reason: "use sqlite://FILE or postgres://USER@HOST:PORT/DB".into(),
        })
    }

    /// Connects and brings the schema up to date ([`Database::init`]).
    pub async fn open(url: &str) -> Result<Database> {
        let db = Database::connect(url).await?;
        db.init().await?;
        Ok(db)
    }

    /// The engine.
    pub fn engine(&self) -> Engine {
        match self {
            #[cfg(feature = "postgres")]
            Database::Postgres(_) => Engine::Postgres,
            #[cfg(feature = "sqlite")]
            Database::Sqlite(_) => Engine::Sqlite,
        }
    }

    /// Creates or upgrades the schema. When the SMS tables already exist they are adopted:
    /// their columns are checked ([`Error::IncompatibleSchema`] names any that are missing),
    /// and only Registrar's own tables are added; SMS tables are never dropped or rewritten.
    pub async fn init(&self) -> Result<()> {
        for (table, needed) in REQUIRED_COLUMNS {
            let have = self.columns_of(table).await?;
            if have.is_empty() {
                continue; // not there yet: the migration creates it
            }
            let missing: Vec<String> = needed
                .iter()
                .filter(|c| !have.iter().any(|h| h.eq_ignore_ascii_case(c)))
                .map(|c| c.to_string())
                .collect();
            if !missing.is_empty() {
                return Err(Error::IncompatibleSchema {
                    table: table.to_string(),
                    missing,
                });
            }
        }
        match self {
            #[cfg(feature = "postgres")]
            Database::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await?,
            #[cfg(feature = "sqlite")]
            Database::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await?,
        }
        Ok(())
    }

    /// The column names of a table (empty when the table does not exist).
    pub async fn columns_of(&self, table: &str) -> Result<Vec<String>> {
        Ok(match self {
            #[cfg(feature = "postgres")]
            Database::Postgres(pool) => sqlx::query_scalar::<_, String>(
                "SELECT column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            )
            .bind(table)
            .fetch_all(pool)
            .await?,
            #[cfg(feature = "sqlite")]
            Database::Sqlite(pool) => sqlx::query_scalar::<_, String>("SELECT name FROM pragma_table_info(?1)")
                .bind(table)
                .fetch_all(pool)
                .await?,
        })
    }

    /// The schema version recorded by the migrations (0 when none has run).
    pub async fn schema_version(&self) -> Result<i64> {
        let sql = "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success";
        let r = match self {
            #[cfg(feature = "postgres")]
            Database::Postgres(pool) => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await,
            #[cfg(feature = "sqlite")]
            Database::Sqlite(pool) => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await,
        };
        match r {
            Ok(v) => Ok(v),
            Err(sqlx::Error::Database(_)) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    /// Closes the pool. On SQLite the write-ahead log is checkpointed into the database file
    /// first (`PRAGMA wal_checkpoint(TRUNCATE)`) and the last connection's close removes the
    /// `-wal` and `-shm` files, so the database file alone holds every committed row (it can
    /// be copied or mailed as it is).
    pub async fn close(&self) {
        match self {
            #[cfg(feature = "postgres")]
            Database::Postgres(pool) => pool.close().await,
            #[cfg(feature = "sqlite")]
            Database::Sqlite(pool) => {
                if !pool.is_closed() {
                    // Best effort: a reader elsewhere may keep part of the log busy; the
                    // final close checkpoints again.
                    let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                        .execute(pool)
                        .await;
                }
                pool.close().await
            }
        }
    }
}

/// Creates a missing SQLite database file empty with mode 0600 (an empty file is an empty
/// SQLite database); an existing file is left as it is.
fn create_private(file: &std::path::Path) -> Result<()> {
    if file.exists() {
        return Ok(());
    }
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    match o.open(file) {
        Ok(_) => Ok(()),
        // Another process created it a moment ago: use it.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::io(
            format!("cannot create the database file {}", file.display()),
            e,
        )),
    }
}

/// Connects to a SQLite file (created 0600 when `create`), WAL, foreign keys on.
#[cfg(feature = "sqlite")]
async fn connect_sqlite(url: &str, masked: String, create: bool) -> Result<Database> {
    let memory = url.contains(":memory:") || url.contains("mode=memory");
    let opts = SqliteConnectOptions::from_str(url)
        .map_err(|e| Error::InvalidUrl {
            url: masked.clone(),
            reason: e.to_string(),
        })?
        .create_if_missing(create)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(30))
        // Rows fetched ahead of the reader: few, so that rows holding huge text
        // (backups, checksums) never pile up in memory (the default is 50).
        .row_buffer_size(1)
        .journal_mode(if memory {
            SqliteJournalMode::Memory
        } else {
            SqliteJournalMode::Wal
        })
        .disable_statement_logging();
    if !memory {
        let file = opts.get_filename().to_path_buf();
        if create {
            create_private(&file)?;
        } else if !file.is_file() {
            return Err(Error::NoDatabase {
                path: file.display().to_string(),
            });
        }
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(if memory { 1 } else { 4 })
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(opts)
        .await
        .map_err(|source| Error::Connect {
            url: masked,
            source,
        })?;
    Ok(Database::Sqlite(pool))
}

/// Connects to a PostgreSQL server with Registrar's session settings.
#[cfg(feature = "postgres")]
async fn connect_postgres(url: &str, masked: String) -> Result<Database> {
    let opts = PgConnectOptions::from_str(url)
        .map_err(|e| Error::InvalidUrl {
            url: masked.clone(),
            reason: e.to_string(),
        })?
        .options([
            ("lock_timeout", "60s"),
            ("client_connection_check_interval", "2s"),
            ("idle_in_transaction_session_timeout", "600s"),
        ])
        .disable_statement_logging();
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(15))
        .connect_with(opts)
        .await
        .map_err(|source| Error::Connect {
            url: masked,
            source,
        })?;
    Ok(Database::Postgres(pool))
}

/// The error for a URL of an engine this build leaves out.
#[cfg(not(all(feature = "sqlite", feature = "postgres")))]
fn not_built(url: String, engine: &str, feature: &str) -> Error {
    Error::InvalidUrl {
        url,
        reason: format!(
            "this build of Registrar has no {engine} support (it was built without the `{feature}` feature)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_passwords() {
        assert_eq!(
            mask_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(mask_url("sqlite://x.db"), "sqlite://x.db");
        let q = mask_url("postgres://u@h/db?sslmode=disable&password=secret");
        assert!(!q.contains("secret") && q.contains("password=***"), "{q}");
        assert!(q.contains("sslmode=disable"), "{q}");
        let bad = mask_url("postgres://u:se:cret@x@h:notaport/db");
        assert!(!bad.contains("cret"), "{bad}");
        assert_eq!(mask_url("sqlite::memory:"), "sqlite::memory:");
    }

    #[test]
    fn a_password_with_an_unencoded_at_or_slash_is_masked_whole() {
        for (url, secret) in [
            (
                "postgres://app:Blue@2024/Blue@db.example.org:5432/reg",
                "Blue",
            ),
            ("postgres://app:p/a@ss@db.example.org/reg", "p/a"),
            ("postgres://app:a?b#c@db.example.org/reg", "a?b"),
            (
                "postgres://app:x:y@z@db.example.org/reg?sslmode=require",
                "x:y",
            ),
        ] {
            let m = mask_url(url);
            assert!(!m.contains(secret), "{url} -> {m}");
            assert!(
                m.starts_with("postgres://app:***@db.example.org"),
                "{url} -> {m}"
            );
        }
        assert_eq!(
            mask_url(
                "postgres://app:Blue@2024/Blue@db.example.org:5432/reg?sslmode=require&password=p1"
            ),
            "postgres://app:***@db.example.org:5432/reg?sslmode=require&password=***"
        );
        assert_eq!(
            mask_url("host=db user=app password=Blue@2024 dbname=reg"),
            "host=db user=app password=*** dbname=reg"
        );
        assert_eq!(mask_url("postgres://app@h/db"), "postgres://app@h/db");
        assert_eq!(mask_url("sqlite:///tmp/a.db"), "sqlite:///tmp/a.db");
    }

    #[tokio::test]
    async fn bad_url_is_a_clear_error() {
        let e = Database::connect("mysql://x").await.unwrap_err();
        assert!(e.to_string().contains("invalid database URL"), "{e}");
    }

    #[tokio::test]
    async fn init_is_idempotent_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("a.db").display());
        let db = Database::open(&url).await.unwrap();
        db.init().await.unwrap();
        assert_eq!(db.schema_version().await.unwrap(), crate::SCHEMA_VERSION);
        assert!(db
            .columns_of("import_runs")
            .await
            .unwrap()
            .contains(&"outcome".to_string()));
    }
}
