//! `manifest.json`: every file of a run folder with its size and SHA-256, the tool version, and
//! hashes of the profile and of the config (its credentials left out), written once every report
//! is. `mallcheck verify DIR` checks a folder against it offline: a report handed on can be shown
//! to be the one the run wrote.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{ReportError, write_atomically};

pub const MANIFEST_FILE: &str = "manifest.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub tool: String,
    pub profile_sha256: String,
    pub config_sha256: String,
    pub files: BTreeMap<String, FileEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub bytes: u64,
    pub sha256: String,
}

/// Size and SHA-256 of a file, read in pieces (events.jsonl may be large).
fn entry_of(path: &Path) -> std::io::Result<FileEntry> {
    let mut file = std::fs::File::open(path)?;
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buffer = vec![0u8; 64 * 1024];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        context.update(&buffer[..n]);
    }
    let sha256 = context
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(FileEntry { bytes, sha256 })
}

/// The files of the folder a manifest covers: every regular file but the manifest.
fn files_of(dir: &Path) -> std::io::Result<BTreeMap<String, FileEntry>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == MANIFEST_FILE || !entry.file_type()?.is_file() {
            continue;
        }
        files.insert(name, entry_of(&entry.path())?);
    }
    Ok(files)
}

/// SHA-256 of a value's JSON text.
pub fn sha256_of(value: &impl Serialize) -> String {
    let text = serde_json::to_vec(value).unwrap_or_default();
    crate::exchange::sha256_hex(&text)
}

/// Writes `dir/manifest.json` over the files the folder holds now.
pub fn write(dir: &Path, profile_sha256: &str, config_sha256: &str) -> Result<(), ReportError> {
    let failed = |message: String| ReportError::Write {
        path: dir.join(MANIFEST_FILE).display().to_string(),
        message,
    };
    let manifest = Manifest {
        format: "mallcheck-manifest/1".into(),
        tool: format!("mallcheck {}", env!("CARGO_PKG_VERSION")),
        profile_sha256: profile_sha256.into(),
        config_sha256: config_sha256.into(),
        files: files_of(dir).map_err(|e| failed(e.to_string()))?,
    };
    let text = serde_json::to_vec_pretty(&manifest).map_err(|e| failed(e.to_string()))?;
    write_atomically(&dir.join(MANIFEST_FILE), &text)
}

/// What `verify` found wrong with a folder; empty when every file matches.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Mismatches {
    pub changed: Vec<String>,
    pub missing: Vec<String>,
    /// Files the manifest does not list (added after the run).
    pub unlisted: Vec<String>,
    pub checked: usize,
}

impl Mismatches {
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.missing.is_empty() && self.unlisted.is_empty()
    }
}

/// Checks `dir` against its manifest; an error when there is no readable manifest.
pub fn verify(dir: &Path) -> Result<Mismatches, String> {
    let path = dir.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("没有清单 / no manifest at {}: {e}", path.display()))?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
        format!(
            "清单无法读取 {0} / {0} is not a manifest: {e}",
            path.display()
        )
    })?;
    let now = files_of(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut found = Mismatches::default();
    for (name, entry) in &manifest.files {
        match now.get(name) {
            None => found.missing.push(name.clone()),
            Some(seen) if seen != entry => found.changed.push(name.clone()),
            Some(_) => found.checked += 1,
        }
    }
    found.unlisted = now
        .keys()
        .filter(|name| !manifest.files.contains_key(*name))
        .cloned()
        .collect();
    Ok(found)
}
