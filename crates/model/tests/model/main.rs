//! Integration tests of tocsin-model: canonical URLs against the Safe Browsing vectors.

mod bank;
mod blocklist;
mod order;
mod state;
mod url;
