//! The command line: every command's arguments (clap derive). Parsing only; what a command
//! does is in `cmd/`, and through it in the `registrar` facade.

use crate::render::OutputFormat;
use clap::{Args, Parser, Subcommand};
use registrar::db;
use registrar::formats::ReaderOptions;
use registrar::model::{Entity, OnExisting, Role};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "registrar",
    version,
    about = "Move a school's SMS from training data to production data, safely."
)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct DbArgs {
    /// Database URL: sqlite://FILE (created 0600 by writing commands when missing; read-only commands refuse a missing file) or postgres://USER@HOST:PORT/DB.
    #[arg(long, env = "REGISTRAR_DATABASE_URL", default_value = db::DEFAULT_DATABASE_URL, hide_env_values = true)]
    pub database: String,
}

#[derive(Args, Debug, Clone)]
pub struct ReaderArgs {
    /// Text encoding of CSV/TSV files (a WHATWG label such as windows-1252); default UTF-8 or UTF-16 with BOM.
    #[arg(long)]
    pub encoding: Option<String>,
    /// CSV delimiter: `,` `;` or `tab` (default: detected from the header line).
    #[arg(long, value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,
    /// Sheet to read in spreadsheets (default: the first sheet).
    #[arg(long)]
    pub sheet: Option<String>,
    /// Refuse files larger than this many bytes.
    #[arg(long, default_value_t = ReaderOptions::default().max_file_size)]
    pub max_file_size: u64,
    /// Refuse fields longer than this many bytes.
    #[arg(long, default_value_t = ReaderOptions::default().max_field_size)]
    pub max_field_size: usize,
    /// Refuse files with more data rows than this.
    #[arg(long, default_value_t = ReaderOptions::default().max_rows)]
    pub max_rows: u64,
}

impl ReaderArgs {
    /// The reader options these flags give.
    pub fn options(&self) -> ReaderOptions {
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
pub struct InputArgs {
    /// A folder holding users, courses, enrollments, grades and attendance files (found by stem).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// One data file.
    #[arg(long)]
    pub file: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
#[group(required = true, multiple = false)]
pub struct RunMode {
    /// Check everything without writing.
    #[arg(long)]
    pub validate: bool,
    /// Write to the database.
    #[arg(long)]
    pub execute: bool,
}

/// The commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create or upgrade the schema (adopting an existing SMS database).
    Init(InitArgs),
    /// Load the runbook's training data (18 accounts, 5 sample courses) for a rehearsal.
    SeedTraining(SeedTrainingArgs),
    /// Validate data files (and, with --database, against what the database holds).
    Validate(ValidateArgs),
    /// Import data files: --validate checks against the database, --execute loads (all or nothing).
    Import(ImportArgs),
    /// Show what an import would do, row by row, against the database (writes nothing).
    Plan(PlanArgs),
    /// The whole runbook: backup, clean-up, import, checks, lock-down, backup and verify; rolls back on failure.
    Migrate(MigrateArgs),
    /// Write a consistent, compressed, checksummed backup of every SMS table.
    Backup(BackupArgs),
    /// Export the database as a OneRoster 1.1 or 1.2 CSV bundle (a .zip file or a folder).
    Export(ExportArgs),
    /// Replace the SMS tables' data with a backup's (one transaction; checks first and after).
    Restore(RestoreArgs),
    /// Check a backup's checksums and restore it into a scratch database to compare.
    VerifyBackup(VerifyBackupArgs),
    /// Delete the training accounts and sample courses with their dependent rows.
    Clean(CleanArgs),
    /// Run the integrity checks (and count expectations).
    Check(CheckArgs),
    /// Log in as a sample of imported users with their file passwords (argon2 verify).
    VerifyLogins(VerifyLoginsArgs),
    /// Change a user's password (read from the terminal without echo, or two lines on stdin).
    SetPassword(SetPasswordArgs),
    /// Require users to change their password at next login.
    ForcePasswordReset(ForcePasswordResetArgs),
    /// Print a starter mapping file (--mapping) inferred from the data files' headers and values.
    Mapping(MappingCmdArgs),
    /// Counts per role and table, database and table sizes.
    Stats(StatsArgs),
    /// The import_runs audit log, newest first.
    Audit(AuditArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout.
    Completions(CompletionsArgs),
    /// Print the manual page (roff) on stdout: registrar(1), or registrar-COMMAND(1).
    Man(ManArgs),
}

/// The arguments of `registrar init`.
#[derive(Args, Debug)]
pub struct InitArgs {
    #[command(flatten)]
    pub db: DbArgs,
}

/// The arguments of `registrar seed-training`.
#[derive(Args, Debug)]
pub struct SeedTrainingArgs {
    #[command(flatten)]
    pub db: DbArgs,
}

/// `--report FILE.html`: the run's report as one self-contained HTML page.
#[derive(Args, Debug, Default)]
pub struct HtmlReportArgs {
    /// Also write the run's report as one self-contained HTML page (0600; opens in any
    /// browser, no network access).
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
}

/// The arguments of `registrar validate`.
#[derive(Args, Debug)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// The entity of --file (default: from the file's stem).
    #[arg(long, value_parser = parse_entity)]
    pub entity: Option<Entity>,
    /// Also check against this database (already-exists, references).
    #[arg(long, env = "REGISTRAR_DATABASE_URL", hide_env_values = true)]
    pub database: Option<String>,
    #[arg(long, value_enum, default_value = "human")]
    pub format: OutputFormat,
    #[command(flatten)]
    pub reader: ReaderArgs,
    #[command(flatten)]
    pub hashes: HashArgs,
    #[command(flatten)]
    pub mapping: MappingArgs,
    #[command(flatten)]
    pub values: ValueArgs,
    #[command(flatten)]
    pub html: HtmlReportArgs,
}

/// `--mapping FILE.toml`: what the site's export calls things.
#[derive(Args, Debug, Clone, Default)]
pub struct MappingArgs {
    /// A mapping file: column renames, value maps, rows to skip and defaults per entity
    /// (`registrar mapping --data PATH` prints a starter one).
    #[arg(long, value_name = "FILE.toml")]
    pub mapping: Option<PathBuf>,
}

impl MappingArgs {
    /// The mapping file read and checked, if one was given.
    pub fn load(&self) -> anyhow::Result<Option<std::sync::Arc<registrar::mapping::Mapping>>> {
        match &self.mapping {
            None => Ok(None),
            Some(p) => Ok(Some(std::sync::Arc::new(
                registrar::mapping::Mapping::from_path(p)?,
            ))),
        }
    }
}

/// The arguments of `registrar mapping`.
#[derive(Args, Debug)]
pub struct MappingCmdArgs {
    /// The data folder (or one data file, whose stem names what it holds).
    #[arg(long)]
    pub data: PathBuf,
    #[command(flatten)]
    pub reader: ReaderArgs,
}

/// What the users file's `password_hash` column accepts (issue 14).
#[derive(Args, Debug, Clone, Default)]
pub struct HashArgs {
    /// What a legacy password hash (bcrypt, SHA-crypt, MD5-crypt, {SSHA}, Django PBKDF2, hex
    /// digests, argon2 below the policy) does: `keep` it (upgraded to argon2id at the first
    /// login), keep it and flag the account `password_reset_required` (`reset`), or `refuse`
    /// the row (legacy-hash-refused).
    #[arg(long, value_enum, default_value = "keep")]
    pub legacy_hashes: LegacyHashesArg,
    /// Accept bare hex MD5 / SHA-1 digests (no salt) in password_hash, each with an
    /// unsalted-hash warning; without it they are errors.
    #[arg(long)]
    pub accept_unsalted_hashes: bool,
}

impl HashArgs {
    /// The policy these flags give.
    pub fn policy(&self) -> registrar::hashes::HashPolicy {
        registrar::hashes::HashPolicy {
            legacy: match self.legacy_hashes {
                LegacyHashesArg::Keep => registrar::hashes::LegacyHashes::Keep,
                LegacyHashesArg::Reset => registrar::hashes::LegacyHashes::Reset,
                LegacyHashesArg::Refuse => registrar::hashes::LegacyHashes::Refuse,
            },
            accept_unsalted: self.accept_unsalted_hashes,
        }
    }
}

/// `--legacy-hashes`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LegacyHashesArg {
    /// Keep legacy hashes; they are upgraded to argon2id at the first login.
    #[default]
    Keep,
    /// Keep them and flag their accounts password_reset_required.
    Reset,
    /// Refuse rows with a legacy hash.
    Refuse,
}

/// How the values real exports hold are read, and what a user without a password does
/// (issue 12; see docs/values.md).
#[derive(Args, Debug, Clone, Default)]
pub struct ValueArgs {
    /// How dates written with slashes (9/1/2026, 09.01.2026) are read: `mdy` (US: 1 September)
    /// or `dmy` (Europe: 9 January). Without it they are refused, never guessed.
    #[arg(long, value_enum)]
    pub date_order: Option<DateOrderArg>,
    /// What a user with neither password nor password_hash does: `error`; `reset` (the new
    /// account gets no usable password and password_reset_required; nobody can log in until a
    /// reset sets one); `generate` (a random temporary password each, written only to
    /// --credentials-out, and password_reset_required). Existing accounts keep theirs.
    #[arg(long, value_enum, default_value = "error")]
    pub missing_password: MissingPasswordArg,
}

impl ValueArgs {
    /// `--date-order`.
    pub fn date_order(&self) -> Option<registrar::rules::parse::DateOrder> {
        self.date_order.map(|o| match o {
            DateOrderArg::Mdy => registrar::rules::parse::DateOrder::Mdy,
            DateOrderArg::Dmy => registrar::rules::parse::DateOrder::Dmy,
        })
    }

    /// `--missing-password`.
    pub fn missing_password(&self) -> registrar::model::MissingPassword {
        match self.missing_password {
            MissingPasswordArg::Error => registrar::model::MissingPassword::Error,
            MissingPasswordArg::Reset => registrar::model::MissingPassword::Reset,
            MissingPasswordArg::Generate => registrar::model::MissingPassword::Generate,
        }
    }
}

/// `--date-order`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOrderArg {
    /// Month/day/year (US).
    Mdy,
    /// Day/month/year (Europe).
    Dmy,
}

/// `--missing-password`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MissingPasswordArg {
    /// A user row without a password or hash is an error.
    #[default]
    Error,
    /// No usable password; flagged password_reset_required.
    Reset,
    /// A generated temporary password (written to --credentials-out); flagged
    /// password_reset_required.
    Generate,
}

/// What `import` reads: data, or a saved plan to apply.
#[derive(Args, Debug, Clone)]
#[group(required = true, multiple = false)]
pub struct ImportInputArgs {
    /// A folder holding users, courses, enrollments, grades and attendance files (found by stem).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// One data file.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Apply a plan saved by `registrar plan --out FILE` (with --execute): exactly what was
    /// reviewed, refused when the files or the database changed since.
    #[arg(long)]
    pub plan: Option<PathBuf>,
}

impl ImportInputArgs {
    /// The data input (`None` with --plan).
    pub fn input_args(&self) -> InputArgs {
        InputArgs {
            data: self.data.clone(),
            file: self.file.clone(),
        }
    }
}

/// How a run treats rows that changed or that the export no longer holds.
#[derive(Args, Debug, Clone, Default)]
pub struct ChangeArgs {
    /// With --on-existing update: change existing accounts' passwords too (a stored hash that
    /// already verifies the file's password is kept as it is). Without it an existing
    /// account's password is never changed.
    #[arg(long)]
    pub update_passwords: bool,
    /// Remove what the export no longer holds, of the entities it has files for: enrollments,
    /// grades and attendance deleted, users deactivated, courses set inactive. Only rows an
    /// earlier import made are touched.
    #[arg(long, conflicts_with = "sync_all")]
    pub sync: bool,
    /// Like --sync, rows of unknown origin too (made by hand in the SMS, the database's own);
    /// refused without --yes when there are any.
    #[arg(long)]
    pub sync_all: bool,
    /// With --sync-all: remove rows of unknown origin too.
    #[arg(long, requires = "sync_all")]
    pub yes: bool,
    /// Most percent of an entity's rows that a run may update or remove (default 10); a run
    /// over it is refused before anything is written, naming the value that approves it.
    #[arg(long, value_parser = parse_percent)]
    pub max_changes: Option<f64>,
}

impl ChangeArgs {
    /// The sync mode these flags ask for.
    pub fn sync_mode(&self) -> registrar::SyncMode {
        match (self.sync, self.sync_all) {
            (_, true) => registrar::SyncMode::All {
                confirmed: self.yes,
            },
            (true, false) => registrar::SyncMode::Imported,
            _ => registrar::SyncMode::Off,
        }
    }
}

fn parse_percent(s: &str) -> Result<f64, String> {
    let t = s.trim().trim_end_matches('%');
    match t.parse::<f64>() {
        Ok(v) if (0.0..=100.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a percentage from 0 to 100")),
    }
}

/// The arguments of `registrar plan`.
#[derive(Args, Debug)]
pub struct PlanArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[arg(long, value_parser = parse_entity)]
    pub entity: Option<Entity>,
    #[command(flatten)]
    pub db: DbArgs,
    /// What a row already in the database with other values does.
    #[arg(long, value_enum, default_value = "error")]
    pub on_existing: OnExistingArg,
    #[command(flatten)]
    pub changes: ChangeArgs,
    /// `human`: a summary and the first rows of each kind; `json`: the complete plan.
    #[arg(long, value_enum, default_value = "human")]
    pub format: OutputFormat,
    /// Save the complete plan (JSON, 0600) for `import --plan FILE --execute`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub reader: ReaderArgs,
    #[command(flatten)]
    pub html: HtmlReportArgs,
    #[command(flatten)]
    pub hashes: HashArgs,
    #[command(flatten)]
    pub mapping: MappingArgs,
    #[command(flatten)]
    pub values: ValueArgs,
}

/// The arguments of `registrar import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    #[command(flatten)]
    pub input: ImportInputArgs,
    #[command(flatten)]
    pub changes: ChangeArgs,
    #[arg(long, value_parser = parse_entity)]
    pub entity: Option<Entity>,
    #[command(flatten)]
    pub mode: RunMode,
    #[command(flatten)]
    pub db: DbArgs,
    /// Load the valid rows and write invalid rows to --rejects DIR.
    #[arg(long, requires = "rejects")]
    pub skip_invalid: bool,
    /// Folder for `<file>.rejects.csv` files (with --skip-invalid).
    #[arg(long, requires = "skip_invalid")]
    pub rejects: Option<PathBuf>,
    /// What a row already in the database does.
    #[arg(long, value_enum, default_value = "error")]
    pub on_existing: OnExistingArg,
    #[arg(long, value_enum, default_value = "human")]
    pub format: OutputFormat,
    #[command(flatten)]
    pub reader: ReaderArgs,
    #[command(flatten)]
    pub hashes: HashArgs,
    #[command(flatten)]
    pub mapping: MappingArgs,
    #[command(flatten)]
    pub values: ValueArgs,
    /// With --missing-password generate: the CSV (email,temporary_password; 0600) the generated
    /// passwords are written to, once, and only when the run commits. Never overwritten.
    #[arg(
        long,
        value_name = "FILE",
        required_if_eq("missing_password", "generate")
    )]
    pub credentials_out: Option<PathBuf>,
    #[command(flatten)]
    pub html: HtmlReportArgs,
}

/// The arguments of `registrar migrate`.
#[derive(Args, Debug)]
pub struct MigrateArgs {
    /// The data folder (or one data file, whose stem names what it holds).
    #[arg(long)]
    pub data: PathBuf,
    #[command(flatten)]
    pub mode: RunMode,
    #[command(flatten)]
    pub db: DbArgs,
    /// Where backups go (named with a UTC timestamp).
    #[arg(long, default_value = "backups")]
    pub backup_dir: PathBuf,
    /// Delete the training accounts and sample courses first.
    #[arg(long)]
    pub clean_training_data: bool,
    /// Require every non-admin user to change their password.
    #[arg(long)]
    pub force_password_reset: bool,
    /// What a row already in the database with other values does.
    #[arg(long, value_enum, default_value = "error")]
    pub on_existing: OnExistingArg,
    #[command(flatten)]
    pub changes: ChangeArgs,
    #[arg(long, value_enum, default_value = "human")]
    pub format: OutputFormat,
    #[command(flatten)]
    pub reader: ReaderArgs,
    #[command(flatten)]
    pub hashes: HashArgs,
    #[command(flatten)]
    pub mapping: MappingArgs,
    #[command(flatten)]
    pub values: ValueArgs,
    /// With --missing-password generate: the CSV (email,temporary_password; 0600) the generated
    /// passwords are written to, once, and only when the run commits. Never overwritten.
    #[arg(
        long,
        value_name = "FILE",
        required_if_eq("missing_password", "generate")
    )]
    pub credentials_out: Option<PathBuf>,
    #[command(flatten)]
    pub html: HtmlReportArgs,
}

/// The arguments of `registrar backup`.
#[derive(Args, Debug)]
pub struct BackupArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// The backup file to write (0600, atomically). An existing file is refused unless
    /// --force is given; the live database file is always refused.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing backup file at --out.
    #[arg(long)]
    pub force: bool,
}

/// The arguments of `registrar export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// The OneRoster version of the bundle: 1.1 or 1.2.
    #[arg(long, value_name = "VERSION", value_parser = parse_oneroster_version)]
    pub oneroster: registrar::formats::oneroster::spec::Version,
    /// Where to write: a FILE.zip, or a folder (created; an empty one is used). It holds
    /// personal data: 0600 files, 0700 folder. An existing target is refused unless --force
    /// is given and it is a previous export.
    #[arg(long, value_name = "FILE.zip|DIR")]
    pub out: PathBuf,
    /// The school's name (the one org of the bundle).
    #[arg(long, value_name = "NAME", default_value = registrar::export::DEFAULT_ORG_NAME)]
    pub org_name: String,
    /// Replace a previous export at --out (a zip file, or a folder holding only an earlier
    /// Registrar export).
    #[arg(long)]
    pub force: bool,
}

fn parse_oneroster_version(
    s: &str,
) -> Result<registrar::formats::oneroster::spec::Version, String> {
    registrar::formats::oneroster::spec::Version::parse(s)
        .ok_or_else(|| format!("unknown OneRoster version {s:?}: use 1.1 or 1.2"))
}

/// The arguments of `registrar restore`.
#[derive(Args, Debug)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// The backup file.
    #[arg(long)]
    pub from: PathBuf,
    /// Do not ask for confirmation (required when not on a terminal).
    #[arg(long)]
    pub yes: bool,
}

/// The arguments of `registrar verify-backup`.
#[derive(Args, Debug)]
pub struct VerifyBackupArgs {
    /// The backup file.
    pub file: PathBuf,
    /// Scratch database (default: a temporary SQLite file, removed afterwards). One whose
    /// SMS tables hold rows is refused unless --yes is given.
    #[arg(long)]
    pub scratch_database: Option<String>,
    /// Replace the data of a non-empty --scratch-database.
    #[arg(long, requires = "scratch_database")]
    pub yes: bool,
}

/// The arguments of `registrar clean`.
#[derive(Args, Debug)]
pub struct CleanArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub mode: CleanMode,
    /// Emails matching this regex are training accounts.
    #[arg(long)]
    pub pattern: Option<String>,
    /// Comma-separated course codes to delete.
    #[arg(long, value_delimiter = ',')]
    pub course_codes: Option<Vec<String>>,
    /// Delete even when real students are enrolled or no active admin would remain.
    #[arg(long)]
    pub force: bool,
    #[arg(long, value_enum, default_value = "human")]
    pub format: OutputFormat,
}

/// The arguments of `registrar check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Expected counts: students=N,teachers=N,admins=N,courses=N,enrollments=N.
    #[arg(long)]
    pub expect: Option<String>,
    /// Fail the legacy-hashes-left check while any account still has a legacy password hash
    /// (without it the check only reports them: they are upgraded at each first login).
    #[arg(long)]
    pub fail_on_legacy: bool,
    #[arg(long, value_enum, default_value = "human")]
    pub format: OutputFormat,
    #[command(flatten)]
    pub html: HtmlReportArgs,
}

/// The arguments of `registrar verify-logins`.
#[derive(Args, Debug)]
pub struct VerifyLoginsArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// The users file with plain passwords (accounts imported with --missing-password reset
    /// are reported as "reset required, no password", not failures).
    #[arg(
        long,
        required_unless_present = "credentials",
        conflicts_with = "credentials"
    )]
    pub file: Option<PathBuf>,
    /// The credentials file that --missing-password generate wrote: checks that the
    /// generated passwords log in.
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,
    /// How many users to check (default: all).
    #[arg(long)]
    pub sample: Option<usize>,
    #[arg(long, value_enum, default_value = "human")]
    pub format: OutputFormat,
    #[command(flatten)]
    pub reader: ReaderArgs,
}

/// The arguments of `registrar set-password`.
#[derive(Args, Debug)]
pub struct SetPasswordArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// The user's email.
    #[arg(long)]
    pub email: String,
}

/// The arguments of `registrar force-password-reset`.
#[derive(Args, Debug)]
pub struct ForcePasswordResetArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Leave users of this role alone (e.g. admin).
    #[arg(long, value_parser = parse_role)]
    pub except_role: Option<Role>,
}

/// The arguments of `registrar stats`.
#[derive(Args, Debug)]
pub struct StatsArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[arg(long, value_enum, default_value = "human")]
    pub format: OutputFormat,
}

/// The arguments of `registrar audit`.
#[derive(Args, Debug)]
pub struct AuditArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[arg(long, value_enum, default_value = "human")]
    pub format: OutputFormat,
}

#[derive(Args, Debug, Clone)]
#[group(required = true, multiple = false)]
pub struct CleanMode {
    /// Report what would be deleted.
    #[arg(long)]
    pub dry_run: bool,
    /// Delete.
    #[arg(long)]
    pub execute: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum OnExistingArg {
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

/// The arguments of `registrar completions`.
#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

impl InputArgs {
    /// What to read: the folder or the one file (with its `--entity`); `None` when neither was
    /// given (clap requires one).
    pub fn input(&self, entity: Option<Entity>) -> Option<registrar::import::Input> {
        match (&self.data, &self.file) {
            (Some(dir), _) => Some(registrar::import::Input::Dir(dir.clone())),
            (None, Some(file)) => Some(registrar::import::Input::File {
                path: file.clone(),
                entity,
            }),
            (None, None) => None,
        }
    }
}

/// The arguments of `registrar man`.
#[derive(Args, Debug)]
pub struct ManArgs {
    /// The command whose page to print (default: the page of `registrar` itself).
    pub command: Option<String>,
}
