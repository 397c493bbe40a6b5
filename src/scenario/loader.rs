//! Reading scenario files: YAML with positions → the scenario schema → the model → checks
//! against the profile and the other scenarios. Every problem found is reported, each as
//! `file:line:column: message`, before anything is sent to a supplier.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};
use serde_json::Value;

use super::model::{Scenario, Step};
use super::template::{self, Expression};
use super::yaml::{self, Located};
use crate::profile::{Profile, RequirementSet, StandaloneSchema};

static EMBEDDED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/scenarios");
/// The anchors every scenario file may use (`<<: *delivery`), read ahead of each file. It holds
/// no scenario of its own.
const FRAGMENTS_FILE: &str = "fragments.yaml";
const SCENARIO_SCHEMA: &str = include_str!("../../schemas/mallcheck/scenario.schema.json");

/// Template roots that are always there.
const GLOBAL_ROOTS: [&str; 4] = ["config", "run", "profile", "area"];

#[derive(Debug, Clone)]
pub enum ScenarioSource {
    Embedded,
    /// A folder (or one file) of scenarios instead of the embedded ones.
    Dir(PathBuf),
    /// The embedded scenarios and those of a folder (or file) beside them.
    EmbeddedAnd(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("无法读取场景 {path}：{message} / cannot read scenarios from {path}: {message}")]
    Read { path: String, message: String },
    #[error("{} problem(s) in scenario files / 场景文件有误:\n{}", .0.len(), .0.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
}

/// A file's text and the set its folder implies.
struct SourceFile {
    name: String,
    text: String,
    folder_set: Option<RequirementSet>,
}

fn folder_set(path: &str) -> Option<RequirementSet> {
    if path.starts_with("required/") || path.contains("/required/") {
        Some(RequirementSet::Required)
    } else if path.starts_with("optional/") || path.contains("/optional/") {
        Some(RequirementSet::Optional)
    } else {
        None
    }
}

fn is_yaml(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "yaml" || e == "yml")
}

fn read_files(source: &ScenarioSource) -> Result<Vec<SourceFile>, LoadError> {
    let mut files = Vec::new();
    if let ScenarioSource::EmbeddedAnd(root) = source {
        files = read_files(&ScenarioSource::Embedded)?;
        files.extend(read_files(&ScenarioSource::Dir(root.clone()))?);
        return Ok(files);
    }
    match source {
        ScenarioSource::EmbeddedAnd(_) => {}
        ScenarioSource::Embedded => {
            fn walk(dir: &Dir<'static>, out: &mut Vec<SourceFile>) {
                for file in dir.files() {
                    if is_yaml(file.path()) && file.path() != Path::new(FRAGMENTS_FILE) {
                        let name = file.path().to_string_lossy().replace('\\', "/");
                        out.push(SourceFile {
                            folder_set: folder_set(&name),
                            name: format!("scenarios/{name}"),
                            text: file.contents_utf8().unwrap_or_default().to_string(),
                        });
                    }
                }
                for sub in dir.dirs() {
                    walk(sub, out);
                }
            }
            walk(&EMBEDDED, &mut files);
        }
        ScenarioSource::Dir(root) => {
            fn walk(root: &Path, dir: &Path, out: &mut Vec<SourceFile>) -> Result<(), LoadError> {
                let error = |e: std::io::Error| LoadError::Read {
                    path: dir.display().to_string(),
                    message: e.to_string(),
                };
                let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
                    .map_err(error)?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .collect();
                entries.sort();
                for path in entries {
                    if path.is_dir() {
                        walk(root, &path, out)?;
                    } else if is_yaml(&path) {
                        let text = std::fs::read_to_string(&path).map_err(|e| LoadError::Read {
                            path: path.display().to_string(),
                            message: e.to_string(),
                        })?;
                        let relative = path
                            .strip_prefix(root)
                            .unwrap_or(&path)
                            .to_string_lossy()
                            .replace('\\', "/");
                        out.push(SourceFile {
                            folder_set: folder_set(&relative),
                            name: path.display().to_string(),
                            text,
                        });
                    }
                }
                Ok(())
            }
            if root.is_file() {
                let text = std::fs::read_to_string(root).map_err(|e| LoadError::Read {
                    path: root.display().to_string(),
                    message: e.to_string(),
                })?;
                let name = root.display().to_string();
                files.push(SourceFile {
                    folder_set: folder_set(&name),
                    name,
                    text,
                });
            } else {
                walk(root, root, &mut files)?;
            }
        }
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

/// The text of `scenarios/fragments.yaml`.
fn fragments() -> &'static str {
    EMBEDDED
        .get_file(FRAGMENTS_FILE)
        .and_then(|f| f.contents_utf8())
        .unwrap_or_default()
}

/// Loads, validates and cross-checks every scenario of `source`.
pub fn load_scenarios(
    source: &ScenarioSource,
    profile: &Profile,
) -> Result<Vec<Scenario>, LoadError> {
    let schema: Value = serde_json::from_str(SCENARIO_SCHEMA).map_err(|e| LoadError::Read {
        path: "scenario.schema.json".into(),
        message: e.to_string(),
    })?;
    let validator = StandaloneSchema::compile(&schema).map_err(|message| LoadError::Read {
        path: "scenario.schema.json".into(),
        message,
    })?;
    let mut problems = Vec::new();
    let mut parsed: Vec<(Scenario, Located)> = Vec::new();
    for file in read_files(source)? {
        let problem = |line: usize, column: usize, message: String| Problem {
            file: file.name.clone(),
            line,
            column,
            message,
        };
        let located = match yaml::parse_after(fragments(), &file.text) {
            Ok(located) => located,
            Err(e) => {
                problems.push(problem(e.line, e.column, format!("YAML: {}", e.message)));
                continue;
            }
        };
        let violations = validator.violations(&located.value);
        if !violations.is_empty() {
            for v in violations {
                let pointer = v.instance_pointer;
                let at = located.position(&pointer);
                problems.push(problem(
                    at.line,
                    at.column,
                    format!(
                        "{} (at {})",
                        v.message,
                        if pointer.is_empty() { "/" } else { &pointer }
                    ),
                ));
            }
            continue;
        }
        // `x-` keys (and `x-fragments`, read ahead of the file) hold fragments for anchors
        // (`<<: *delivery`), already copied where used.
        let mut value = located.value.clone();
        if let Some(map) = value.as_object_mut() {
            map.retain(|key, _| !key.starts_with("x-"));
        }
        match serde_json::from_value::<Scenario>(value) {
            Ok(mut scenario) => {
                scenario.file = file.name.clone();
                scenario.step_lines = (0..scenario.steps.len())
                    .map(|i| located.position(&format!("/steps/{i}")).line)
                    .collect();
                if scenario.set.is_none() {
                    scenario.set = file.folder_set;
                }
                parsed.push((scenario, located));
            }
            Err(e) => problems.push(problem(1, 1, e.to_string())),
        }
    }
    cross_check(&parsed, profile, &mut problems);
    if problems.is_empty() {
        Ok(parsed.into_iter().map(|(s, _)| s).collect())
    } else {
        Err(LoadError::Invalid(problems))
    }
}

/// Every `zh` text of a `{zh, en}` pair in a scenario file, with its pointer.
fn chinese_texts(value: &Value, pointer: String, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            if let (Some(Value::String(zh)), Some(Value::String(_))) =
                (map.get("zh"), map.get("en"))
            {
                out.push((format!("{pointer}/zh"), zh.clone()));
            }
            for (key, item) in map {
                chinese_texts(item, format!("{pointer}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                chinese_texts(item, format!("{pointer}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn cross_check(parsed: &[(Scenario, Located)], profile: &Profile, problems: &mut Vec<Problem>) {
    let mut ids: HashMap<&str, &str> = HashMap::new();
    for (scenario, located) in parsed {
        if let Some(other) = ids.insert(scenario.id.as_str(), scenario.file.as_str()) {
            let at = located.position("/id");
            problems.push(Problem {
                file: scenario.file.clone(),
                line: at.line,
                column: at.column,
                message: format!("scenario id {:?} is already used by {other}", scenario.id),
            });
        }
    }
    let by_id: HashMap<&str, &Scenario> = parsed.iter().map(|(s, _)| (s.id.as_str(), s)).collect();
    for (scenario, located) in parsed {
        let mut report = |pointer: &str, message: String| {
            let at = located.position(pointer);
            problems.push(Problem {
                file: scenario.file.clone(),
                line: at.line,
                column: at.column,
                message,
            });
        };
        // " / " parts the two languages of a message (see `crate::lang`): a Chinese text that
        // holds one would cut the messages it goes into.
        let mut texts = Vec::new();
        chinese_texts(&located.value, String::new(), &mut texts);
        for (pointer, text) in texts {
            if text.contains(" / ") {
                report(
                    &pointer,
                    format!(
                        "{pointer}: a Chinese text must not hold \" / \" (it parts the two languages of a message): {text:?}"
                    ),
                );
            } else if !text.chars().any(crate::lang::is_han) {
                report(
                    &pointer,
                    format!(
                        "{pointer}: a Chinese text must hold a Chinese character (that is how the two languages of a message are told apart): {text:?}"
                    ),
                );
            }
        }
        let earlier = scenario
            .requires
            .iter()
            .enumerate()
            .map(|(i, id)| ("requires", i, id))
            .chain(
                scenario
                    .after
                    .iter()
                    .enumerate()
                    .map(|(i, id)| ("after", i, id)),
            );
        for (key, i, required) in earlier {
            match by_id.get(required.as_str()) {
                None => report(
                    &format!("/{key}/{i}"),
                    format!("{key}: unknown scenario {required:?}"),
                ),
                Some(other)
                    if [false, true]
                        .iter()
                        .any(|admin| other.phase(*admin) > scenario.phase(*admin)) =>
                {
                    report(
                        &format!("/{key}/{i}"),
                        format!(
                            "{required:?} runs later than this scenario (it is optional, or moves the clock / runs alone): it cannot be required here"
                        ),
                    )
                }
                _ => {}
            }
        }
        if depends_on_itself(scenario, &by_id) {
            report(
                "/requires",
                format!(
                    "scenario {:?} depends on itself through `requires` or `after`",
                    scenario.id
                ),
            );
        }
        for (i, id) in scenario.requirements.iter().enumerate() {
            if profile.requirement(id).is_none() {
                report(
                    &format!("/requirements/{i}"),
                    format!("unknown requirement id {id:?}"),
                );
            }
        }
        // Names a template may start with: globals, required scenarios, captures so far.
        let mut roots: HashSet<String> = GLOBAL_ROOTS.iter().map(|s| s.to_string()).collect();
        roots.extend(scenario.requires.iter().cloned());
        for (index, step) in scenario.steps.iter().enumerate() {
            let base = format!("/steps/{index}");
            match step {
                Step::Call(call) => {
                    let mut step_roots = roots.clone();
                    if let Some(each) = &call.for_each {
                        check_templates(
                            &each.items,
                            &roots,
                            &format!("{base}/for_each/in"),
                            &mut report,
                        );
                        step_roots.insert(each.name.clone());
                    }
                    if !call.call.contains("${") && profile.interface(&call.call).is_none() {
                        report(
                            &format!("{base}/call"),
                            format!(
                                "unknown interface {:?}; `mallcheck list` shows the ids",
                                call.call
                            ),
                        );
                    }
                    check_templates(
                        &Value::String(call.call.clone()),
                        &step_roots,
                        &format!("{base}/call"),
                        &mut report,
                    );
                    if let Some(when) = &call.when {
                        check_templates(
                            &Value::String(when.clone()),
                            &step_roots,
                            &format!("{base}/when"),
                            &mut report,
                        );
                    }
                    check_templates(
                        &call.params,
                        &step_roots,
                        &format!("{base}/params"),
                        &mut report,
                    );
                    if let Some(c) = &call.credentials {
                        check_templates(
                            &serde_json::json!([c.username, c.password]),
                            &step_roots,
                            &format!("{base}/credentials"),
                            &mut report,
                        );
                    }
                    for (j, expect) in call.expect.values.iter().enumerate() {
                        let at = format!("{base}/expect/values/{j}");
                        check_templates(
                            &serde_json::to_value(expect).unwrap_or_default(),
                            &step_roots,
                            &at,
                            &mut report,
                        );
                        if let Some(id) = &expect.requirement
                            && profile.requirement(id).is_none()
                        {
                            report(
                                &format!("{at}/requirement"),
                                format!("unknown requirement id {id:?}"),
                            );
                        }
                    }
                    for (j, id) in call.requirements.iter().enumerate() {
                        if profile.requirement(id).is_none() {
                            report(
                                &format!("{base}/requirements/{j}"),
                                format!("unknown requirement id {id:?}"),
                            );
                        }
                    }
                    roots.extend(call.capture.keys().cloned());
                }
                Step::Builtin(builtin) => {
                    check_templates(
                        &Value::Object(builtin.args.clone()),
                        &roots,
                        &format!("{base}/with"),
                        &mut report,
                    );
                    // Builtins capture under their own name.
                    roots.insert(builtin.builtin.clone());
                }
                Step::Admin(admin) => {
                    if let Some(stock) = &admin.admin.set_stock {
                        check_templates(
                            &Value::Object(stock.clone()),
                            &roots,
                            &format!("{base}/admin/set_stock"),
                            &mut report,
                        );
                    }
                }
            }
        }
    }
}

fn check_templates(
    value: &Value,
    roots: &HashSet<String>,
    pointer: &str,
    report: &mut impl FnMut(&str, String),
) {
    match template::expressions(value) {
        Err(e) => report(pointer, format!("template: {e}")),
        Ok(expressions) => {
            for Expression { text, .. } in expressions.iter().filter(|e| !roots.contains(e.root()))
            {
                let mut known: Vec<&str> = roots.iter().map(String::as_str).collect();
                known.sort_unstable();
                report(
                    pointer,
                    format!(
                        "template `${{{text}}}`: nothing named {:?} here (known: {})",
                        text.split(['.', '|']).next().unwrap_or_default(),
                        known.join(", ")
                    ),
                );
            }
        }
    }
}

fn depends_on_itself(start: &Scenario, by_id: &HashMap<&str, &Scenario>) -> bool {
    let mut stack: Vec<&str> = start
        .requires
        .iter()
        .chain(&start.after)
        .map(String::as_str)
        .collect();
    let mut seen = HashSet::new();
    while let Some(id) = stack.pop() {
        if id == start.id {
            return true;
        }
        if seen.insert(id)
            && let Some(s) = by_id.get(id)
        {
            stack.extend(s.requires.iter().chain(&s.after).map(String::as_str));
        }
    }
    false
}
