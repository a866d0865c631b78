//! `registrar`: the operator's command line. It parses arguments, calls the `registrar` facade,
//! and renders the results (human or JSON). Exit codes: 0 success; 1 the data or the database
//! failed a check; 2 usage, I/O or database errors.

mod progress;
mod render;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use registrar::db::{self, mask_url, Database};
use registrar::formats::ReaderOptions;
use registrar::model::{Entity, OnExisting, Password, Report, Role};
use render::{human_report, json, OutputFormat};
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(
    name = "registrar",
    version,
    about = "Move a school's SMS from training data to production data, safely."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug, Clone)]
struct DbArgs {
    /// Database URL: sqlite://FILE (created 0600 by writing commands when missing; read-only commands refuse a missing file) or postgres://USER@HOST:PORT/DB.
    #[arg(long, env = "REGISTRAR_DATABASE_URL", default_value = db::DEFAULT_DATABASE_URL, hide_env_values = true)]
    database: String,
}

#[derive(Args, Debug, Clone)]
struct ReaderArgs {
    /// Text encoding of CSV/TSV files (a WHATWG label such as windows-1252); default UTF-8 or UTF-16 with BOM.
    #[arg(long)]
    encoding: Option<String>,
    /// CSV delimiter: `,` `;` or `tab` (default: detected from the header line).
    #[arg(long, value_parser = parse_delimiter)]
    delimiter: Option<u8>,
    /// Sheet to read in spreadsheets (default: the first sheet).
    #[arg(long)]
    sheet: Option<String>,
    /// Refuse files larger than this many bytes.
    #[arg(long, default_value_t = ReaderOptions::default().max_file_size)]
    max_file_size: u64,
    /// Refuse fields longer than this many bytes.
    #[arg(long, default_value_t = ReaderOptions::default().max_field_size)]
    max_field_size: usize,
    /// Refuse files with more data rows than this.
    #[arg(long, default_value_t = ReaderOptions::default().max_rows)]
    max_rows: u64,
}

impl ReaderArgs {
    fn options(&self) -> ReaderOptions {
        ReaderOptions {
            encoding: self.encoding.clone(),
            delimiter: self.delimiter,
            sheet: self.sheet.clone(),
            max_file_size: self.max_file_size,
            max_field_size: self.max_field_size,
            max_rows: self.max_rows,
        }
    }
}

fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "," | "comma" => Ok(b','),
        ";" | "semicolon" => Ok(b';'),
        "\t" | "tab" | "\\t" => Ok(b'\t'),
        "|" | "pipe" => Ok(b'|'),
        _ => Err(format!(
            "unsupported delimiter {s:?}: use ',', ';', 'tab' or '|'"
        )),
    }
}

#[derive(Args, Debug, Clone)]
#[group(required = true, multiple = false)]
struct InputArgs {
    /// A folder holding users, courses, enrollments, grades and attendance files (found by stem).
    #[arg(long)]
    data: Option<PathBuf>,
    /// One data file.
    #[arg(long)]
    file: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
#[group(required = true, multiple = false)]
struct RunMode {
    /// Check everything without writing.
    #[arg(long)]
    validate: bool,
    /// Write to the database.
    #[arg(long)]
    execute: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create or upgrade the schema (adopting an existing SMS database).
    Init {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Load the runbook's training data (18 accounts, 5 sample courses) for a rehearsal.
    SeedTraining {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Validate data files (and, with --database, against what the database holds).
    Validate {
        #[command(flatten)]
        input: InputArgs,
        /// The entity of --file (default: from the file's stem).
        #[arg(long, value_parser = parse_entity)]
        entity: Option<Entity>,
        /// Also check against this database (already-exists, references).
        #[arg(long, env = "REGISTRAR_DATABASE_URL", hide_env_values = true)]
        database: Option<String>,
        #[arg(long, value_enum, default_value = "human")]
        format: OutputFormat,
        #[command(flatten)]
        reader: ReaderArgs,
    },
    /// Import data files: --validate checks against the database, --execute loads (all or nothing).
    Import {
        #[command(flatten)]
        input: InputArgs,
        #[arg(long, value_parser = parse_entity)]
        entity: Option<Entity>,
        #[command(flatten)]
        mode: RunMode,
        #[command(flatten)]
        db: DbArgs,
        /// Load the valid rows and write invalid rows to --rejects DIR.
        #[arg(long, requires = "rejects")]
        skip_invalid: bool,
        /// Folder for `<file>.rejects.csv` files (with --skip-invalid).
        #[arg(long, requires = "skip_invalid")]
        rejects: Option<PathBuf>,
        /// What a row already in the database does.
        #[arg(long, value_enum, default_value = "error")]
        on_existing: OnExistingArg,
        #[arg(long, value_enum, default_value = "human")]
        format: OutputFormat,
        #[command(flatten)]
        reader: ReaderArgs,
    },
    /// The whole runbook: backup, clean-up, import, checks, lock-down, backup and verify; rolls back on failure.
    Migrate {
        /// The data folder.
        #[arg(long)]
        data: PathBuf,
        #[command(flatten)]
        mode: RunMode,
        #[command(flatten)]
        db: DbArgs,
        /// Where backups go (named with a UTC timestamp).
        #[arg(long, default_value = "backups")]
        backup_dir: PathBuf,
        /// Delete the training accounts and sample courses first.
        #[arg(long)]
        clean_training_data: bool,
        /// Require every non-admin user to change their password.
        #[arg(long)]
        force_password_reset: bool,
        #[arg(long, value_enum, default_value = "human")]
        format: OutputFormat,
        #[command(flatten)]
        reader: ReaderArgs,
    },
    /// Write a consistent, compressed, checksummed backup of every SMS table.
    Backup {
        #[command(flatten)]
        db: DbArgs,
        /// The backup file to write (0600, atomically). An existing file is refused unless
        /// --force is given; the live database file is always refused.
        #[arg(long)]
        out: PathBuf,
        /// Replace an existing backup file at --out.
        #[arg(long)]
        force: bool,
    },
    /// Replace the SMS tables' data with a backup's (one transaction; checks first and after).
    Restore {
        #[command(flatten)]
        db: DbArgs,
        /// The backup file.
        #[arg(long)]
        from: PathBuf,
        /// Do not ask for confirmation (required when not on a terminal).
        #[arg(long)]
        yes: bool,
    },
    /// Check a backup's checksums and restore it into a scratch database to compare.
    VerifyBackup {
        /// The backup file.
        file: PathBuf,
        /// Scratch database (default: a temporary SQLite file, removed afterwards). One whose
        /// SMS tables hold rows is refused unless --yes is given.
        #[arg(long)]
        scratch_database: Option<String>,
        /// Replace the data of a non-empty --scratch-database.
        #[arg(long, requires = "scratch_database")]
        yes: bool,
    },
    /// Delete the training accounts and sample courses with their dependent rows.
    Clean {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        mode: CleanMode,
        /// Emails matching this regex are training accounts.
        #[arg(long)]
        pattern: Option<String>,
        /// Comma-separated course codes to delete.
        #[arg(long, value_delimiter = ',')]
        course_codes: Option<Vec<String>>,
        /// Delete even when real students are enrolled or no active admin would remain.
        #[arg(long)]
        force: bool,
        #[arg(long, value_enum, default_value = "human")]
        format: OutputFormat,
    },
    /// Run the integrity checks (and count expectations).
    Check {
        #[command(flatten)]
        db: DbArgs,
        /// Expected counts: students=N,teachers=N,admins=N,courses=N,enrollments=N.
        #[arg(long)]
        expect: Option<String>,
        #[arg(long, value_enum, default_value = "human")]
        format: OutputFormat,
    },
    /// Log in as a sample of imported users with their file passwords (argon2 verify).
    VerifyLogins {
        #[command(flatten)]
        db: DbArgs,
        /// The users file with plain passwords.
        #[arg(long)]
        file: PathBuf,
        /// How many users to check (default: all).
        #[arg(long)]
        sample: Option<usize>,
        #[arg(long, value_enum, default_value = "human")]
        format: OutputFormat,
        #[command(flatten)]
        reader: ReaderArgs,
    },
    /// Change a user's password (read from the terminal without echo, or two lines on stdin).
    SetPassword {
        #[command(flatten)]
        db: DbArgs,
        /// The user's email.
        #[arg(long)]
        email: String,
    },
    /// Require users to change their password at next login.
    ForcePasswordReset {
        #[command(flatten)]
        db: DbArgs,
        /// Leave users of this role alone (e.g. admin).
        #[arg(long, value_parser = parse_role)]
        except_role: Option<Role>,
    },
    /// Counts per role and table, database and table sizes.
    Stats {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long, value_enum, default_value = "human")]
        format: OutputFormat,
    },
    /// The import_runs audit log, newest first.
    Audit {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long, value_enum, default_value = "human")]
        format: OutputFormat,
    },
}

#[derive(Args, Debug, Clone)]
#[group(required = true, multiple = false)]
struct CleanMode {
    /// Report what would be deleted.
    #[arg(long)]
    dry_run: bool,
    /// Delete.
    #[arg(long)]
    execute: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum OnExistingArg {
    Error,
    Skip,
    Update,
}

impl From<OnExistingArg> for OnExisting {
    fn from(a: OnExistingArg) -> OnExisting {
        match a {
            OnExistingArg::Error => OnExisting::Error,
            OnExistingArg::Skip => OnExisting::Skip,
            OnExistingArg::Update => OnExisting::Update,
        }
    }
}

fn parse_entity(s: &str) -> Result<Entity, String> {
    Entity::from_stem(s).ok_or_else(|| {
        format!("unknown entity {s:?}: use users, courses, enrollments, grades or attendance")
    })
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s)
        .ok_or_else(|| format!("unknown role {s:?}: use admin, teacher, student or viewer"))
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        let r = run(cli).await;
        close_all().await;
        r
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes on one line (`a: b: c`), without repeating a cause already in the text.
fn one_line(e: &anyhow::Error) -> String {
    let mut s = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !s.contains(&c) {
            s.push_str(": ");
            s.push_str(&c);
        }
    }
    s.replace('\n', " ")
}

/// Every database a command opened, closed (SQLite: checkpointed) when the command ends,
/// whether it succeeded or failed.
static OPENED: std::sync::Mutex<Vec<Database>> = std::sync::Mutex::new(Vec::new());

/// Opens the database of a writing command (a missing SQLite file is created, 0600).
async fn connect(db: &DbArgs) -> Result<Database> {
    let database = Database::open(&db.database)
        .await
        .with_context(|| format!("database {}", mask_url(&db.database)))?;
    remember(&database);
    Ok(database)
}

/// Opens the database of a read-only command: a missing SQLite file is an error, never created.
async fn connect_existing(db: &DbArgs) -> Result<Database> {
    let database = Database::open_existing(&db.database)
        .await
        .with_context(|| format!("database {}", mask_url(&db.database)))?;
    remember(&database);
    Ok(database)
}

/// Starts a writing command: takes the run lock (refused while another run holds it), marks
/// runs that never finished as interrupted (saying so), and records this run as started.
async fn begin_writing(
    database: &Database,
    mode: &str,
    files: serde_json::Value,
) -> Result<db::command::WritingRun> {
    let run = db::command::WritingRun::begin(database, mode, files).await?;
    for r in &run.interrupted {
        eprintln!(
            "note: {}; marked interrupted",
            db::audit::describe_unfinished(r)
        );
    }
    Ok(run)
}

/// Opens the database of a plan (`import --validate`): a missing SQLite file is not created;
/// the plan is checked against an empty database instead (and says so on stderr).
async fn connect_for_planning(db: &DbArgs) -> Result<Database> {
    let (database, existed) = Database::open_for_planning(&db.database)
        .await
        .with_context(|| format!("database {}", mask_url(&db.database)))?;
    if !existed {
        eprintln!(
            "note: no database at {} yet: validated against an empty database (nothing was created)",
            mask_url(&db.database)
        );
    }
    remember(&database);
    Ok(database)
}

fn remember(database: &Database) {
    if let Ok(mut v) = OPENED.lock() {
        v.push(database.clone());
    }
}

/// Closes every database opened by the command, so that a SQLite file holds all its data
/// (no `-wal` left behind) when the process ends.
async fn close_all() {
    let opened = match OPENED.lock() {
        Ok(mut v) => std::mem::take(&mut *v),
        Err(_) => return,
    };
    for database in opened {
        database.close().await;
    }
}

fn exit(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn print_report(report: &Report, format: OutputFormat) {
    match format {
        OutputFormat::Json => println!("{}", json(report)),
        OutputFormat::Human => print!("{}", human_report(report)),
    }
}

fn input_of(input: &InputArgs, entity: Option<Entity>) -> registrar::import::Input {
    match (&input.data, &input.file) {
        (Some(dir), _) => registrar::import::Input::Dir(dir.clone()),
        (None, Some(file)) => registrar::import::Input::File {
            path: file.clone(),
            entity,
        },
        (None, None) => unreachable!("clap requires --data or --file"),
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Init { db } => {
            let database = connect(&db).await?;
            // The schema is up to date once connected; the run is locked and audited like
            // every writing command (the audit table exists only from here on).
            let run = begin_writing(&database, db::command::INIT, serde_json::json!([])).await?;
            run.finish(
                &database,
                "success",
                serde_json::json!({ "schema_version": database.schema_version().await? }),
                None,
            )
            .await?;
            println!(
                "schema ready ({} schema version {}) at {}",
                database.engine().as_str(),
                database.schema_version().await?,
                mask_url(&db.database)
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::SeedTraining { db } => {
            let database = connect(&db).await?;
            let run =
                begin_writing(&database, db::command::SEED_TRAINING, serde_json::json!([])).await?;
            let r = db::seed::seed_training(&database).await;
            let counts = match &r {
                Ok(s) => serde_json::json!({
                    "users": { "inserted": s.users_inserted, "skipped": s.users_skipped },
                    "courses": { "inserted": s.courses_inserted, "skipped": s.courses_skipped },
                }),
                Err(_) => serde_json::json!({}),
            };
            run.finish_with(&database, &r, counts).await?;
            let s = r?;
            println!(
                "training data: {} user(s) inserted ({} already there), {} course(s) inserted ({} already there)",
                s.users_inserted, s.users_skipped, s.courses_inserted, s.courses_skipped
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate {
            input,
            entity,
            database,
            format,
            reader,
        } => {
            let options = reader.options();
            let report = match database {
                None => match (&input.data, &input.file) {
                    (Some(dir), _) => registrar::validate_dir(dir, &options)?,
                    (None, Some(file)) => registrar::validate_file(file, entity, &options)?,
                    (None, None) => bail!("give --data DIR or --file FILE"),
                },
                Some(url) => {
                    let database = connect_existing(&DbArgs { database: url }).await?;
                    let opts = registrar::import::ImportOptions {
                        mode: registrar::import::ImportMode::Validate,
                        reader: options,
                        ..Default::default()
                    };
                    registrar::import::run_import(&database, &input_of(&input, entity), &opts)
                        .await?
                }
            };
            print_report(&report, format);
            Ok(exit(report.is_ok()))
        }
        Command::Import {
            input,
            entity,
            mode,
            db,
            skip_invalid,
            rejects,
            on_existing,
            format,
            reader,
        } => {
            let database = if mode.execute {
                connect(&db).await?
            } else {
                connect_for_planning(&db).await?
            };
            // Never beside a runbook (or another import) on the same database.
            let _run_lock = if mode.execute {
                let lock = database.run_lock().await?;
                // Holding the lock, an unfinished run in the audit log is one that ended
                // without finishing: mark it interrupted and say so.
                for r in db::audit::close_interrupted(&database).await? {
                    eprintln!(
                        "note: {}; marked interrupted",
                        db::audit::describe_unfinished(&r)
                    );
                }
                Some(lock)
            } else {
                None
            };
            let opts = registrar::import::ImportOptions {
                mode: if mode.execute {
                    registrar::import::ImportMode::Execute
                } else {
                    registrar::import::ImportMode::Validate
                },
                on_existing: on_existing.into(),
                skip_invalid,
                rejects_dir: rejects,
                reader: reader.options(),
                progress: progress::bars(format == OutputFormat::Human),
                skip_audit: false,
            };
            let report =
                registrar::import::run_import(&database, &input_of(&input, entity), &opts).await?;
            print_report(&report, format);
            // --skip-invalid skips invalid rows, never unread ones: a file-level error fails.
            Ok(exit(
                report.is_ok() || (skip_invalid && mode.execute && !report.has_file_level_errors()),
            ))
        }
        Command::Migrate {
            data,
            mode,
            db,
            backup_dir,
            clean_training_data,
            force_password_reset,
            format,
            reader,
        } => {
            let human = format == OutputFormat::Human;
            let step_log: Option<registrar::StepLog> = if human {
                Some(Arc::new(|line: &str| eprintln!("{line}")))
            } else {
                None
            };
            let migration = registrar::Migration::new(&db.database)
                .data_dir(&data)
                .reader_options(reader.options())
                .backup_dir(&backup_dir)
                .clean_training_data(clean_training_data)
                .force_password_reset(force_password_reset)
                .progress(progress::bars(human))
                .step_log(step_log);
            let outcome = if mode.execute {
                migration.run_runbook().await?
            } else {
                migration.plan_runbook().await?
            };
            match format {
                OutputFormat::Json => println!("{}", json(&outcome)),
                // The steps were already printed live (stderr); end with the issues and the verdict.
                OutputFormat::Human => print!("{}", render::runbook_summary(&outcome)),
            }
            Ok(exit(outcome.ok))
        }
        Command::Backup { db, out, force } => {
            let database = connect_existing(&db).await?;
            let s = db::backup::backup_with(&database, &out, force)
                .await
                .map_err(|e| match e {
                    db::Error::Refused(m) => anyhow::anyhow!("refused: {m}"),
                    e => e.into(),
                })?;
            println!(
                "backup written to {} (schema version {})",
                out.display(),
                s.schema_version
            );
            for t in &s.tables {
                println!("  {:<12} {:>10} rows  sha256 {}", t.table, t.rows, t.sha256);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore { db, from, yes } => {
            if !yes {
                if !std::io::stdin().is_terminal() {
                    bail!("restore replaces every SMS table's data; run it again with --yes to confirm");
                }
                eprint!(
                    "This replaces all users, courses, enrollments, grades and attendance in {} with the backup's. Type yes to go on: ",
                    mask_url(&db.database)
                );
                let mut answer = String::new();
                std::io::stdin().lock().read_line(&mut answer)?;
                if answer.trim() != "yes" {
                    eprintln!("not restored");
                    return Ok(ExitCode::from(1));
                }
            }
            let database = connect(&db).await?;
            // Never beside or in the middle of a runbook, and one row of the audit log.
            let run = begin_writing(
                &database,
                db::command::RESTORE,
                db::command::file_json(&from),
            )
            .await?;
            let r = db::backup::restore(&database, &from).await;
            let counts = match &r {
                Ok(s) => serde_json::Value::Object(
                    s.tables
                        .iter()
                        .map(|t| (t.table.clone(), serde_json::json!({ "restored": t.rows })))
                        .collect(),
                ),
                Err(_) => serde_json::json!({}),
            };
            run.finish_with(&database, &r, counts).await?;
            let s = r?;
            println!(
                "restored {} (checksums verified after the restore)",
                from.display()
            );
            for t in &s.tables {
                println!("  {:<12} {:>10} rows", t.table, t.rows);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::VerifyBackup {
            file,
            scratch_database,
            yes,
        } => {
            let r = db::backup::verify_backup_with(&file, scratch_database.as_deref(), yes)
                .await
                .map_err(|e| match e {
                    db::Error::Refused(m) => anyhow::anyhow!("refused: {m}"),
                    e => e.into(),
                })?;
            if r.ok {
                println!("backup {} verified: checksums match and it restores with identical counts and checksums", file.display());
            } else {
                println!("backup {} FAILED verification:", file.display());
                for p in &r.problems {
                    println!("  {p}");
                }
            }
            Ok(exit(r.ok))
        }
        Command::Clean {
            db,
            mode,
            pattern,
            course_codes,
            force,
            format,
        } => {
            let database = if mode.execute {
                connect(&db).await?
            } else {
                connect_existing(&db).await?
            };
            let mut opts = db::clean::CleanOptions {
                force,
                ..Default::default()
            };
            if let Some(p) = pattern {
                opts.pattern = p;
            }
            if let Some(c) = course_codes {
                opts.course_codes = c.into_iter().map(|c| c.trim().to_uppercase()).collect();
            }
            let result = if mode.execute {
                let run =
                    begin_writing(&database, db::command::CLEAN, serde_json::json!([])).await?;
                let r = db::clean::execute(&database, &opts).await;
                let counts = match &r {
                    Ok(c) => serde_json::json!({
                        "users": { "deleted": c.users.len() },
                        "courses": { "deleted": c.courses.len() },
                        "enrollments": { "deleted": c.enrollments },
                        "grades": { "deleted": c.grades },
                        "attendances": { "deleted": c.attendances },
                    }),
                    Err(_) => serde_json::json!({}),
                };
                run.finish_with(&database, &r, counts).await?;
                r
            } else {
                db::clean::plan(&database, &opts).await
            };
            match result {
                Ok(r) => {
                    match format {
                        OutputFormat::Json => println!("{}", json(&r)),
                        OutputFormat::Human => print!("{}", render::clean_report(&r)),
                    }
                    Ok(exit(r.executed || r.refusals.is_empty()))
                }
                Err(db::Error::Refused(msg)) => {
                    eprintln!("refused: {msg}");
                    Ok(ExitCode::from(1))
                }
                Err(e) => Err(e.into()),
            }
        }
        Command::Check { db, expect, format } => {
            let database = connect_existing(&db).await?;
            let expect: registrar::checks::Expectations = match expect {
                Some(s) => s.parse().map_err(|e| anyhow::anyhow!("--expect: {e}"))?,
                None => Default::default(),
            };
            let mut results = registrar::checks::run_checks(&database, &expect).await?;
            results.push(registrar::checks::unfinished_runs_check(&database).await?);
            let ok = results.iter().all(|c| c.passed);
            match format {
                OutputFormat::Json => println!(
                    "{}",
                    json(&serde_json::json!({ "ok": ok, "checks": results }))
                ),
                OutputFormat::Human => {
                    for c in &results {
                        println!(
                            "{:<4} {:<34} {:>8}  {}",
                            if c.passed { "ok" } else { "FAIL" },
                            c.name,
                            c.count,
                            c.detail
                        );
                    }
                    println!(
                        "{}",
                        if ok {
                            "all checks passed"
                        } else {
                            "some checks FAILED"
                        }
                    );
                }
            }
            Ok(exit(ok))
        }
        Command::VerifyLogins {
            db,
            file,
            sample,
            format,
            reader,
        } => {
            let database = connect_existing(&db).await?;
            let r = registrar::checks::verify_logins(&database, &file, &reader.options(), sample)
                .await?;
            match format {
                OutputFormat::Json => println!("{}", json(&r)),
                OutputFormat::Human => print!("{}", render::login_report(&r)),
            }
            Ok(exit(r.ok()))
        }
        Command::SetPassword { db, email } => {
            let (current, new) = read_passwords()?;
            let database = connect(&db).await?;
            let run =
                begin_writing(&database, db::command::SET_PASSWORD, serde_json::json!([])).await?;
            let r = registrar::checks::set_password(&database, &email, &current, &new).await;
            // The audit row names the account, never a password.
            let (outcome, error) = match &r {
                Ok(()) => ("success", None),
                Err(e @ registrar::checks::Error::Refused(_)) => ("refused", Some(e.to_string())),
                Err(e) => ("error", Some(e.to_string())),
            };
            run.finish(
                &database,
                outcome,
                serde_json::json!({ "users": { "updated": u8::from(r.is_ok()), "email": email } }),
                error,
            )
            .await?;
            match r {
                Ok(()) => {
                    println!("password changed for {email}");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e @ registrar::checks::Error::Refused(_)) => {
                    eprintln!("refused: {e}");
                    Ok(ExitCode::from(1))
                }
                Err(e) => Err(e.into()),
            }
        }
        Command::ForcePasswordReset { db, except_role } => {
            let database = connect(&db).await?;
            let run = begin_writing(
                &database,
                db::command::FORCE_PASSWORD_RESET,
                serde_json::json!([]),
            )
            .await?;
            let r = registrar::checks::force_password_reset(&database, except_role).await;
            let counts = match &r {
                Ok(n) => serde_json::json!({ "users": { "updated": n } }),
                Err(_) => serde_json::json!({}),
            };
            run.finish_with(&database, &r, counts).await?;
            let n = r?;
            println!("{n} user(s) must change their password at next login");
            Ok(ExitCode::SUCCESS)
        }
        Command::Stats { db, format } => {
            let database = connect_existing(&db).await?;
            let s = registrar::checks::stats(&database).await?;
            match format {
                OutputFormat::Json => println!("{}", json(&s)),
                OutputFormat::Human => print!("{}", render::stats(&s)),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit { db, format } => {
            let database = connect_existing(&db).await?;
            let runs = db::audit::list_runs(&database).await?;
            match format {
                OutputFormat::Json => println!("{}", json(&runs)),
                OutputFormat::Human => {
                    if runs.is_empty() {
                        println!("no runs recorded");
                    }
                    for r in &runs {
                        let unfinished = r.finished_at.is_none()
                            && (r.outcome == db::audit::RUNNING
                                || r.outcome == db::audit::COMMITTED);
                        println!(
                            "#{:<5} {}  {:<16} {:<18} by {:<12} v{}{}",
                            r.id,
                            r.started_at,
                            r.mode,
                            if unfinished {
                                format!("{} (UNFINISHED)", r.outcome)
                            } else {
                                r.outcome.clone()
                            },
                            r.operator,
                            r.tool_version,
                            r.error
                                .as_deref()
                                .map(|e| format!("  error: {e}"))
                                .unwrap_or_default()
                        );
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Reads the current and the new password: from the terminal without echo, or as two lines on
/// stdin when stdin is not a terminal. Never from argv.
fn read_passwords() -> Result<(Password, Password)> {
    if std::io::stdin().is_terminal() {
        let current = Password::new(rpassword::prompt_password("Current password: ")?);
        let new = Password::new(rpassword::prompt_password("New password: ")?);
        let again = Password::new(rpassword::prompt_password("New password again: ")?);
        if new != again {
            bail!("the two new passwords differ; nothing was changed");
        }
        Ok((current, new))
    } else {
        let stdin = std::io::stdin();
        let mut lines = stdin.lock().lines();
        let mut next = |what: &str| -> Result<Password> {
            match lines.next() {
                Some(line) => Ok(Password::new(
                    line?.trim_end_matches(['\r', '\n']).to_owned(),
                )),
                None => {
                    bail!("expected the {what} password on stdin (two lines: current, then new)")
                }
            }
        };
        let current = next("current")?;
        let new = next("new")?;
        Ok((current, new))
    }
}
