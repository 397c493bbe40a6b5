//! `mallcheck run`: the session with the terminal and JSON reporters, and the verdict as an exit
//! code (0 required set passed, 1 conformance failure, 2 input error, 3 runtime error).

use std::process::ExitCode;

use crate::events::SetVerdict;
use crate::exit;
use crate::profile::Profile;
use crate::report::Reporter;
use crate::report::json::JsonReporter;
use crate::report::terminal::TerminalReporter;
use crate::session::{self, RunArgs, SessionError};

pub fn run_command(profile: Profile, args: RunArgs, verbose: bool) -> ExitCode {
    let prepared = match session::prepare(profile, &args) {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            return fail(&SessionError::Runtime(format!(
                "cannot start the async runtime: {e}"
            )));
        }
    };
    let outcome = runtime.block_on(session::execute(prepared, &args, |dir| {
        let report = dir.join("report.json");
        let reporters: Vec<Box<dyn Reporter>> = vec![
            Box::new(TerminalReporter::stderr(
                verbose,
                colored::control::SHOULD_COLORIZE.should_colorize(),
                Some(report.display().to_string()),
            )),
            Box::new(JsonReporter::new(report)),
        ];
        reporters
    }));
    match outcome {
        Err(e) => fail(&e),
        Ok(o) if o.aborted.is_some() => ExitCode::from(exit::RUNTIME),
        Ok(o) => ExitCode::from(match o.verdict.required {
            SetVerdict::Pass => exit::OK,
            SetVerdict::Fail => exit::CONFORMANCE_FAILURE,
            SetVerdict::Incomplete | SetVerdict::NotTested => exit::INCOMPLETE,
            SetVerdict::Error => exit::RUNTIME,
        }),
    }
}

fn fail(error: &SessionError) -> ExitCode {
    eprintln!("mallcheck: {error}");
    match error {
        SessionError::Input(_) => ExitCode::from(exit::USAGE),
        SessionError::Runtime(_) => ExitCode::from(exit::RUNTIME),
    }
}
