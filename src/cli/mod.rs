//! The command line. Only this module knows clap; it parses, calls the library and maps errors to
//! exit codes.

use std::process::ExitCode;

pub fn main() -> ExitCode {
    ExitCode::SUCCESS
}
