//! Secrets out of exchanges: parameters by name, known values wherever they appear.

/// What a secret becomes.
pub const MASK: &str = "***";

/// Values shorter than this are masked by parameter name only: searching bodies for a two-letter
/// "token" would clobber ordinary text and hide what the supplier really said.
pub const MIN_SEARCHED_LEN: usize = 6;

/// Parameter names whose value is always masked, besides the profile's token parameter.
const SECRET_NAMES: [&str; 7] = [
    "password",
    "sign",
    "token",
    "access_token",
    "accessToken",
    "secret",
    "client_secret",
];

pub fn is_secret_name(name: &str, token_param: &str) -> bool {
    name.eq_ignore_ascii_case(token_param)
        || SECRET_NAMES.iter().any(|s| name.eq_ignore_ascii_case(s))
}

/// The secret values worth searching for, longest first (so a value that contains another one is
/// masked whole).
pub fn searchable(values: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut list: Vec<String> = values
        .into_iter()
        .filter(|v| v.len() >= MIN_SEARCHED_LEN)
        .collect();
    list.sort_by_key(|v| std::cmp::Reverse(v.len()));
    list.dedup();
    list
}

/// `bytes` with every occurrence of every secret replaced by `***`.
pub fn bytes(input: &[u8], secrets: &[String]) -> Vec<u8> {
    let mut current = input.to_vec();
    for secret in secrets {
        current = replace_all(&current, secret.as_bytes(), MASK.as_bytes());
    }
    current
}

/// `text` with every occurrence of every secret replaced by `***`.
pub fn text(input: &str, secrets: &[String]) -> String {
    let mut current = input.to_string();
    for secret in secrets {
        if current.contains(secret.as_str()) {
            current = current.replace(secret.as_str(), MASK);
        }
    }
    current
}

fn replace_all(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return haystack.to_vec();
    }
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_every_occurrence_in_invalid_utf8_too() {
        let secrets = searchable([
            "abcdef".to_string(),
            "abcdefgh".to_string(),
            "x".to_string(),
        ]);
        let input = b"\xff abcdefgh abcdef abcde x \xfe";
        assert_eq!(
            bytes(input, &secrets),
            b"\xff *** *** abcde x \xfe".to_vec()
        );
        assert_eq!(text("tok=abcdefgh;", &secrets), "tok=***;");
    }

    #[test]
    fn names() {
        assert!(is_secret_name("accessToken", "token"));
        assert!(is_secret_name("my_token", "my_token"));
        assert!(is_secret_name("Sign", "token"));
        assert!(!is_secret_name("sku", "token"));
    }
}
