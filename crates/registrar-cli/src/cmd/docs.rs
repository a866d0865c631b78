//! `completions` and `man`: the command line describing itself.

use super::Verdict;
use crate::args::{Cli, CompletionsArgs, ManArgs};
use clap::CommandFactory;

/// `registrar completions SHELL`: the completion script on stdout.
pub fn completions(a: CompletionsArgs) -> anyhow::Result<Verdict> {
    let mut command = Cli::command();
    clap_complete::generate(a.shell, &mut command, "registrar", &mut std::io::stdout());
    Ok(Verdict::Success)
}

/// `registrar man [COMMAND]`: the manual page (roff) of `registrar` or of one of its commands
/// (`registrar-import(1)`, as the main page's list of commands names them) on stdout.
pub fn man(a: ManArgs) -> anyhow::Result<Verdict> {
    let mut command = Cli::command();
    command.build();
    let page = match a.command.as_deref() {
        None => command,
        Some(name) => {
            let Some(sub) = command.find_subcommand(name) else {
                anyhow::bail!(
                    "no command {name:?}: use one of {}",
                    command
                        .get_subcommands()
                        .map(|c| c.get_name().to_owned())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            };
            // Built: its display name is `registrar-NAME`, its bin name `registrar NAME`.
            sub.clone()
        }
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(page)
        .source(format!("registrar {}", env!("CARGO_PKG_VERSION")))
        .render(&mut out)?;
    std::io::Write::write_all(&mut std::io::stdout().lock(), &out)?;
    Ok(Verdict::Success)
}
