//! Command-line errors that name the flag or the word's position, never what was typed.
//!
//! clap's own messages quote the offending word (`unexpected argument 'Smith' found`), and a
//! misplaced word at a front desk is often a name or a birth date: it would land in a terminal
//! log, a cron mail or a screenshot sent to support. Each message is rebuilt here from clap's
//! structured context: flag names, value names, suggestions and valid values are the tool's
//! own and may be shown; the typed word is replaced by its position.

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};

/// The message and hint for a command-line error.
pub struct Explained {
    pub message: String,
    pub hint: Option<String>,
}

/// Rewrites `err` for the command line `args` (program name first).
pub fn explain(err: &clap::Error, args: &[OsString]) -> Explained {
    let get = |kind| err.get(kind).map(context_text);
    let flag = get(ContextKind::InvalidArg).unwrap_or_default();
    let suggestion = get(ContextKind::SuggestedArg)
        .or_else(|| get(ContextKind::SuggestedSubcommand))
        .or_else(|| get(ContextKind::SuggestedValue));
    let did_you_mean = suggestion.map(|s| format!("did you mean `{s}`?"));
    let usage = || help_for(args);
    let (message, hint) = match err.kind() {
        ErrorKind::UnknownArgument => {
            if flag.starts_with('-') {
                (
                    format!("unknown flag {}", flag_name(&flag, position(args, &flag))),
                    did_you_mean.or_else(|| Some(usage())),
                )
            } else {
                let at = position(args, &flag);
                unexpected_word(args, at, usage())
            }
        }
        ErrorKind::InvalidValue => {
            let valid = get(ContextKind::ValidValue);
            let message = if get(ContextKind::InvalidValue).is_some_and(|v| v.is_empty()) {
                format!("`{flag}` needs a value")
            } else {
                format!("`{flag}` does not take that value")
            };
            let hint = match (did_you_mean, valid) {
                (Some(d), _) => Some(d),
                (None, Some(v)) => Some(format!("possible values: {v}")),
                _ => None,
            };
            (message, hint)
        }
        ErrorKind::ValueValidation => {
            // The source is the tool's own parser error, which never quotes its input.
            let why = std::error::Error::source(err)
                .map(|s| s.to_string())
                .unwrap_or_else(|| "not valid".into());
            (format!("invalid value for `{flag}`: {why}"), None)
        }
        ErrorKind::InvalidSubcommand => {
            let place = describe_position(position(
                args,
                &get(ContextKind::InvalidSubcommand).unwrap_or_default(),
            ));
            (
                format!("unknown command {place}"),
                did_you_mean.or_else(|| Some(usage())),
            )
        }
        ErrorKind::MissingRequiredArgument => (
            format!("missing {}", flag.replace(", ", " and ")),
            Some(usage()),
        ),
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            ("a command is missing".to_string(), Some(usage()))
        }
        ErrorKind::ArgumentConflict => {
            let other = get(ContextKind::PriorArg).unwrap_or_default();
            (
                format!("`{flag}` cannot be used with `{other}`"),
                Some(usage()),
            )
        }
        ErrorKind::NoEquals => (format!("`{flag}` takes its value after `=`"), None),
        ErrorKind::TooManyValues | ErrorKind::TooFewValues | ErrorKind::WrongNumberOfValues => (
            format!("wrong number of values for `{flag}`"),
            Some(usage()),
        ),
        ErrorKind::InvalidUtf8 => (
            "an argument is not valid UTF-8 text".to_string(),
            Some("check the terminal's character set".to_string()),
        ),
        _ => (
            "the command line could not be read".to_string(),
            Some(usage()),
        ),
    };
    Explained { message, hint }
}

/// A word clap did not expect, named by its position and the flag before it.
fn unexpected_word(
    args: &[OsString],
    at: Option<usize>,
    usage: String,
) -> (String, Option<String>) {
    let place = describe_position(at);
    let quotes = "put quotes around a value that has spaces (e.g. --first \"Ann Marie\"), or check the order of the arguments".to_string();
    let Some(at) = at else {
        return (format!("unexpected word {place}"), Some(quotes));
    };
    let words: Vec<String> = args[..at]
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let Some(flag_at) = words
        .iter()
        .rposition(|w| w.starts_with('-') && w.len() > 1)
    else {
        return (format!("unexpected word {place}"), Some(quotes));
    };
    let flag = words[flag_at]
        .split('=')
        .next()
        .unwrap_or_default()
        .to_string();
    if flag_at + 1 == at && flag.starts_with("--") {
        match flag_takes_value(&words, &flag) {
            // A positional argument that accepts hyphens swallowed an unknown flag.
            None => {
                return (
                    format!("unknown flag {}", flag_name(&flag, Some(flag_at))),
                    Some(usage),
                );
            }
            Some(false) => {
                return (
                    format!("`{flag}` takes no value, so the word after it {place} is unexpected"),
                    Some(usage),
                );
            }
            Some(true) => {}
        }
    }
    (
        format!("unexpected extra word {place}, after the value of `{flag}`"),
        Some(quotes),
    )
}

/// Whether `flag` (`--name`) is a flag of the subcommand the leading `words` name: None when
/// it is not one, else whether it takes a value.
fn flag_takes_value(words: &[String], flag: &str) -> Option<bool> {
    let name = flag.trim_start_matches('-');
    let chain = command_chain(words);
    // Global flags are defined on the root and propagate.
    chain.iter().rev().find_map(|cmd| {
        cmd.get_arguments()
            .find(|a| a.get_long() == Some(name))
            .map(|a| a.get_action().takes_values())
    })
}

/// An unknown flag as typed when it looks like one (`--date`; `--x=value` without its value),
/// else by position: `--Smith` is a name typed with dashes, not a flag.
fn flag_name(typed: &str, at: Option<usize>) -> String {
    let name = typed.split('=').next().unwrap_or_default();
    let plain = name.len() <= 32
        && name
            .trim_start_matches('-')
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if plain {
        format!("`{name}`")
    } else {
        describe_position(at)
    }
}

fn context_text(v: &ContextValue) -> String {
    match v {
        ContextValue::String(s) => s.clone(),
        ContextValue::Strings(v) => v.join(", "),
        ContextValue::StyledStr(s) => s.to_string(),
        ContextValue::StyledStrs(v) => v
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        ContextValue::Number(n) => n.to_string(),
        ContextValue::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

/// Where `word` stands on the command line (0 is the program), if it does.
fn position(args: &[OsString], word: &str) -> Option<usize> {
    args.iter().skip(1).position(|a| a == word).map(|i| i + 1)
}

fn describe_position(at: Option<usize>) -> String {
    match at {
        Some(i) => format!("(word {i} of the command line)"),
        None => "on the command line".to_string(),
    }
}

/// "see `frontdesk patient add --help`": the subcommands typed, as far as they are real.
fn help_for(args: &[OsString]) -> String {
    let words: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let names: Vec<String> = command_chain(&words)
        .iter()
        .map(|c| c.get_name().to_string())
        .collect();
    format!("see `{} --help`", names.join(" "))
}

/// "schedule day": the subcommands the leading words name, without the program's name.
pub fn command_path(words: &[String]) -> String {
    command_chain(words)
        .iter()
        .skip(1)
        .map(|c| c.get_name().to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The root command and the subcommands the words name, passing over flags (and the values
/// of flags that take one) wherever they stand.
fn command_chain(words: &[String]) -> Vec<clap::Command> {
    use clap::CommandFactory;
    let mut chain = vec![crate::cli::Cli::command()];
    let mut rest = words.iter().skip(1);
    while let Some(w) = rest.next() {
        if w == "--" {
            break;
        }
        if let Some(flag) = w.strip_prefix("--") {
            let takes_value = !flag.contains('=')
                && chain.iter().rev().any(|c| {
                    c.get_arguments()
                        .any(|a| a.get_long() == Some(flag) && a.get_action().takes_values())
                });
            if takes_value {
                rest.next();
            }
            continue;
        }
        if w.starts_with('-') {
            continue;
        }
        let next = chain.last().and_then(|c| c.find_subcommand(w)).cloned();
        match next {
            Some(sub) => chain.push(sub),
            None => break,
        }
    }
    chain
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;
    use crate::cli::Cli;

    fn explained(line: &str) -> Explained {
        let args: Vec<OsString> = line.split(' ').map(OsString::from).collect();
        let err = Cli::try_parse_from(&args).unwrap_err();
        explain(&err, &args)
    }

    fn shown(e: &Explained) -> String {
        format!("{} {}", e.message, e.hint.clone().unwrap_or_default())
    }

    #[test]
    fn a_misplaced_name_is_named_by_position_not_echoed() {
        let e = explained(
            "frontdesk patient add --first Ann Smith --last Lee --dob 1980-04-02 --sex F",
        );
        assert!(!shown(&e).contains("Smith"), "{}", shown(&e));
        assert!(e.message.contains("word 5"), "{}", e.message);
        assert!(e.message.contains("--first"), "{}", e.message);
    }

    #[test]
    fn a_bad_value_names_the_flag_only() {
        let e = explained("frontdesk schedule day --format 1961-13-45");
        assert!(!shown(&e).contains("1961"), "{}", shown(&e));
        assert!(e.message.contains("--format"), "{}", e.message);
    }

    #[test]
    fn an_unknown_flag_is_named_and_a_value_after_equals_is_not() {
        let e = explained("frontdesk schedule day --dte=1961-07-13");
        assert!(e.message.contains("--dte"), "{}", e.message);
        assert!(!shown(&e).contains("1961"), "{}", shown(&e));
    }

    #[test]
    fn an_unknown_command_is_not_echoed() {
        let e = explained("frontdesk Canarymothe");
        assert!(!shown(&e).contains("Canary"), "{}", shown(&e));
        assert!(e.message.contains("word 1"), "{}", e.message);
    }

    #[test]
    fn the_command_definition_is_valid() {
        Cli::command().debug_assert();
    }
}

/// Every `frontdesk …` line in a `sh` block of the README and of `docs/*.md` is a command line
/// the tool accepts (the commands, flags and values clap checks): documentation that names a
/// flag that no longer exists fails here. The README's tour also runs (`tests/cli/tour.rs`).
#[cfg(test)]
mod documented_commands {
    use clap::Parser;

    use crate::cli::Cli;

    /// The `frontdesk` lines of the `sh` blocks of `text`, continuation lines joined and
    /// trailing comments dropped.
    fn commands(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        // `sh` blocks hold command lines; `console` blocks (run by tests/cli/docs.rs) hold
        // `$ ` command lines between lines of output.
        let (mut in_sh, mut in_console) = (false, false);
        let mut pending = String::new();
        for line in text.lines() {
            let mut t = line.trim();
            if t.starts_with("```") {
                in_sh = t == "```sh";
                in_console = t == "```console";
                continue;
            }
            if in_console && pending.is_empty() {
                match t.strip_prefix("$ ") {
                    Some(command) => t = command,
                    None => continue,
                }
            } else if !in_sh && !in_console {
                continue;
            }
            let code = match t.find("  #").or_else(|| t.find(" # ")) {
                Some(at) => t[..at].trim_end(),
                None => t,
            };
            pending.push_str(code.trim_end_matches('\\'));
            pending.push(' ');
            if code.ends_with('\\') {
                continue;
            }
            let full = std::mem::take(&mut pending);
            // `frontdesk …`, `P=$(frontdesk …)`, `frontdesk … | head -1`: the frontdesk part.
            // A synopsis (`[--provider P]`, `A…`) is a pattern, not a command line.
            if let Some(at) = full.find("frontdesk ") {
                let before = full[..at].trim();
                let cmd = full[at..]
                    .split(['|', ')', ';'])
                    .next()
                    .unwrap_or("")
                    .trim();
                let cmd = cmd.split(" >").next().unwrap_or(cmd).trim();
                let synopsis = cmd.contains('[') || cmd.contains('…');
                if (before.is_empty() || before.ends_with("$(")) && !synopsis {
                    out.push(cmd.to_string());
                }
            }
        }
        out
    }

    #[test]
    fn every_documented_command_line_is_one_the_tool_accepts() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = vec![root.join("README.md")];
        for e in std::fs::read_dir(root.join("docs")).unwrap().flatten() {
            if e.path().extension().is_some_and(|x| x == "md") {
                files.push(e.path());
            }
        }
        let mut checked = 0;
        let mut bad = Vec::new();
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap();
            for cmd in commands(&text) {
                let Some(args) = shlex::split(&cmd) else {
                    bad.push(format!("{}: cannot split: {cmd}", f.display()));
                    continue;
                };
                checked += 1;
                if let Err(e) = Cli::try_parse_from(&args) {
                    use clap::error::ErrorKind;
                    if !matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                        bad.push(format!(
                            "{}: {cmd}\n    {}",
                            f.display(),
                            e.to_string().lines().next().unwrap_or("")
                        ));
                    }
                }
            }
        }
        assert!(checked > 40, "only {checked} documented commands found");
        assert!(
            bad.is_empty(),
            "documented commands the tool refuses:\n{}",
            bad.join("\n")
        );
    }
}
