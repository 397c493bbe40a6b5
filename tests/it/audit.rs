//! `docs/standard/AUDIT.md` keeps one row per requirement of `docs/standard/REQUIREMENTS.md`, in
//! its order, at the level REQUIREMENTS.md gives it and mallcheck reports, with one of the four
//! findings. A requirement added without its audit row, a row left for an id that is gone, or a
//! level changed on one side only fails here.

use std::path::Path;

use mallcheck::profile::{Profile, RequirementSet};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

const FINDINGS: &[&str] = &[
    "`agrees`",
    "`stricter than the standard`",
    "`looser`",
    "`not tested`",
];

/// The cells of a Markdown table row whose first cell is a requirement id (`PRC-MONEY`), or
/// `None` for any other line (headings, prose, header and separator rows).
fn id_row(line: &str) -> Option<Vec<&str>> {
    let inner = line.trim().strip_prefix('|')?.strip_suffix('|')?;
    let cells: Vec<&str> = inner.split('|').map(str::trim).collect();
    let id = cells.first()?;
    let shaped = id.contains('-')
        && id.starts_with(|c: char| c.is_ascii_uppercase())
        && id
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
    shaped.then_some(cells)
}

/// (id, level) of every requirement of REQUIREMENTS.md, in order. A table without a level
/// column takes the level its heading names (`## Cross-interface consistency (BEYOND)`).
fn requirements_md(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut heading_level: Option<&str> = None;
    let mut out = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if let Some(heading) = line.strip_prefix("## ") {
            heading_level = ["MUST", "SHOULD", "BEYOND"]
                .into_iter()
                .find(|level| heading.contains(&format!("({level})")));
            continue;
        }
        let Some(cells) = id_row(line) else { continue };
        let second = cells.get(1).copied().unwrap_or_default();
        let level = if ["MUST", "SHOULD", "BEYOND"]
            .iter()
            .any(|l| second.starts_with(l))
        {
            second
        } else if let Some(level) = heading_level {
            level
        } else {
            return Err(format!(
                "REQUIREMENTS.md:{}: {} has no level",
                number + 1,
                cells[0]
            ));
        };
        out.push((cells[0].to_string(), level.to_string()));
    }
    Ok(out)
}

/// Everything wrong with the audit table against the requirements (empty when it is true).
fn audit_problems(requirements: &str, audit: &str, profile: &Profile) -> Vec<String> {
    let mut problems = Vec::new();
    let wanted = match requirements_md(requirements) {
        Ok(wanted) => wanted,
        Err(problem) => return vec![problem],
    };
    let mut rows: Vec<(usize, Vec<&str>)> = Vec::new();
    for (number, line) in audit.lines().enumerate() {
        if let Some(cells) = id_row(line) {
            rows.push((number + 1, cells));
        }
    }
    for (line, cells) in &rows {
        let id = cells[0];
        if cells.len() != 5 {
            problems.push(format!(
                "AUDIT.md:{line}: {id}: {} cells, not 5 (id, standard, mallcheck demands, level, finding)",
                cells.len()
            ));
            continue;
        }
        let level = cells[3];
        match wanted.iter().find(|(w, _)| w == id) {
            None => problems.push(format!(
                "AUDIT.md:{line}: {id} is not a requirement id of REQUIREMENTS.md"
            )),
            Some((_, expected)) if expected != level => problems.push(format!(
                "AUDIT.md:{line}: {id} has level {level:?}; REQUIREMENTS.md gives {expected:?}"
            )),
            Some(_) => {}
        }
        // The level mallcheck reports: requirements.toml, as the profile loads it.
        match profile.requirement(id) {
            None => problems.push(format!("AUDIT.md:{line}: {id} is unknown to mallcheck")),
            Some(requirement) => {
                let reported = requirement.level.as_str();
                if level.split_whitespace().next() != Some(reported) {
                    problems.push(format!(
                        "AUDIT.md:{line}: {id} has level {level:?}; mallcheck reports {reported}"
                    ));
                }
                if level.contains("(optional set)") && requirement.set != RequirementSet::Optional {
                    problems.push(format!(
                        "AUDIT.md:{line}: {id} is marked optional set but counts for the required set"
                    ));
                }
            }
        }
        if !FINDINGS.iter().any(|f| cells[4].starts_with(f)) {
            problems.push(format!(
                "AUDIT.md:{line}: {id}: the finding must start with one of {}",
                FINDINGS.join(", ")
            ));
        }
    }
    for (id, _) in &wanted {
        match rows.iter().filter(|(_, cells)| cells[0] == id).count() {
            0 => problems.push(format!("AUDIT.md has no row for {id}")),
            1 => {}
            n => problems.push(format!("AUDIT.md has {n} rows for {id}")),
        }
    }
    let order: Vec<&str> = rows
        .iter()
        .map(|(_, cells)| cells[0])
        .filter(|id| wanted.iter().any(|(w, _)| w == id))
        .collect();
    let expected: Vec<&str> = wanted.iter().map(|(id, _)| id.as_str()).collect();
    if problems.is_empty() && order != expected {
        problems.push(format!(
            "AUDIT.md rows are not in the order of REQUIREMENTS.md: {order:?}"
        ));
    }
    problems
}

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(path)).expect(path)
}

#[test]
fn the_audit_has_one_row_per_requirement_at_its_level() {
    let profile = Profile::embedded().expect("profile");
    let requirements = read("docs/standard/REQUIREMENTS.md");
    let audit = read("docs/standard/AUDIT.md");
    // The parser sees every requirement: one that finds nothing proves nothing.
    let wanted = requirements_md(&requirements).expect("levels");
    assert_eq!(wanted.len(), profile.requirements.len(), "{wanted:?}");
    assert!(
        wanted
            .iter()
            .any(|(id, l)| id == "X-ORDER-TOTAL" && l == "BEYOND")
    );
    assert!(
        wanted
            .iter()
            .any(|(id, l)| id == "OPT-EINVOICE" && l == "MUST (optional set)")
    );
    let problems = audit_problems(&requirements, &audit, &profile);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn a_missing_row_an_unknown_id_or_a_changed_level_is_found() {
    let profile = Profile::embedded().expect("profile");
    let requirements = read("docs/standard/REQUIREMENTS.md");
    let audit = read("docs/standard/AUDIT.md");
    let row = |id: &str| {
        audit
            .lines()
            .find(|l| l.starts_with(&format!("| {id} |")))
            .expect(id)
            .to_string()
    };
    let problems = |text: &str| audit_problems(&requirements, text, &profile).join("\n");

    let missing = audit.replace(&format!("{}\n", row("PRC-MONEY")), "");
    assert!(problems(&missing).contains("no row for PRC-MONEY"));

    let unknown = audit.replace("| PRC-MONEY |", "| PRC-MONY |");
    let found = problems(&unknown);
    assert!(
        found.contains("PRC-MONY is not a requirement id"),
        "{found}"
    );
    assert!(found.contains("no row for PRC-MONEY"), "{found}");

    let relevelled = audit.replace(
        &row("PRC-MONEY"),
        &row("PRC-MONEY").replace("| BEYOND |", "| MUST |"),
    );
    let found = problems(&relevelled);
    assert!(
        found.contains("PRC-MONEY has level \"MUST\"; REQUIREMENTS.md gives \"BEYOND\""),
        "{found}"
    );
    assert!(found.contains("mallcheck reports BEYOND"), "{found}");

    let unsorted = audit.replace(
        &format!("{}\n{}", row("GEN-POST"), row("GEN-JSON")),
        &format!("{}\n{}", row("GEN-JSON"), row("GEN-POST")),
    );
    assert!(problems(&unsorted).contains("not in the order"));

    let vague = audit.replace(
        &row("GEN-POST"),
        &row("GEN-POST").replace("`agrees`", "probably fine"),
    );
    assert!(problems(&vague).contains("GEN-POST: the finding must start with"));
}
