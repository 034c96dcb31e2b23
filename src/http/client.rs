//! The client's address for per-address limits. The TCP peer, unless the
//! peer is one of `server.trusted_proxies`: then the nearest address in
//! `Forwarded` (RFC 7239) or, without it, `X-Forwarded-For` that is not a
//! trusted proxy, read from the right. Entries left of it were written by
//! the client and may be forged; entries right of it come from our proxies.
//! From an untrusted peer both headers are ignored.

use std::net::{IpAddr, SocketAddr};

use actix_web::HttpRequest;
use ipnet::IpNet;
use serde::{Deserialize, Deserializer};

/// One trusted proxy range: a CIDR (`10.0.0.0/8`) or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyNet(pub IpNet);

impl std::str::FromStr for ProxyNet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Ok(net) = s.parse::<IpNet>() {
            return Ok(ProxyNet(net.trunc()));
        }
        s.parse::<IpAddr>()
            .map(|ip| ProxyNet(IpNet::from(ip)))
            .map_err(|_| format!("`{s}` is neither an IP address nor a CIDR range"))
    }
}

impl<'de> Deserialize<'de> for ProxyNet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

fn trusted(ip: IpAddr, proxies: &[ProxyNet]) -> bool {
    proxies.iter().any(|p| p.0.contains(&ip))
}

/// `192.0.2.1`, `192.0.2.1:80`, `[2001:db8::1]`, `[2001:db8::1]:80`,
/// `2001:db8::1`, optionally quoted; None for `unknown`, obfuscated
/// identifiers and garbage.
fn parse_node(s: &str) -> Option<IpAddr> {
    let s = s.trim().trim_matches('"');
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    s.parse::<IpAddr>()
        .ok()
        .or_else(|| s.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

/// The forwarding chain, leftmost (the original client) first.
fn chain(req: &HttpRequest) -> Vec<Option<IpAddr>> {
    let headers = req.headers();
    let forwarded: Vec<_> = headers.get_all("forwarded").collect();
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .flat_map(|v| v.to_str().unwrap_or("").split(','))
            .map(|element| {
                element.split(';').find_map(|pair| {
                    let (k, v) = pair.split_once('=')?;
                    k.trim()
                        .eq_ignore_ascii_case("for")
                        .then(|| parse_node(v))
                        .flatten()
                })
            })
            .collect();
    }
    headers
        .get_all("x-forwarded-for")
        .flat_map(|v| v.to_str().unwrap_or("").split(','))
        .map(parse_node)
        .collect()
}

/// The client's address as the per-address limits see it.
pub fn client_ip(req: &HttpRequest, proxies: &[ProxyNet]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip().to_canonical();
    if !trusted(peer, proxies) {
        return Some(peer);
    }
    let mut nearest = peer;
    for hop in chain(req).into_iter().rev() {
        match hop.map(|ip| ip.to_canonical()) {
            Some(ip) if trusted(ip, proxies) => nearest = ip,
            Some(ip) => return Some(ip),
            // Unreadable: whatever is left of it cannot be vouched for.
            None => break,
        }
    }
    Some(nearest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn nets(list: &[&str]) -> Vec<ProxyNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn headers_count_only_from_trusted_proxies() {
        let proxies = nets(&["10.0.0.0/8", "2001:db8::1"]);
        let from = |peer: &str, h: (&str, &str)| {
            let req = TestRequest::default()
                .peer_addr(peer.parse().unwrap())
                .insert_header(h)
                .to_http_request();
            client_ip(&req, &proxies)
        };
        let xff = "x-forwarded-for";
        assert_eq!(
            from("192.0.2.9:1", (xff, "203.0.113.5")),
            Some(ip("192.0.2.9"))
        );
        assert_eq!(
            from("10.1.2.3:1", (xff, "203.0.113.5")),
            Some(ip("203.0.113.5"))
        );
        // A forged entry on the left does not escape the real client's count.
        assert_eq!(
            from("10.1.2.3:1", (xff, "1.1.1.1, 203.0.113.5, 10.9.9.9")),
            Some(ip("203.0.113.5"))
        );
        assert_eq!(from("10.1.2.3:1", (xff, "garbage")), Some(ip("10.1.2.3")));
        assert_eq!(
            from(
                "[2001:db8::1]:1",
                ("forwarded", "for=\"[2001:db8::7]:4711\";proto=https")
            ),
            Some(ip("2001:db8::7"))
        );
        assert_eq!(
            from(
                "10.1.2.3:1",
                ("forwarded", "for=192.0.2.60:80, for=unknown")
            ),
            Some(ip("10.1.2.3"))
        );
        assert!("300.1.1.1/8".parse::<ProxyNet>().is_err());
    }
}
