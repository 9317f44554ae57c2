//! The message catalogs: every sentence a person reads is a message of `locales/en.ftl` or
//! `locales/zh.ftl` (Project Fluent), keyed by what it means. Code asks with [`tr!`] and facts;
//! the catalog owns the words, the plurals and the word order. The language is chosen once,
//! before anything is printed: `--lang`, else the locale variables, else the OS, else English.

use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

mod arg;
pub(crate) use arg::Arg;

/// A language the program speaks.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Lang {
    /// English.
    En,
    /// Simplified Chinese (简体中文).
    Zh,
}

const EN: &str = include_str!("../locales/en.ftl");
const ZH: &str = include_str!("../locales/zh.ftl");

static CHOSEN: OnceLock<Lang> = OnceLock::new();
/// Each language's catalog, parsed the first time it is spoken (a run in English never
/// parses the Chinese one).
static BUNDLES: [OnceLock<FluentBundle<FluentResource>>; 2] = [OnceLock::new(), OnceLock::new()];

/// Chooses the language for the rest of the process; the first choice stands.
pub(crate) fn choose(lang: Lang) {
    let _ = CHOSEN.set(lang);
    // Parsed now, before any buyer starts: parsed at the first sentence, it sat between the
    // starting gun's timestamp and the gun itself, and made a 3 ms race look like 10.
    current().bundle();
}

/// Chooses the language without parsing its catalog yet: a buyer process speaks only when
/// it fails, so the many that succeed never pay for parsing one.
pub(crate) fn choose_quietly(lang: Lang) {
    let _ = CHOSEN.set(lang);
}

thread_local! {
    /// A language this thread speaks for a moment instead (see [`speaking`]).
    static OVERRIDE: std::cell::Cell<Option<Lang>> = const { std::cell::Cell::new(None) };
}

/// The language chosen, English until one is.
pub(crate) fn current() -> Lang {
    OVERRIDE
        .get()
        .unwrap_or_else(|| CHOSEN.get().copied().unwrap_or(Lang::En))
}

/// Runs `f` speaking `lang`: `--json` says its lines in English whatever `--lang` says, so a
/// script reads the same document in every classroom.
pub(crate) fn speaking<T>(lang: Lang, f: impl FnOnce() -> T) -> T {
    let before = OVERRIDE.replace(Some(lang));
    let out = f();
    OVERRIDE.set(before);
    out
}

impl Lang {
    /// The language named on the command line (`--lang zh`, `--lang=en`), if one is; else the
    /// one the environment asks for. Read before clap, so `--help` speaks it too.
    pub(crate) fn from_command_line<I: IntoIterator<Item = String>>(args: I) -> Lang {
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let value = match arg.strip_prefix("--lang") {
                Some("") => args.next(),
                Some(rest) => rest.strip_prefix('=').map(str::to_string),
                None => None,
            };
            if let Some(lang) = value.as_deref().and_then(Lang::parse) {
                return lang;
            }
        }
        Lang::from_environment(|name| std::env::var(name).ok(), sys_locale::get_locale)
    }

    /// POSIX order: the first of LC_ALL, LC_MESSAGES, LANG that is set and not empty decides;
    /// without any, the OS's own setting (Windows has no LANG); without that, English.
    pub(crate) fn from_environment(
        var: impl Fn(&str) -> Option<String>,
        os_locale: impl FnOnce() -> Option<String>,
    ) -> Lang {
        let posix = ["LC_ALL", "LC_MESSAGES", "LANG"]
            .into_iter()
            .find_map(|name| var(name).filter(|v| !v.is_empty()));
        match posix {
            Some(locale) => Lang::of_locale(&locale),
            None => os_locale().map_or(Lang::En, |locale| Lang::of_locale(&locale)),
        }
    }

    /// "zh_CN.UTF-8", "zh-Hans-CN", "zh" are Chinese; "C", "POSIX" and anything else English.
    fn of_locale(locale: &str) -> Lang {
        let language = locale.split(['_', '-', '.', '@']).next().unwrap_or("");
        if language.eq_ignore_ascii_case("zh") {
            Lang::Zh
        } else {
            Lang::En
        }
    }

    fn parse(value: &str) -> Option<Lang> {
        match value {
            "en" => Some(Lang::En),
            "zh" => Some(Lang::Zh),
            _ => None,
        }
    }

    fn bundle(self) -> &'static FluentBundle<FluentResource> {
        BUNDLES[self as usize].get_or_init(|| match self {
            Lang::En => bundle("en", EN),
            Lang::Zh => bundle("zh", ZH),
        })
    }
}

fn bundle(tag: &str, source: &str) -> FluentBundle<FluentResource> {
    note_parse();
    let resource = FluentResource::try_new(source.to_string())
        .unwrap_or_else(|(_, errors)| panic!("locales/{tag}.ftl does not parse: {errors:?}"));
    let mut bundle = FluentBundle::new_concurrent(vec![tag.parse().expect("a language tag")]);
    // Terminal text: no Unicode isolation marks around the variables.
    bundle.set_use_isolating(false);
    bundle
        .add_resource(resource)
        .unwrap_or_else(|errors| panic!("locales/{tag}.ftl repeats a message: {errors:?}"));
    bundle
}

/// The message `key` in the chosen language, its variables filled in.
pub(crate) fn message(key: &str, args: &[(&str, Arg)]) -> String {
    message_in(current(), key, args)
}

/// The message `key` in the chosen language, or `fallback` if the catalog has none.
pub(crate) fn message_or(key: &str, fallback: &str) -> String {
    let has = |lang: Lang| lang.bundle().get_message(key).is_some();
    if has(current()) || has(Lang::En) {
        message(key, &[])
    } else {
        fallback.to_string()
    }
}

/// The message `key` in `lang`. A message missing there is taken from English; one missing
/// everywhere is a bug the catalog test catches, shown as its key rather than a panic.
pub(crate) fn message_in(lang: Lang, key: &str, args: &[(&str, Arg)]) -> String {
    let bundle = lang.bundle();
    let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
        return match lang {
            Lang::Zh => message_in(Lang::En, key, args),
            Lang::En => key.to_string(),
        };
    };
    let mut fluent_args = FluentArgs::new();
    for (name, value) in args {
        let value = match value {
            Arg::Number(n) => FluentValue::from(*n),
            Arg::Text(text) => FluentValue::from(text.as_str()),
        };
        fluent_args.set(*name, value);
    }
    let mut errors = Vec::new();
    bundle
        .format_pattern(pattern, Some(&fluent_args), &mut errors)
        .into_owned()
}

/// `tr!("report-heading", ms = 280, seed = 7)`: the message in the chosen language.
macro_rules! tr {
    ($key:expr) => {
        $crate::lang::message($key, &[])
    };
    ($key:expr, $($name:ident = $value:expr),+ $(,)?) => {
        $crate::lang::message(
            $key,
            &[$((stringify!($name), $crate::lang::Arg::from($value))),+],
        )
    };
}
pub(crate) use tr;

/// Debug builds only: with `GRAB_TICKETS_CATALOG_PARSES` naming a directory, every parse of a
/// catalog leaves an empty file named by the parsing process's pid there. Parsing costs a
/// process ~100 page faults and 400 KB of heap, and a thousand silent buyers would pay it a
/// thousand times (docs/performance.md); the files let a test see, without timing anything,
/// that a buyer which prints nothing never parses (tests/it/silent_buyer.rs). Release builds
/// carry no hook.
fn note_parse() {
    #[cfg(debug_assertions)]
    if let Some(dir) = std::env::var_os("GRAB_TICKETS_CATALOG_PARSES") {
        let _ =
            std::fs::File::create(std::path::Path::new(&dir).join(std::process::id().to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(source: &str) -> Vec<String> {
        let resource = FluentResource::try_new(source.to_string()).expect("parses");
        let mut ids: Vec<String> = resource
            .entries()
            .filter_map(|entry| match entry {
                fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_string()),
                _ => None,
            })
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn both_catalogs_say_every_message() {
        let (en, zh) = (ids(EN), ids(ZH));
        let only_en: Vec<&String> = en.iter().filter(|id| !zh.contains(id)).collect();
        // The command line's help is the doc comments in English; only zh.ftl has it.
        let only_zh: Vec<&String> = zh
            .iter()
            .filter(|id| !en.contains(id) && !id.starts_with("help-"))
            .collect();
        assert!(only_en.is_empty(), "missing in zh.ftl: {only_en:?}");
        assert!(only_zh.is_empty(), "missing in en.ftl: {only_zh:?}");
    }

    #[test]
    fn every_message_the_code_asks_for_is_in_the_catalog() {
        // Help messages are asked for in Chinese only (see cli::in_language).
        let en: Vec<String> = ids(EN).into_iter().chain(ids(ZH)).collect();
        let mut missing = Vec::new();
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        let mut dirs = vec![std::path::PathBuf::from(src)];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                if path.extension().is_none_or(|e| e != "rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                let asks = text.match_indices("tr!(\"").filter(|(at, _)| {
                    !text[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '_')
                });
                for (at, _) in asks {
                    let key = text[at + 5..].split('"').next().unwrap();
                    if !en.iter().any(|id| id == key) {
                        missing.push(format!("{}: {key}", path.display()));
                    }
                }
                // The database's actions are keys too: "read the stock" is pg-read-the-stock.
                for piece in text
                    .split("error(\"")
                    .skip(1)
                    .filter(|_| path.to_string_lossy().contains("pg"))
                {
                    let action = piece.split('"').next().unwrap();
                    let key = format!("pg-{}", action.replace(' ', "-"));
                    if !en.contains(&key) {
                        missing.push(format!("{}: {key}", path.display()));
                    }
                }
                // Error::io's actions are keys too: "read data file" is io-read-data-file.
                for piece in text.split("Error::io(\"").skip(1) {
                    let action = piece.split('"').next().unwrap();
                    let key = format!("io-{}", action.replace(' ', "-"));
                    if !en.contains(&key) {
                        missing.push(format!("{}: {key}", path.display()));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "not in en.ftl: {missing:#?}");
    }

    /// Where a sentence meant for people is written in the code instead of the catalogs: a
    /// literal with English words handed to an error, a print, or a value parser's `Err`.
    fn sentences_outside_the_catalogs(source: &str) -> Vec<String> {
        // Tests quote the English on purpose.
        let code = source.split("#[cfg(test)]").next().unwrap_or_default();
        let doors = [
            "Error::usage(",
            "Error::bad_data(",
            "Error::environment(",
            "Error::buyer(",
            "Error::new(",
            "io::Error::other(",
            "eprintln!(",
            "eprint!(",
            "println!(",
            "print!(",
            "Err(format!(",
            "Err(\"",
        ];
        let english = |literal: &str| {
            let words: Vec<&str> = literal
                .split(|c: char| !c.is_ascii_alphabetic())
                .filter(|w| w.len() > 1)
                .collect();
            words.len() >= 2 && !literal.contains('{') || words.len() >= 3
        };
        let mut found = Vec::new();
        for door in doors {
            for (at, _) in code.match_indices(door) {
                let after = code[at + door.len()..].trim_start();
                let after = after.strip_prefix("format!(").unwrap_or(after).trim_start();
                let Some(rest) = after
                    .strip_prefix('"')
                    .or_else(|| door.ends_with('"').then_some(&code[at + door.len()..]))
                else {
                    continue;
                };
                let literal = rest.split('"').next().unwrap_or_default();
                if english(literal) {
                    found.push(format!("{door}\"{literal}\""));
                }
            }
        }
        found
    }

    #[test]
    fn no_sentence_a_person_reads_is_written_outside_the_catalogs() {
        let mut found = Vec::new();
        let mut dirs = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src"
        ))];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && path.file_name().is_some_and(|n| n != "tests.rs")
                {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for hit in sentences_outside_the_catalogs(&text) {
                        found.push(format!("{}: {hit}", path.display()));
                    }
                }
            }
        }
        assert!(found.is_empty(), "say these through tr!: {found:#?}");
        // The scan itself finds what it looks for.
        let planted = "fn f() { Err(Error::usage(format!(\n \"failed to read {}\", p))) }";
        assert_eq!(sentences_outside_the_catalogs(planted).len(), 1);
        assert!(sentences_outside_the_catalogs("eprintln!(\"{}\", line)").is_empty());
    }

    #[test]
    fn the_environment_picks_the_language_in_posix_order() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let no_os = || None;
        assert_eq!(
            Lang::from_environment(env(&[("LANG", "zh_CN.UTF-8")]), no_os),
            Lang::Zh
        );
        assert_eq!(
            Lang::from_environment(env(&[("LC_ALL", "C"), ("LANG", "zh_CN.UTF-8")]), no_os),
            Lang::En
        );
        assert_eq!(
            Lang::from_environment(env(&[("LC_MESSAGES", "zh_TW"), ("LANG", "en_US")]), no_os),
            Lang::Zh
        );
        assert_eq!(
            Lang::from_environment(env(&[("LANG", "")]), || Some("zh-Hans-CN".into())),
            Lang::Zh
        );
        assert_eq!(Lang::from_environment(env(&[]), no_os), Lang::En);
        assert_eq!(
            Lang::from_command_line(["x".to_string(), "--lang=zh".to_string()]),
            Lang::Zh
        );
    }

    #[test]
    fn plurals_follow_each_language() {
        let one = message_in(Lang::En, "count-tickets", &[("n", Arg::from(1u64))]);
        let three = message_in(Lang::En, "count-tickets", &[("n", Arg::from(3u64))]);
        assert_eq!((one.as_str(), three.as_str()), ("1 ticket", "3 tickets"));
        let most = message_in(Lang::En, "count-tickets", &[("n", Arg::from(u64::MAX / 2))]);
        assert_eq!(most, "9223372036854775807 tickets");
        assert_eq!(
            message_in(Lang::Zh, "count-tickets", &[("n", Arg::from(3u64))]),
            "3 张票"
        );
    }
}
