//! Runs each test function on both engines: `both_engines!(a, b)` makes `sqlite_engine::a` (a
//! fresh SQLite file) and `postgres_engine::a` (a fresh PostgreSQL database, skipped loudly without
//! `REGISTRAR_TEST_POSTGRES`). The test file provides `sqlite(dir)` and `postgres(name)`.

macro_rules! both_engines {
    ($($name:ident),*) => {
        mod sqlite_engine { $(
            #[tokio::test]
            async fn $name() {
                let dir = tempfile::tempdir().unwrap();
                super::$name(super::sqlite(dir.path()).await).await;
            }
        )* }
        mod postgres_engine { $(
            #[tokio::test]
            async fn $name() {
                let Some(db) = super::postgres(stringify!($name)).await else { return };
                super::$name(db).await;
            }
        )* }
    };
}
