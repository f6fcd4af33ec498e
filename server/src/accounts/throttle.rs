//! Sign-in throttling: a cap on concurrent password checks (Argon2id is meant to be slow;
//! a flood of them must not take every core), and failure windows per account and per
//! client address, kept in the database so every process counts the same failures.

use crate::store::{normalize_email, now_millis, Store, StoreError};
use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex, MutexGuard,
    },
    time::{Duration, Instant},
};
use tokio::sync::Semaphore;

/// A failure window: at `limit` failures within `millis`, the key is throttled until the
/// oldest of those failures leaves the window.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub limit: u32,
    pub millis: i64,
}

/// Five failures for one email within 15 minutes.
pub const PER_ACCOUNT: Window = Window { limit: 5, millis: 15 * 60 * 1000 };
/// Thirty failures from one address within a minute.
pub const PER_ADDRESS: Window = Window { limit: 30, millis: 60 * 1000 };

/// Password checks that may wait for a core, per core, before further sign-ins get 503.
const QUEUED_CHECKS_PER_CORE: usize = 4;

/// The password checks running or waiting was at its limit.
#[derive(Debug, thiserror::Error)]
#[error("too many sign-ins at once")]
pub struct Busy;

/// Runs password hashing and verification at most once per core at a time, behind a short
/// queue.
#[derive(Clone)]
pub struct PasswordChecks {
    running: Arc<Semaphore>,
    admitted: Arc<AtomicUsize>,
    max_admitted: usize,
}

impl PasswordChecks {
    /// As many concurrent checks as the machine has cores.
    pub fn per_core() -> PasswordChecks {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        PasswordChecks {
            running: Arc::new(Semaphore::new(cores)),
            admitted: Arc::new(AtomicUsize::new(0)),
            max_admitted: cores * (1 + QUEUED_CHECKS_PER_CORE),
        }
    }

    /// Runs `check` on a blocking thread once a core is free; [`Busy`] at once when the queue
    /// is full.
    pub async fn run<T: Send + 'static>(&self, check: impl FnOnce() -> T + Send + 'static) -> Result<T, Busy> {
        if self.admitted.fetch_add(1, Ordering::AcqRel) >= self.max_admitted {
            self.admitted.fetch_sub(1, Ordering::AcqRel);
            return Err(Busy);
        }
        let _admitted = Admitted(&self.admitted);
        // The semaphore is never closed.
        let _core = self.running.acquire().await.map_err(|_| Busy)?;
        tokio::task::spawn_blocking(check).await.map_err(|_| Busy)
    }
}

/// Gives back a place in the queue when dropped (also when the caller is cancelled).
struct Admitted<'a>(&'a AtomicUsize);

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Sign-ins being checked right now, per throttling key (an account, a client address), in
/// this process. Their outcome is not known yet, so they count as failures of their keys: a
/// flood sent all at once is throttled like one sent in turn, without anything written to the
/// database before a password is found wrong.
#[derive(Clone, Default)]
pub struct InFlight {
    counts: Arc<Mutex<HashMap<String, u32>>>,
}

/// One sign-in in flight under one key; leaves the count when dropped.
pub struct InFlightSignIn {
    in_flight: InFlight,
    key: String,
}

impl InFlight {
    fn counts(&self) -> MutexGuard<'_, HashMap<String, u32>> {
        // Each critical section is one map update.
        self.counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Enters a sign-in under `key`; returns it and how many others under that key are in
    /// flight.
    pub fn enter(&self, key: &str) -> (InFlightSignIn, u32) {
        let mut counts = self.counts();
        let count = counts.entry(key.to_string()).or_insert(0);
        let others = *count;
        *count += 1;
        (InFlightSignIn { in_flight: self.clone(), key: key.to_string() }, others)
    }
}

impl Drop for InFlightSignIn {
    fn drop(&mut self) {
        let mut counts = self.in_flight.counts();
        if let Some(count) = counts.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

/// Attempts per key (a client's sign-ins, a user's socket opens), counted in memory in a
/// fixed window each: a flood is answered 429 before anything touches the database.
pub struct AttemptLimiter<K> {
    limit: u32,
    window: Duration,
    /// Per key: when its current window began and how many attempts it has counted (those
    /// refused included).
    windows: Mutex<HashMap<K, (Instant, u32)>>,
}

/// An attempt one too many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    /// Seconds until the key's window ends.
    pub retry_after: u64,
    /// Whether it is the first refused in its window: a flood is logged once per window, not
    /// once per attempt (the log would otherwise be the flood's second target).
    pub first_in_window: bool,
}

/// Most keys a limiter remembers before it forgets those whose window has passed.
const REMEMBERED_KEYS: usize = 10_000;

impl<K: std::hash::Hash + Eq> AttemptLimiter<K> {
    /// At most `limit` attempts per key within each `window` (0: no limit).
    pub fn new(limit: u32, window: Duration) -> AttemptLimiter<K> {
        AttemptLimiter { limit, window, windows: Mutex::new(HashMap::new()) }
    }

    /// Counts an attempt under `key`; refused when it is one too many.
    pub fn admit(&self, key: K) -> Result<(), Throttled> {
        if self.limit == 0 {
            return Ok(());
        }
        let now = Instant::now();
        // Each critical section is a map update.
        let mut windows = self.windows.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if windows.len() >= REMEMBERED_KEYS {
            windows.retain(|_, (began, _)| now.duration_since(*began) < self.window);
        }
        let (began, attempts) = windows.entry(key).or_insert((now, 0));
        if now.duration_since(*began) >= self.window {
            *began = now;
            *attempts = 0;
        }
        *attempts = attempts.saturating_add(1);
        if *attempts > self.limit {
            let left = self.window.saturating_sub(now.duration_since(*began));
            return Err(Throttled { retry_after: left.as_secs().max(1), first_in_window: *attempts == self.limit + 1 });
        }
        Ok(())
    }
}

/// Sign-in attempts one client may make per minute before the database is asked anything:
/// four times its failure window, so a kitchen's shift signing in behind one router is never
/// stopped, and a flood is.
pub const ATTEMPTS_PER_CLIENT: u32 = 4 * PER_ADDRESS.limit;

/// The throttling keys of a sign-in: its account and its client (IPv6: its /64).
pub struct SignInKeys {
    pub account: String,
    pub address: String,
}

impl SignInKeys {
    pub fn new(email: &str, client: IpAddr) -> SignInKeys {
        SignInKeys { account: format!("email:{}", normalize_email(email)), address: format!("address:{client}") }
    }
}

/// Seconds until a throttled sign-in may be tried again; `None` when it may now. Only reads:
/// `account_in_flight` and `address_in_flight` other sign-ins of the same account and client
/// are being checked, and count as failures until their outcome is known.
pub async fn retry_after(
    store: &Store,
    keys: &SignInKeys,
    account_in_flight: u32,
    address_in_flight: u32,
) -> Result<Option<u64>, StoreError> {
    let now = now_millis();
    // A burst bigger than a window allows: look again in a second.
    let mut wait_ms =
        if address_in_flight >= PER_ADDRESS.limit || account_in_flight >= PER_ACCOUNT.limit { 1000 } else { 0 };
    let limits = [
        (&keys.account, PER_ACCOUNT, PER_ACCOUNT.limit.saturating_sub(account_in_flight).max(1)),
        (&keys.address, PER_ADDRESS, PER_ADDRESS.limit.saturating_sub(address_in_flight).max(1)),
    ];
    for (key, window, limit) in limits {
        if let Some(at) = store.nth_recent_failure(key, now - window.millis, limit).await? {
            wait_ms = wait_ms.max(at + window.millis - now);
        }
    }
    Ok((wait_ms > 0).then(|| u64::try_from((wait_ms + 999) / 1000).unwrap_or(1).max(1)))
}

/// Whether the failure just recorded for an account was the one that locks it out: the
/// window now holds exactly its limit (the next attempts get 429 until one leaves it).
pub async fn locked_out_now(store: &Store, keys: &SignInKeys) -> Result<bool, StoreError> {
    let window_start = now_millis() - PER_ACCOUNT.millis;
    let at_limit = store.nth_recent_failure(&keys.account, window_start, PER_ACCOUNT.limit).await?.is_some();
    let over = store.nth_recent_failure(&keys.account, window_start, PER_ACCOUNT.limit + 1).await?.is_some();
    Ok(at_limit && !over)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn checks_beyond_the_queue_are_refused_at_once() {
        let checks = PasswordChecks {
            running: Arc::new(Semaphore::new(1)),
            admitted: Arc::new(AtomicUsize::new(0)),
            max_admitted: 2,
        };
        let (release, released) = std::sync::mpsc::channel::<()>();
        let first = tokio::spawn({
            let checks = checks.clone();
            async move { checks.run(move || released.recv().is_ok()).await }
        });
        let second = tokio::spawn({
            let checks = checks.clone();
            async move { checks.run(|| true).await }
        });
        while checks.admitted.load(Ordering::Acquire) < 2 {
            tokio::task::yield_now().await;
        }
        assert!(checks.run(|| true).await.is_err(), "a third check waits for no one");
        release.send(()).unwrap();
        assert!(first.await.unwrap().unwrap());
        assert!(second.await.unwrap().unwrap());
        assert_eq!(checks.admitted.load(Ordering::Acquire), 0);
        assert!(checks.run(|| true).await.is_ok());
    }

    #[test]
    fn the_attempt_limiter_counts_each_client_apart_and_forgets_past_windows() {
        let limiter = AttemptLimiter::<IpAddr>::new(3, Duration::from_secs(60));
        let (one, two): (IpAddr, IpAddr) = ("127.0.0.1".parse().unwrap(), "127.0.0.2".parse().unwrap());
        for _ in 0..3 {
            assert!(limiter.admit(one).is_ok());
        }
        let fourth = limiter.admit(one).expect_err("the fourth within the minute");
        assert!((59..=60).contains(&fourth.retry_after), "{fourth:?}");
        assert!(fourth.first_in_window);
        let fifth = limiter.admit(one).expect_err("the fifth too");
        assert!(!fifth.first_in_window, "a flood is reported once per window");
        assert!(limiter.admit(two).is_ok(), "another client is counted apart");
        let short = AttemptLimiter::<IpAddr>::new(1, Duration::from_millis(1));
        assert!(short.admit(one).is_ok());
        std::thread::sleep(Duration::from_millis(5));
        assert!(short.admit(one).is_ok(), "a new window");
    }
}
