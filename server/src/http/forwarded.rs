//! Who the client of a request is when trusted reverse proxies stand in front of the server
//! (`MISEOS_TRUSTED_PROXIES`): the peer's address, or the nearest address of its
//! `X-Forwarded-For` chain that is not a trusted proxy. Sign-in throttling counts by it, and
//! `/metrics` decides by it who may read.

use ipnet::IpNet;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// The key a client is counted by in per-address limits: an IPv4 address as it is, an IPv6
/// address by its /64, the block one host or one home usually holds (counting each of its
/// 2^64 addresses apart would let one host take any share it likes).
pub fn client_key(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V6(v6) => {
            let [a, b, c, d, ..] = v6.segments();
            IpAddr::V6(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
        }
        v4 => v4,
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_network;

    #[test]
    fn an_ipv6_client_is_counted_by_its_64_and_an_ipv4_one_by_its_address() {
        let key = |text: &str| client_key(text.parse().unwrap()).to_string();
        assert_eq!(key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::");
        assert_eq!(key("2001:db8:1:2:ffff:1:2:3"), "2001:db8:1:2::");
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
        assert_eq!(key("203.0.113.9"), "203.0.113.9");
        assert_eq!(key("::ffff:203.0.113.9"), "203.0.113.9");
    }

    fn peer(address: &str) -> SocketAddr {
        SocketAddr::new(address.parse().unwrap(), 40_000)
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted = [parse_network("10.0.0.1").unwrap()];
        assert_eq!(client_address(peer("203.0.113.9"), Some("198.51.100.1"), &trusted).to_string(), "203.0.113.9");
    }

    #[test]
    fn behind_trusted_proxies_the_nearest_untrusted_entry_is_the_client() {
        let trusted = [parse_network("10.0.0.0/8").unwrap()];
        let forwarded = Some("1.2.3.4, 198.51.100.7, 10.0.0.3");
        assert_eq!(client_address(peer("10.0.0.1"), forwarded, &trusted).to_string(), "198.51.100.7");
        assert_eq!(client_address(peer("10.0.0.1"), None, &trusted).to_string(), "10.0.0.1");
        assert_eq!(client_address(peer("10.0.0.1"), Some("garbage, 10.0.0.2"), &trusted).to_string(), "10.0.0.2");
    }

    #[test]
    fn every_forwarded_for_line_counts() {
        let trusted = [parse_network("10.0.0.1").unwrap()];
        let mut headers = http::HeaderMap::new();
        headers.append("x-forwarded-for", "6.6.6.6".parse().unwrap());
        headers.append("x-forwarded-for", "198.51.100.7".parse().unwrap());
        assert_eq!(request_client(peer("10.0.0.1"), &headers, &trusted).to_string(), "198.51.100.7");
    }
}
