//! Sign-in throttling: a cap on concurrent password checks (Argon2id is meant to be slow;
//! a flood of them must not take every core), and failure windows per account and per
//! client address, kept in the database so every process counts the same failures.

use crate::store::{normalize_email, now_millis, Store, StoreError};
use ipnet::IpNet;
use std::{
    net::{IpAddr, SocketAddr},
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

/// The client address of a request: see [`client_address`]. Every `X-Forwarded-For` line
/// counts, in order (a proxy may add its own line after the client's).
pub fn request_client(peer: SocketAddr, headers: &http::HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let lines: Vec<&str> = headers.get_all("x-forwarded-for").iter().filter_map(|value| value.to_str().ok()).collect();
    let forwarded_for = (!lines.is_empty()).then(|| lines.join(","));
    client_address(peer, forwarded_for.as_deref(), trusted)
}

/// The client's address: the peer's, or, when the peer is a trusted proxy, the nearest
/// `X-Forwarded-For` entry that is not one (proxies append the address they saw, so the
/// entries left of the last untrusted one may be forged).
pub fn client_address(peer: SocketAddr, forwarded_for: Option<&str>, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.ip().to_canonical();
    let is_trusted = |address: &IpAddr| trusted.iter().any(|net| net.contains(address));
    match forwarded_for {
        Some(forwarded_for) if is_trusted(&peer) => read_forwarded_chain(peer, forwarded_for, is_trusted).address(),
        _ => peer,
    }
}

/// Where reading a trusted peer's `X-Forwarded-For` chain from the right ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForwardedChain {
    /// The nearest entry that is not a trusted proxy: the client.
    Client(IpAddr),
    /// An entry could not be read; this is the nearest address read before it.
    Unreadable(IpAddr),
    /// Every entry is a trusted proxy; this is the leftmost of them.
    OnlyProxies(IpAddr),
}

impl ForwardedChain {
    /// The best guess at the client: the named client, or the nearest address that was read.
    pub fn address(self) -> IpAddr {
        match self {
            ForwardedChain::Client(address)
            | ForwardedChain::Unreadable(address)
            | ForwardedChain::OnlyProxies(address) => address,
        }
    }
}

/// Reads `forwarded_for` (comma-separated entries) from the right, starting at `peer`, a
/// trusted proxy. An entry that cannot be read ends the chain that can be trusted.
pub fn read_forwarded_chain(peer: IpAddr, forwarded_for: &str, is_trusted: impl Fn(&IpAddr) -> bool) -> ForwardedChain {
    let mut nearest = peer;
    for entry in forwarded_for.rsplit(',') {
        match entry.trim().parse::<IpAddr>() {
            Ok(address) => {
                nearest = address.to_canonical();
                if !is_trusted(&nearest) {
                    return ForwardedChain::Client(nearest);
                }
            }
            Err(_) => return ForwardedChain::Unreadable(nearest),
        }
    }
    ForwardedChain::OnlyProxies(nearest)
}

/// Parses a `MISEOS_TRUSTED_PROXIES` entry: an address or a network (`10.0.0.0/8`).
pub fn parse_proxy(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{text:?} is neither an IP address nor a network such as 10.0.0.0/8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(address: &str) -> SocketAddr {
        SocketAddr::new(address.parse().unwrap(), 40_000)
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted = [parse_proxy("10.0.0.1").unwrap()];
        assert_eq!(client_address(peer("203.0.113.9"), Some("198.51.100.1"), &trusted).to_string(), "203.0.113.9");
    }

    #[test]
    fn behind_trusted_proxies_the_nearest_untrusted_entry_is_the_client() {
        let trusted = [parse_proxy("10.0.0.0/8").unwrap()];
        let forwarded = Some("1.2.3.4, 198.51.100.7, 10.0.0.3");
        assert_eq!(client_address(peer("10.0.0.1"), forwarded, &trusted).to_string(), "198.51.100.7");
        assert_eq!(client_address(peer("10.0.0.1"), None, &trusted).to_string(), "10.0.0.1");
        assert_eq!(client_address(peer("10.0.0.1"), Some("garbage, 10.0.0.2"), &trusted).to_string(), "10.0.0.2");
    }

    #[test]
    fn every_forwarded_for_line_counts() {
        let trusted = [parse_proxy("10.0.0.1").unwrap()];
        let mut headers = http::HeaderMap::new();
        headers.append("x-forwarded-for", "6.6.6.6".parse().unwrap());
        headers.append("x-forwarded-for", "198.51.100.7".parse().unwrap());
        assert_eq!(request_client(peer("10.0.0.1"), &headers, &trusted).to_string(), "198.51.100.7");
    }

    #[test]
    fn proxies_are_addresses_or_networks() {
        assert!(parse_proxy("192.168.1.10").unwrap().contains(&"192.168.1.10".parse::<IpAddr>().unwrap()));
        assert!(parse_proxy("::1").is_ok());
        assert!(parse_proxy("not-an-ip").is_err());
    }

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
