//! The store's basics, which every capability's tables build on: migrations, the node's key
//! binding, accounts and passwords, peers, the legal particulars, and the shared writers (the
//! outbox queue, the webhook queue, timeline events). Nothing here imports a capability.

pub mod accounts;
pub mod identity;
pub mod legal;
pub mod migrate;
pub mod password;
pub mod peers;
pub mod record;
