//! One module per subcommand.

pub mod config;
pub mod scan;
pub mod sim;
