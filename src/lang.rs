//! The language mallcheck speaks to the person at the terminal. Every text of its own is written
//! bilingual, "中文 / English" (the side with Chinese characters is the Chinese one, whichever
//! comes first); `--lang zh|en` keeps one side when it prints, and reports keep both. Without a
//! chosen language both sides are printed.
//!
//! The choice is one per process (`choose`, set by the command line before anything prints), so
//! that an error raised deep in the library speaks the user's language without every function
//! carrying it.

use std::sync::OnceLock;

pub use crate::events::Lang;

static CHOSEN: OnceLock<Option<Lang>> = OnceLock::new();

/// Sets the language of this process's messages; the first call wins.
pub fn choose(lang: Option<Lang>) {
    let _ = CHOSEN.set(lang);
}

/// The language chosen for this process, `None` for both.
pub fn chosen() -> Option<Lang> {
    CHOSEN.get().copied().flatten()
}

/// One side of a text whose two sides each say everything, in the chosen language (see
/// [`pick`]).
pub fn say(text: &str) -> String {
    pick(text, chosen())
}

/// A message of a check or an error in the chosen language (see [`message`]).
pub fn say_message(text: &str) -> String {
    message(text, chosen())
}

/// One of two texts in the chosen language, or both.
pub fn tr(zh: &str, en: &str, lang: Option<Lang>) -> String {
    match lang {
        Some(Lang::Zh) => zh.to_string(),
        Some(Lang::En) => en.to_string(),
        None => format!("{zh} {en}"),
    }
}

/// Both languages in one text, "中文 English", as the report files write the tool's words.
pub fn both(zh: &str, en: &str) -> String {
    tr(zh, en, None)
}

/// A message of a check or an error in `lang`. Their Chinese half names the problem and the
/// English half says it with its values ("SKU 被返回多次 / sku 7 answered twice (items 0, 2)"),
/// so in Chinese the whole message is kept, to lose nothing, and in English the English half,
/// also of every message inside it ("未判定 / not judged: 等待超时 / timed out").
pub fn message(text: &str, lang: Option<Lang>) -> String {
    match lang {
        Some(Lang::En) => per_line(text, |line| {
            let mut line = line.to_string();
            while let Some(english) = pick_line(&line, Lang::En) {
                line = english;
            }
            line
        }),
        _ => text.to_string(),
    }
}

/// One side of a text whose two sides each say everything (help texts), line by line; a line
/// that is not bilingual is kept whole.
pub fn pick(text: &str, lang: Option<Lang>) -> String {
    match lang {
        Some(lang) => per_line(text, |line| {
            pick_line(line, lang).unwrap_or_else(|| line.to_string())
        }),
        None => text.to_string(),
    }
}

/// Both sides of a text: (Chinese, English); a text in one language is both. For putting one
/// bilingual text inside another, each side into its own side.
pub fn sides(text: &str) -> (String, String) {
    (pick(text, Some(Lang::Zh)), message(text, Some(Lang::En)))
}

/// `message` ("中文 / English", or one language) with a hint added to each side.
pub fn with_hint(message: &str, zh_hint: &str, en_hint: &str) -> String {
    let (zh, en) = sides(message);
    format!("{zh}；提示：{zh_hint} / {en}; hint: {en_hint}")
}

/// Each line on its own, so that a list of problems under a heading keeps every problem.
fn per_line(text: &str, each: impl Fn(&str) -> String) -> String {
    text.split('\n').map(each).collect::<Vec<_>>().join("\n")
}

/// One side of a bilingual line, `None` when the line is not one. The line parts at the first
/// " / " whose left side ends in Chinese: its last part (after the last ": ", or all of it) holds
/// Chinese characters ("中文 / English"; "title: 应为 / expected 1"); or at one with no Chinese on
/// its left and a Chinese right side that holds no other part ("English / 中文"). A " / " inside
/// English ("USERNAME / PASSWORD") parts nothing, even after a Chinese value the supplier sent,
/// and what stands between double quotes (a value as `{:?}` writes it: a desc, a path, an area
/// name) is never read for a part or for Chinese. What comes before that last part, when it
/// holds no Chinese (a file and line, `key = value`, the title of a step), belongs to both sides.
fn pick_line(line: &str, lang: Lang) -> Option<String> {
    let (zh, en, shared_len) = separators(line).find_map(|at| {
        let (left, right) = (&line[..at], &line[at + SEPARATOR.len()..]);
        let last_part = last_part_start(left);
        if unquoted_han(&left[last_part..]) {
            let shared = if unquoted_han(&left[..last_part]) {
                0
            } else {
                last_part
            };
            Some((left, right, shared))
        } else if !unquoted_han(left) && unquoted_han(right) && separators(right).next().is_none() {
            Some((right, left, 0))
        } else {
            None
        }
    })?;
    let indent = &line[..line.len() - line.trim_start().len()];
    let shared = match shared_len {
        0 => indent,
        len => &zh[..len],
    };
    let kept = match lang {
        Lang::Zh => zh,
        Lang::En => en,
    };
    let body = kept.strip_prefix(shared).unwrap_or(kept.trim_start());
    Some(format!("{shared}{}", body.trim_end()))
}

const SEPARATOR: &str = " / ";

/// The characters of `text` outside double quotes, with their offsets (a `\"` inside quotes does
/// not end them; the quotes themselves are left out).
fn unquoted(text: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    let (mut quoted, mut escaped) = (false, false);
    text.char_indices().filter(move |&(_, c)| {
        let outside = !quoted && c != '"';
        if quoted && escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        }
        outside
    })
}

/// Where " / " stands outside double quotes.
fn separators(text: &str) -> impl Iterator<Item = usize> + '_ {
    unquoted(text)
        .filter(move |&(at, _)| text[at..].starts_with(SEPARATOR))
        .map(|(at, _)| at)
}

/// The start of the last part of `left`: after its last ": " outside quotes.
fn last_part_start(left: &str) -> usize {
    unquoted(left)
        .filter(|&(at, _)| left[at..].starts_with(": "))
        .last()
        .map_or(0, |(at, _)| at + 2)
}

/// Whether `text` holds a Chinese character outside double quotes.
fn unquoted_han(text: &str) -> bool {
    unquoted(text).any(|(_, c)| is_han(c))
}

/// A Chinese (CJK unified or compatibility) character.
pub fn is_han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{3134F}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_side_of_a_bilingual_text() {
        let text = "运行参考供应商 / Run the reference supplier.";
        assert_eq!(pick(text, Some(Lang::Zh)), "运行参考供应商");
        assert_eq!(pick(text, Some(Lang::En)), "Run the reference supplier.");
        assert_eq!(pick(text, None), text);
        assert_eq!(pick("English only", Some(Lang::Zh)), "English only");
    }

    #[test]
    fn the_chinese_side_is_found_in_either_order() {
        let text = "config file a.toml: cannot read: denied / 无法读取配置文件";
        assert_eq!(pick(text, Some(Lang::Zh)), "无法读取配置文件");
        assert_eq!(
            pick(text, Some(Lang::En)),
            "config file a.toml: cannot read: denied"
        );
    }

    #[test]
    fn english_with_slashes_and_supplier_values_are_kept_whole() {
        let english = "run without --scenario / --tag for a verdict";
        assert_eq!(pick(english, Some(Lang::Zh)), english);
        // A Chinese value in the English side does not move the split.
        let text = "库存查询被拒 / stocks refused: 库存服务维护中";
        assert_eq!(pick(text, Some(Lang::En)), "stocks refused: 库存服务维护中");
    }

    #[test]
    fn a_message_keeps_everything_in_chinese_and_nests_in_english() {
        let text = "订单确认后状态 / state after confirm: /result/state: 应为 / expected 1";
        assert_eq!(message(text, Some(Lang::Zh)), text);
        assert_eq!(message(text, None), text);
        assert_eq!(
            message(text, Some(Lang::En)),
            "state after confirm: /result/state: expected 1"
        );
        let text = "feed: 未判定 / not judged: 答案未读取 / the answer was not read: 没有答复 / no answer: 读取中断 / read failed: reset";
        assert_eq!(
            message(text, Some(Lang::En)),
            "feed: not judged: the answer was not read: no answer: read failed: reset"
        );
        // A value the supplier sent stays as it came.
        let text = "地区名重复 / area name 和平区 appears twice";
        assert_eq!(
            message(text, Some(Lang::En)),
            "area name 和平区 appears twice"
        );
        let english = "run a / b: 缺少 / missing";
        assert_eq!(message(english, Some(Lang::En)), "run a / b: missing");
    }

    #[test]
    fn values_between_quotes_are_never_parted() {
        let text = "应当成功 / expected success, got desc = \"库存不足 / out of stock\"";
        assert_eq!(
            message(text, Some(Lang::En)),
            "expected success, got desc = \"库存不足 / out of stock\""
        );
        let text = "SKU 7 库存 0 与描述 \"有货 / in stock\" 不符 / stock 0 contradicts desc \"有货 / in stock\"";
        assert_eq!(
            message(text, Some(Lang::En)),
            "stock 0 contradicts desc \"有货 / in stock\""
        );
        // A Chinese value before the Chinese side still belongs to both sides.
        let text =
            "environment = \"测试\": 只能是 test、production / must be one of test, production";
        assert_eq!(
            message(text, Some(Lang::En)),
            "environment = \"测试\": must be one of test, production"
        );
    }

    #[test]
    fn a_slash_in_english_after_a_chinese_value_parts_nothing() {
        let text = with_hint(
            "应当成功 / expected success, got desc = \"用户名或密码错误 wrong password\"",
            "检查 MALLCHECK_USERNAME 与 MALLCHECK_PASSWORD",
            "check MALLCHECK_USERNAME / MALLCHECK_PASSWORD, then run doctor",
        );
        assert_eq!(
            message(&text, Some(Lang::En)),
            "expected success, got desc = \"用户名或密码错误 wrong password\"; hint: check MALLCHECK_USERNAME / MALLCHECK_PASSWORD, then run doctor"
        );
        // A value with ": " inside the Chinese side does not become a shared prefix.
        let text =
            "TLS 失败：connect: corrupt（若为 HTTP 请用 http://） / TLS failed: connect: corrupt";
        assert_eq!(
            message(text, Some(Lang::En)),
            "TLS failed: connect: corrupt"
        );
    }

    #[test]
    fn every_line_of_a_list_keeps_its_place() {
        let text = "2 problem(s) in scenario files / 场景文件有误:\n  a.yaml:3: 缺少 id / id missing\n  b.yaml:1: bad";
        assert_eq!(
            pick(text, Some(Lang::En)),
            "2 problem(s) in scenario files\n  a.yaml:3: id missing\n  b.yaml:1: bad"
        );
        assert_eq!(
            pick(text, Some(Lang::Zh)),
            "场景文件有误:\n  a.yaml:3: 缺少 id\n  b.yaml:1: bad"
        );
    }

    #[test]
    fn a_location_before_the_chinese_side_belongs_to_both() {
        let text = "b.toml:2: 缺少接受理由 / reason = \"…\" is missing";
        assert_eq!(
            pick(text, Some(Lang::En)),
            "b.toml:2: reason = \"…\" is missing"
        );
        assert_eq!(pick(text, Some(Lang::Zh)), "b.toml:2: 缺少接受理由");
        // Without ": " what comes first is the Chinese side's own.
        let text = "SKU 7 被返回多次 / sku 7 answered more than once";
        assert_eq!(pick(text, Some(Lang::En)), "sku 7 answered more than once");
        assert_eq!(pick(text, Some(Lang::Zh)), "SKU 7 被返回多次");
    }
}
