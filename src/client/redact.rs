//! Secrets out of exchanges: parameters by name, known values wherever they appear.

/// What a secret becomes.
pub const MASK: &str = crate::exchange::MASKED;

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

/// The forms a secret may take in what a supplier echoes: as it is, upper and lower case (md5
/// and sign are hex, and a supplier may print them either way), URL-encoded (form bodies,
/// query strings), and JSON-escaped (`/` as `\/`, quotes, backslashes).
pub fn forms(value: &str) -> Vec<String> {
    let mut all = Vec::new();
    for case in [
        value.to_string(),
        value.to_ascii_uppercase(),
        value.to_ascii_lowercase(),
    ] {
        all.push(
            super::encode::form_urlencode(&[(String::new(), case.clone())])
                .trim_start_matches('=')
                .to_string(),
        );
        if let Ok(json) = serde_json::to_string(&case) {
            let inner = json.trim_matches('"').to_string();
            all.push(inner.replace('/', "\\/"));
            all.push(inner);
        }
        all.push(case);
    }
    all.sort();
    all.dedup();
    all
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

/// The secret values searched for in everything recorded ([`searchable`]: longest first), with
/// one automaton that finds any of them in a single pass. Built when a secret becomes known,
/// not per exchange: every body is still searched for every secret, but in one pass, and one
/// that holds none (nearly all of them) is passed through untouched.
pub struct Secrets {
    list: Vec<String>,
    /// `None` when the list is empty, or if no finder could be built (then every value is
    /// searched secret by secret, as without it).
    finder: Option<Finder>,
}

/// A SIMD multi-pattern search (Teddy: a few secrets, found in one pass at vector speed), or an
/// automaton where the CPU or the number of secrets does not allow it.
enum Finder {
    Packed(aho_corasick::packed::Searcher),
    Automaton(aho_corasick::AhoCorasick),
}

impl Secrets {
    pub fn new(values: impl IntoIterator<Item = String>) -> Secrets {
        let list = searchable(values);
        let finder = if list.is_empty() {
            None
        } else {
            aho_corasick::packed::Searcher::new(&list)
                .map(Finder::Packed)
                .or_else(|| {
                    aho_corasick::AhoCorasick::new(&list)
                        .ok()
                        .map(Finder::Automaton)
                })
        };
        Secrets { list, finder }
    }

    /// Whether some secret may occur in `haystack`: false only when none does.
    fn may_occur(&self, haystack: &[u8]) -> bool {
        match &self.finder {
            Some(Finder::Packed(searcher)) => searcher.find(haystack).is_some(),
            Some(Finder::Automaton(automaton)) => automaton.is_match(haystack),
            None => !self.list.is_empty(),
        }
    }
}

/// `input` with every occurrence of every secret replaced by `***`. Bodies are up to the cap
/// (8 MiB): an answer without secrets is passed through without a copy.
pub fn bytes(input: Vec<u8>, secrets: &Secrets) -> Vec<u8> {
    if !secrets.may_occur(&input) {
        return input;
    }
    bytes_one_by_one(input, &secrets.list)
}

/// `text` with every occurrence of every secret replaced by `***`.
pub fn text(input: &str, secrets: &Secrets) -> String {
    if !secrets.may_occur(input.as_bytes()) {
        return input.to_string();
    }
    text_one_by_one(input, &secrets.list)
}

/// [`text`] of an owned string: one without secrets is passed through without a copy.
pub fn owned(input: String, secrets: &Secrets) -> String {
    if !secrets.may_occur(input.as_bytes()) {
        return input;
    }
    text_one_by_one(&input, &secrets.list)
}

/// Each secret in turn, longest first, over what the ones before it left.
fn bytes_one_by_one(input: Vec<u8>, secrets: &[String]) -> Vec<u8> {
    let mut current = input;
    for secret in secrets {
        current = replace_all(current, secret.as_bytes(), MASK.as_bytes());
    }
    current
}

fn text_one_by_one(input: &str, secrets: &[String]) -> String {
    let mut current = input.to_string();
    for secret in secrets {
        if current.contains(secret.as_str()) {
            current = current.replace(secret.as_str(), MASK);
        }
    }
    current
}

fn replace_all(haystack: Vec<u8>, needle: &[u8], with: &[u8]) -> Vec<u8> {
    let Some(mut found) = find(&haystack, needle, 0) else {
        return haystack;
    };
    let mut out = Vec::with_capacity(haystack.len());
    let mut copied = 0;
    loop {
        out.extend_from_slice(&haystack[copied..found]);
        out.extend_from_slice(with);
        copied = found + needle.len();
        match find(&haystack, needle, copied) {
            Some(next) => found = next,
            None => break,
        }
    }
    out.extend_from_slice(&haystack[copied..]);
    out
}

/// The first occurrence of `needle` in `haystack` at or after `from`.
fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let first = *needle.first()?;
    let last_start = haystack.len().checked_sub(needle.len())?;
    let mut at = from;
    while at <= last_start {
        at += haystack[at..=last_start].iter().position(|&b| b == first)?;
        if haystack[at..].starts_with(needle) {
            return Some(at);
        }
        at += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_every_occurrence_in_invalid_utf8_too() {
        let secrets = Secrets::new([
            "abcdef".to_string(),
            "abcdefgh".to_string(),
            "x".to_string(),
        ]);
        let input = b"\xff abcdefgh abcdef abcde x \xfe";
        assert_eq!(
            bytes(input.to_vec(), &secrets),
            b"\xff *** *** abcde x \xfe".to_vec()
        );
        assert_eq!(
            bytes(b"abcdefabcdef".to_vec(), &secrets),
            b"******".to_vec()
        );
        assert_eq!(
            bytes(b"abcdeabcdef!".to_vec(), &secrets),
            b"abcde***!".to_vec()
        );
        assert_eq!(bytes(b"abc".to_vec(), &secrets), b"abc".to_vec());
        assert_eq!(text("tok=abcdefgh;", &secrets), "tok=***;");
    }

    #[test]
    fn every_form_of_a_secret_is_searched() {
        let forms = forms("Ab/c+d e\"f");
        for expected in [
            "Ab/c+d e\"f",
            "AB/C+D E\"F",
            "ab/c+d e\"f",
            "Ab%2Fc%2Bd+e%22f",
            "Ab\\/c+d e\\\"f",
        ] {
            assert!(
                forms.iter().any(|f| f == expected),
                "{expected} not in {forms:?}"
            );
        }
        let secrets = Secrets::new(forms);
        let echoed = r#"{"desc":"bad sign AB/C+D E\"F for Ab%2Fc%2Bd+e%22f"}"#;
        let masked = text(echoed, &secrets);
        assert!(!masked.to_lowercase().contains("ab/c"), "{masked}");
        assert!(!masked.contains("%2F"), "{masked}");
    }

    /// The one-pass automaton only decides whether to search: every value comes out exactly as
    /// the secret-by-secret replacement makes it, with or without secrets in it.
    #[test]
    fn the_automaton_changes_no_output() {
        let values = [
            "0123456789abcdef0123456789abcdef",
            "tok-ABC/def+ghi",
            "2026-11-28 10:00:00",
            "abcdef",
            "x",
        ];
        let secrets = Secrets::new(values.iter().flat_map(|v| forms(v)));
        let none = Secrets::new(Vec::new());
        let inputs: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"{\"success\":true,\"desc\":\"ok\",\"result\":[1,2,3]}".to_vec(),
            b"\xff\xfe 0123456789ABCDEF0123456789ABCDEF \x00".to_vec(),
            b"token=tok-ABC%2Fdef%2Bghi&sku=1".to_vec(),
            br#"{"desc":"tok-ABC\/def+ghi","t":"2026-11-28 10:00:00"}"#.to_vec(),
            b"abcdeabcdefabcdefabcdef0123456789abcdef0123456789abcde".to_vec(),
            b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef".to_vec(),
            "天津 TOK-ABC/DEF+GHI 和平区".as_bytes().to_vec(),
        ];
        for input in inputs {
            assert_eq!(
                bytes(input.clone(), &secrets),
                bytes_one_by_one(input.clone(), &secrets.list),
                "{input:?}"
            );
            assert_eq!(bytes(input.clone(), &none), input);
            let lossy = String::from_utf8_lossy(&input).into_owned();
            assert_eq!(
                text(&lossy, &secrets),
                text_one_by_one(&lossy, &secrets.list)
            );
            assert_eq!(owned(lossy.clone(), &secrets), text(&lossy, &secrets));
            for value in values.iter().filter(|v| v.len() >= MIN_SEARCHED_LEN) {
                let masked = text(&lossy, &secrets);
                assert!(!masked.contains(value), "{value} in {masked}");
            }
        }
    }

    #[test]
    fn names() {
        assert!(is_secret_name("accessToken", "token"));
        assert!(is_secret_name("my_token", "my_token"));
        assert!(is_secret_name("Sign", "token"));
        assert!(!is_secret_name("sku", "token"));
    }
}
