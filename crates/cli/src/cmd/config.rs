//! `vspread config ...`: the config file's life cycle from the command line.

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the JSON Schema of config.toml (types, defaults, bounds, descriptions).
    Schema,
}

pub fn run(cmd: ConfigCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ConfigCommand::Schema => {
            let schema = schemars::schema_for!(vspread_core::config::Config);
            println!("{}", serde_json::to_string_pretty(&schema)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}
