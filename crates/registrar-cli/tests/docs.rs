//! The command line describes itself: `registrar completions SHELL` and `registrar man`.

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_registrar"))
        .args(args)
        .env_remove("REGISTRAR_DATABASE_URL")
        .output()
        .expect("run registrar")
}

const SUBCOMMANDS: [&str; 18] = [
    "init",
    "seed-training",
    "validate",
    "import",
    "migrate",
    "backup",
    "export",
    "restore",
    "verify-backup",
    "clean",
    "check",
    "verify-logins",
    "set-password",
    "force-password-reset",
    "plan",
    "mapping",
    "stats",
    "audit",
];

#[test]
fn completions_bash_prints_a_script_naming_every_subcommand() {
    let o = run(&["completions", "bash"]);
    assert_eq!(o.status.code(), Some(0));
    let script = String::from_utf8_lossy(&o.stdout);
    assert!(script.contains("_registrar()"), "{script}");
    assert!(script.contains("complete -F _registrar"), "{script}");
    for sub in SUBCOMMANDS {
        assert!(
            script.contains(sub),
            "{sub} missing from the bash completions"
        );
    }
    // Flags complete too.
    assert!(script.contains("--database"));
    assert!(script.contains("--skip-invalid"));
}

#[test]
fn completions_for_every_shell_and_an_unknown_shell_is_a_usage_error() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = run(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}");
        let script = String::from_utf8_lossy(&o.stdout);
        assert!(script.contains("verify-backup"), "{shell}: {script}");
    }
    let o = run(&["completions", "tcsh"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
}

#[test]
fn man_prints_a_roff_page_with_th_and_the_commands() {
    let o = run(&["man"]);
    assert_eq!(o.status.code(), Some(0));
    let page = String::from_utf8_lossy(&o.stdout);
    assert!(page.contains(".TH registrar 1"), "{page}");
    assert!(page.contains(".SH NAME"), "{page}");
    assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
    for sub in SUBCOMMANDS {
        // roff escapes dashes.
        let named = format!("registrar\\-{}(1)", sub.replace('-', "\\-"));
        assert!(page.contains(&named), "{named} missing from the man page");
    }
}

#[test]
fn man_of_a_command_prints_its_page_with_its_flags() {
    let o = run(&["man", "import"]);
    assert_eq!(o.status.code(), Some(0));
    let page = String::from_utf8_lossy(&o.stdout);
    assert!(page.contains(".TH registrar-import 1"), "{page}");
    assert!(page.contains("\\-\\-skip\\-invalid"), "{page}");
    assert!(page.contains("\\-\\-on\\-existing"), "{page}");
    let o = run(&["man", "nosuch"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no command \"nosuch\""));
}
