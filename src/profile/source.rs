use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};

use super::ProfileError;

/// The default profile, compiled into the binary.
static EMBEDDED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/schemas");

/// Where a profile's files come from.
#[derive(Debug, Clone)]
pub enum ProfileSource {
    Embedded,
    Dir(PathBuf),
}

impl ProfileSource {
    pub fn describe(&self) -> String {
        match self {
            ProfileSource::Embedded => "embedded".to_string(),
            ProfileSource::Dir(dir) => dir.display().to_string(),
        }
    }

    /// Reads one file by its path inside the profile (always with `/`).
    pub fn read(&self, path: &str) -> Result<String, ProfileError> {
        match self {
            ProfileSource::Embedded => EMBEDDED
                .get_file(path)
                .and_then(|f| f.contents_utf8())
                .map(str::to_string)
                .ok_or_else(|| ProfileError::Read {
                    file: path.to_string(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "not in the embedded profile",
                    ),
                }),
            ProfileSource::Dir(dir) => {
                let full = dir.join(path);
                std::fs::read_to_string(&full).map_err(|source| ProfileError::Read {
                    file: full.display().to_string(),
                    source,
                })
            }
        }
    }

    /// The paths (inside the profile, with `/`) of every `.json` file, sorted.
    pub fn json_files(&self) -> Result<Vec<String>, ProfileError> {
        let mut paths = Vec::new();
        match self {
            ProfileSource::Embedded => collect_embedded(&EMBEDDED, &mut paths),
            ProfileSource::Dir(dir) => {
                if !dir.is_dir() {
                    return Err(ProfileError::NoFolder(dir.clone()));
                }
                collect_dir(dir, dir, &mut paths)?;
            }
        }
        paths.sort();
        Ok(paths)
    }
}

fn collect_embedded(dir: &Dir<'static>, out: &mut Vec<String>) {
    for file in dir.files() {
        if file.path().extension().is_some_and(|e| e == "json") {
            out.push(slash_path(file.path()));
        }
    }
    for sub in dir.dirs() {
        collect_embedded(sub, out);
    }
}

fn collect_dir(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), ProfileError> {
    let read_error = |source| ProfileError::Read {
        file: dir.display().to_string(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        if path.is_dir() {
            collect_dir(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "json")
            && let Ok(relative) = path.strip_prefix(root)
        {
            out.push(slash_path(relative));
        }
    }
    Ok(())
}

fn slash_path(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}
