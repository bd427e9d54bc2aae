//! Import of gitleaks TOML configurations.
use crate::{ConfigError, RuleSet, Warning};

pub(crate) fn import(_text: &str, _base: Option<&RuleSet>) -> Result<(RuleSet, Vec<Warning>), ConfigError> {
    Err(ConfigError::Toml { message: "not yet".into() })
}
