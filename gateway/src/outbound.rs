//! Where the service may send requests of its own (webhook deliveries), so
//! that no account can make it reach inside the network it runs in.
//!
//! - A URL is read with the parser the HTTP client uses (`url`, WHATWG
//!   rules), so the host checked is the host connected to: in
//!   `http://127.0.0.2:81\@127.0.0.1/` that is `127.0.0.2`.
//! - With an allowlist (`LIANXI_WEBHOOK_ALLOWED_HOSTS`) only its hosts are
//!   reached, at whatever address they have: the operator vouched for them.
//! - Without one, any host whose addresses are all public: loopback,
//!   private, shared (CGNAT), link-local (cloud metadata included),
//!   documentation, multicast and reserved ranges are refused, for literal
//!   addresses and for names alike.
//! - Names are resolved when a request is sent, by a resolver that drops
//!   every address a request may not reach, and the client connects only to
//!   what it returned: a name that resolves elsewhere later is caught then.
//!   Redirects are never followed and no proxy is used.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;

/// Why a destination is refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("must be an http:// or https:// URL")]
    NotHttp,
    #[error("must not carry a user name or password")]
    Credentials,
    #[error("its host is not among the hosts webhooks may be sent to")]
    NotAllowed,
    #[error("its address {0} is not public (loopback, private, link-local or reserved)")]
    NotPublic(IpAddr),
    #[error("its host resolves to no address webhooks may be sent to")]
    NoPublicAddress,
    #[error("its host cannot be resolved")]
    Unresolvable,
}

/// The destinations the service may send requests to.
#[derive(Clone, Debug, Default)]
pub struct Destinations {
    /// Hosts (names or addresses, lowercase) reached whatever their
    /// address; when any is set, the only hosts reached.
    allowed: Arc<Vec<String>>,
}

impl Destinations {
    pub fn new(allowed: Vec<String>) -> Self {
        let allowed = allowed
            .into_iter()
            .map(|h| {
                h.trim()
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_ascii_lowercase()
            })
            .filter(|h| !h.is_empty())
            .collect();
        Self {
            allowed: Arc::new(allowed),
        }
    }

    fn vouched(&self, host: &str) -> bool {
        self.allowed.iter().any(|h| h == host)
    }

    /// Checks a URL without resolving its name: scheme, credentials, the
    /// allowlist, and a literal address.
    pub fn check_url(&self, url: &str) -> Result<Url, Refused> {
        let parsed = Url::parse(url).map_err(|_| Refused::NotHttp)?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Refused::NotHttp);
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(Refused::Credentials);
        }
        let (name, literal) = match parsed.host() {
            Some(url::Host::Domain(d)) => (d.to_ascii_lowercase(), None),
            Some(url::Host::Ipv4(ip)) => (ip.to_string(), Some(IpAddr::V4(ip))),
            Some(url::Host::Ipv6(ip)) => (ip.to_string(), Some(IpAddr::V6(ip))),
            None => return Err(Refused::NotHttp),
        };
        if self.vouched(&name) {
            return Ok(parsed);
        }
        if !self.allowed.is_empty() {
            return Err(Refused::NotAllowed);
        }
        match literal {
            Some(ip) if !is_public(ip) => Err(Refused::NotPublic(ip)),
            _ => Ok(parsed),
        }
    }

    /// [`Destinations::check_url`], then the name resolved now: refused
    /// when it has no address a request may reach.
    pub async fn check_resolved(&self, url: &str) -> Result<Url, Refused> {
        let parsed = self.check_url(url)?;
        if let Some(url::Host::Domain(name)) = parsed.host() {
            let name = name.to_ascii_lowercase();
            if !self.vouched(&name) {
                let found = resolve(&name).await.map_err(|_| Refused::Unresolvable)?;
                if !found.iter().any(|a| is_public(a.ip())) {
                    return Err(Refused::NoPublicAddress);
                }
            }
        }
        Ok(parsed)
    }

    /// An HTTP client that reaches only these destinations: names resolved
    /// through the check, no redirects, no proxy, `timeout` per request.
    pub fn client(&self, timeout: Duration) -> reqwest::Client {
        crate::tls::install_crypto_provider();
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(timeout)
            .dns_resolver(Arc::new(CheckedResolver {
                destinations: self.clone(),
            }))
            .build()
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "the webhook client could not be built; sending nothing");
                reqwest::Client::new()
            })
    }
}

async fn resolve(name: &str) -> std::io::Result<Vec<SocketAddr>> {
    Ok(tokio::net::lookup_host((name, 0)).await?.collect())
}

/// Resolves a name and keeps only the addresses a request may reach.
#[derive(Debug)]
struct CheckedResolver {
    destinations: Destinations,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let name = name.as_str().to_ascii_lowercase();
        let vouched = self.destinations.vouched(&name);
        Box::pin(async move {
            let kept: Vec<SocketAddr> = resolve(&name)
                .await?
                .into_iter()
                .filter(|a| vouched || is_public(a.ip()))
                .collect();
            if kept.is_empty() {
                return Err(Refused::NoPublicAddress.into());
            }
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

/// Whether a request of the service may reach `ip` without the operator
/// vouching for it: a globally routable unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => public_v6(v6),
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16: cloud metadata lives here
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || a >= 240 // reserved
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b))) // benchmarking
}

fn public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return public_v4(v4);
    }
    let segments = ip.segments();
    // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [a, b] = segments[6].to_be_bytes();
        let [c, d] = segments[7].to_be_bytes();
        return public_v4(Ipv4Addr::new(a, b, c, d));
    }
    if segments[0] == 0x2002 {
        let [a, b] = segments[1].to_be_bytes();
        let [c, d] = segments[2].to_be_bytes();
        return public_v4(Ipv4Addr::new(a, b, c, d));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (segments[0] & 0xfe00) == 0xfc00 // unique local (fd00:ec2::254 too)
        || (segments[0] & 0xffc0) == 0xfe80 // link-local
        || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
        || segments[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible, deprecated
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_globally_routable_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "127.0.0.2",
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
            "::1",
            "::",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "2001:db8::1",
            "ff02::1",
        ] {
            let ip: IpAddr = private.parse().expect("an address");
            assert!(!is_public(ip), "{private} is not public");
        }
        for public in [
            "1.1.1.1",
            "114.114.114.114",
            "2400:3200::1",
            "::ffff:8.8.8.8",
        ] {
            let ip: IpAddr = public.parse().expect("an address");
            assert!(is_public(ip), "{public} is public");
        }
    }

    #[test]
    fn the_host_checked_is_the_host_the_client_connects_to() {
        let open = Destinations::default();
        let allowlisted = Destinations::new(vec!["127.0.0.1".into(), "Hooks.Example.org".into()]);
        // The backslash ends the authority, as the client reads it.
        let sneaky = "http://127.0.0.2:81\\@127.0.0.1:82/x";
        assert_eq!(
            allowlisted.check_url(sneaky),
            Err(Refused::NotAllowed),
            "127.0.0.2 is the host"
        );
        assert_eq!(
            open.check_url(sneaky),
            Err(Refused::NotPublic("127.0.0.2".parse().expect("ip")))
        );
        assert_eq!(
            allowlisted.check_url("http://user:pw@127.0.0.1/"),
            Err(Refused::Credentials)
        );
        assert!(allowlisted.check_url("http://127.0.0.1:8080/hook").is_ok());
        assert!(allowlisted
            .check_url("https://hooks.example.org/x?y=1")
            .is_ok());
        assert_eq!(
            allowlisted.check_url("http://127.0.0.1.evil.org/"),
            Err(Refused::NotAllowed)
        );
        for refused in [
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]:22/",
            "http://0x7f000001/",
            "http://2130706433/",
            "http://[::ffff:10.0.0.1]/",
        ] {
            assert!(
                matches!(open.check_url(refused), Err(Refused::NotPublic(_))),
                "{refused}"
            );
        }
        assert_eq!(open.check_url("ftp://example.org/"), Err(Refused::NotHttp));
        assert_eq!(open.check_url("not a url"), Err(Refused::NotHttp));
        assert!(open.check_url("https://hooks.example.org/").is_ok());
    }

    #[tokio::test]
    async fn a_name_that_resolves_inside_is_refused_unless_vouched_for() {
        let open = Destinations::default();
        assert_eq!(
            open.check_resolved("http://localhost:9/hook").await,
            Err(Refused::NoPublicAddress)
        );
        let vouched = Destinations::new(vec!["localhost".into()]);
        assert!(vouched
            .check_resolved("http://localhost:9/hook")
            .await
            .is_ok());
    }
}
