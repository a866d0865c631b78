//! Load-speed probe (ignored by default): loads the data set in `$REGISTRAR_PERF_DATA`
//! (e.g. from `cargo run --release --example gen_data -- --out DIR`) file by file and prints
//! the attendance step's time and rows/s, on SQLite and (with `REGISTRAR_TEST_POSTGRES`) on
//! PostgreSQL. Run with
//! `cargo test --release -p registrar-db --test import_perf -- --ignored --nocapture`.

use registrar::db::Database;
use registrar::import::{run_import, ImportMode, ImportOptions, Input};
use std::path::PathBuf;
use std::time::Instant;

async fn load(db: &Database, dir: &std::path::Path) {
    let opts = ImportOptions {
        mode: ImportMode::Execute,
        ..ImportOptions::default()
    };
    for f in ["users", "courses", "enrollments", "attendance"] {
        if f == "attendance" {
            let t = Instant::now();
            let path = dir.join(format!("{f}.csv"));
            let r = run_import(
                db,
                &Input::File { path, entity: None },
                &ImportOptions::default(),
            )
            .await
            .expect("validate");
            eprintln!(
                "{} {f}: validate only {} rows in {:.2} s",
                db.engine().as_str(),
                r.files[0].rows,
                t.elapsed().as_secs_f64()
            );
        }
        let path = dir.join(format!("{f}.csv"));
        let t = Instant::now();
        let r = run_import(db, &Input::File { path, entity: None }, &opts)
            .await
            .expect("import");
        let secs = t.elapsed().as_secs_f64();
        assert!(r.is_ok(), "{:?}", &r.issues[..r.issues.len().min(5)]);
        let rows = r.files[0].inserted;
        eprintln!(
            "{} {f}: {rows} rows in {secs:.2} s ({:.0} rows/s)",
            db.engine().as_str(),
            rows as f64 / secs
        );
        assert!(rows > 0);
    }
}

fn data_dir() -> Option<PathBuf> {
    std::env::var_os("REGISTRAR_PERF_DATA").map(PathBuf::from)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "speed probe; needs REGISTRAR_PERF_DATA"]
async fn attendance_load_speed_sqlite() {
    let Some(dir) = data_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let db = Database::open(&registrar::db::testing::fresh_sqlite(tmp.path()))
        .await
        .unwrap();
    load(&db, &dir).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "speed probe; needs REGISTRAR_PERF_DATA"]
async fn attendance_load_speed_postgres() {
    let Some(dir) = data_dir() else { return };
    let Some(url) = registrar::db::testing::fresh_postgres("perf").await else {
        return;
    };
    let db = Database::open(&url).await.unwrap();
    load(&db, &dir).await;
}

/// A users import with plain passwords should cost about the pure hashing time on all cores.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "speed probe"]
async fn users_import_costs_about_the_hashing_time() {
    use registrar::model::Password;
    let n = 200;
    let tmp = tempfile::tempdir().unwrap();
    let mut csv = String::from("email,password,role,first_name,last_name\n");
    for i in 0..n {
        csv.push_str(&format!(
            "person{i}@district.example.org,Zq{i}-long-Secret-x,student,P{i},Q{i}\n"
        ));
    }
    let path = tmp.path().join("users.csv");
    std::fs::write(&path, csv).unwrap();
    let passwords: Vec<Password> = (0..n)
        .map(|i| Password::new(format!("Zq{i}-long-Secret-x")))
        .collect();
    let t = Instant::now();
    let hashes = registrar::db::hash::hash_all(passwords);
    let pure = t.elapsed().as_secs_f64();
    assert_eq!(hashes.len(), n);
    let db = Database::open(&registrar::db::testing::fresh_sqlite(tmp.path()))
        .await
        .unwrap();
    let opts = ImportOptions {
        mode: ImportMode::Execute,
        ..ImportOptions::default()
    };
    let t = Instant::now();
    let r = run_import(&db, &Input::File { path, entity: None }, &opts)
        .await
        .unwrap();
    let import = t.elapsed().as_secs_f64();
    assert!(r.is_ok(), "{:?}", r.issues);
    eprintln!(
        "{n} users: pure hashing {pure:.2} s, import {import:.2} s, ratio {:.2}",
        import / pure
    );
}
