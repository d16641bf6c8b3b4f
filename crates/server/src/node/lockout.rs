//! The sign-in lock-out shared by the console and `/v1/login`: failures are counted per account
//! name and source address, per source, and per name from everywhere, and an attempt takes its
//! place in the count before its password is checked, so guesses sent in parallel are no more
//! than guesses sent one by one. Every table is bounded, whatever names outsiders send.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Failed sign-ins for one name from one source before that source is locked out of that name.
pub const MAX_FAILURES: u32 = 5;
/// Failed sign-ins from one source, whatever the names, before the source is locked out (a
/// password tried on many names). Behind a reverse proxy every sign-in comes from the proxy's
/// address, so this is set well above what a team mistyping in a quarter of an hour reaches.
pub const MAX_SOURCE_FAILURES: u32 = 100;
/// Failed sign-ins for one name from every source before the name is locked for everyone: high
/// enough that one outsider cannot lock the night shift out, low enough that guessing from many
/// addresses stays slow.
pub const MAX_NAME_FAILURES: u32 = 50;
/// How long a lock lasts, counted from the last failure.
pub const LOCK: Duration = Duration::from_secs(15 * 60);
/// The most entries each table keeps; past it, expired entries go, then the oldest.
pub const MAX_ENTRIES: usize = 10_000;

/// How a name is counted: a name that cannot be an account's (too long, or with characters no
/// account has) can never sign in, and all such names share one entry, so a 60 kB name costs
/// nothing to keep.
fn name_key(name: &str) -> &str {
    if tocsin_store::check_account_name(name).is_ok() { name } else { "" }
}

#[derive(Debug, Clone, Copy)]
struct Count {
    /// Failures since the count last started.
    failures: u32,
    /// Attempts being checked now.
    running: u32,
    /// When the last failure (or attempt) was.
    last: Instant,
}

impl Count {
    fn new() -> Count {
        Count { failures: 0, running: 0, last: Instant::now() }
    }

    fn expired(&self) -> bool {
        self.running == 0 && self.last.elapsed() >= LOCK
    }

    fn full(&self, max: u32) -> bool {
        !self.expired() && self.failures + self.running >= max
    }
}

#[derive(Debug, Default)]
struct Tables {
    pairs: HashMap<(String, Option<IpAddr>), Count>,
    sources: HashMap<IpAddr, Count>,
    names: HashMap<String, Count>,
}

/// Takes a place in `table` for `key`, making room first if the table is full.
fn enter<K: std::hash::Hash + Eq + Clone>(table: &mut HashMap<K, Count>, key: &K) {
    if !table.contains_key(key) && table.len() >= MAX_ENTRIES {
        table.retain(|_, c| !c.expired());
        if table.len() >= MAX_ENTRIES
            && let Some(oldest) = table.iter().filter(|(_, c)| c.running == 0).min_by_key(|(_, c)| c.last).map(|(k, _)| k.clone())
        {
            table.remove(&oldest);
        }
    }
    let count = table.entry(key.clone()).or_insert_with(Count::new);
    if count.expired() {
        *count = Count::new();
    }
    count.running += 1;
}

/// Ends an attempt's place in `table`, counting a failure if it failed.
fn leave<K: std::hash::Hash + Eq>(table: &mut HashMap<K, Count>, key: &K, failed: bool) {
    if let Some(count) = table.get_mut(key) {
        count.running = count.running.saturating_sub(1);
        if failed {
            count.failures += 1;
            count.last = Instant::now();
        }
    }
}

/// Failed sign-ins, for the lock-out.
#[derive(Debug, Default)]
pub struct Attempts(Mutex<Tables>);

/// The attempt is refused without checking the password: too many failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locked;

impl Attempts {
    fn tables(&self) -> MutexGuard<'_, Tables> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts an attempt for `name` from `source` (unknown when the server does not record it):
    /// refused if the pair, the source or the name is locked, counting the attempts under way.
    pub fn begin(&self, name: &str, source: Option<IpAddr>) -> Result<Attempt<'_>, Locked> {
        let name = name_key(name).to_owned();
        let pair = (name.clone(), source);
        let mut t = self.tables();
        let locked = t.pairs.get(&pair).is_some_and(|c| c.full(MAX_FAILURES))
            || source.is_some_and(|s| t.sources.get(&s).is_some_and(|c| c.full(MAX_SOURCE_FAILURES)))
            || t.names.get(&name).is_some_and(|c| c.full(MAX_NAME_FAILURES));
        if locked {
            return Err(Locked);
        }
        enter(&mut t.pairs, &pair);
        if let Some(s) = source {
            enter(&mut t.sources, &s);
        }
        enter(&mut t.names, &name);
        Ok(Attempt { attempts: self, pair, settled: false })
    }

    /// How many entries the tables hold (pairs, sources, names).
    pub fn sizes(&self) -> (usize, usize, usize) {
        let t = self.tables();
        (t.pairs.len(), t.sources.len(), t.names.len())
    }
}

/// A sign-in being checked; it must be settled as failed or succeeded (dropped unsettled, it
/// counts as neither).
#[derive(Debug)]
pub struct Attempt<'a> {
    attempts: &'a Attempts,
    pair: (String, Option<IpAddr>),
    settled: bool,
}

impl Attempt<'_> {
    fn settle(&mut self, failed: bool) {
        if self.settled {
            return;
        }
        self.settled = true;
        let mut t = self.attempts.tables();
        leave(&mut t.pairs, &self.pair, failed);
        if let Some(s) = self.pair.1 {
            leave(&mut t.sources, &s, failed);
        }
        leave(&mut t.names, &self.pair.0, failed);
    }

    /// The password was wrong (or the name unknown).
    pub fn failed(mut self) {
        self.settle(true);
    }

    /// Signed in: the name's failures from this source are forgotten (the source's and the
    /// name's totals stay, so one good account does not reset a guesser's count).
    pub fn succeeded(mut self) {
        self.settle(false);
        self.attempts.tables().pairs.remove(&self.pair);
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        self.settle(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([127, 0, 0, last]))
    }

    #[test]
    fn five_failures_lock_a_name_from_that_source_only() {
        let a = Attempts::default();
        for _ in 0..MAX_FAILURES {
            a.begin("desk", ip(1)).expect("not yet locked").failed();
        }
        assert_eq!(a.begin("desk", ip(1)).err(), Some(Locked));
        a.begin("desk", ip(2)).expect("the night shift's own address is not locked").succeeded();
        a.begin("other", ip(1)).expect("another name from the same source").failed();
    }

    #[test]
    fn attempts_under_way_count_before_their_password_is_checked() {
        let a = Attempts::default();
        let running: Vec<Attempt<'_>> = (0..MAX_FAILURES).map(|_| a.begin("desk", ip(1)).expect("a place")).collect();
        assert_eq!(a.begin("desk", ip(1)).err(), Some(Locked), "a sixth guess in parallel is refused unchecked");
        drop(running);
        a.begin("desk", ip(1)).expect("places given back unsettled count as nothing").failed();
    }

    #[test]
    fn a_source_is_locked_after_many_names_and_a_name_after_many_sources() {
        let a = Attempts::default();
        for n in 0..MAX_SOURCE_FAILURES {
            a.begin(&format!("name-{n}"), ip(3)).expect("a place").failed();
        }
        assert_eq!(a.begin("fresh", ip(3)).err(), Some(Locked));
        let b = Attempts::default();
        for n in 0..MAX_NAME_FAILURES {
            b.begin("desk", ip((n % 200) as u8 + 10)).expect("a place").failed();
        }
        assert_eq!(b.begin("desk", ip(250)).err(), Some(Locked));
    }

    #[test]
    fn the_tables_stay_bounded_whatever_names_and_sources_are_sent() {
        let a = Attempts::default();
        let long = "x".repeat(60_000);
        for n in 0..3_000u32 {
            a.begin(&format!("{long}{n}"), ip(9)).map(Attempt::failed).ok();
        }
        assert_eq!(a.sizes(), (1, 1, 1), "names that cannot be accounts share one entry");
        for n in 0..(MAX_ENTRIES as u32 + 500) {
            let source = Some(IpAddr::from(std::net::Ipv6Addr::from(u128::from(n) + 1)));
            a.begin(&format!("n{}", n % 100_000), source).map(Attempt::failed).ok();
        }
        let (pairs, sources, names) = a.sizes();
        assert!(pairs <= MAX_ENTRIES && sources <= MAX_ENTRIES && names <= MAX_ENTRIES, "{pairs} {sources} {names}");
    }
}
