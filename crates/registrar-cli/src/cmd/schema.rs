//! `init` and `seed-training`.

use super::Verdict;
use crate::args::{InitArgs, SeedTrainingArgs};
use crate::render;
use registrar::commands::Session;

/// `registrar init`.
pub async fn init(session: &Session, a: InitArgs) -> anyhow::Result<Verdict> {
    let s = session.init(&a.db.database).await?;
    println!("{}", render::init(&s));
    Ok(Verdict::Success)
}

/// `registrar seed-training`.
pub async fn seed_training(session: &Session, a: SeedTrainingArgs) -> anyhow::Result<Verdict> {
    let s = session.seed_training(&a.db.database).await?;
    println!("{}", render::seed(&s));
    Ok(Verdict::Success)
}
