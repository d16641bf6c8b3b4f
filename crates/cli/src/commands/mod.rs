//! One module per subcommand.

pub mod admin;
pub mod hash;
pub mod log;
pub mod matching;
pub mod serve;
