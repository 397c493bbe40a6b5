//! The language of the command line: help texts, messages and the terminal view. Help is written
//! "中文 / English" in the code; `--lang zh|en` (or `MALLCHECK_LANG`, or the locale: `LC_ALL`,
//! `LC_MESSAGES`, `LANG`) keeps one side. Without any of them, or with a locale of neither
//! language (`C.UTF-8`, as on most CI runners), both are shown, as everywhere in reports.

use std::ffi::OsString;

use clap::{Arg, Command};

use crate::lang::{Lang, pick};

/// The language asked for: `--lang` on the command line (read before clap, since help is
/// printed while parsing), then `MALLCHECK_LANG`, then the locale.
pub fn chosen(args: &[OsString]) -> Option<Lang> {
    let mut words = args.iter().map(|a| a.to_string_lossy());
    while let Some(word) = words.next() {
        if let Some(value) = word.strip_prefix("--lang=") {
            return Lang::parse(value).ok();
        }
        if word == "--lang" {
            return words.next().and_then(|v| Lang::parse(&v).ok());
        }
    }
    if let Ok(value) = std::env::var("MALLCHECK_LANG")
        && let Ok(lang) = Lang::parse(&value)
    {
        return Some(lang);
    }
    ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|v| !v.is_empty())
        .and_then(|v| Lang::parse(&v).ok())
}

/// The command with every about and help text in one language.
pub fn localize(command: Command, lang: Option<Lang>) -> Command {
    if lang.is_none() {
        return command;
    }
    let about = command.get_about().map(|a| pick(&a.to_string(), lang));
    let command = match about {
        Some(about) => command.about(about).long_about(None),
        None => command,
    };
    command
        .mut_args(|arg: Arg| {
            let help = arg.get_help().map(|h| pick(&h.to_string(), lang));
            match help {
                Some(help) => arg.help(help).long_help(None),
                None => arg,
            }
        })
        .mut_subcommands(|sub| localize(sub, lang))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_over_the_environment() {
        let args: Vec<OsString> = ["mallcheck", "run", "--lang", "en"]
            .iter()
            .map(OsString::from)
            .collect();
        assert_eq!(chosen(&args), Some(Lang::En));
        let args: Vec<OsString> = ["mallcheck", "--lang=zh"]
            .iter()
            .map(OsString::from)
            .collect();
        assert_eq!(chosen(&args), Some(Lang::Zh));
    }
}
