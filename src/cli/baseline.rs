//! `mallcheck baseline DIR`, `mallcheck diff RUN_A RUN_B` and what `run --rerun-failed DIR`
//! reads from the earlier run.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::diff::RunFolder;
use crate::events::Status;
use crate::exit;

/// `mallcheck baseline DIR [-o FILE]`: a baseline accepting every failure and warning of the
/// run, with placeholder reasons to replace. 0 written, 2 no readable run folder or output.
pub fn baseline_command(dir: &Path, output: Option<PathBuf>) -> ExitCode {
    let run = match RunFolder::read(dir) {
        Ok(run) => run,
        Err(message) => return usage(&message),
    };
    let (text, entries) =
        crate::baseline::write_from_report(&run.report, &dir.display().to_string());
    match output {
        None => super::stdout(&text),
        Some(path) => {
            if let Err(e) = crate::report::write_atomically(&path, text.as_bytes()) {
                return usage(&e.to_string());
            }
            let path = path.display();
            super::say(format!(
                "已写入基线 {path}（{entries} 条） / baseline written: {path} ({entries} entries)"
            ));
        }
    }
    if entries == 0 {
        super::say(
            "该运行没有失败或警告，基线为空 / the run has no failure or warning: the baseline is empty",
        );
    } else {
        let placeholder = crate::baseline::PLACEHOLDER_REASON;
        super::say(format!(
            "请把每条 reason 的 \"{placeholder}\" 改为接受的理由，否则 --baseline 会拒绝该文件 / Replace every reason \"{placeholder}\": --baseline refuses a file that still has it"
        ));
    }
    ExitCode::from(exit::OK)
}

/// `mallcheck diff RUN_A RUN_B [--json]`: 0 no new failure, 1 a MUST failure new in B, 2 bad input.
pub fn diff_command(a: &Path, b: &Path, json: bool) -> ExitCode {
    let (a, b) = match (RunFolder::read(a), RunFolder::read(b)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(message), _) | (_, Err(message)) => return usage(&message),
    };
    let d = crate::diff::diff(&a, &b);
    if json {
        match serde_json::to_string_pretty(&d) {
            Ok(text) => super::stdout(&format!("{text}\n")),
            Err(e) => return usage(&e.to_string()),
        }
    } else {
        super::stdout(&crate::diff::render(&d, crate::lang::chosen()));
    }
    if d.has_new_must_failures() {
        ExitCode::from(exit::CONFORMANCE_FAILURE)
    } else {
        ExitCode::from(exit::OK)
    }
}

/// What `--rerun-failed DIR` takes from the earlier run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rerun {
    /// Scenarios that failed, warned, or were blocked by a failure.
    pub scenarios: Vec<String>,
    /// The earlier run's sample and seed, so the same SKUs are read again.
    pub seed: u64,
    pub sample: Option<crate::runner::SampleSize>,
}

pub fn rerun_of(dir: &Path) -> Result<Rerun, String> {
    let run = RunFolder::read(dir)?;
    let scenarios: Vec<String> = run
        .report
        .scenarios
        .iter()
        .filter(|s| {
            matches!(
                s.status,
                Some(Status::Fail | Status::Warn | Status::Blocked)
            )
        })
        .map(|s| s.info.id.clone())
        .collect();
    if scenarios.is_empty() {
        return Err(format!(
            "{} 中没有失败、警告或受阻的场景 / nothing failed, warned or was blocked in {}: nothing to rerun",
            dir.display(),
            dir.display()
        ));
    }
    Ok(Rerun {
        scenarios,
        seed: run.report.scope.seed,
        sample: crate::runner::SampleSize::parse(&run.report.scope.sample).ok(),
    })
}

fn usage(message: &str) -> ExitCode {
    super::complain(message);
    ExitCode::from(exit::USAGE)
}
