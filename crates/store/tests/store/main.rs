//! The store on both databases: every test runs once on SQLite and once on PostgreSQL.

mod accounts;
mod banks;
mod evidence;
mod helpers;
mod investigations;
mod log;
mod matches;
mod notices;
mod orders;
mod peers;
mod procedures;
