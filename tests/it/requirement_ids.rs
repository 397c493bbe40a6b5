//! Requirement ids are data of `requirements.toml`: every id named anywhere (the code, the
//! scenarios, the faults, the profile) exists there; every requirement is owned by a check, an
//! expectation of a scenario, or is declared not observable with its reason; and an unknown id
//! is an error wherever one can be written.

use std::collections::BTreeSet;
use std::path::Path;

use mallcheck::checks::{CHECKS, NOT_OBSERVABLE, validate_profile};

use crate::common::copy_dir;
use mallcheck::profile::Profile;
use mallcheck::scenario::{ScenarioSource, Step, load_scenarios};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Every text that looks like a requirement id (`PRC-NOT-ABOVE-MARKET`) in a file.
fn ids_in(text: &str) -> BTreeSet<String> {
    const PREFIXES: &[&str] = &[
        "GEN", "TOK", "POOL", "SKU", "DET", "SHELF", "IMG", "PRC", "AREA", "STK", "BATCH", "NEW",
        "CHANGED", "ORD", "LOG", "OPT", "X",
    ];
    let mut found = BTreeSet::new();
    for (start, _) in text.match_indices('"') {
        let rest = &text[start + 1..];
        let Some(end) = rest.find('"') else { continue };
        let word = &rest[..end];
        let shaped = word.contains('-')
            && word
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
            && PREFIXES.iter().any(|p| word.starts_with(&format!("{p}-")));
        if shaped {
            found.insert(word.to_string());
        }
    }
    found
}

fn files(dir: &Path, ext: &str, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
}

#[test]
fn every_requirement_id_named_in_code_scenarios_faults_and_profile_exists() {
    let profile = Profile::embedded().expect("profile");
    let known: BTreeSet<&str> = profile.requirements.iter().map(|r| r.id.as_str()).collect();
    let mut sources = Vec::new();
    files(&Path::new(ROOT).join("src"), "rs", &mut sources);
    let mut scenario_files = Vec::new();
    files(
        &Path::new(ROOT).join("scenarios"),
        "yaml",
        &mut scenario_files,
    );
    let mut unknown = Vec::new();
    for path in &sources {
        let text = std::fs::read_to_string(path).expect("source");
        for id in ids_in(&text) {
            if !known.contains(id.as_str()) {
                unknown.push(format!("{}: {id}", path.display()));
            }
        }
    }
    for path in &scenario_files {
        let text = std::fs::read_to_string(path).expect("scenario");
        // YAML lists ids unquoted: every upper-case word with a dash.
        for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
            if word.len() > 3
                && word.contains('-')
                && word.chars().all(|c| c.is_ascii_uppercase() || c == '-')
                && !known.contains(word)
            {
                unknown.push(format!("{}: {word}", path.display()));
            }
        }
    }
    // The faults, as `mallcheck faults --json` lists them.
    let out = crate::common::mallcheck_command()
        .args(["faults", "--json"])
        .output()
        .expect("mallcheck faults");
    let faults: serde_json::Value = serde_json::from_slice(&out.stdout).expect("faults JSON");
    let faults = faults.as_array().expect("a list of faults");
    assert!(faults.len() > 40, "the fault list is read");
    for fault in faults {
        for id in fault["requirements"].as_array().into_iter().flatten() {
            let id = id.as_str().unwrap_or_default();
            if !known.contains(id) {
                unknown.push(format!("fault {}: {id}", fault["id"]));
            }
        }
    }
    for interface in &profile.interfaces {
        let named = interface
            .requirements
            .iter()
            .chain([&interface.schema_requirement])
            .chain(interface.batch_requirement.as_ref());
        for id in named {
            if !known.contains(id.as_str()) {
                unknown.push(format!("interface {}: {id}", interface.id));
            }
        }
    }
    assert!(unknown.is_empty(), "unknown requirement ids: {unknown:#?}");
    // The scan itself sees ids: a test that finds nothing proves nothing.
    assert!(ids_in(r#"x = "PRC-MONEY"; y = "not-an-id""#).contains("PRC-MONEY"));
}

#[test]
fn every_requirement_is_owned_by_a_check_or_declared_not_observable() {
    let profile = Profile::embedded().expect("profile");
    let scenarios = load_scenarios(&ScenarioSource::Embedded, &profile).expect("scenarios");
    let mut owned: BTreeSet<String> = CHECKS
        .iter()
        .flat_map(|c| c.requirements.iter().map(|r| r.to_string()))
        .collect();
    // The schema check judges each interface's schema requirement and batch requirement.
    for interface in &profile.interfaces {
        owned.insert(interface.schema_requirement.clone());
        owned.extend(interface.batch_requirement.clone());
    }
    // The expectation check judges what scenario steps name.
    for scenario in &scenarios {
        for step in &scenario.steps {
            if let Step::Call(call) = step {
                owned.extend(call.requirements.iter().cloned());
                owned.extend(
                    call.expect
                        .values
                        .iter()
                        .filter_map(|v| v.requirement.clone()),
                );
            }
        }
    }
    let mut orphans = Vec::new();
    for requirement in &profile.requirements {
        let declared = NOT_OBSERVABLE.iter().any(|(id, _)| *id == requirement.id);
        match (owned.contains(&requirement.id), declared) {
            (true, false) | (false, true) => {}
            (false, false) => orphans.push(format!("{}: judged by no check", requirement.id)),
            (true, true) => orphans.push(format!(
                "{}: declared not observable but a check judges it",
                requirement.id
            )),
        }
    }
    assert!(orphans.is_empty(), "{orphans:#?}");
}

#[test]
fn an_unknown_requirement_id_in_a_scenario_is_refused_with_its_line() {
    let profile = Profile::embedded().expect("profile");
    let dir = std::env::temp_dir().join(format!("mallcheck-ids-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("typo.yaml"),
        "id: typo\ntitle: {zh: 错, en: typo}\nrequirements: [PRC-MONY]\nsteps:\n  - call: pools\n    requirements: [POOL-LST]\n",
    )
    .expect("write");
    let error = load_scenarios(&ScenarioSource::Dir(dir.clone()), &profile)
        .expect_err("unknown ids are refused")
        .to_string();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        error.contains("PRC-MONY") && error.contains("typo.yaml:3"),
        "{error}"
    );
    assert!(
        error.contains("POOL-LST") && error.contains("typo.yaml:6"),
        "{error}"
    );
}

#[test]
fn an_unknown_requirement_id_in_the_profile_is_refused() {
    let dir = std::env::temp_dir().join(format!("mallcheck-ids-profile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&Path::new(ROOT).join("schemas"), &dir);
    let catalogue = std::fs::read_to_string(dir.join("interfaces.toml")).expect("catalogue");
    let broken = catalogue.replacen(
        r#"batch_requirement = "PRC-BATCH""#,
        r#"batch_requirement = "PRC-BATCHES""#,
        1,
    );
    assert_ne!(broken, catalogue);
    std::fs::write(dir.join("interfaces.toml"), broken).expect("write");
    let error = Profile::from_dir(&dir).expect_err("refused").to_string();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        error.contains("PRC-BATCHES") && error.contains("batch_requirement"),
        "{error}"
    );
}

#[test]
fn a_profile_naming_an_unknown_check_is_refused() {
    let dir = std::env::temp_dir().join(format!("mallcheck-unknown-check-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&Path::new(ROOT).join("schemas"), &dir);
    let catalogue = std::fs::read_to_string(dir.join("interfaces.toml")).expect("catalogue");
    let broken = catalogue.replacen(
        r#"checks = ["price-rule", "money"]"#,
        r#"checks = ["price-rule", "mony"]"#,
        1,
    );
    assert_ne!(broken, catalogue);
    std::fs::write(dir.join("interfaces.toml"), broken).expect("write");
    let loaded = Profile::from_dir(&dir).expect("the profile itself loads");
    let error = validate_profile(&loaded).expect_err("unknown check");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        error.contains("\"mony\"") && error.contains("prices"),
        "{error}"
    );
}
