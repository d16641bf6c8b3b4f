//! One module per subcommand.

pub mod admin;
pub mod bank;
pub mod blocklist;
pub mod client;
pub mod hash;
pub mod legal;
pub mod log;
pub mod matching;
pub mod order;
pub mod package;
pub mod peer;
pub mod progress;
pub mod report;
pub mod request;
pub mod serve;
pub mod threat;
