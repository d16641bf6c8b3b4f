//! Integration tests of `tocsin-index`: the reference's golden file and equality with brute force.

mod format;
mod golden;
mod helpers;
mod properties;
mod video;
