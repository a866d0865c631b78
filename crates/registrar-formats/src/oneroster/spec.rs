//! The OneRoster 1.1 and 1.2 CSV binding as tables: every file of a bundle with its columns
//! in the specification's order (required or not), the manifest's properties, and the
//! vocabularies of the columns Registrar checks.
//!
//! Written from 1EdTech's "OneRoster v1.1 CSV Tables" and "OneRoster 1.2 CSV Binding"
//! documents. What the tables say, in brief:
//!
//! - Every file starts with `sourcedId, status, dateLastModified`; `sourcedId` is required,
//!   `status` (`active` | `tobedeleted`) and `dateLastModified` matter for `delta` files.
//! - 1.2 moves a user's role and organisations out of `users.csv` into `roles.csv` (one row
//!   per user, role and org; `roleType` `primary` | `secondary`) and adds columns at the end
//!   of `users.csv` (`userMasterIdentifier`, `preferredGivenName`, `primaryOrgSourcedId`, ...).
//! - 1.2's results carry a `textScore` (a grade as text, such as a letter) beside `score`; its
//!   score scales and learning objectives are files of their own, which Registrar ignores.
//! - Files may carry extension columns named `metadata.<name>` after the specification's
//!   columns ([`is_extension_column`]); they are never an "unknown column".
//!
//! [`FileSpec::registrar_uses`] says which files Registrar reads at all; the others are
//! listed as ignored (`ignored-file`), never an error.

use std::fmt;

/// A OneRoster version that Registrar reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    /// OneRoster 1.1 (role and orgs in `users.csv`).
    V1_1,
    /// OneRoster 1.2 (roles in `roles.csv`).
    V1_2,
}

impl Version {
    /// Both versions.
    pub const ALL: [Version; 2] = [Version::V1_1, Version::V1_2];

    /// `"1.1"` or `"1.2"`, as in the manifest's `oneroster.version`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V1_1 => "1.1",
            Version::V1_2 => "1.2",
        }
    }

    /// Parses `1.1` / `1.2` (also `1.1.1`, `1.2.1`: the errata releases of the same binding).
    pub fn parse(s: &str) -> Option<Version> {
        match s.trim() {
            "1.1" | "1.1.0" | "1.1.1" | "v1p1" => Some(Version::V1_1),
            "1.2" | "1.2.0" | "1.2.1" | "v1p2" => Some(Version::V1_2),
            _ => None,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The manifest's own version (`manifest.version`); both bindings define only `1.0`.
pub const MANIFEST_VERSION: &str = "1.0";

/// The manifest file's name.
pub const MANIFEST_FILE: &str = "manifest.csv";

/// The manifest's columns, in order.
pub const MANIFEST_COLUMNS: [&str; 2] = ["propertyName", "value"];

/// One column of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnSpec {
    /// The header, exactly as the specification spells it (`sourcedId`).
    pub name: &'static str,
    /// True when the specification requires a value in every row.
    pub required: bool,
    /// When the column holds sourcedIds of another file: that file's name (a list of ids,
    /// comma-separated, for the `...SourcedIds` columns).
    pub references: Option<&'static str>,
}

/// One file of a bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSpec {
    /// The file name (`users.csv`).
    pub name: &'static str,
    /// The columns, in the specification's order.
    pub columns: &'static [ColumnSpec],
    /// True for the files Registrar reads (orgs, academicSessions, courses, classes, users,
    /// roles, enrollments, lineItems, results); the others are listed as ignored.
    pub registrar_uses: bool,
}

impl FileSpec {
    /// The manifest property that declares this file (`file.users`).
    pub fn manifest_property(&self) -> String {
        format!("file.{}", self.stem())
    }

    /// The name without `.csv` (`users`).
    pub fn stem(&self) -> &'static str {
        self.name.strip_suffix(".csv").unwrap_or(self.name)
    }

    /// The column called `name` (exact spelling).
    pub fn column(&self, name: &str) -> Option<&'static ColumnSpec> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The position of `name` in the specification's order.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The required columns, in order.
    pub fn required(&self) -> impl Iterator<Item = &'static ColumnSpec> {
        self.columns.iter().filter(|c| c.required)
    }
}

/// True for an extension column (`metadata.<name>`), which a file may carry after the
/// specification's columns.
pub fn is_extension_column(name: &str) -> bool {
    name.starts_with("metadata.") && name.len() > "metadata.".len()
}

const fn req(name: &'static str) -> ColumnSpec {
    ColumnSpec {
        name,
        required: true,
        references: None,
    }
}

const fn opt(name: &'static str) -> ColumnSpec {
    ColumnSpec {
        name,
        required: false,
        references: None,
    }
}

const fn req_ref(name: &'static str, file: &'static str) -> ColumnSpec {
    ColumnSpec {
        name,
        required: true,
        references: Some(file),
    }
}

const fn opt_ref(name: &'static str, file: &'static str) -> ColumnSpec {
    ColumnSpec {
        name,
        required: false,
        references: Some(file),
    }
}

/// File names, so that the tables and the code name them once.
pub mod files {
    /// `academicSessions.csv`
    pub const ACADEMIC_SESSIONS: &str = "academicSessions.csv";
    /// `categories.csv`
    pub const CATEGORIES: &str = "categories.csv";
    /// `classes.csv`
    pub const CLASSES: &str = "classes.csv";
    /// `classResources.csv`
    pub const CLASS_RESOURCES: &str = "classResources.csv";
    /// `courses.csv`
    pub const COURSES: &str = "courses.csv";
    /// `courseResources.csv`
    pub const COURSE_RESOURCES: &str = "courseResources.csv";
    /// `demographics.csv`
    pub const DEMOGRAPHICS: &str = "demographics.csv";
    /// `enrollments.csv`
    pub const ENROLLMENTS: &str = "enrollments.csv";
    /// `lineItems.csv`
    pub const LINE_ITEMS: &str = "lineItems.csv";
    /// `orgs.csv`
    pub const ORGS: &str = "orgs.csv";
    /// `resources.csv`
    pub const RESOURCES: &str = "resources.csv";
    /// `results.csv`
    pub const RESULTS: &str = "results.csv";
    /// `users.csv`
    pub const USERS: &str = "users.csv";
    /// `roles.csv` (1.2)
    pub const ROLES: &str = "roles.csv";
    /// `userProfiles.csv` (1.2)
    pub const USER_PROFILES: &str = "userProfiles.csv";
    /// `userResources.csv` (1.2)
    pub const USER_RESOURCES: &str = "userResources.csv";
    /// `scoreScales.csv` (1.2)
    pub const SCORE_SCALES: &str = "scoreScales.csv";
    /// `lineItemScoreScales.csv` (1.2)
    pub const LINE_ITEM_SCORE_SCALES: &str = "lineItemScoreScales.csv";
    /// `resultScoreScales.csv` (1.2)
    pub const RESULT_SCORE_SCALES: &str = "resultScoreScales.csv";
    /// `lineItemLearningObjectiveIds.csv` (1.2)
    pub const LINE_ITEM_LEARNING_OBJECTIVE_IDS: &str = "lineItemLearningObjectiveIds.csv";
    /// `resultLearningObjectiveIds.csv` (1.2)
    pub const RESULT_LEARNING_OBJECTIVE_IDS: &str = "resultLearningObjectiveIds.csv";
}

use files::*;

const SID: ColumnSpec = req("sourcedId");
const STATUS: ColumnSpec = opt("status");
const MODIFIED: ColumnSpec = opt("dateLastModified");

const ACADEMIC_SESSIONS_COLS: &[ColumnSpec] = &[
    SID,
    STATUS,
    MODIFIED,
    req("title"),
    req("type"),
    req("startDate"),
    req("endDate"),
    opt_ref("parentSourcedId", ACADEMIC_SESSIONS),
    req("schoolYear"),
];

const CATEGORIES_11: &[ColumnSpec] = &[SID, STATUS, MODIFIED, req("title")];
const CATEGORIES_12: &[ColumnSpec] = &[SID, STATUS, MODIFIED, req("title"), opt("weight")];

const CLASSES_COLS: &[ColumnSpec] = &[
    SID,
    STATUS,
    MODIFIED,
    req("title"),
    opt("grades"),
    req_ref("courseSourcedId", COURSES),
    opt("classCode"),
    req("classType"),
    opt("location"),
    req_ref("schoolSourcedId", ORGS),
    req_ref("termSourcedIds", ACADEMIC_SESSIONS),
    opt("subjects"),
    opt("subjectCodes"),
    opt("periods"),
];

const CLASS_RESOURCES_COLS: &[ColumnSpec] = &[
    SID,
    STATUS,
    MODIFIED,
    opt("title"),
    req_ref("classSourcedId", CLASSES),
    req_ref("resourceSourcedId", RESOURCES),
];

const COURSES_COLS: &[ColumnSpec] = &[
    SID,
    STATUS,
    MODIFIED,
    opt_ref("schoolYearSourcedId", ACADEMIC_SESSIONS),
    req("title"),
    opt("courseCode"),
    opt("grades"),
    req_ref("orgSourcedId", ORGS),
    opt("subjects"),
    opt("subjectCodes"),
];

const COURSE_RESOURCES_COLS: &[ColumnSpec] = &[
    SID,
    STATUS,
    MODIFIED,
    opt("title"),
    req_ref("courseSourcedId", COURSES),
    req_ref("resourceSourcedId", RESOURCES),
];

const DEMOGRAPHICS_COLS: &[ColumnSpec] = &[
    SID,
    STATUS,
    MODIFIED,
    opt("birthDate"),
    opt("sex"),
    opt("americanIndianOrAlaskaNative"),
    opt("asian"),
    opt("blackOrAfricanAmerican"),
    opt("nativeHawaiianOrOtherPacificIslander"),
    opt("white"),
    opt("demographicRaceTwoOrMoreRaces"),
    opt("hispanicOrLatinoEthnicity"),
    opt("countryOfBirthCode"),
    opt("stateOfBirthAbbreviation"),
    opt("cityOfBirth"),
    opt("publicSchoolResidenceStatus"),
];

const ENROLLMENTS_COLS: &[ColumnSpec] = &[
    SID,
    STATUS,
    MODIFIED,
    req_ref("classSourcedId", CLASSES),
    req_ref("schoolSourcedId", ORGS),
    req_ref("userSourcedId", USERS),
    req("role"),
    opt("primary"),
    opt("beginDate"),
    opt("endDate"),
];

const LINE_ITEMS_COLS: &[ColumnSpec] = &[
    SID,
    STATUS,
    MODIFIED,
    req("title"),
    opt("description"),
    req("assignDate"),
    req("dueDate"),
    req_ref("classSourcedId", CLASSES),
    req_ref("categorySourcedId", CATEGORIES),
    req_ref("gradingPeriodSourcedId", ACADEMIC_SESSIONS),
    req("resultValueMin"),
    req("resultValueMax"),
];

const ORGS_COLS: &[ColumnSpec] = &[
    SID,
    STATUS,
    MODIFIED,
    req("name"),
    req("type"),
    opt("identifier"),
    opt_ref("parentSourcedId", ORGS),
];

const RESOURCES_COLS: &[ColumnSpec] = &[
    SID,
    STATUS,
    MODIFIED,
    req("vendorResourceId"),
    opt("title"),
    opt("roles"),
    opt("importance"),
    opt("vendorId"),
    opt("applicationId"),
];

const RESULTS_11: &[ColumnSpec] = &[
    SID,
    STATUS,
    MODIFIED,
    req_ref("lineItemSourcedId", LINE_ITEMS),
    req_ref("studentSourcedId", USERS),
    req("scoreStatus"),
    req("score"),
    req("scoreDate"),
    opt("comment"),
];

// 1.2: `score` may be empty when `textScore` holds the grade.
const RESULTS_12: &[ColumnSpec] = &[
    SID,
    STATUS,
    MODIFIED,
    req_ref("lineItemSourcedId", LINE_ITEMS),
    req_ref("studentSourcedId", USERS),
    req("scoreStatus"),
    opt("score"),
    opt("textScore"),
    req("scoreDate"),
    opt("comment"),
];

const USERS_11: &[ColumnSpec] = &[
    SID,
    STATUS,
    MODIFIED,
    req("enabledUser"),
    req_ref("orgSourcedIds", ORGS),
    req("role"),
    req("username"),
    opt("userIds"),
    req("givenName"),
    req("familyName"),
    opt("middleName"),
    opt("identifier"),
    opt("email"),
    opt("sms"),
    opt("phone"),
    opt_ref("agentSourcedIds", USERS),
    opt("grades"),
    opt("password"),
];

const USERS_12: &[ColumnSpec] = &[
    SID,
    STATUS,
    MODIFIED,
    req("enabledUser"),
    req("username"),
    opt("userIds"),
    req("givenName"),
    req("familyName"),
    opt("middleName"),
    opt("identifier"),
    opt("email"),
    opt("sms"),
    opt("phone"),
    opt_ref("agentSourcedIds", USERS),
    opt("grades"),
    opt("password"),
    opt("userMasterIdentifier"),
    opt("resourceSourcedIds"),
    opt("preferredGivenName"),
    opt("preferredMiddleName"),
    opt("preferredFamilyName"),
    opt_ref("primaryOrgSourcedId", ORGS),
    opt("pronouns"),
];

const ROLES_COLS: &[ColumnSpec] = &[
    SID,
    STATUS,
    MODIFIED,
    req_ref("userSourcedId", USERS),
    req("roleType"),
    req("role"),
    opt("beginDate"),
    opt("endDate"),
    req_ref("orgSourcedId", ORGS),
    opt_ref("userProfileSourcedId", USER_PROFILES),
];

const USER_PROFILES_COLS: &[ColumnSpec] = &[
    SID,
    STATUS,
    MODIFIED,
    req_ref("userSourcedId", USERS),
    req("profileType"),
    req("vendorId"),
    opt("applicationId"),
    opt("description"),
    req("credentialType"),
    req("username"),
    opt("password"),
];

const USER_RESOURCES_COLS: &[ColumnSpec] = &[
    SID,
    STATUS,
    MODIFIED,
    req_ref("userSourcedId", USERS),
    req_ref("resourceSourcedId", RESOURCES),
];

// Files of 1.2 that Registrar never reads: only their sourcedId is checked.
const ID_ONLY: &[ColumnSpec] = &[SID, STATUS, MODIFIED];

const fn file(name: &'static str, columns: &'static [ColumnSpec], uses: bool) -> FileSpec {
    FileSpec {
        name,
        columns,
        registrar_uses: uses,
    }
}

/// The files of OneRoster 1.1, in the order a reader loads them (every file after the files
/// it references), which is also the manifest's order of `file.X` properties.
pub const FILES_1_1: &[FileSpec] = &[
    file(ORGS, ORGS_COLS, true),
    file(ACADEMIC_SESSIONS, ACADEMIC_SESSIONS_COLS, true),
    file(COURSES, COURSES_COLS, true),
    file(CLASSES, CLASSES_COLS, true),
    file(USERS, USERS_11, true),
    file(ENROLLMENTS, ENROLLMENTS_COLS, true),
    file(CATEGORIES, CATEGORIES_11, false),
    file(LINE_ITEMS, LINE_ITEMS_COLS, true),
    file(RESULTS, RESULTS_11, true),
    file(DEMOGRAPHICS, DEMOGRAPHICS_COLS, false),
    file(RESOURCES, RESOURCES_COLS, false),
    file(CLASS_RESOURCES, CLASS_RESOURCES_COLS, false),
    file(COURSE_RESOURCES, COURSE_RESOURCES_COLS, false),
];

/// The files of OneRoster 1.2, in dependency order (see [`FILES_1_1`]).
pub const FILES_1_2: &[FileSpec] = &[
    file(ORGS, ORGS_COLS, true),
    file(ACADEMIC_SESSIONS, ACADEMIC_SESSIONS_COLS, true),
    file(COURSES, COURSES_COLS, true),
    file(CLASSES, CLASSES_COLS, true),
    file(USERS, USERS_12, true),
    file(USER_PROFILES, USER_PROFILES_COLS, false),
    file(ROLES, ROLES_COLS, true),
    file(ENROLLMENTS, ENROLLMENTS_COLS, true),
    file(CATEGORIES, CATEGORIES_12, false),
    file(SCORE_SCALES, ID_ONLY, false),
    file(LINE_ITEMS, LINE_ITEMS_COLS, true),
    file(LINE_ITEM_SCORE_SCALES, ID_ONLY, false),
    file(LINE_ITEM_LEARNING_OBJECTIVE_IDS, ID_ONLY, false),
    file(RESULTS, RESULTS_12, true),
    file(RESULT_SCORE_SCALES, ID_ONLY, false),
    file(RESULT_LEARNING_OBJECTIVE_IDS, ID_ONLY, false),
    file(DEMOGRAPHICS, DEMOGRAPHICS_COLS, false),
    file(RESOURCES, RESOURCES_COLS, false),
    file(CLASS_RESOURCES, CLASS_RESOURCES_COLS, false),
    file(COURSE_RESOURCES, COURSE_RESOURCES_COLS, false),
    file(USER_RESOURCES, USER_RESOURCES_COLS, false),
];

/// The files of `version`, in dependency order.
pub fn files(version: Version) -> &'static [FileSpec] {
    match version {
        Version::V1_1 => FILES_1_1,
        Version::V1_2 => FILES_1_2,
    }
}

/// The file called `name` in `version` (exact spelling, as the specification's names are).
pub fn file_spec(version: Version, name: &str) -> Option<&'static FileSpec> {
    files(version).iter().find(|f| f.name == name)
}

/// The file declared by the manifest property `property` (`file.users` → `users.csv`).
pub fn file_for_property(version: Version, property: &str) -> Option<&'static FileSpec> {
    let stem = property.strip_prefix("file.")?;
    files(version).iter().find(|f| f.stem() == stem)
}

/// The manifest properties besides `file.X`: (name, required).
pub const MANIFEST_PROPERTIES: &[(&str, bool)] = &[
    ("manifest.version", true),
    ("oneroster.version", true),
    ("source.systemName", false),
    ("source.systemCode", false),
];

/// How the manifest declares a file (`file.X`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileMode {
    /// The file holds every record (a full replacement).
    Bulk,
    /// The file holds changes only (`status` `active` upserts, `tobedeleted` removes).
    Delta,
    /// The file is not supplied.
    Absent,
}

impl FileMode {
    /// `bulk`, `delta` or `absent`.
    pub fn as_str(self) -> &'static str {
        match self {
            FileMode::Bulk => "bulk",
            FileMode::Delta => "delta",
            FileMode::Absent => "absent",
        }
    }

    /// Parses a manifest value (case-insensitive, trimmed).
    pub fn parse(s: &str) -> Option<FileMode> {
        let t = s.trim();
        [FileMode::Bulk, FileMode::Delta, FileMode::Absent]
            .into_iter()
            .find(|m| t.eq_ignore_ascii_case(m.as_str()))
    }
}

/// A column whose values come from a fixed vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Vocabulary {
    /// `status`: `active`, `tobedeleted`.
    Status,
    /// `users.role` (1.1) / `roles.role` (1.2).
    UserRole,
    /// `enrollments.role`.
    EnrollmentRole,
    /// `academicSessions.type`.
    SessionType,
    /// `orgs.type`.
    OrgType,
    /// `classes.classType`.
    ClassType,
    /// `roles.roleType` (1.2): `primary`, `secondary`.
    RoleType,
    /// `results.scoreStatus`.
    ScoreStatus,
    /// `enabledUser`, `enrollments.primary`: `true`, `false`.
    Boolean,
}

impl Vocabulary {
    /// The allowed values in `version`, as the specification spells them.
    pub fn values(self, version: Version) -> &'static [&'static str] {
        match (self, version) {
            (Vocabulary::Status, _) => &["active", "tobedeleted"],
            (Vocabulary::UserRole, Version::V1_1) => &[
                "administrator",
                "aide",
                "guardian",
                "parent",
                "proctor",
                "relative",
                "student",
                "teacher",
            ],
            (Vocabulary::UserRole, Version::V1_2) => &[
                "aide",
                "counselor",
                "districtAdministrator",
                "guardian",
                "parent",
                "principal",
                "proctor",
                "relative",
                "siteAdministrator",
                "student",
                "systemAdministrator",
                "teacher",
            ],
            (Vocabulary::EnrollmentRole, Version::V1_1) => {
                &["administrator", "proctor", "student", "teacher"]
            }
            (Vocabulary::EnrollmentRole, Version::V1_2) => {
                &["administrator", "aide", "proctor", "student", "teacher"]
            }
            (Vocabulary::SessionType, _) => &["gradingPeriod", "semester", "schoolYear", "term"],
            (Vocabulary::OrgType, Version::V1_1) => &[
                "department",
                "school",
                "district",
                "local",
                "state",
                "national",
            ],
            (Vocabulary::OrgType, Version::V1_2) => &[
                "department",
                "school",
                "district",
                "local",
                "state",
                "national",
                "technicalCenter",
            ],
            (Vocabulary::ClassType, _) => &["homeroom", "scheduled"],
            (Vocabulary::RoleType, _) => &["primary", "secondary"],
            (Vocabulary::ScoreStatus, _) => &[
                "exempt",
                "fully graded",
                "not submitted",
                "partially graded",
                "submitted",
            ],
            (Vocabulary::Boolean, _) => &["true", "false"],
        }
    }

    /// The value of the vocabulary that `value` spells, ignoring ASCII case and surrounding
    /// spaces (`Teacher` → `teacher`); `None` when it is not one of them.
    pub fn lookup(self, version: Version, value: &str) -> Option<&'static str> {
        let t = value.trim();
        self.values(version)
            .iter()
            .copied()
            .find(|v| v.eq_ignore_ascii_case(t))
    }

    /// What the vocabulary is called in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Vocabulary::Status => "status",
            Vocabulary::UserRole => "user role",
            Vocabulary::EnrollmentRole => "enrollment role",
            Vocabulary::SessionType => "academic session type",
            Vocabulary::OrgType => "org type",
            Vocabulary::ClassType => "class type",
            Vocabulary::RoleType => "role type",
            Vocabulary::ScoreStatus => "score status",
            Vocabulary::Boolean => "boolean",
        }
    }
}

/// The vocabulary of column `column` of file `file`, if it has one.
pub fn vocabulary(file: &str, column: &str) -> Option<Vocabulary> {
    Some(match (file, column) {
        (_, "status") => Vocabulary::Status,
        (USERS, "role") | (ROLES, "role") => Vocabulary::UserRole,
        (ENROLLMENTS, "role") => Vocabulary::EnrollmentRole,
        (ACADEMIC_SESSIONS, "type") => Vocabulary::SessionType,
        (ORGS, "type") => Vocabulary::OrgType,
        (CLASSES, "classType") => Vocabulary::ClassType,
        (ROLES, "roleType") => Vocabulary::RoleType,
        (RESULTS, "scoreStatus") => Vocabulary::ScoreStatus,
        (USERS, "enabledUser") | (ENROLLMENTS, "primary") => Vocabulary::Boolean,
        _ => return None,
    })
}

/// The OneRoster user role that Registrar exports for its role `role` in `version`:
/// admin → `administrator` (1.1) / `siteAdministrator` (1.2), teacher → `teacher`,
/// student → `student`, viewer → `proctor` (OneRoster has no read-only account; a proctor
/// watches without teaching, and [`registrar_role`] maps it back to viewer).
pub fn oneroster_role(role: registrar_model::Role, version: Version) -> &'static str {
    use registrar_model::Role;
    match (role, version) {
        (Role::Admin, Version::V1_1) => "administrator",
        (Role::Admin, Version::V1_2) => "siteAdministrator",
        (Role::Teacher, _) => "teacher",
        (Role::Student, _) => "student",
        (Role::Viewer, _) => "proctor",
    }
}

/// The Registrar role a OneRoster user role maps to, the inverse of [`oneroster_role`]:
/// the administrator roles (`administrator`, `siteAdministrator`, `districtAdministrator`,
/// `systemAdministrator`, `principal`) → admin; `teacher`, `aide` → teacher; `student` →
/// student; `proctor` → viewer. `None` for the roles Registrar has no account for
/// (`guardian`, `parent`, `relative`, `counselor`): a reader skips those users and says so.
pub fn registrar_role(role: &str) -> Option<registrar_model::Role> {
    use registrar_model::Role;
    match role.trim().to_ascii_lowercase().as_str() {
        "administrator"
        | "siteadministrator"
        | "districtadministrator"
        | "systemadministrator"
        | "principal" => Some(Role::Admin),
        "teacher" | "aide" => Some(Role::Teacher),
        "student" => Some(Role::Student),
        "proctor" => Some(Role::Viewer),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_starts_with_the_common_columns_and_names_known_files() {
        for v in Version::ALL {
            for f in files(v) {
                let names: Vec<_> = f.columns.iter().map(|c| c.name).collect();
                assert_eq!(
                    names[..3],
                    ["sourcedId", "status", "dateLastModified"],
                    "{}",
                    f.name
                );
                let mut seen = std::collections::HashSet::new();
                for c in f.columns {
                    assert!(seen.insert(c.name), "{} twice in {}", c.name, f.name);
                    if let Some(target) = c.references {
                        assert!(file_spec(v, target).is_some(), "{} → {target}", f.name);
                    }
                }
            }
        }
    }

    #[test]
    fn files_come_after_the_files_they_reference() {
        for v in Version::ALL {
            let order: Vec<_> = files(v).iter().map(|f| f.name).collect();
            for (i, f) in files(v).iter().enumerate() {
                for target in f.columns.iter().filter_map(|c| c.references) {
                    // Self references (parent orgs, agents) are checked after the file.
                    if target == f.name {
                        continue;
                    }
                    let j = order.iter().position(|n| *n == target).unwrap();
                    assert!(j < i || !f.registrar_uses, "{} before {target}", f.name);
                }
            }
        }
    }

    #[test]
    fn version_specific_tables() {
        let u11 = file_spec(Version::V1_1, USERS).unwrap();
        assert!(u11.column("role").unwrap().required);
        let u12 = file_spec(Version::V1_2, USERS).unwrap();
        assert!(u12.column("role").is_none());
        assert!(file_spec(Version::V1_1, ROLES).is_none());
        assert_eq!(
            file_for_property(Version::V1_2, "file.roles").map(|f| f.name),
            Some(ROLES)
        );
        assert_eq!(Version::parse(" 1.2 "), Some(Version::V1_2));
        assert_eq!(Version::parse("1.0"), None);
        assert_eq!(FileMode::parse("Bulk"), Some(FileMode::Bulk));
        assert_eq!(FileMode::parse("full"), None);
    }

    #[test]
    fn vocabularies_and_role_maps() {
        assert_eq!(
            Vocabulary::UserRole.lookup(Version::V1_1, " Teacher"),
            Some("teacher")
        );
        assert_eq!(
            Vocabulary::UserRole.lookup(Version::V1_1, "principal"),
            None
        );
        assert!(Vocabulary::UserRole
            .lookup(Version::V1_2, "principal")
            .is_some());
        assert_eq!(vocabulary(ROLES, "roleType"), Some(Vocabulary::RoleType));
        for v in Version::ALL {
            for role in registrar_model::Role::ALL {
                let or = oneroster_role(*role, v);
                assert!(Vocabulary::UserRole.lookup(v, or).is_some(), "{or} in {v}");
                assert_eq!(registrar_role(or), Some(*role));
            }
        }
        assert_eq!(registrar_role("guardian"), None);
        assert!(is_extension_column("metadata.registrar.credits"));
        assert!(!is_extension_column("metadata."));
    }
}
