//! The SSRF guard for URLs people type in (webhooks, chat webhooks, ntfy topic URLs): an HTTP
//! client that refuses to connect to loopback, private, link-local and other internal addresses
//! (checked after DNS resolution, so a public name pointing inside is refused too) and does not
//! follow redirects, plus [`check_url`] for IP literals, which never reach the resolver.

use super::SendError;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::error::Error as StdError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Connect timeout for every outbound notification request.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Whole-request timeout for every outbound notification request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Why the guard refused an address.
#[derive(Debug, thiserror::Error)]
#[error("{0} is not a public address")]
pub struct Refused(String);

/// Whether `ip` is one the guard refuses: loopback, private, link-local, unique local,
/// unspecified, broadcast, CGNAT (100.64/10), "this network" (0/8), multicast, and the
/// IPv4-mapped IPv6 forms of those.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal_v4(v4);
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xffc0) == 0xfe80
                || (first & 0xfe00) == 0xfc00
                || is_v4_compatible_internal(v6)
        }
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (b & 0xc0) == 64)
}

// The deprecated IPv4-compatible form `::a.b.c.d` (but not `::` or `::1`, handled above).
fn is_v4_compatible_internal(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    s[..6].iter().all(|&x| x == 0)
        && is_internal_v4(Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8))
}

/// Resolves with the system resolver, then refuses internal addresses.
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allow_private && let Some(bad) = addrs.iter().find(|a| is_internal(a.ip())) {
                return Err(Box::new(Refused(format!("{host} ({})", bad.ip()))) as Box<dyn StdError + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The client for user-given URLs: internal addresses refused (unless `allow_private`), no
/// redirects, no proxy from the environment, 10 s to connect and 15 s in all.
pub fn guarded_client(allow_private: bool) -> reqwest::Client {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver { allow_private }))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("Firebreak/", env!("CARGO_PKG_VERSION")))
        .build()
        // Never fall back to an unguarded client; this only fails when TLS cannot start at all.
        .expect("the HTTP client's TLS backend starts")
}

/// The client for provider APIs the operator configured (Twilio, Slack, Telegram, ntfy): the
/// same timeouts, redirects not followed, the environment's proxy honoured.
pub fn provider_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("Firebreak/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the HTTP client's TLS backend starts")
}

/// Checks a user-given URL before it is fetched: http or https only, and a host that is not an
/// internal IP literal (names are checked by the guarded client's resolver).
pub fn check_url(url: &str, allow_private: bool) -> Result<(), SendError> {
    let parsed = reqwest::Url::parse(url).map_err(|_| SendError::permanent("the address is not a valid URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(SendError::permanent("only http and https URLs are allowed"));
    }
    let host = parsed.host_str().ok_or_else(|| SendError::permanent("the URL has no host"))?;
    // IPv6 literals come bracketed; names do not parse as addresses and go to the resolver.
    let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() else {
        return Ok(());
    };
    if !allow_private && is_internal(ip) {
        return Err(SendError::permanent(format!("{ip} is not a public address")));
    }
    Ok(())
}

/// Maps a failed request to a [`SendError`]: refused by the guard is permanent; other
/// transport failures are retried. Never includes the URL (it may hold a token).
pub fn request_error(what: &str, e: &reqwest::Error) -> SendError {
    let mut source: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(refused) = s.downcast_ref::<Refused>() {
            return SendError::permanent(format!("{what}: {refused}"));
        }
        source = s.source();
    }
    super::webhook::transport_error(what, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn internal(s: &str) -> bool {
        is_internal(s.parse().expect("an IP address"))
    }

    #[test]
    fn internal_ipv4_ranges_are_refused() {
        for ip in [
            "127.0.0.1",
            "127.255.255.254",
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "100.64.0.1",
            "100.127.255.255",
            "224.0.0.1",
            "239.255.255.250",
        ] {
            assert!(internal(ip), "{ip} should be refused");
        }
    }

    #[test]
    fn public_ipv4_addresses_pass() {
        for ip in ["1.1.1.1", "8.8.8.8", "172.15.255.255", "172.32.0.1", "100.63.255.255", "100.128.0.1", "192.169.0.1"]
        {
            assert!(!internal(ip), "{ip} should pass");
        }
    }

    #[test]
    fn internal_ipv6_ranges_are_refused() {
        for ip in [
            "::1",
            "::",
            "fe80::1",
            "febf::1",
            "fc00::1",
            "fd12:3456::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:169.254.169.254",
            "::ffff:100.64.0.1",
            "::127.0.0.1",
        ] {
            assert!(internal(ip), "{ip} should be refused");
        }
    }

    #[test]
    fn public_ipv6_addresses_pass() {
        for ip in ["2606:4700:4700::1111", "2001:4860:4860::8888", "::ffff:8.8.8.8", "fec0::1"] {
            assert!(!internal(ip), "{ip} should pass");
        }
    }

    #[test]
    fn check_url_refuses_internal_literals_and_other_schemes() {
        for url in [
            "http://127.0.0.1:8080/hook",
            "https://[::1]/hook",
            "http://[::ffff:192.168.0.1]/",
            "http://169.254.169.254/latest/meta-data",
            "http://0.0.0.0/",
            "http://2130706433/",
        ] {
            let e = check_url(url, false).expect_err(url);
            assert!(!e.retryable, "{url}");
        }
        assert!(check_url("file:///etc/passwd", true).is_err());
        assert!(check_url("ftp://example.com/", true).is_err());
        assert!(check_url("not a url", true).is_err());
        assert!(check_url("https://hooks.example.com/x", false).is_ok());
        assert!(check_url("https://93.184.216.34/x", false).is_ok());
        assert!(check_url("http://127.0.0.1:8080/hook", true).is_ok());
    }

    #[tokio::test]
    async fn guarded_client_refuses_names_that_resolve_inside() {
        let e = guarded_client(false).get("http://localhost:9/").send().await.expect_err("refused");
        let e = request_error("the webhook", &e);
        assert!(!e.retryable);
        assert!(e.reason.contains("not a public address"), "{}", e.reason);
    }
}
