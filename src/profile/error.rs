use std::path::PathBuf;

/// A profile that cannot be used. Every variant names the file, and where it can, the field.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("无法读取协议配置文件 {file}：{source} / profile file {file}: cannot read: {source}")]
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
    #[error(
        "协议配置目录 {0} 不存在或不是目录 / profile folder {0} does not exist or is not a folder"
    )]
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
