//! The command-line convention every testkit tool follows, written once so the tools cannot
//! drift: `--help` prints the help on stdout and exits 0; a bad argument prints one line
//! `PROG: reason` on stderr and exits 2.

use std::process::ExitCode;

/// Runs `parse` over the process arguments (without the program name). `Ok(Some(opts))` is a
/// run; `Ok(None)` means help was asked for. Returns the options, or the exit code the tool
/// must return at once (after the help or the error line has been printed).
pub fn args_or_exit<T>(
    prog: &str,
    help: &str,
    parse: impl FnOnce(&[String]) -> Result<Option<T>, String>,
) -> Result<T, ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse(&args) {
        Ok(Some(opts)) => Ok(opts),
        Ok(None) => {
            println!("{help}");
            Err(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{prog}: {e}");
            Err(ExitCode::from(2))
        }
    }
}
