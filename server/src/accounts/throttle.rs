//! Sign-in throttling: a cap on concurrent password checks (Argon2id is meant to be slow;
//! a flood of them must not take every core), and failure windows per account and per
//! client address, kept in the database so every process counts the same failures.

use crate::store::{normalize_email, now_millis, Store, StoreError};
use std::{
    net::IpAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
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

/// Sign-ins being checked right now, per client address (this process). Their outcome is not
/// known yet, so they count toward the address's limit: a flood sent all at once is throttled
/// like one sent in turn.
#[derive(Clone, Default)]
pub struct InFlight {
    counts: Arc<std::sync::Mutex<std::collections::HashMap<IpAddr, u32>>>,
}

/// One sign-in in flight; leaves the count when dropped.
pub struct InFlightSignIn {
    in_flight: InFlight,
    address: IpAddr,
}

impl InFlight {
    fn counts(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<IpAddr, u32>> {
        // Each critical section is one map update.
        self.counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Enters a sign-in from `address`; returns it and how many others from there are in flight.
    pub fn enter(&self, address: IpAddr) -> (InFlightSignIn, u32) {
        let mut counts = self.counts();
        let count = counts.entry(address).or_insert(0);
        let others = *count;
        *count += 1;
        (InFlightSignIn { in_flight: self.clone(), address }, others)
    }
}

impl Drop for InFlightSignIn {
    fn drop(&mut self) {
        let mut counts = self.in_flight.counts();
        if let Some(count) = counts.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.address);
            }
        }
    }
}

/// The throttling keys of a sign-in: its account and its client address.
pub struct SignInKeys {
    pub account: String,
    pub address: String,
}

impl SignInKeys {
    pub fn new(email: &str, address: IpAddr) -> SignInKeys {
        SignInKeys { account: format!("email:{}", normalize_email(email)), address: format!("address:{address}") }
    }
}

/// Seconds until a throttled sign-in may be tried again; `None` when it may now. With
/// `attempt_recorded`, the caller has already recorded this attempt as a failure of its
/// account (so concurrent guesses count each other before any password is checked), and it
/// is not held against itself. `address_in_flight` other sign-ins from the same address are
/// being checked: they count as failures of the address until their outcome is known.
pub async fn retry_after(
    store: &Store,
    keys: &SignInKeys,
    attempt_recorded: bool,
    address_in_flight: u32,
) -> Result<Option<u64>, StoreError> {
    let now = now_millis();
    // A burst from one address bigger than its window allows: look again in a second.
    let mut wait_ms = if address_in_flight >= PER_ADDRESS.limit { 1000 } else { 0 };
    let limits = [
        (&keys.account, PER_ACCOUNT, PER_ACCOUNT.limit + u32::from(attempt_recorded)),
        (&keys.address, PER_ADDRESS, PER_ADDRESS.limit.saturating_sub(address_in_flight).max(1)),
    ];
    for (key, window, limit) in limits {
        if let Some(at) = store.nth_recent_failure(key, now - window.millis, limit).await? {
            wait_ms = wait_ms.max(at + window.millis - now);
        }
    }
    Ok((wait_ms > 0).then(|| u64::try_from((wait_ms + 999) / 1000).unwrap_or(1).max(1)))
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
}
