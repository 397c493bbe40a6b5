//! The sweep's pages for people: `summary.md` (for `$GITHUB_STEP_SUMMARY` or a merge-request
//! note) and `report.html` (self-contained, both languages, switchable), both from the summary
//! that `sweep.json` holds and the first unsellable SKUs of `unsellable.csv`. Written by every
//! sweep and every merge, so a folder always reads the same whatever made it.

use std::path::Path;

use serde::Serialize;

use super::summary::{SkuLine, SweepSummary};

/// Unsellable SKUs shown with their reasons (all of them are in unsellable.csv).
pub const EXAMPLES: usize = 200;

pub const MARKDOWN: &str = "summary.md";
pub const HTML: &str = "report.html";

const TEMPLATE: &str = include_str!("sweep.html.j2");

/// Writes both pages into `dir`.
pub fn write(dir: &Path, summary: &SweepSummary, examples: &[SkuLine]) -> std::io::Result<()> {
    let io = |e: crate::report::ReportError| std::io::Error::other(e.to_string());
    crate::report::write_atomically(&dir.join(MARKDOWN), markdown(summary, examples).as_bytes())
        .map_err(io)?;
    let html = html(summary, examples).map_err(std::io::Error::other)?;
    crate::report::write_atomically(&dir.join(HTML), html.as_bytes()).map_err(io)
}

/// What the sweep says, in one phrase each language.
fn verdict(summary: &SweepSummary) -> (&'static str, &'static str, &'static str) {
    if !summary.complete {
        (
            "incomplete",
            "未完成",
            "incomplete: not every SKU was swept (--resume continues)",
        )
    } else if summary.skus.unsellable > 0 {
        ("fail", "有不合格数据", "unsellable SKUs found")
    } else if summary.skus.not_judged > 0 {
        ("incomplete", "部分未判定", "some SKUs could not be judged")
    } else if !summary.answer_defects.is_empty() {
        (
            "warn",
            "SKU 均可售，但有应答缺陷",
            "every SKU may be sold, but answers of no single SKU have defects (below)",
        )
    } else {
        ("pass", "全部可售", "every SKU may be sold")
    }
}

fn one_line(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::excerpt::shorten(&line, 200).replace('|', "\\|")
}

pub fn markdown(summary: &SweepSummary, examples: &[SkuLine]) -> String {
    let (code, zh, en) = verdict(summary);
    let counts = &summary.skus;
    let mut text = format!(
        "# mallcheck sweep: `{code}` — {zh} {en}\n\n{} / {} SKUs swept: **{} unsellable**, {} sellable, {} not judged ({:.0} SKU/s, {} requests, {} retries){}\n",
        counts.swept,
        counts.in_scope,
        counts.unsellable,
        counts.sellable,
        counts.not_judged,
        summary.skus_per_second,
        summary.requests,
        summary.retries,
        if summary.partitions.is_empty() {
            String::new()
        } else {
            format!(", shares {}", summary.partitions.join(", "))
        }
    );
    if !summary.defects.is_empty() {
        text.push_str("\n## 不可售原因 Why SKUs may not be sold\n\n| requirement | check | SKUs |\n|---|---|---:|\n");
        for d in &summary.defects {
            text.push_str(&format!(
                "| {} | {} | {} |\n",
                d.requirement, d.check, d.count
            ));
        }
    }
    if !summary.not_judged.is_empty() {
        text.push_str("\n## 未判定 Not judged\n\n");
        for d in &summary.not_judged {
            text.push_str(&format!(
                "- {} ({} SKUs)\n",
                one_line(&d.requirement),
                d.count
            ));
        }
    }
    if !examples.is_empty() {
        text.push_str(&format!(
            "\n## 前 {n} 个不可售 SKU The first {n} unsellable SKUs (all in unsellable.csv)\n\n",
            n = examples.len().min(20)
        ));
        for sku in examples.iter().take(20) {
            let reasons: Vec<String> = sku.reasons.iter().map(|r| r.requirement.clone()).collect();
            text.push_str(&format!(
                "- `{}` ({}) {}: {}\n",
                sku.sku,
                sku.pool,
                one_line(&sku.name),
                reasons.join(", ")
            ));
        }
    }
    text
}

#[derive(Serialize)]
struct Page<'a> {
    verdict: &'static str,
    verdict_zh: &'static str,
    verdict_en: &'static str,
    tool: String,
    summary: &'a SweepSummary,
    examples: Vec<Example>,
    more: u64,
}

#[derive(Serialize)]
struct Example {
    sku: String,
    pool: String,
    name: String,
    reasons: Vec<(String, String)>,
}

fn html(summary: &SweepSummary, examples: &[SkuLine]) -> Result<String, String> {
    let (verdict, verdict_zh, verdict_en) = verdict(summary);
    let page = Page {
        verdict,
        verdict_zh,
        verdict_en,
        tool: format!("mallcheck {}", env!("CARGO_PKG_VERSION")),
        summary,
        examples: examples
            .iter()
            .map(|s| Example {
                sku: s.sku.clone(),
                pool: s.pool.clone(),
                name: s.name.clone(),
                reasons: s
                    .reasons
                    .iter()
                    .map(|r| (r.requirement.clone(), r.message.clone()))
                    .collect(),
            })
            .collect(),
        more: summary
            .skus
            .unsellable
            .saturating_sub(examples.len() as u64),
    };
    let mut env = minijinja::Environment::new();
    env.add_template("sweep.html", TEMPLATE)
        .map_err(|e| format!("the sweep template is broken: {e}"))?;
    env.get_template("sweep.html")
        .and_then(|t| t.render(minijinja::value::Serde(&page)))
        .map_err(|e| format!("cannot render the sweep page: {e:#}"))
}
