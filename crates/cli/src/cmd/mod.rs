//! One module per subcommand.

pub mod config;
pub mod demo;
pub mod doctor;
pub mod journal;
pub mod run;
pub mod scan;
pub mod sim;
pub mod stack;
