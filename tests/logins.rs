//! `registrar::verify_logins` (moved here from registrar-checks' tests when the file reading
//! moved up to the facade): a users file's logins against the stored hashes, on both engines.

use registrar::checks::Error as ChecksError;
use registrar::db::seed::seed_training;
use registrar::db::Database;
use registrar::{verify_logins, Error, ReaderOptions};

/// Which engine a test runs on.
#[derive(Clone, Copy, Debug)]
enum Eng {
    Sqlite,
    Postgres,
}

/// A fresh, initialised database; None when PostgreSQL tests are not configured.
async fn fresh(eng: Eng, name: &str, dir: &std::path::Path) -> Option<Database> {
    match eng {
        Eng::Sqlite => Some(
            Database::open(&registrar::db::testing::fresh_sqlite(dir))
                .await
                .unwrap(),
        ),
        Eng::Postgres => {
            let url = registrar::db::testing::fresh_postgres(name).await?;
            Some(Database::open(&url).await.unwrap())
        }
    }
}

async fn logins(eng: Eng) {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = fresh(eng, "logins", dir.path()).await else {
        return;
    };
    seed_training(&db).await.unwrap();
    let file = dir.path().join("users.csv");
    std::fs::write(
        &file,
        "Email,Password,role\n\
         admin1@school.edu,AdminPass123!,admin\n\
         TEACHER2@school.edu,TeacherPass123!,teacher\n\
         student3@school.edu,NotTheRightOne1!,student\n\
         ghost@real.org,GhostPass123!,student\n\
         student4@school.edu,,student\n\
         student5@school.edu,StudentPass123!,student\n",
    )
    .unwrap();
    let r = verify_logins(&db, &file, &ReaderOptions::default(), None)
        .await
        .unwrap();
    assert_eq!((r.candidates, r.checked, r.passed, r.skipped), (5, 5, 3, 1));
    assert!(!r.ok());
    let failed: Vec<_> = r.failed.iter().map(|f| (f.email.as_str(), f.row)).collect();
    assert_eq!(
        failed,
        vec![("student3@school.edu", 4), ("ghost@real.org", 5)]
    );
    let json = serde_json::to_string(&r).unwrap();
    for secret in [
        "AdminPass123!",
        "NotTheRightOne1!",
        "GhostPass123!",
        "$argon2",
    ] {
        assert!(!json.contains(secret) && !format!("{r:?}").contains(secret));
    }
    // A sample: first and last, spread evenly.
    let s = verify_logins(&db, &file, &ReaderOptions::default(), Some(2))
        .await
        .unwrap();
    assert_eq!((s.checked, s.passed), (2, 2));
    // A file without passwords (an export imported with --missing-password reset) tries
    // nothing: its rows are skipped (or counted as "reset required, no password" when their
    // account is stored without one).
    let nopw = dir.path().join("nopw.csv");
    std::fs::write(&nopw, "email,role\na@b.org,student\n").unwrap();
    let r = verify_logins(&db, &nopw, &ReaderOptions::default(), None)
        .await
        .unwrap();
    assert_eq!((r.checked, r.passed, r.skipped), (0, 0, 1));
    // A file without emails cannot be used.
    let noemail = dir.path().join("noemail.csv");
    std::fs::write(&noemail, "password,role\nWhatever-123!,student\n").unwrap();
    assert!(matches!(
        verify_logins(&db, &noemail, &ReaderOptions::default(), None).await,
        Err(Error::Checks(ChecksError::Refused(_)))
    ));
}

async fn a_cell_that_is_not_an_email_is_never_shown(eng: Eng) {
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = fresh(eng, "logins_not_shown", dir.path()).await else {
        return;
    };
    seed_training(&db).await.unwrap();
    let file = dir.path().join("users.csv");
    // Row 2: the columns swapped (a password in the email column); row 3: no email column value.
    std::fs::write(
        &file,
        "email,password\nSwappedSecret9!,admin1@school.edu\n ,AdminPass123!\n",
    )
    .unwrap();
    let r = verify_logins(&db, &file, &ReaderOptions::default(), None)
        .await
        .unwrap();
    assert_eq!((r.candidates, r.checked, r.passed, r.skipped), (1, 1, 0, 1));
    assert_eq!(r.failed[0].email, registrar::checks::NOT_SHOWN);
    assert_eq!(r.failed[0].row, 2);
    let json = serde_json::to_string(&r).unwrap();
    assert!(!json.contains("SwappedSecret9!") && !format!("{r:?}").contains("SwappedSecret9!"));
    // A missing file is a formats error, named by the file.
    let missing = dir.path().join("missing.csv");
    let e = verify_logins(&db, &missing, &ReaderOptions::default(), None)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Read(_)), "{e:?}");
    assert!(e.to_string().contains("missing.csv"), "{e}");
}

macro_rules! both {
    ($($f:ident),*) => {
        mod sqlite_engine { use super::*; $( #[tokio::test] async fn $f() { super::$f(Eng::Sqlite).await; } )* }
        mod postgres_engine { use super::*; $( #[tokio::test] async fn $f() { super::$f(Eng::Postgres).await; } )* }
    };
}

both!(logins, a_cell_that_is_not_an_email_is_never_shown);
