//! One module per subcommand.

pub mod backup;
pub mod config;
pub mod demo;
pub mod doctor;
pub mod healthcheck;
pub mod journal;
pub mod report;
pub mod run;
pub mod scan;
pub mod sim;
pub mod simulate;
pub mod stack;
pub mod tls;
pub mod token;
pub mod validate;
