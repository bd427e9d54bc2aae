//! Reading the policy's YAML strictly, with the error's line and column first.

use super::{Location, PolicyError};

/// Strict YAML: duplicate keys are errors, booleans are only true/false.
pub(super) fn yaml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, PolicyError> {
    let options = serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        strict_booleans: true,
    };
    serde_saphyr::from_str_with_options(text, options).map_err(|e| {
        let at = e
            .location()
            .map(|l| Location {
                line: u32::try_from(l.line()).unwrap_or(u32::MAX),
                column: u32::try_from(l.column()).unwrap_or(u32::MAX),
            })
            .unwrap_or(Location { line: 1, column: 1 });
        let opts = serde_saphyr::render_options! { snippets: serde_saphyr::SnippetMode::Off };
        PolicyError::new(at, strip_location_suffix(&e.render_with_options(opts)))
    })
}

/// serde-saphyr appends " at line L column C" to plain messages; we print the location first.
fn strip_location_suffix(msg: &str) -> String {
    // Also drop advice aimed at programmers using the YAML library.
    let msg = msg
        .trim()
        .replace(", set DuplicateKeyPolicy in Options if acceptable", "");
    let msg = msg.as_str();
    match msg.rfind(" at line ") {
        Some(i) if msg[i..].contains("column") => msg[..i].to_string(),
        _ => msg.to_string(),
    }
}
