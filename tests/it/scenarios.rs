//! The embedded scenarios: they load, and the token checks reach every token-protected interface.

use std::collections::BTreeSet;

use mallcheck::profile::Profile;
use mallcheck::scenario::{ScenarioSource, Step, load_scenarios};

#[test]
fn embedded_scenarios_load_and_call_every_interface() {
    let profile = Profile::embedded().expect("profile");
    let scenarios =
        load_scenarios(&ScenarioSource::Embedded, &profile).unwrap_or_else(|e| panic!("{e}"));
    assert!(scenarios.len() >= 15);
    // Interfaces named by the token checks' cases, per scenario.
    let cases = |id: &str| -> BTreeSet<String> {
        let scenario = scenarios
            .iter()
            .find(|s| s.id == id)
            .expect("token scenario");
        let mut names = BTreeSet::new();
        for step in &scenario.steps {
            if let Step::Call(call) = step
                && let Some(each) = &call.for_each
            {
                for item in each.items.as_array().into_iter().flatten() {
                    if let Some(name) = item["iface"].as_str() {
                        names.insert(name.to_string());
                    }
                }
            }
        }
        names
    };
    let required: BTreeSet<String> = profile
        .interfaces
        .iter()
        .filter(|i| i.auth && i.required)
        .map(|i| i.id.clone())
        .collect();
    let optional: BTreeSet<String> = profile
        .interfaces
        .iter()
        .filter(|i| i.auth && !i.required)
        .map(|i| i.id.clone())
        .collect();
    assert_eq!(
        cases("token-required"),
        required,
        "token-required covers every required interface"
    );
    assert_eq!(
        cases("token-required-optional"),
        optional,
        "token-required-optional covers every optional one"
    );
    // Every interface of the profile is called by some scenario with a token.
    let called: BTreeSet<String> = scenarios
        .iter()
        .flat_map(|s| s.steps.iter())
        .filter_map(|step| match step {
            Step::Call(call) if !call.call.contains("${") => Some(call.call.clone()),
            _ => None,
        })
        .collect();
    for interface in &profile.interfaces {
        assert!(
            called.contains(&interface.id),
            "no scenario calls {} with valid parameters",
            interface.id
        );
    }
}
