//! Integration tests of tocsin-model: canonical URLs against the Safe Browsing vectors, orders,
//! banks, blocklists, the order state machine and data requests.

mod bank;
mod blocklist;
mod order;
mod request;
mod state;
mod url;
