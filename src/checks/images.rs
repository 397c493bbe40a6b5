//! IMG-REACHABLE: image URLs are absolute http(s) links (judged on the answer) that answer with
//! an image (judged on the GET the client made for each, see [`judge_image`]).

use serde_json::Value;

use super::catalogue::is_absolute_http_url;
use super::{CheckRun, Finding, Findings, answer::excerpt, ids, walk};
use crate::exchange::Exchange;

const REACHABLE_REQ: &str = "IMG-REACHABLE";

/// Where the image URLs of each interface sit in its result.
fn image_pattern(interface_id: &str) -> Option<&'static str> {
    match interface_id {
        "images" => Some("/*/images/*/path"),
        "detail" => Some("/image_path"),
        _ => None,
    }
}

/// Every image URL value of the result with its pointer.
fn image_values<'v>(interface_id: &str, result: &'v Value) -> Vec<(String, &'v Value)> {
    image_pattern(interface_id)
        .map(|pattern| walk::select(result, "/result", pattern))
        .unwrap_or_default()
}

/// Relative or non-http(s) image URLs.
pub(crate) fn image_url_check(interface_id: &str, result: &Value) -> CheckRun {
    let mut findings = Findings::default();
    let Some(pattern) = image_pattern(interface_id) else {
        return CheckRun::new(ids::IMAGE_URLS, &[REACHABLE_REQ], findings);
    };
    let selected = walk::select_each(result, pattern);
    for (k, value) in selected.values().enumerate() {
        // Other types are the schema's to report.
        let Some(url) = value.as_str() else {
            continue;
        };
        if !is_absolute_http_url(url) {
            let url = walk::shorten(url, 120);
            findings.push(
                Finding::new(
                    ids::IMAGE_URLS,
                    REACHABLE_REQ,
                    format!(
                        "图片地址不是可直接访问的 http(s) 绝对地址 / image URL is not an absolute http(s) link: {url}"
                    ),
                )
                .at(selected.pointer(k, "/result"))
                .expected("http(s)://host/… 绝对地址 / an absolute http(s) URL")
                .actual(url),
            );
        }
    }
    CheckRun::new(ids::IMAGE_URLS, &[REACHABLE_REQ], findings)
}

/// The absolute http(s) image URLs of a successful answer, with their pointers, for the client
/// to fetch (in answer order; the same URL may appear at several pointers).
pub fn image_urls(interface_id: &str, result: &Value) -> Vec<(String, String)> {
    image_values(interface_id, result)
        .into_iter()
        .filter_map(|(pointer, value)| {
            let url = value.as_str()?;
            is_absolute_http_url(url).then(|| (pointer, url.to_string()))
        })
        .collect()
}

/// The GET the client made for one image URL: 2xx with an image Content-Type, or a body that
/// starts like a PNG, JPEG, GIF or WebP file.
/// IMG-REACHABLE for one image URL: the GET the client made answers an image, and the host is
/// one a buyer can reach when the supplier itself is public (`target_url`).
/// An image that could not be fetched (the connection failed after every retry): its
/// reachability is not judged.
pub fn image_probe_not_judged(reason: &str) -> CheckRun {
    CheckRun::not_judged(ids::IMAGE_URLS, &[REACHABLE_REQ], reason)
}

pub fn judge_image_probe(pointer: &str, url: &str, probe: &Exchange, target_url: &str) -> CheckRun {
    let mut run = judge_image(pointer, url, probe);
    run.findings
        .extend(judge_image_host(pointer, url, target_url));
    run
}

pub(crate) fn judge_image(pointer: &str, url: &str, probe: &Exchange) -> CheckRun {
    let shown = walk::shorten(url, 120);
    let fail = |why: String| {
        CheckRun::new(
            ids::IMAGE,
            &[REACHABLE_REQ],
            vec![
                Finding::new(
                    ids::IMAGE,
                    REACHABLE_REQ,
                    format!("图片无法访问 / image not reachable: {shown}: {why}"),
                )
                .at(pointer)
                .expected("2xx，Content-Type image/* 2xx with an image")
                .actual(shown.clone()),
            ],
        )
    };
    if let Some(error) = &probe.error {
        return fail(error.describe());
    }
    let Some(response) = &probe.response else {
        return fail("没有响应 / no response".to_string());
    };
    if !(200..300).contains(&response.status) {
        return fail(format!(
            "HTTP 状态 {} / HTTP status {}",
            response.status, response.status
        ));
    }
    let content_type = response.header("Content-Type").unwrap_or("").trim();
    let is_image_type = content_type
        .get(..6)
        .is_some_and(|p| p.eq_ignore_ascii_case("image/"));
    if response.body.is_empty() && !response.truncated {
        return fail("响应体为空 / empty body".to_string());
    }
    if is_image_type || has_image_magic(&response.body) {
        return CheckRun::new(ids::IMAGE, &[REACHABLE_REQ], Vec::new());
    }
    // Inside a message: a value, not one of the markers said in one language.
    let content_type = if content_type.is_empty() {
        "(none)"
    } else {
        content_type
    };
    fail(format!(
        "不是图片 / not an image: Content-Type {content_type}, body starts with {}",
        walk::shorten(&excerpt(&response.body), 40)
    ))
}

fn has_image_magic(body: &[u8]) -> bool {
    body.starts_with(b"\x89PNG\r\n\x1a\n")
        || body.starts_with(&[0xFF, 0xD8, 0xFF])
        || body.starts_with(b"GIF87a")
        || body.starts_with(b"GIF89a")
        || (body.len() >= 12 && body.starts_with(b"RIFF") && &body[8..12] == b"WEBP")
}

/// Whether a host is reachable only from inside a network: loopback, private, link-local or a
/// local name. An image there is not the "外网独立链接" the standard asks for.
pub fn is_private_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Ipv4(ip) => {
            ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified()
        }
        url::Host::Ipv6(ip) => {
            ip.is_loopback()
                || ip.is_unspecified()
                || (ip.segments()[0] & 0xfe00) == 0xfc00
                || (ip.segments()[0] & 0xffc0) == 0xfe80
        }
        url::Host::Domain(name) => {
            let name = name.to_ascii_lowercase();
            name == "localhost"
                || name.ends_with(".localhost")
                || name.ends_with(".local")
                || name.ends_with(".internal")
                || name.ends_with(".lan")
        }
    }
}

/// IMG-REACHABLE for a supplier on the public network: an image URL on a private host cannot be
/// opened by a buyer's browser. (A supplier under test on a private network is not judged so.)
pub(crate) fn judge_image_host(
    pointer: &str,
    image_url: &str,
    target_url: &str,
) -> Option<Finding> {
    let target = url::Url::parse(target_url).ok()?;
    if target.host().is_none_or(|h| is_private_host(&h)) {
        return None;
    }
    let image = url::Url::parse(image_url).ok()?;
    let host = image.host()?;
    is_private_host(&host).then(|| {
        Finding::new(
            ids::IMAGE,
            "IMG-REACHABLE",
            format!("图片地址不是外网地址 / the image URL points at a private host ({host}): buyers cannot open it"),
        )
        .at(pointer)
        .expected("a public host")
        .actual(image_url)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::*;
    use crate::exchange::TransportError;
    use serde_json::json;

    fn images_result() -> Value {
        json!([
            {"sku": "1", "images": [{"path": "https://img.cn/1.jpg", "order": 0}, {"path": "/img/2.jpg", "order": 1}]},
            {"sku": "2", "images": [{"path": "http://img.cn/3.jpg", "order": 0}]}
        ])
    }

    #[test]
    fn relative_paths_fail_and_absolute_pass() {
        let runs = run_result("images", images_result(), json!({"sku": "1,2"}));
        let f = one(
            &runs,
            ids::IMAGE_URLS,
            "IMG-REACHABLE",
            "/result/0/images/1/path",
        );
        assert!(f.message.contains("/img/2.jpg"), "{}", f.message);
        assert_eq!(findings_of(&runs, ids::IMAGE_URLS).len(), 1);
        let ok = json!([{"sku": "1", "images": [{"path": "https://img.cn/1.jpg", "order": 0}]}]);
        passes(
            &run_result("images", ok, json!({"sku": "1"})),
            ids::IMAGE_URLS,
        );
    }

    #[test]
    fn detail_main_image_is_checked() {
        let runs = run_result(
            "detail",
            json!({"sku": "1", "image_path": "img/1.jpg"}),
            json!({"sku": "1"}),
        );
        one(
            &runs,
            ids::IMAGE_URLS,
            "IMG-REACHABLE",
            "/result/image_path",
        );
    }

    #[test]
    fn image_urls_lists_only_absolute_ones() {
        assert_eq!(
            image_urls("images", &images_result()),
            vec![
                (
                    "/result/0/images/0/path".to_string(),
                    "https://img.cn/1.jpg".to_string()
                ),
                (
                    "/result/1/images/0/path".to_string(),
                    "http://img.cn/3.jpg".to_string()
                ),
            ]
        );
        assert!(image_urls("images", &json!("<html>")).is_empty());
    }

    #[test]
    fn image_probes() {
        let url = "https://img.cn/1.jpg";
        let ok = exchange_with(200, &[("content-type", "image/jpeg")], b"xx");
        assert!(
            judge_image("/result/image_path", url, &ok)
                .findings
                .is_empty()
        );
        let magic = exchange_with(
            200,
            &[("Content-Type", "application/octet-stream")],
            b"\x89PNG\r\n\x1a\n....",
        );
        assert!(judge_image("/p", url, &magic).findings.is_empty());
        let webp = exchange_with(200, &[], b"RIFF\0\0\0\0WEBPVP8 ");
        assert!(judge_image("/p", url, &webp).findings.is_empty());

        let html = exchange_with(200, &[("Content-Type", "text/html")], b"<html>404</html>");
        let run = judge_image("/result/0/images/0/path", url, &html);
        assert_eq!(run.findings.len(), 1);
        assert_eq!(run.findings[0].requirement, "IMG-REACHABLE");
        assert_eq!(
            run.findings[0].pointer.as_deref(),
            Some("/result/0/images/0/path")
        );
        assert!(
            run.findings[0].message.contains("text/html"),
            "{}",
            run.findings[0].message
        );
        let missing = exchange_with(404, &[("Content-Type", "image/png")], b"");
        assert!(
            judge_image("/p", url, &missing).findings[0]
                .message
                .contains("404")
        );
        let empty = exchange_with(200, &[("Content-Type", "image/png")], b"");
        assert!(
            judge_image("/p", url, &empty).findings[0]
                .message
                .contains("empty")
        );
        let down = exchange_error(TransportError::Connect {
            message: "refused".to_string(),
        });
        assert!(
            judge_image("/p", url, &down).findings[0]
                .message
                .contains("refused")
        );
    }

    #[test]
    fn private_image_hosts_fail_only_for_a_public_supplier() {
        let public = "https://mall-api.example-supplier.cn";
        assert!(
            judge_image_host(
                "/result/0/images/0/path",
                "http://192.168.1.5/a.jpg",
                public
            )
            .is_some()
        );
        assert!(judge_image_host("/p", "http://localhost:8080/a.jpg", public).is_some());
        assert!(judge_image_host("/p", "http://[::1]/a.jpg", public).is_some());
        assert!(judge_image_host("/p", "https://img.example-supplier.cn/a.jpg", public).is_none());
        // A supplier tested on a private network is not judged by where its images are.
        assert!(
            judge_image_host("/p", "http://127.0.0.1:9/a.jpg", "http://127.0.0.1:8080").is_none()
        );
        assert!(judge_image_host("/p", "http://10.0.0.2/a.jpg", "http://10.0.0.1").is_none());
    }
}
