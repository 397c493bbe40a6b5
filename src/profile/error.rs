use std::path::PathBuf;

/// A profile that cannot be used. Every variant names the file, and where it can, the field.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("profile file {file}: cannot read: {source} / 无法读取")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("profile file {file}: {message}")]
    Parse { file: String, message: String },
    #[error("profile file {file}, {field}: {message}")]
    Invalid {
        file: String,
        field: String,
        message: String,
    },
    #[error("profile folder {0} does not exist or is not a folder / 配置目录不存在")]
    NoFolder(PathBuf),
}

impl ProfileError {
    pub(crate) fn invalid(
        file: &str,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ProfileError::Invalid {
            file: file.to_string(),
            field: field.into(),
            message: message.into(),
        }
    }
}
