//! The base URL a user gives (`--target`, `target =`): its shape is checked before anything is
//! sent, and each mistake seen in practice gets the advice that fixes it.

use crate::profile::Profile;

/// The base URL without a trailing `/`, or what is wrong with it and how to fix it.
pub fn check_base_url(text: &str, profile: &Profile) -> Result<String, String> {
    let trimmed = text.trim();
    // Messages quote what was given with a password in it masked.
    let text = &mask_userinfo(trimmed);
    if !trimmed.contains("://") {
        return Err(format!(
            "目标地址缺少协议 / the target {text:?} has no scheme: write it as http://{text} (or https:// when the supplier speaks TLS)"
        ));
    }
    let url = url::Url::parse(trimmed).map_err(|e| {
        format!("目标地址无效 / the target {text:?} is not a URL ({e}); a base URL looks like https://mall-api.example.cn")
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "目标地址只能是 http:// 或 https:// / the target must be http:// or https://, not {}://",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!(
            "目标地址缺少主机 / the target {text:?} has no host"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "目标地址不应带查询或片段 / the target {text:?} carries a query or a fragment: give the base URL only"
        ));
    }
    // A base ending in the segment every interface path starts with (`/api`) doubles it.
    let base_path = url.path().trim_end_matches('/');
    if let Some(last) = base_path.rsplit('/').next().filter(|s| !s.is_empty())
        && !profile.interfaces.is_empty()
        && profile.interfaces.iter().all(|i| {
            i.path
                .trim_start_matches('/')
                .split('/')
                .next()
                .is_some_and(|first| first == last)
        })
    {
        let example = profile
            .interfaces
            .first()
            .map(|i| i.path.clone())
            .unwrap_or_default();
        let mut fixed = url.clone();
        fixed.set_path(&base_path[..base_path.len() - last.len()]);
        if fixed.password().is_some() {
            let _ = fixed.set_password(Some(crate::exchange::MASKED));
        }
        return Err(format!(
            "目标地址以 /{last} 结尾，而接口路径已以 /{last}/ 开头，会调用 {base_path}{example} / the target ends in /{last} and every interface path already starts with /{last}/ (e.g. {example}): calls would go to {base_path}{example}; use {} instead",
            fixed.as_str().trim_end_matches('/')
        ));
    }
    Ok(trimmed.trim_end_matches('/').to_string())
}

/// `user:password@` of a text that may not parse as a URL, the password masked.
fn mask_userinfo(text: &str) -> String {
    let Some(at) = text.find('@') else {
        return text.to_string();
    };
    let start = text[..at].rfind('/').map_or(0, |i| i + 1);
    match text[start..at].find(':') {
        Some(colon) => format!(
            "{}{}{}",
            &text[..start + colon + 1],
            crate::exchange::MASKED,
            &text[at..]
        ),
        None => text.to_string(),
    }
}

/// The URL as reports and messages show it: a password in it masked.
pub fn without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some(crate::exchange::MASKED));
            parsed.to_string().trim_end_matches('/').to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<String, String> {
        check_base_url(text, &Profile::embedded().expect("profile"))
    }

    #[test]
    fn the_mistakes_seen_get_their_fix() {
        let no_scheme = check("127.0.0.1:18080").expect_err("no scheme");
        assert!(no_scheme.contains("http://127.0.0.1:18080"), "{no_scheme}");
        let doubled = check("https://mall.example.cn/api/").expect_err("/api/ doubled");
        assert!(doubled.contains("/api/api/"), "{doubled}");
        assert!(
            doubled.contains("use https://mall.example.cn instead"),
            "{doubled}"
        );
        assert!(check("ftp://mall.example.cn").is_err());
        let secret = check("user:s3cret@mall.example.cn").expect_err("no scheme");
        assert!(
            !secret.contains("s3cret") && secret.contains("user:***@"),
            "{secret}"
        );
        let secret = check("https://user:s3cret@mall.example.cn/api").expect_err("/api");
        assert!(!secret.contains("s3cret"), "{secret}");
        assert!(check("http://mall.example.cn/?x=1").is_err());
    }

    #[test]
    fn good_base_urls_pass_without_their_trailing_slash() {
        assert_eq!(
            check("https://mall.example.cn/").as_deref(),
            Ok("https://mall.example.cn")
        );
        assert_eq!(
            check("http://127.0.0.1:18080/gateway").as_deref(),
            Ok("http://127.0.0.1:18080/gateway")
        );
        assert_eq!(
            check("https://user:pw@mall.example.cn/v2/api-gw").as_deref(),
            Ok("https://user:pw@mall.example.cn/v2/api-gw")
        );
    }
}
