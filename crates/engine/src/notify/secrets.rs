//! Reading a notification target's secret (its webhook URL, or Telegram's
//! bot token) from where `[notify]` says it is: an environment variable or
//! a file, never `config.toml`. A config whose secret is missing is
//! refused where it is loaded, reloaded or applied, with the key that
//! names the missing place, so a typo is found when it is made and not at
//! the first fill.

use std::path::{Path, PathBuf};

use vspread_core::config::{Config, ConfigError, ConfigErrorKind, ConfigErrors, NotifyTarget};

/// Why a target's secret could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct SecretError {
    /// The key that says where the secret is
    /// (`notify.targets[0].secret_env`).
    pub path: String,
    pub reason: String,
}

/// The file a relative `secret_file` names: beside the config file.
fn file_path(name: &str, config_path: &Path) -> PathBuf {
    let path = Path::new(name);
    if path.is_absolute() {
        return path.to_path_buf();
    }
    config_path
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join(path)
}

/// The secret of target `index`, read now.
pub fn read(
    target: &NotifyTarget,
    index: usize,
    config_path: &Path,
) -> Result<String, SecretError> {
    if !target.secret_env.is_empty() {
        let path = format!("notify.targets[{index}].secret_env");
        return match std::env::var(&target.secret_env) {
            Ok(value) if !value.trim().is_empty() => Ok(value.trim().to_string()),
            Ok(_) => Err(SecretError {
                path,
                reason: format!(
                    "the environment variable {} is empty; it must hold the target's {}",
                    target.secret_env,
                    what(target)
                ),
            }),
            Err(_) => Err(SecretError {
                path,
                reason: format!(
                    "the environment variable {} is not set; it must hold the target's {}",
                    target.secret_env,
                    what(target)
                ),
            }),
        };
    }
    let path = format!("notify.targets[{index}].secret_file");
    if target.secret_file.is_empty() {
        return Err(SecretError {
            path: format!("notify.targets[{index}].secret_env"),
            reason: "no secret_env or secret_file is set".into(),
        });
    }
    let file = file_path(&target.secret_file, config_path);
    let text = std::fs::read_to_string(&file).map_err(|e| SecretError {
        path: path.clone(),
        reason: format!("cannot read {}: {e}", file.display()),
    })?;
    match text.lines().next().map(str::trim) {
        Some(line) if !line.is_empty() => Ok(line.to_string()),
        _ => Err(SecretError {
            path,
            reason: format!(
                "{} is empty; its first line must be the target's {}",
                file.display(),
                what(target)
            ),
        }),
    }
}

fn what(target: &NotifyTarget) -> &'static str {
    match target.format {
        vspread_core::config::NotifyFormat::Telegram => "bot token",
        _ => "webhook URL",
    }
}

/// Every target's secret can be read now; else each one that cannot, as
/// config errors naming its key (how a load, a reload and an apply refuse
/// it).
pub fn check(config: &Config, config_path: &Path) -> Result<(), ConfigErrors> {
    let errors: Vec<ConfigError> = config
        .notify
        .targets
        .iter()
        .enumerate()
        .filter_map(|(i, t)| read(t, i, config_path).err())
        .map(|e| ConfigError {
            path: e.path,
            kind: ConfigErrorKind::Rule,
            value: None,
            message: e.reason,
            allowed: Some(
                "a place that holds the secret (it is never written in config.toml)".into(),
            ),
            location: None,
        })
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    Err(ConfigErrors {
        source_name: None,
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vspread_core::config::NotifyFormat;

    fn target(env: &str, file: &str) -> NotifyTarget {
        NotifyTarget {
            name: "t".into(),
            secret_env: env.into(),
            secret_file: file.into(),
            ..NotifyTarget::default()
        }
    }

    #[test]
    fn a_file_beside_the_config_gives_its_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        std::fs::write(
            dir.path().join("hook.url"),
            "https://hooks.example/x\n# note\n",
        )
        .unwrap();
        assert_eq!(
            read(&target("", "hook.url"), 0, &config).unwrap(),
            "https://hooks.example/x"
        );
        std::fs::write(dir.path().join("empty.url"), "\n").unwrap();
        let empty = read(&target("", "empty.url"), 2, &config).unwrap_err();
        assert_eq!(empty.path, "notify.targets[2].secret_file");
        assert!(empty.reason.contains("is empty"), "{empty}");
        let missing = read(&target("", "nowhere.url"), 1, &config).unwrap_err();
        assert_eq!(missing.path, "notify.targets[1].secret_file");
        assert!(missing.reason.contains("nowhere.url"), "{missing}");
    }

    #[test]
    fn an_unset_variable_is_named_with_what_it_must_hold() {
        let mut t = target("VSPREAD_TEST_SECRET_THAT_IS_NEVER_SET", "");
        t.format = NotifyFormat::Telegram;
        let e = read(&t, 0, Path::new("config.toml")).unwrap_err();
        assert_eq!(e.path, "notify.targets[0].secret_env");
        assert_eq!(
            e.reason,
            "the environment variable VSPREAD_TEST_SECRET_THAT_IS_NEVER_SET is not set; it must hold the target's bot token"
        );
        let mut config = Config::default();
        config.notify.targets.push(t);
        let errors = check(&config, Path::new("config.toml")).unwrap_err();
        assert_eq!(errors.errors.len(), 1);
        assert_eq!(errors.errors[0].path, "notify.targets[0].secret_env");
        // PATH is set wherever tests run.
        config.notify.targets[0].secret_env = "PATH".into();
        assert!(check(&config, Path::new("config.toml")).is_ok());
    }
}
