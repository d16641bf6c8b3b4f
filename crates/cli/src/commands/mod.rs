//! One module per subcommand.

pub mod admin;
pub mod client;
pub mod hash;
pub mod log;
pub mod matching;
pub mod order;
pub mod peer;
pub mod serve;
