//! `gen_data`: writes a valid, realistic, deterministic Registrar data set of any size.
//!
//! ```text
//! cargo run --release --example gen_data -- --students 20000 --teachers 50 --admins 3 \
//!     --courses 400 --per-student 6 --days 30 --grades-per-enrollment 2 --seed 42 \
//!     --formats csv --out /tmp/district [--prehashed-fraction 0.1] [--resolved] [--only attendance]
//! cargo run --example gen_data -- --preset example --out examples/data
//! cargo run --example gen_data -- --messy-xlsx examples/messy/courses.xlsx
//! ```
//!
//! Every row it writes passes every rule of SPEC §2: unique lower-case emails of the form
//! `first.last.N@district.example.org` (N is the user's 1-based line order, so never a
//! training account), strong unique passwords, distinct courses per student, distinct school
//! days (weekdays from 2026-09-01, school holidays skipped) per enrollment.
//!
//! Output is streamed with `BufWriter`s: 21.6 million attendance rows are never held in memory.
//! The same seed gives byte-identical files (except that `--only` writes fewer of them).
//! Run with `--help` for every flag.

use argon2::password_hash::{Output, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format as XlsxFormat, Formula, Workbook};
use std::collections::HashSet;
use std::error::Error;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

type Result<T, E = Box<dyn Error + Send + Sync>> = std::result::Result<T, E>;

const USAGE: &str = "\
gen_data: write a valid, realistic, deterministic Registrar data set

USAGE:
  cargo run --release --example gen_data -- [OPTIONS] --out DIR
  cargo run --example gen_data -- --messy-xlsx FILE

OPTIONS:
  --out DIR                    output folder (created when missing)
  --students N                 students (default 100)
  --teachers N                 teachers (default 5)
  --admins N                   admins (default 2)
  --courses N                  courses (default 20)
  --per-student N              distinct courses per student (default 4)
  --days N                     school days of attendance per enrollment (default 10)
  --grades-per-enrollment N    assessments per enrollment: midterm, final, project, ... (default 2)
  --seed N                     random seed (default 42)
  --formats F                  csv (all CSV, the default) | mixed (users.csv, courses.xlsx,
                               enrollments.csv with ';', grades.xlsx, attendance.ndjson) | a list
                               like users=csv,courses=xlsx,grades=json (csv, csv-semicolon, tsv,
                               xlsx, json, ndjson; unlisted entities stay csv)
  --prehashed-fraction F       this fraction of users get a real argon2id `password_hash` instead of
                               a plain password (default 0); their plain passwords go to
                               DIR/passwords-prehashed.csv (mode 0600)
  --no-password-file           do not write DIR/passwords-prehashed.csv
  --inactive-fraction F        this fraction of students are is_active=false (default 0.03)
  --only LIST                  write only these entities (e.g. attendance, or users,courses);
                               the others are still generated in memory so ids and keys agree
  --resolved                   also write DIR/attendance.resolved.csv: student_id,course_id,
                               attendance_date,status with no header, ids = 1-based line order of
                               users.* and courses.* (what a fresh database assigns), for psql \\copy
  --preset example             the examples/data set: 60 students, 6 teachers, 2 admins, 12 courses,
                               users.csv, courses.xlsx, enrollments.csv, grades.json,
                               attendance.ndjson, 3 pre-hashed users, 4 inactive users, no password file
                               (later flags override)
  --messy-xlsx FILE            write the broken courses workbook of examples/messy and exit
  --quiet                      no summary
  -h, --help                   this text
";

// ---------------------------------------------------------------------------------------------
// Arguments

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fmt {
    Csv(u8),
    Tsv,
    Xlsx,
    Json,
    Ndjson,
}

impl Fmt {
    fn parse(s: &str) -> Result<Fmt> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Fmt::Csv(b','),
            "csv-semicolon" | "csv;" | "scsv" => Fmt::Csv(b';'),
            "tsv" => Fmt::Tsv,
            "xlsx" => Fmt::Xlsx,
            "json" => Fmt::Json,
            "ndjson" | "jsonl" => Fmt::Ndjson,
            other => return Err(format!("unknown format {other:?}").into()),
        })
    }

    fn extension(self) -> &'static str {
        match self {
            Fmt::Csv(_) => "csv",
            Fmt::Tsv => "tsv",
            Fmt::Xlsx => "xlsx",
            Fmt::Json => "json",
            Fmt::Ndjson => "ndjson",
        }
    }
}

const ENTITIES: [&str; 5] = ["users", "courses", "enrollments", "grades", "attendance"];

#[derive(Debug, Clone)]
struct Args {
    out: Option<PathBuf>,
    students: usize,
    teachers: usize,
    admins: usize,
    courses: usize,
    per_student: usize,
    days: usize,
    grades_per_enrollment: usize,
    seed: u64,
    formats: [Fmt; 5],
    prehashed_fraction: f64,
    password_file: bool,
    inactive_fraction: f64,
    only: [bool; 5],
    resolved: bool,
    messy_xlsx: Option<PathBuf>,
    quiet: bool,
}

impl Default for Args {
    fn default() -> Args {
        Args {
            out: None,
            students: 100,
            teachers: 5,
            admins: 2,
            courses: 20,
            per_student: 4,
            days: 10,
            grades_per_enrollment: 2,
            seed: 42,
            formats: [Fmt::Csv(b','); 5],
            prehashed_fraction: 0.0,
            password_file: true,
            inactive_fraction: 0.03,
            only: [true; 5],
            resolved: false,
            messy_xlsx: None,
            quiet: false,
        }
    }
}

fn entity_index(name: &str) -> Result<usize> {
    ENTITIES
        .iter()
        .position(|e| e.eq_ignore_ascii_case(name.trim()))
        .ok_or_else(|| {
            format!("unknown entity {name:?} (users, courses, enrollments, grades, attendance)")
                .into()
        })
}

fn parse_formats(s: &str) -> Result<[Fmt; 5]> {
    match s.trim().to_ascii_lowercase().as_str() {
        "csv" => Ok([Fmt::Csv(b','); 5]),
        "mixed" => Ok([
            Fmt::Csv(b','),
            Fmt::Xlsx,
            Fmt::Csv(b';'),
            Fmt::Xlsx,
            Fmt::Ndjson,
        ]),
        _ => {
            let mut formats = [Fmt::Csv(b','); 5];
            for part in s.split(',').filter(|p| !p.trim().is_empty()) {
                let (entity, fmt) = part
                    .split_once('=')
                    .ok_or_else(|| format!("--formats: expected ENTITY=FORMAT, got {part:?}"))?;
                formats[entity_index(entity)?] = Fmt::parse(fmt)?;
            }
            Ok(formats)
        }
    }
}

fn parse_args(argv: impl IntoIterator<Item = String>) -> Result<Option<Args>> {
    let mut args = Args::default();
    let mut it = argv.into_iter();
    fn value(it: &mut impl Iterator<Item = String>, flag: &str) -> Result<String> {
        it.next()
            .ok_or_else(|| format!("{flag} needs a value").into())
    }
    fn number<T: std::str::FromStr>(s: String, flag: &str) -> Result<T> {
        s.trim()
            .parse()
            .map_err(|_| format!("{flag}: {s:?} is not a valid number").into())
    }
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--out" => args.out = Some(PathBuf::from(value(&mut it, &flag)?)),
            "--students" => args.students = number(value(&mut it, &flag)?, &flag)?,
            "--teachers" => args.teachers = number(value(&mut it, &flag)?, &flag)?,
            "--admins" => args.admins = number(value(&mut it, &flag)?, &flag)?,
            "--courses" => args.courses = number(value(&mut it, &flag)?, &flag)?,
            "--per-student" => args.per_student = number(value(&mut it, &flag)?, &flag)?,
            "--days" => args.days = number(value(&mut it, &flag)?, &flag)?,
            "--grades-per-enrollment" => {
                args.grades_per_enrollment = number(value(&mut it, &flag)?, &flag)?
            }
            "--seed" => args.seed = number(value(&mut it, &flag)?, &flag)?,
            "--formats" => args.formats = parse_formats(&value(&mut it, &flag)?)?,
            "--prehashed-fraction" => {
                args.prehashed_fraction = number(value(&mut it, &flag)?, &flag)?
            }
            "--inactive-fraction" => {
                args.inactive_fraction = number(value(&mut it, &flag)?, &flag)?
            }
            "--no-password-file" => args.password_file = false,
            "--only" => {
                let list = value(&mut it, &flag)?;
                args.only = [false; 5];
                for name in list.split(',').filter(|p| !p.trim().is_empty()) {
                    args.only[entity_index(name)?] = true;
                }
            }
            "--resolved" => args.resolved = true,
            "--quiet" => args.quiet = true,
            "--messy-xlsx" => args.messy_xlsx = Some(PathBuf::from(value(&mut it, &flag)?)),
            "--preset" => match value(&mut it, &flag)?.as_str() {
                "example" => {
                    args.students = 60;
                    args.teachers = 6;
                    args.admins = 2;
                    args.courses = 12;
                    args.per_student = 4;
                    args.days = 10;
                    args.grades_per_enrollment = 2;
                    args.seed = 2026;
                    args.formats = parse_formats(
                        "users=csv,courses=xlsx,enrollments=csv,grades=json,attendance=ndjson",
                    )?;
                    args.prehashed_fraction = 3.0 / 68.0;
                    args.inactive_fraction = 4.0 / 60.0;
                    args.password_file = false;
                }
                other => return Err(format!("unknown preset {other:?} (example)").into()),
            },
            other => return Err(format!("unknown argument {other:?}; see --help").into()),
        }
    }
    if !(0.0..=1.0).contains(&args.prehashed_fraction) {
        return Err("--prehashed-fraction must be between 0 and 1".into());
    }
    if !(0.0..=1.0).contains(&args.inactive_fraction) {
        return Err("--inactive-fraction must be between 0 and 1".into());
    }
    if args.messy_xlsx.is_none() {
        if args.out.is_none() {
            return Err("--out DIR is required; see --help".into());
        }
        if args.per_student > args.courses {
            return Err(format!(
                "--per-student {} is more than --courses {}",
                args.per_student, args.courses
            )
            .into());
        }
        if args.grades_per_enrollment > ASSESSMENTS.len() {
            return Err(format!("--grades-per-enrollment is at most {}", ASSESSMENTS.len()).into());
        }
    }
    Ok(Some(args))
}

// ---------------------------------------------------------------------------------------------
// Built-in lists

#[rustfmt::skip]
const FIRST_NAMES: &[&str] = &[
    "Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Ava", "Elijah", "Sophia", "James",
    "Isabella", "William", "Mia", "Benjamin", "Charlotte", "Lucas", "Harper", "Henry", "Evelyn",
    "Theodore", "Abigail", "Jack", "Emily", "Levi", "Ella", "Alexander", "Elizabeth", "Jackson",
    "Camila", "Mateo", "Luna", "Daniel", "Sofía", "Michael", "Avery", "Mason", "Mila", "Sebastian",
    "Aria", "Ethan", "Scarlett", "Logan", "Penelope", "Owen", "Layla", "Samuel", "Chloe", "Jacob",
    "Victoria", "Asher", "Madison", "Aiden", "Eleanor", "John", "Grace", "Joseph", "Nora", "Wyatt",
    "Riley", "David", "Zoey", "Leo", "Hannah", "Luke", "Hazel", "Julian", "Lily", "Hudson",
    "Ellie", "Grayson", "Violet", "Matthew", "Lillian", "Ezra", "Zoë", "Gabriel", "Stella",
    "Carter", "Aurora", "Isaac", "Natalie", "Jayden", "Emilia", "Luca", "Everly", "Anthony",
    "Leah", "Dylan", "Aubrey", "Lincoln", "Willow", "Thomas", "Addison", "Maverick", "Lucy",
    "Elias", "Audrey", "Josiah", "Bella", "Charles", "Nova", "Caleb", "Brooklyn", "Christopher",
    "Paisley", "Ezekiel", "Savannah", "Miles", "Claire", "Jaxon", "Skylar", "Isaiah", "Isla",
    "Andrew", "Genesis", "Joshua", "Naomi", "Nathan", "Elena", "Nolan", "Caroline", "Adrian",
    "Eliana", "Cameron", "Anna", "Santiago", "Maya", "Eli", "Valentina", "Aaron", "Ruby",
    "Ryan", "Kennedy", "Angel", "Ivy", "Cooper", "Ariana", "Waylon", "Aaliyah", "Easton", "Cora",
    "Kai", "Madelyn", "Christian", "Alice", "Landon", "Kinsley", "Colton", "Hailey", "Roman",
    "Gabriella", "Axel", "Allison", "Brooks", "Gianna", "Jonathan", "Serenity", "Robert",
    "Samantha", "Jameson", "Sarah", "Ian", "Autumn", "Everett", "Quinn", "Greyson", "Eva",
    "Wesley", "Piper", "Jeremiah", "Sophie", "Hunter", "Sadie", "Leonardo", "Delilah", "Jordan",
    "Josephine", "Jose", "Nevaeh", "Bennett", "Adeline", "Silas", "Arya", "Nicholas", "Emery",
    "Parker", "Lydia", "Beau", "Clara", "Weston", "Vivian", "Austin", "Madeline", "Connor",
    "Peyton", "Carson", "Julia", "Dominic", "Rylee", "Xavier", "Brielle", "Jaxson", "Reagan",
    "Jace", "Natalia", "Emmett", "Jade", "Adam", "Athena", "Declan", "Maria", "Rowan", "Leilani",
    "Micah", "Everleigh", "Kayden", "Liliana", "Gael", "Melanie", "River", "Mackenzie", "Ryder",
    "Hadley", "Kingston", "Raelynn", "Damian", "Kaylee", "Sawyer", "Rose", "Luka", "Arianna",
    "Evan", "Isabelle", "Vincent", "Melody", "Legend", "Eliza", "Myles", "Lyla", "Harrison",
    "Katherine", "August", "Aubree", "Bryson", "Adalynn", "Amir", "Kylie", "Giovanni", "Faith",
    "Chase", "Mary", "Diego", "Margaret", "Milo", "Ximena", "Jasper", "Iris", "Walker",
    "Alexandra", "Jason", "Jasmine", "Brayden", "Charlie", "Cole", "Amaya", "Nathaniel", "Taylor",
    "George", "Isabel", "Lorenzo", "Ashley", "Zion", "Khloe", "Luis", "Ryleigh", "Archer",
    "Alexa", "Enzo", "Amara", "Jonah", "Valeria", "Thiago", "Andrea", "Theo", "Ana", "Ayden",
    "Priya", "Zachary", "Aisha", "Calvin", "Mei", "Braxton", "Fatima", "Ashton", "Yuki", "Rhett",
    "Ingrid", "Atlas", "Siobhán", "Jude", "Chiara", "Bentley", "Amina", "Carlos", "Lucía",
    "Ryker", "Ngozi", "Adonis", "Hana", "Malachi", "Camille", "Arjun", "Freya", "Kwame", "Noor",
    "Tomás", "Elif", "Dmitri", "Ines", "Hiroshi", "Anouk", "Rafael", "Sakura", "Mohammed",
    "Beatriz", "Oisín", "Astrid", "Jamal", "Leila", "Kenji", "Marisol", "Pavel", "Renée",
    "Tariq", "Yasmin", "Björn", "Esperanza", "Chinedu", "Ayesha", "Matías", "Keiko",
];

#[rustfmt::skip]
const LAST_NAMES: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Gomez", "Phillips", "Evans", "Turner",
    "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris", "Morales",
    "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper", "Peterson", "Bailey",
    "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson", "Watson", "Brooks",
    "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes", "Price",
    "Alvarez", "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez",
    "Powell", "Jenkins", "Perry", "Russell", "Sullivan", "Bell", "Coleman", "Butler", "Henderson",
    "Barnes", "Gonzales", "Fisher", "Vasquez", "Simmons", "Romero", "Jordan", "Patterson",
    "Alexander", "Hamilton", "Graham", "Reynolds", "Griffin", "Wallace", "Moreno", "West",
    "Cole", "Hayes", "Bryant", "Herrera", "Gibson", "Ellis", "Tran", "Medina", "Aguilar",
    "Stevens", "Murray", "Ford", "Castro", "Marshall", "Owens", "Harrison", "Fernandez",
    "McDonald", "Woods", "Washington", "Kennedy", "Wells", "Vargas", "Henry", "Chen", "Freeman",
    "Webb", "Tucker", "Guzman", "Burns", "Crawford", "Olson", "Simpson", "Porter", "Hunter",
    "Gordon", "Mendez", "Silva", "Shaw", "Snyder", "Mason", "Dixon", "Muñoz", "Hunt", "Hicks",
    "Holmes", "Palmer", "Wagner", "Black", "Robertson", "Boyd", "Rose", "Stone", "Salazar", "Fox",
    "Warren", "Mills", "Meyer", "Rice", "Schmidt", "Garza", "Daniels", "Ferguson", "Nichols",
    "Stephens", "Soto", "Weaver", "Ryan", "Gardner", "Payne", "Grant", "Dunn", "Kelley",
    "Spencer", "Hawkins", "Arnold", "Pierce", "Vazquez", "Hansen", "Peters", "Santos", "Hart",
    "Bradley", "Knight", "Elliott", "Cunningham", "Duncan", "Armstrong", "Hudson", "Carroll",
    "Lane", "Riley", "Andrews", "Alvarado", "Ray", "Delgado", "Berry", "Perkins", "Hoffman",
    "Johnston", "Matthews", "Peña", "Richards", "Contreras", "Willis", "Carpenter", "Lawrence",
    "Sandoval", "O'Brien", "O'Connor", "D'Angelo", "McAllister", "Van der Berg", "De la Cruz",
    "Okafor", "Adeyemi", "Mensah", "Nakamura", "Tanaka", "Suzuki", "Watanabe", "Yamamoto",
    "Wang", "Zhang", "Liu", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun", "Ma", "Park", "Choi",
    "Jung", "Kang", "Yoon", "Singh", "Kumar", "Sharma", "Gupta", "Reddy", "Iyer", "Khan",
    "Ahmed", "Hussain", "Rahman", "Haddad", "Nasser", "Cohen", "Levi", "Friedman", "Novak",
    "Kowalski", "Nowak", "Horvath", "Papadopoulos", "Rossi", "Russo", "Ferrari", "Esposito",
    "Bianchi", "Müller", "Schneider", "Fischer", "Weber", "Becker", "Schulz", "Dubois",
    "Lefèvre", "Moreau", "Laurent", "Girard", "Bernard", "Andersson", "Johansson", "Nilsson",
    "Larsen", "Jensen", "Nielsen", "Ivanov", "Petrov", "Kuznetsov", "Popescu", "Yilmaz", "Kaya",
    "Demir", "Oliveira", "Souza", "Pereira", "Costa", "Almeida", "Nwosu", "Abubakar", "Ochieng",
    "Kariuki", "Dlamini", "Nkosi", "Ó Súilleabháin", "Kealoha", "Begay", "Yazzie",
];

/// Words for passphrase-style passwords (none is a password on any common list by itself, and
/// three of them joined with a number and a symbol never are).
#[rustfmt::skip]
const WORDS: &[&str] = &[
    "maple", "orbit", "canyon", "velvet", "harbor", "copper", "lantern", "meadow", "quartz",
    "ripple", "saddle", "timber", "violet", "walnut", "zephyr", "anchor", "basalt", "cobalt",
    "dune", "ember", "fjord", "glacier", "hollow", "indigo", "juniper", "kettle", "lagoon",
    "mosaic", "nectar", "oasis", "pebble", "quiver", "raven", "sierra", "tundra", "umber",
    "vortex", "willow", "yonder", "zenith", "acorn", "breeze", "cedar", "delta", "falcon",
    "garnet", "heron", "island", "jasper", "kayak", "lotus", "marble", "nimbus", "otter",
    "prairie", "quill", "reef", "sparrow", "thistle", "upland", "valley", "wander", "yarrow",
    "zinnia", "bramble", "cascade", "drizzle", "flint", "gravel", "hazel", "inlet", "jigsaw",
];

#[rustfmt::skip]
const SYMBOLS: &[char] = &['!', '#', '$', '%', '&', '*', '+', '?', '@', '^', '_', '~', '='];

/// (code prefix, department, course topics).
#[rustfmt::skip]
const DEPARTMENTS: &[(&str, &str, &[&str])] = &[
    ("MATH", "Mathematics", &["Algebra I", "Geometry", "Algebra II", "Precalculus", "Calculus AB", "Calculus BC", "Statistics", "Discrete Mathematics"]),
    ("ENG", "English", &["English 9", "English 10", "American Literature", "British Literature", "Creative Writing", "Journalism", "Speech and Debate"]),
    ("HIST", "History", &["World History", "U.S. History", "European History", "Government and Civics", "Economics", "Geography"]),
    ("BIO", "Biology", &["Biology", "Anatomy and Physiology", "Environmental Science", "Marine Biology", "Genetics"]),
    ("CHEM", "Chemistry", &["Chemistry", "Organic Chemistry", "Forensic Science"]),
    ("PHYS", "Physics", &["Physics", "Physics C: Mechanics", "Astronomy", "Earth Science"]),
    ("SPAN", "Spanish", &["Spanish I", "Spanish II", "Spanish III", "Spanish Language and Culture"]),
    ("FREN", "French", &["French I", "French II", "French III"]),
    ("CSC", "Computer Science", &["Computer Science Principles", "Programming in Python", "Data Structures", "Web Design", "Robotics"]),
    ("ART", "Visual Arts", &["Drawing and Painting", "Ceramics", "Photography", "Graphic Design"]),
    ("MUS", "Music", &["Concert Band", "Orchestra", "Choir", "Music Theory", "Jazz Ensemble"]),
    ("PE", "Physical Education", &["Physical Education", "Health", "Strength and Conditioning", "Dance"]),
    ("PSY", "Psychology", &["Psychology", "Sociology"]),
    ("BUS", "Business", &["Personal Finance", "Accounting", "Marketing", "Entrepreneurship"]),
];

#[rustfmt::skip]
const ASSESSMENTS: &[&str] = &[
    "midterm", "final", "project", "quiz-1", "quiz-2", "quiz-3", "lab-report", "essay",
];

// ---------------------------------------------------------------------------------------------
// Generated entities

struct Person {
    first: String,
    last: String,
    email: String,
    role: &'static str,
    active: bool,
    password: String,
    hash: Option<String>,
}

struct CourseRow {
    code: String,
    name: String,
    description: String,
    credits: u8,
    status: &'static str,
}

/// Lower-case ASCII letters and digits of a name (`"O'Brien, Jr."` → `"obrienjr"`).
fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'Á' => 'a',
            'é' | 'è' | 'ê' | 'ë' | 'É' => 'e',
            'í' | 'ì' | 'î' | 'ï' | 'Í' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'Ó' | 'Ö' => 'o',
            'ú' | 'ù' | 'û' | 'ü' | 'Ú' | 'Ü' => 'u',
            'ñ' | 'Ñ' => 'n',
            'ç' | 'Ç' => 'c',
            c => c,
        };
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        }
    }
    if out.is_empty() {
        out.push('x');
    }
    out
}

/// A seeded generator for one part of the data set, so that each file's content does not
/// depend on which other files are written.
fn rng_for(seed: u64, stream: u64) -> StdRng {
    StdRng::seed_from_u64(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

fn exact_sample(rng: &mut StdRng, n: usize, fraction: f64) -> Vec<bool> {
    let k = ((n as f64) * fraction).round() as usize;
    let mut chosen = vec![false; n];
    for i in rand::seq::index::sample(rng, n, k.min(n)) {
        chosen[i] = true;
    }
    chosen
}

fn make_password(rng: &mut StdRng, local_part: &str, taken: &mut HashSet<String>) -> String {
    loop {
        let mut p = String::with_capacity(32);
        let capital = rng.gen_range(0..3);
        for i in 0..3 {
            let w = WORDS.choose(rng).copied().unwrap_or("maple");
            if i > 0 {
                p.push('-');
            }
            if i == capital {
                let mut cs = w.chars();
                if let Some(first) = cs.next() {
                    p.push(first.to_ascii_uppercase());
                    p.extend(cs);
                }
            } else {
                p.push_str(w);
            }
        }
        p.push_str(&rng.gen_range(10..1000).to_string());
        p.push(*SYMBOLS.choose(rng).unwrap_or(&'!'));
        let lower = p.to_lowercase();
        if (8..=128).contains(&p.chars().count())
            && !lower.contains(&local_part.to_lowercase())
            && taken.insert(p.clone())
        {
            return p;
        }
    }
}

fn make_users(args: &Args) -> Vec<Person> {
    let mut rng = rng_for(args.seed, 1);
    let total = args.admins + args.teachers + args.students;
    let mut taken = HashSet::with_capacity(total);
    let mut users = Vec::with_capacity(total);
    for i in 0..total {
        let role = if i < args.admins {
            "admin"
        } else if i < args.admins + args.teachers {
            "teacher"
        } else {
            "student"
        };
        let first = FIRST_NAMES.choose(&mut rng).copied().unwrap_or("Alex");
        let last = LAST_NAMES.choose(&mut rng).copied().unwrap_or("Smith");
        // A generational suffix now and then, which puts a comma inside a CSV field.
        let last = if i % 50 == 7 {
            format!("{last}, Jr.")
        } else {
            last.to_string()
        };
        let email = format!(
            "{}.{}.{}@district.example.org",
            slug(first),
            slug(last.split(',').next().unwrap_or_default()),
            i + 1
        );
        let local = email.split('@').next().unwrap_or_default().to_string();
        let password = make_password(&mut rng, &local, &mut taken);
        users.push(Person {
            first: first.to_string(),
            last,
            email,
            role,
            active: true,
            password,
            hash: None,
        });
    }
    // Inactive accounts (students who left): students only, so every admin and teacher stays active.
    let mut rng = rng_for(args.seed, 2);
    let first_student = args.admins + args.teachers;
    let inactive = exact_sample(&mut rng, total - first_student, args.inactive_fraction);
    for (i, off) in inactive.into_iter().enumerate() {
        if off {
            users[first_student + i].active = false;
        }
    }
    users
}

/// Pre-hashes a fraction of the users with real argon2id (default parameters), on every core.
fn hash_some(args: &Args, users: &mut [Person]) -> Result<usize> {
    let mut rng = rng_for(args.seed, 3);
    let chosen = exact_sample(&mut rng, users.len(), args.prehashed_fraction);
    let mut jobs: Vec<(usize, [u8; 16])> = Vec::new();
    for (i, c) in chosen.into_iter().enumerate() {
        if c {
            let mut salt = [0u8; 16];
            rng.fill(&mut salt);
            jobs.push((i, salt));
        }
    }
    if jobs.is_empty() {
        return Ok(0);
    }
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(jobs.len());
    let chunk = jobs.len().div_ceil(threads);
    let users_ref: &[Person] = users;
    let results: Vec<Result<Vec<(usize, String)>, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    // One memory block per thread, reused for every hash (argon2's default
                    // parameters: argon2id v19, m=19456, t=2, p=1, 32-byte output).
                    let params = Params::default();
                    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
                    let mut memory = vec![Block::default(); params.block_count()];
                    let mut out = Vec::with_capacity(part.len());
                    for (i, salt) in part {
                        let mut digest = [0u8; Params::DEFAULT_OUTPUT_LEN];
                        argon
                            .hash_password_into_with_memory(
                                users_ref[*i].password.as_bytes(),
                                salt,
                                &mut digest,
                                &mut memory,
                            )
                            .map_err(|e| e.to_string())?;
                        let salt = SaltString::encode_b64(salt).map_err(|e| e.to_string())?;
                        let digest = Output::new(&digest).map_err(|e| e.to_string())?;
                        out.push((
                            *i,
                            format!(
                                "$argon2id$v=19$m={},t={},p={}${}${}",
                                params.m_cost(),
                                params.t_cost(),
                                params.p_cost(),
                                salt.as_str(),
                                digest
                            ),
                        ));
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("hashing thread panicked".into()))
            })
            .collect()
    });
    let mut n = 0;
    for part in results {
        for (i, hash) in part? {
            users[i].hash = Some(hash);
            n += 1;
        }
    }
    Ok(n)
}

fn make_courses(args: &Args) -> Vec<CourseRow> {
    let mut rng = rng_for(args.seed, 4);
    let mut courses = Vec::with_capacity(args.courses);
    for i in 0..args.courses {
        let (prefix, dept, topics) = DEPARTMENTS[i % DEPARTMENTS.len()];
        let k = i / DEPARTMENTS.len();
        let code = format!("{prefix}{}", 101 + k);
        let topic = topics[k % topics.len()];
        let name = if k < topics.len() {
            topic.to_string()
        } else {
            format!("{topic} (section {})", k / topics.len() + 1)
        };
        let level = match k % 4 {
            0 => "an introductory",
            1 => "a core",
            2 => "an intermediate",
            _ => "an advanced",
        };
        let description = format!("{name}: {level} {dept} course for grades 9-12.");
        let credits = match rng.gen_range(0..100) {
            0..=2 => 0,
            3..=12 => 1,
            13..=22 => 2,
            23..=57 => 3,
            58..=87 => 4,
            _ => 5,
        };
        let status = match rng.gen_range(0..100) {
            0..=91 => "active",
            92..=96 => "inactive",
            _ => "archived",
        };
        courses.push(CourseRow {
            code,
            name,
            description,
            credits,
            status,
        });
    }
    courses
}

/// For each student (in order), the indexes of the distinct courses they take, plus their
/// enrollment date.
fn make_enrollments(args: &Args) -> Vec<(Vec<u32>, NaiveDate)> {
    let mut rng = rng_for(args.seed, 5);
    let base = NaiveDate::from_ymd_opt(2026, 8, 17).unwrap_or_default();
    (0..args.students)
        .map(|_| {
            let mut picks: Vec<u32> =
                rand::seq::index::sample(&mut rng, args.courses, args.per_student)
                    .into_iter()
                    .map(|c| c as u32)
                    .collect();
            picks.sort_unstable();
            let date = base + Duration::days(rng.gen_range(0..14));
            (picks, date)
        })
        .collect()
}

/// `n` school days from 2026-09-01: weekdays, skipping the usual holidays and breaks.
fn school_days(n: usize) -> Vec<NaiveDate> {
    let ymd = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
    let closed = |d: NaiveDate| -> bool {
        let breaks = [
            (ymd(2026, 9, 7), ymd(2026, 9, 7)),     // Labor Day
            (ymd(2026, 10, 12), ymd(2026, 10, 12)), // Indigenous Peoples' Day
            (ymd(2026, 11, 11), ymd(2026, 11, 11)), // Veterans Day
            (ymd(2026, 11, 25), ymd(2026, 11, 27)), // Thanksgiving
            (ymd(2026, 12, 21), ymd(2027, 1, 1)),   // Winter break
            (ymd(2027, 1, 18), ymd(2027, 1, 18)),   // Martin Luther King Jr. Day
            (ymd(2027, 2, 15), ymd(2027, 2, 19)),   // Mid-winter break
            (ymd(2027, 4, 12), ymd(2027, 4, 16)),   // Spring break
            (ymd(2027, 5, 31), ymd(2027, 5, 31)),   // Memorial Day
        ];
        breaks.iter().any(|(a, b)| *a <= d && d <= *b)
    };
    let mut days = Vec::with_capacity(n);
    let mut d = ymd(2026, 9, 1);
    while days.len() < n {
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !closed(d) {
            days.push(d);
        }
        d += Duration::days(1);
    }
    days
}

fn letter_for(score: f64) -> &'static str {
    match score {
        s if s >= 97.0 => "A+",
        s if s >= 93.0 => "A",
        s if s >= 90.0 => "A-",
        s if s >= 87.0 => "B+",
        s if s >= 83.0 => "B",
        s if s >= 80.0 => "B-",
        s if s >= 77.0 => "C+",
        s if s >= 73.0 => "C",
        s if s >= 70.0 => "C-",
        s if s >= 67.0 => "D+",
        s if s >= 63.0 => "D",
        s if s >= 60.0 => "D-",
        _ => "F",
    }
}

// ---------------------------------------------------------------------------------------------
// Writers

/// One cell value.
enum Cell<'a> {
    S(&'a str),
    I(i64),
    F(f64),
    B(bool),
    D(NaiveDate),
    E,
}

trait Sink {
    fn row(&mut self, cells: &[Cell<'_>]) -> Result<()>;
    fn finish(self: Box<Self>) -> Result<()>;
}

fn write_date(w: &mut impl Write, d: NaiveDate) -> std::io::Result<()> {
    write!(w, "{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

struct CsvSink {
    w: BufWriter<File>,
    delim: u8,
}

impl CsvSink {
    fn new(path: &Path, delim: u8, headers: &[&str]) -> Result<CsvSink> {
        let mut s = CsvSink {
            w: BufWriter::with_capacity(1 << 20, File::create(path)?),
            delim,
        };
        let cells: Vec<Cell<'_>> = headers.iter().map(|h| Cell::S(h)).collect();
        s.row(&cells)?;
        Ok(s)
    }
}

impl Sink for CsvSink {
    fn row(&mut self, cells: &[Cell<'_>]) -> Result<()> {
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                self.w.write_all(&[self.delim])?;
            }
            match c {
                Cell::S(s) => {
                    let needs = s
                        .bytes()
                        .any(|b| b == self.delim || b == b'"' || b == b'\n' || b == b'\r');
                    if needs {
                        self.w.write_all(b"\"")?;
                        self.w.write_all(s.replace('"', "\"\"").as_bytes())?;
                        self.w.write_all(b"\"")?;
                    } else {
                        self.w.write_all(s.as_bytes())?;
                    }
                }
                Cell::I(n) => write!(self.w, "{n}")?,
                Cell::F(x) => write!(self.w, "{x}")?,
                Cell::B(b) => self.w.write_all(if *b { b"true" } else { b"false" })?,
                Cell::D(d) => write_date(&mut self.w, *d)?,
                Cell::E => {}
            }
        }
        self.w.write_all(b"\n")?;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        self.w.flush()?;
        Ok(())
    }
}

struct JsonSink {
    w: BufWriter<File>,
    headers: Vec<String>,
    ndjson: bool,
    rows: u64,
}

impl JsonSink {
    fn new(path: &Path, ndjson: bool, headers: &[&str]) -> Result<JsonSink> {
        let mut w = BufWriter::with_capacity(1 << 20, File::create(path)?);
        if !ndjson {
            w.write_all(b"[")?;
        }
        Ok(JsonSink {
            w,
            headers: headers
                .iter()
                .map(serde_json::to_string)
                .collect::<Result<_, _>>()?,
            ndjson,
            rows: 0,
        })
    }
}

impl Sink for JsonSink {
    fn row(&mut self, cells: &[Cell<'_>]) -> Result<()> {
        if !self.ndjson {
            self.w
                .write_all(if self.rows == 0 { b"\n  " } else { b",\n  " })?;
        }
        self.rows += 1;
        self.w.write_all(b"{")?;
        for (i, (h, c)) in self.headers.iter().zip(cells).enumerate() {
            if i > 0 {
                self.w.write_all(if self.ndjson { b"," } else { b", " })?;
            }
            self.w.write_all(h.as_bytes())?;
            self.w.write_all(if self.ndjson { b":" } else { b": " })?;
            match c {
                Cell::S(s) => serde_json::to_writer(&mut self.w, s)?,
                Cell::I(n) => write!(self.w, "{n}")?,
                Cell::F(x) => write!(self.w, "{x}")?,
                Cell::B(b) => self.w.write_all(if *b { b"true" } else { b"false" })?,
                Cell::D(d) => {
                    self.w.write_all(b"\"")?;
                    write_date(&mut self.w, *d)?;
                    self.w.write_all(b"\"")?;
                }
                Cell::E => self.w.write_all(b"null")?,
            }
        }
        self.w.write_all(b"}")?;
        if self.ndjson {
            self.w.write_all(b"\n")?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        if !self.ndjson {
            self.w.write_all(b"\n]\n")?;
        }
        self.w.flush()?;
        Ok(())
    }
}

struct XlsxSink {
    workbook: Workbook,
    path: PathBuf,
    row: u32,
    date_format: XlsxFormat,
}

impl XlsxSink {
    fn new(path: &Path, sheet: &str, headers: &[&str]) -> Result<XlsxSink> {
        let mut workbook = new_workbook()?;
        let bold = XlsxFormat::new().set_bold();
        let ws = workbook.add_worksheet_with_constant_memory();
        ws.set_name(sheet)?;
        for (c, h) in headers.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &bold)?;
        }
        Ok(XlsxSink {
            workbook,
            path: path.to_path_buf(),
            row: 1,
            date_format: XlsxFormat::new().set_num_format("yyyy-mm-dd"),
        })
    }
}

impl Sink for XlsxSink {
    fn row(&mut self, cells: &[Cell<'_>]) -> Result<()> {
        if self.row >= 1_048_576 {
            return Err(format!(
                "{}: more rows than an Excel sheet holds (1,048,576); use another format",
                self.path.display()
            )
            .into());
        }
        let r = self.row;
        let ws = self.workbook.worksheet_from_index(0)?;
        for (c, cell) in cells.iter().enumerate() {
            let c = c as u16;
            match cell {
                Cell::S(s) => {
                    ws.write_string(r, c, *s)?;
                }
                Cell::I(n) => {
                    ws.write_number(r, c, *n as f64)?;
                }
                Cell::F(x) => {
                    ws.write_number(r, c, *x)?;
                }
                Cell::B(b) => {
                    ws.write_boolean(r, c, *b)?;
                }
                Cell::D(d) => {
                    let dt =
                        ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)?;
                    ws.write_datetime_with_format(r, c, &dt, &self.date_format)?;
                }
                Cell::E => {}
            }
        }
        self.row += 1;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        self.workbook.save(&self.path)?;
        Ok(())
    }
}

/// A workbook with fixed document properties, so that the same seed gives the same bytes.
fn new_workbook() -> Result<Workbook> {
    let mut workbook = Workbook::new();
    let created = ExcelDateTime::from_ymd(2026, 8, 1)?;
    workbook.set_properties(
        &DocProperties::new()
            .set_author("Registrar gen_data")
            .set_creation_datetime(&created),
    );
    Ok(workbook)
}

fn open_sink(
    dir: &Path,
    entity: &str,
    fmt: Fmt,
    headers: &[&str],
) -> Result<(Box<dyn Sink>, String)> {
    let name = format!("{entity}.{}", fmt.extension());
    let path = dir.join(&name);
    let sink: Box<dyn Sink> = match fmt {
        Fmt::Csv(d) => Box::new(CsvSink::new(&path, d, headers)?),
        Fmt::Tsv => Box::new(CsvSink::new(&path, b'\t', headers)?),
        Fmt::Json => Box::new(JsonSink::new(&path, false, headers)?),
        Fmt::Ndjson => Box::new(JsonSink::new(&path, true, headers)?),
        Fmt::Xlsx => Box::new(XlsxSink::new(&path, entity, headers)?),
    };
    Ok((sink, name))
}

/// Removes files of `entity` in other formats, so that a re-run with other `--formats` does
/// not leave two files with the same stem.
fn remove_other_formats(dir: &Path, entity: &str, keep: Fmt) -> Result<()> {
    for ext in [
        "csv", "tsv", "xlsx", "xls", "ods", "json", "jsonl", "ndjson",
    ] {
        if ext != keep.extension() {
            let p = dir.join(format!("{entity}.{ext}"));
            if p.exists() {
                std::fs::remove_file(&p)?;
            }
        }
    }
    Ok(())
}

fn create_private(path: &Path) -> Result<File> {
    let mut opts = OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let f = opts.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(f)
}

// ---------------------------------------------------------------------------------------------
// The run

struct Summary {
    lines: Vec<(String, u64)>,
}

fn generate(args: &Args) -> Result<Summary> {
    let dir = args.out.as_deref().ok_or("--out DIR is required")?;
    std::fs::create_dir_all(dir)?;
    let mut summary = Summary { lines: Vec::new() };

    let mut users = make_users(args);
    let courses = make_courses(args);
    let enrollments = make_enrollments(args);
    let first_student = args.admins + args.teachers;

    // users
    if args.only[0] {
        remove_other_formats(dir, "users", args.formats[0])?;
        let hashed = hash_some(args, &mut users)?;
        let (mut sink, name) = open_sink(
            dir,
            "users",
            args.formats[0],
            generated_columns(registrar::Entity::Users),
        )?;
        for u in &users {
            let (password, hash) = match &u.hash {
                Some(h) => (Cell::E, Cell::S(h)),
                None => (Cell::S(&u.password), Cell::E),
            };
            sink.row(&[
                Cell::S(&u.email),
                password,
                hash,
                Cell::S(u.role),
                Cell::S(&u.first),
                Cell::S(&u.last),
                Cell::B(u.active),
            ])?;
        }
        sink.finish()?;
        summary.lines.push((name, users.len() as u64));
        if hashed > 0 && args.password_file {
            let mut w = BufWriter::new(create_private(&dir.join("passwords-prehashed.csv"))?);
            writeln!(w, "email,password")?;
            for u in users.iter().filter(|u| u.hash.is_some()) {
                writeln!(w, "{},{}", u.email, u.password)?;
            }
            w.flush()?;
            summary
                .lines
                .push(("passwords-prehashed.csv".into(), hashed as u64));
        }
    }

    // courses
    if args.only[1] {
        remove_other_formats(dir, "courses", args.formats[1])?;
        let (mut sink, name) = open_sink(
            dir,
            "courses",
            args.formats[1],
            generated_columns(registrar::Entity::Courses),
        )?;
        for c in &courses {
            sink.row(&[
                Cell::S(&c.code),
                Cell::S(&c.name),
                Cell::S(&c.description),
                Cell::S("Fall 2026"),
                Cell::I(c.credits.into()),
                Cell::S(c.status),
            ])?;
        }
        sink.finish()?;
        summary.lines.push((name, courses.len() as u64));
    }

    // enrollments
    if args.only[2] {
        remove_other_formats(dir, "enrollments", args.formats[2])?;
        let (mut sink, name) = open_sink(
            dir,
            "enrollments",
            args.formats[2],
            &["student_email", "course_code", "enrollment_date"],
        )?;
        let mut n = 0u64;
        for (s, (picks, date)) in enrollments.iter().enumerate() {
            let email = &users[first_student + s].email;
            for &c in picks {
                sink.row(&[
                    Cell::S(email),
                    Cell::S(&courses[c as usize].code),
                    Cell::D(*date),
                ])?;
                n += 1;
            }
        }
        sink.finish()?;
        summary.lines.push((name, n));
    }

    // grades
    if args.only[3] {
        remove_other_formats(dir, "grades", args.formats[3])?;
        let mut rng = rng_for(args.seed, 6);
        let (mut sink, name) = open_sink(
            dir,
            "grades",
            args.formats[3],
            generated_columns(registrar::Entity::Grades),
        )?;
        // Mondays: midterms are graded within that week, finals within that week.
        let midterm = NaiveDate::from_ymd_opt(2026, 10, 19).unwrap_or_default();
        let fin = NaiveDate::from_ymd_opt(2026, 12, 14).unwrap_or_default();
        let mut n = 0u64;
        for (s, (picks, _)) in enrollments.iter().enumerate() {
            let email = &users[first_student + s].email;
            // Each student has an ability; each assessment adds noise.
            let ability: f64 = 55.0 + (0..4).map(|_| rng.gen_range(0.0..12.0)).sum::<f64>();
            for &c in picks {
                for (a, assessment) in ASSESSMENTS
                    .iter()
                    .take(args.grades_per_enrollment)
                    .enumerate()
                {
                    let raw = ability + rng.gen_range(-12.0..12.0);
                    let score = (raw.clamp(0.0, 100.0) * 2.0).round() / 2.0;
                    let letter = letter_for(score);
                    let graded_on = match a {
                        0 => midterm + Duration::days(rng.gen_range(0..5)),
                        1 => fin + Duration::days(rng.gen_range(0..5)),
                        _ => {
                            midterm
                                + Duration::weeks(rng.gen_range(-6..7))
                                + Duration::days(rng.gen_range(0..5))
                        }
                    };
                    let kind = rng.gen_range(0..100);
                    let (sc, lg) = match kind {
                        0..=79 => (Cell::F(score), Cell::S(letter)),
                        80..=91 => (Cell::F(score), Cell::E),
                        _ => (Cell::E, Cell::S(letter)),
                    };
                    sink.row(&[
                        Cell::S(email),
                        Cell::S(&courses[c as usize].code),
                        Cell::S(assessment),
                        sc,
                        lg,
                        Cell::D(graded_on),
                    ])?;
                    n += 1;
                }
            }
        }
        sink.finish()?;
        summary.lines.push((name, n));
    }

    // attendance (+ resolved)
    if args.only[4] || args.resolved {
        let days = school_days(args.days);
        let mut rng = rng_for(args.seed, 7);
        let mut sink = if args.only[4] {
            remove_other_formats(dir, "attendance", args.formats[4])?;
            Some(open_sink(
                dir,
                "attendance",
                args.formats[4],
                &["student_email", "course_code", "date", "status"],
            )?)
        } else {
            None
        };
        let mut resolved = if args.resolved {
            Some(BufWriter::with_capacity(
                1 << 20,
                File::create(dir.join("attendance.resolved.csv"))?,
            ))
        } else {
            None
        };
        let day_text: Vec<String> = days
            .iter()
            .map(|d| d.format("%Y-%m-%d").to_string())
            .collect();
        let mut n = 0u64;
        for (s, (picks, _)) in enrollments.iter().enumerate() {
            let email = &users[first_student + s].email;
            let student_id = first_student + s + 1;
            // Some students miss more school than others.
            let absent_rate: u32 = rng.gen_range(1..8);
            for &c in picks {
                let code = &courses[c as usize].code;
                for (d, day) in days.iter().enumerate() {
                    let roll = rng.gen_range(0..100u32);
                    let status = if roll < absent_rate {
                        "absent"
                    } else if roll < absent_rate + 4 {
                        "late"
                    } else if roll < absent_rate + 6 {
                        "excused"
                    } else {
                        "present"
                    };
                    if let Some((sink, _)) = sink.as_mut() {
                        sink.row(&[
                            Cell::S(email),
                            Cell::S(code),
                            Cell::D(*day),
                            Cell::S(status),
                        ])?;
                    }
                    if let Some(w) = resolved.as_mut() {
                        writeln!(w, "{student_id},{},{},{status}", c + 1, day_text[d])?;
                    }
                    n += 1;
                }
            }
        }
        if let Some((sink, name)) = sink {
            sink.finish()?;
            summary.lines.push((name, n));
        }
        if let Some(mut w) = resolved {
            w.flush()?;
            summary.lines.push(("attendance.resolved.csv".into(), n));
        }
    }
    Ok(summary)
}

// ---------------------------------------------------------------------------------------------
// The messy workbook (examples/messy/courses.xlsx)

/// Writes the broken courses workbook of `examples/messy` (see `examples/messy/FAULTS.md`).
fn write_messy_xlsx(path: &Path) -> Result<()> {
    let mut workbook = new_workbook()?;
    let ws = workbook.add_worksheet();
    ws.set_name("Courses 2026")?;
    let headers = [
        "Course_Code",
        "course_name",
        "description",
        "semester",
        "credits",
        "status",
    ];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(0, c as u16, *h)?;
    }
    let long_name = format!(
        "Advanced Topics in {}",
        "Applied Mathematics and Data Analysis ".repeat(5)
    )
    .trim()
    .to_string();
    debug_assert!(long_name.chars().count() > 200);
    // (code, name, description, credits: Ok(number) / Err(text) / None, status)
    enum Cr {
        N(f64),
        T(&'static str),
        NA,
        Blank,
    }
    let rows: Vec<(&str, String, &str, Cr, &str)> = vec![
        (
            "MATH101",
            "Algebra I".into(),
            "Linear equations, functions and graphs.",
            Cr::N(4.0),
            "active",
        ), // 2 ok
        (
            "ENG102",
            "American Literature".into(),
            "Novels, poems and essays.",
            Cr::N(3.0),
            "Active",
        ), // 3 ok
        (
            "hist201",
            "World History".into(),
            "From the first cities to today.",
            Cr::N(3.0),
            "active",
        ), // 4 ok (code upper-cased)
        (
            "BIO110",
            "Biology".into(),
            "Cells, genetics and ecosystems.",
            Cr::Blank,
            "",
        ), // 5 ok (defaults)
        (
            "CHEM101",
            "Chemistry".into(),
            "Atoms, bonds and reactions.",
            Cr::N(25.0),
            "active",
        ), // 6 out-of-range
        (
            "PHYS101",
            "Physics".into(),
            "Motion, energy and waves.",
            Cr::T("four"),
            "active",
        ), // 7 invalid-number
        (
            "ART/100",
            "Drawing and Painting".into(),
            "Studio art.",
            Cr::N(2.0),
            "active",
        ), // 8 invalid-code
        (
            "MUS120",
            "Concert Band".into(),
            "Ensemble performance.",
            Cr::N(1.0),
            "open",
        ), // 9 invalid-status
        (
            "CSC210",
            long_name,
            "Too long a name.",
            Cr::N(3.0),
            "active",
        ), // 10 too-long
        (
            "math101",
            "Algebra I (copy)".into(),
            "Pasted twice.",
            Cr::N(4.0),
            "active",
        ), // 11 duplicate-key
        (
            "SPAN101",
            "Spanish I".into(),
            "Lookup failed in the export.",
            Cr::NA,
            "active",
        ), // 12 error cell #N/A
        (
            "FREN101",
            "".into(),
            "Name lost in the export.",
            Cr::N(3.0),
            "active",
        ), // 13 missing-value
        (
            "PE100",
            "Physical Education".into(),
            "Fitness and team sports.",
            Cr::N(3.0),
            "inactive",
        ), // 14 ok (numeric 3.0)
    ];
    for (i, (code, name, desc, credits, status)) in rows.into_iter().enumerate() {
        let r = (i + 1) as u32;
        ws.write_string(r, 0, code)?;
        if !name.is_empty() {
            ws.write_string(r, 1, &name)?;
        }
        ws.write_string(r, 2, desc)?;
        ws.write_string(r, 3, "Fall 2026")?;
        match credits {
            Cr::N(x) => {
                ws.write_number(r, 4, x)?;
            }
            Cr::T(t) => {
                ws.write_string(r, 4, t)?;
            }
            Cr::NA => {
                ws.write_formula(r, 4, Formula::new("=NA()").set_result("#N/A"))?;
            }
            Cr::Blank => {}
        }
        if !status.is_empty() {
            ws.write_string(r, 5, status)?;
        }
    }
    workbook.save(path)?;
    Ok(())
}

/// Runs gen_data with `argv` (the arguments after the program name) and returns the summary
/// lines it would print: `(file name, rows)`. Also used by `tests/example_data.rs`.
pub fn run(argv: Vec<String>) -> Result<Vec<(String, u64)>, String> {
    let args = match parse_args(argv).map_err(|e| e.to_string())? {
        Some(a) => a,
        None => {
            print!("{USAGE}");
            return Ok(Vec::new());
        }
    };
    if let Some(path) = &args.messy_xlsx {
        write_messy_xlsx(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if !args.quiet {
            println!("wrote {}", path.display());
        }
        return Ok(vec![(path.display().to_string(), 13)]);
    }
    let start = Instant::now();
    let summary = generate(&args).map_err(|e| e.to_string())?;
    if !args.quiet {
        let dir = args.out.as_deref().unwrap_or(Path::new("."));
        println!(
            "gen_data: seed {} → {} ({} admins, {} teachers, {} students, {} courses)",
            args.seed,
            dir.display(),
            args.admins,
            args.teachers,
            args.students,
            args.courses
        );
        for (name, rows) in &summary.lines {
            println!("  {name:<28} {rows:>12} rows");
        }
        println!("  done in {:.1} s", start.elapsed().as_secs_f64());
    }
    Ok(summary.lines)
}

#[allow(dead_code)] // `tests/example_data.rs` includes this file as a module and calls `run`.
fn main() {
    if let Err(e) = run(std::env::args().skip(1).collect()) {
        eprintln!("gen_data: {e}");
        std::process::exit(2);
    }
}

/// The columns the generator fills: every column of `entity` but the optional external ids
/// (`sis_id`, `student_sis_id`), which the generated sets do not use.
fn generated_columns(entity: registrar::Entity) -> &'static [&'static str] {
    let all = entity.columns();
    let keep = all
        .iter()
        .position(|c| *c == "sis_id" || *c == "student_sis_id")
        .unwrap_or(all.len());
    &all[..keep]
}
