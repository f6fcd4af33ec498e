//! The rule for every request the server makes to an address a user gave it (a push
//! subscription's endpoint; a webhook's URL): `https://` to a public address, unless the
//! operator allowed the URL's origin (`MISEOS_PUSH_EXTRA_ORIGINS`, for tests and private push
//! services). A URL's text is checked when it is given ([`OutboundRules::check`]); the
//! addresses its name resolves to are checked when a request connects ([`PublicOnly`], the
//! client's resolver), so a name that resolves to a private address later (DNS rebinding)
//! still reaches nothing inside. Redirects are never followed, and nothing goes through a
//! proxy from the environment (a proxy would resolve the name itself).

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::{
    collections::HashSet,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
    time::Duration,
};
use url::{Host, Url};

/// Longest URL taken (push services' endpoints are a few hundred characters).
pub const MAX_URL_CHARS: usize = 2_048;

/// How long one outbound request may take, connecting included (API.md sections 10 and 14).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Which URLs the server may send to.
#[derive(Clone, Debug, Default)]
pub struct OutboundRules {
    /// Origins allowed whatever their scheme or address.
    extra_origins: Vec<url::Origin>,
}

impl OutboundRules {
    /// The rules with `extra_origins` (e.g. `http://127.0.0.1:9900`) allowed besides public
    /// `https://` URLs. An entry that is not an origin is an error naming it.
    pub fn new(extra_origins: &[String]) -> Result<OutboundRules, String> {
        let extra_origins = extra_origins
            .iter()
            .map(|text| text.trim())
            .filter(|text| !text.is_empty())
            .map(|text| match Url::parse(text) {
                Ok(url) if url.origin().is_tuple() => Ok(url.origin()),
                _ => Err(format!("{text:?} is not an origin such as https://push.example or http://127.0.0.1:9900")),
            })
            .collect::<Result<_, _>>()?;
        Ok(OutboundRules { extra_origins })
    }

    /// Checks a URL's text; the parsed URL, or why it is refused (for a 400's message).
    pub fn check(&self, text: &str) -> Result<Url, String> {
        if text.chars().count() > MAX_URL_CHARS {
            return Err(format!("the URL is longer than {MAX_URL_CHARS} characters"));
        }
        let url = Url::parse(text).map_err(|_| "the URL is not a valid absolute URL".to_string())?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err("the URL must not carry a user name or password".into());
        }
        if self.extra_origins.contains(&url.origin()) {
            return Ok(url);
        }
        if url.scheme() != "https" {
            return Err("the URL must start with https://".into());
        }
        match url.host() {
            Some(Host::Ipv4(address)) if !is_public(IpAddr::V4(address)) => {
                Err("the URL must name a public address".into())
            }
            Some(Host::Ipv6(address)) if !is_public(IpAddr::V6(address)) => {
                Err("the URL must name a public address".into())
            }
            Some(Host::Domain(name)) if self.names_allowed_host(name) => {
                // An allowed origin's host on another port or scheme: its addresses are
                // private ones the resolver lets through for that origin only.
                Err("the URL's host is allowed only with the origin the server was given".into())
            }
            Some(_) => Ok(url),
            None => Err("the URL names no host".into()),
        }
    }

    /// Whether `name` is the host of an allowed origin.
    fn names_allowed_host(&self, name: &str) -> bool {
        self.allowed_hosts().contains(&name.to_ascii_lowercase())
    }

    /// The host names (not addresses) of the allowed origins: the resolver lets their
    /// addresses through, private or not.
    fn allowed_hosts(&self) -> HashSet<String> {
        self.extra_origins
            .iter()
            .filter_map(|origin| match origin {
                url::Origin::Tuple(_, Host::Domain(name), _) => Some(name.to_ascii_lowercase()),
                _ => None,
            })
            .collect()
    }

    /// The HTTP client for outbound requests under these rules: no redirects, no proxy, a
    /// 10-second limit per request, and a resolver that connects to public addresses only.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("MiseOS-Live/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(PublicOnly { allowed_hosts: Arc::new(self.allowed_hosts()) }))
            .build()
            // Only TLS initialisation can fail here, and the roots come with the build.
            .expect("the outbound HTTP client builds")
    }
}

/// A resolver that returns only the public addresses of a name (every address of an allowed
/// origin's host); none at all is an error, and the request fails without connecting.
struct PublicOnly {
    allowed_hosts: Arc<HashSet<String>>,
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_ascii_lowercase();
        let allowed_hosts = self.allowed_hosts.clone();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let keep_all = allowed_hosts.contains(&host);
            let public: Vec<SocketAddr> =
                resolved.into_iter().filter(|address| keep_all || is_public(address.ip())).collect();
            if public.is_empty() {
                return Err(Box::new(NotPublic(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// The resolver's refusal: the name resolves to no public address.
#[derive(Debug, thiserror::Error)]
#[error("{0} resolves to no public address")]
pub struct NotPublic(String);

impl NotPublic {
    /// Whether `error` (a request that failed) failed because of this refusal.
    pub fn caused(error: &(dyn std::error::Error + 'static)) -> bool {
        let mut cause = Some(error);
        while let Some(error) = cause {
            if error.is::<NotPublic>() {
                return true;
            }
            cause = error.source();
        }
        false
    }
}

/// Whether `address` is on the public internet: not loopback, private, link-local, shared
/// (CGNAT), multicast, reserved or for documentation, nor an IPv6 form of such an IPv4
/// address (mapped, NAT64, 6to4).
pub fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(address: Ipv4Addr) -> bool {
    let [a, b, c, _] = address.octets();
    !(address.is_unspecified()
        || address.is_loopback()
        || address.is_private()
        || address.is_link_local()
        || address.is_broadcast()
        || address.is_documentation()
        || address.is_multicast()
        || a == 0
        // 100.64.0.0/10: shared address space (carrier-grade NAT).
        || (a == 100 && (64..128).contains(&b))
        // 192.0.0.0/24: IETF protocol assignments.
        || (a == 192 && b == 0 && c == 0)
        // 198.18.0.0/15: benchmarking.
        || (a == 198 && (b == 18 || b == 19))
        // 240.0.0.0/4: reserved.
        || a >= 240)
}

fn is_public_v6(address: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_v4(address) {
        return is_public_v4(v4);
    }
    let first = address.segments()[0];
    !(address.is_unspecified()
        || address.is_loopback()
        || address.is_multicast()
        // fc00::/7: unique local.
        || (first & 0xfe00) == 0xfc00
        // fe80::/10: link-local; fec0::/10: the old site-local.
        || (first & 0xffc0) == 0xfe80
        || (first & 0xffc0) == 0xfec0
        // 2001:db8::/32: documentation.
        || (first == 0x2001 && address.segments()[1] == 0x0db8)
        // ::/96 (IPv4-compatible, deprecated) and the rest of ::/8.
        || first == 0)
}

/// The IPv4 address inside an IPv6 one that carries it: IPv4-mapped (`::ffff:a.b.c.d`),
/// NAT64 (`64:ff9b::a.b.c.d`) and 6to4 (`2002:aabb:ccdd::`).
fn embedded_v4(address: Ipv6Addr) -> Option<Ipv4Addr> {
    let segments = address.segments();
    let from_pair = |high: u16, low: u16| {
        let [a, b] = high.to_be_bytes();
        let [c, d] = low.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    if let Some(v4) = address.to_ipv4_mapped() {
        return Some(v4);
    }
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(from_pair(segments[6], segments[7]));
    }
    if segments[0] == 0x2002 {
        return Some(from_pair(segments[1], segments[2]));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:c0a8:0101::1",
            "::127.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["142.250.74.46", "1.1.1.1", "2a00:1450:400f:80d::200e", "::ffff:8.8.8.8", "2002:0808:0808::1"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn a_url_must_be_https_to_a_public_address_unless_its_origin_is_allowed() {
        let rules = OutboundRules::new(&["http://127.0.0.1:9900".into(), "http://push.internal:8080".into()]).unwrap();
        for good in [
            "https://fcm.googleapis.com/fcm/send/abc",
            "https://updates.push.services.mozilla.com/wpush/v2/x",
            "http://127.0.0.1:9900/push/1",
            "http://push.internal:8080/p",
            "https://[2a00:1450:400f:80d::200e]/x",
        ] {
            assert!(rules.check(good).is_ok(), "{good}");
        }
        for (bad, why) in [
            ("http://fcm.googleapis.com/x", "https://"),
            ("https://127.0.0.1/x", "public address"),
            ("https://[::1]/x", "public address"),
            ("https://10.0.0.8:8443/x", "public address"),
            ("http://127.0.0.1:9901/x", "https://"),
            ("https://push.internal/x", "allowed only"),
            ("https://user:secret@fcm.googleapis.com/x", "user name"),
            ("not a url", "valid"),
        ] {
            let refused = rules.check(bad).expect_err(bad);
            assert!(refused.contains(why), "{bad}: {refused}");
        }
        assert!(rules.check(&format!("https://example.com/{}", "a".repeat(MAX_URL_CHARS))).is_err());
        assert!(OutboundRules::new(&["not an origin".into()]).is_err());
    }

    #[tokio::test]
    async fn the_resolver_keeps_only_public_addresses() {
        let resolver = PublicOnly { allowed_hosts: Arc::new(HashSet::from(["localhost".to_string()])) };
        let strict = PublicOnly { allowed_hosts: Arc::default() };
        let name = |text: &str| text.parse::<Name>().unwrap();
        assert!(strict.resolve(name("localhost")).await.is_err(), "loopback only: refused");
        let allowed: Vec<_> = resolver.resolve(name("localhost")).await.unwrap().collect();
        assert!(allowed.iter().all(|address| address.ip().is_loopback()) && !allowed.is_empty());
    }
}
