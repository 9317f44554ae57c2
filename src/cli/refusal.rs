//! Clap's refusals in the class's language. Clap words its errors in English only, so in
//! another language the sentence is rebuilt from the error's kind and its context (the
//! argument, the value, the suggestion), message by message from the catalog; a kind with
//! no message of ours keeps clap's English rather than losing what it says.

use clap::error::{ContextKind, ContextValue, ErrorKind};

use crate::lang::tr;

/// The refusal as "what; hint" in the chosen language, or `None` where clap's own words
/// must stand (a kind of error this program never meets).
pub(super) fn in_language(e: &clap::Error) -> Option<String> {
    let text = |kind| match e.get(kind) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        Some(ContextValue::Strings(v)) => Some(v.join(", ")),
        _ => None,
    };
    let arg = text(ContextKind::InvalidArg);
    let value = text(ContextKind::InvalidValue);
    let what = match e.kind() {
        ErrorKind::UnknownArgument => tr!("clap-unknown-argument", arg = arg?),
        ErrorKind::InvalidSubcommand => {
            tr!(
                "clap-unknown-subcommand",
                name = text(ContextKind::InvalidSubcommand)?
            )
        }
        ErrorKind::InvalidValue if value.as_deref() == Some("") => {
            tr!("clap-value-missing", arg = arg?)
        }
        ErrorKind::InvalidValue => {
            let line = tr!("clap-invalid-value", value = value?, arg = arg?);
            match text(ContextKind::ValidValue) {
                Some(valid) => tr!("clap-possible-values", line = line, values = valid),
                None => line,
            }
        }
        ErrorKind::ValueValidation => {
            let line = tr!("clap-invalid-value", value = value?, arg = arg?);
            // The source is our own parser's reason, already in the language.
            match std::error::Error::source(e) {
                Some(why) => format!("{line}{}", tr!("clap-because", why = why.to_string())),
                None => line,
            }
        }
        ErrorKind::MissingRequiredArgument => tr!("clap-missing-arguments", args = arg?),
        ErrorKind::ArgumentConflict => match text(ContextKind::PriorArg) {
            Some(prior) if Some(&prior) != arg.as_ref() => {
                tr!("clap-conflict", arg = arg?, other = prior)
            }
            _ => tr!("clap-repeated", arg = arg?),
        },
        ErrorKind::TooManyValues => tr!("clap-extra-value", value = value?, arg = arg?),
        _ => return None,
    };
    let hint = [
        (ContextKind::SuggestedArg, "clap-tip-argument"),
        (ContextKind::SuggestedSubcommand, "clap-tip-subcommand"),
        (ContextKind::SuggestedValue, "clap-tip-value"),
    ]
    .into_iter()
    .find_map(|(kind, key)| text(kind).map(|similar| tr!(key, similar = similar)))
    .unwrap_or_else(|| tr!("clap-tip-help"));
    Some(tr!("clap-refusal", what = what, hint = hint))
}
