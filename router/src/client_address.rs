//! Who the client is, by address: the connection's peer, or — only behind
//! proxies the settings trust — the address they name in `X-Forwarded-For`;
//! and the `X-Forwarded-For` the router sends on to the subgraphs (so the
//! users service's login throttle counts the real client).
//!
//! The chain is the header's entries, left to right, followed by the peer.
//! It is read from the right: the peer is trusted when its address is in
//! `trusted_proxies.addresses` or `trusted_proxies.hops` is at least 1, and
//! then the entry before it is what that proxy saw; and so on while the
//! entries are trusted proxies too (by address, or by position: the
//! rightmost `hops` elements are proxies). The first untrusted element is
//! the client. An entry that is not an address stops the walk: the proxy
//! that wrote it is taken as the client (conservative: all such requests
//! share its bucket). With nothing trusted (the default) the header is
//! ignored and the client is the peer: a client cannot choose its address.
//!
//! To the subgraphs the router sends the chain from the client on:
//! `client, trusted proxies…, peer`. Entries left of the client (whatever an
//! untrusted client wrote) are dropped, so a subgraph that reads the first
//! entry (the users service with `TRUST_FORWARDED_FOR`) gets the client.
//!
//! # Layout
//! - [`TrustedProxies`]: the settings (`[service.trusted_proxies]`).
//! - [`Network`]: an address or CIDR network, parsed ([`ProxyError`]).
//! - [`ClientAddress`]: [`ClientAddress::resolve`] and the
//!   [`ClientAddress::forwarded_for`] header value.

use std::net::{IpAddr, SocketAddr};

use axum::http::{HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};
use storefront_process::settings;

/// The header proxies name the client chain in.
pub const FORWARDED_FOR: &str = "x-forwarded-for";

/// The most `X-Forwarded-For` entries read (from the right); a longer chain
/// is cut, so a huge header costs nothing more.
const MAX_CHAIN: usize = 32;

/// Which proxies in front of the router are trusted to say who the client is
/// (`[service.trusted_proxies]`). Nothing by default: `X-Forwarded-For` is
/// then ignored and the client is the connection's peer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrustedProxies {
    /// Addresses or CIDR networks of trusted proxies, e.g. `10.0.0.0/8`,
    /// `192.0.2.7`, `2001:db8::/32` (`TRUSTED_PROXIES`, comma-separated).
    /// An element of the chain from one of them is a proxy, not the client.
    #[serde(deserialize_with = "settings::string_list")]
    pub addresses: Vec<String>,
    /// How many proxies always stand in front of the router, whatever their
    /// addresses (`TRUSTED_PROXY_HOPS`), e.g. 1 behind one load balancer:
    /// the rightmost `hops` elements of the chain (the peer first) are
    /// proxies. 0 (the default): only `addresses` are trusted.
    pub hops: usize,
}

/// A trusted proxy address or network that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("trusted_proxies.addresses: `{0}` is not an IP address or CIDR network (e.g. 10.0.0.0/8)")]
pub struct ProxyError(pub String);

/// An IP network: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Network {
    /// `192.0.2.7`, `10.0.0.0/8`, `2001:db8::/32`.
    pub fn parse(text: &str) -> Result<Self, ProxyError> {
        let invalid = || ProxyError(text.to_owned());
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text.trim(), None),
        };
        let address: IpAddr = address.parse().map_err(|_| invalid())?;
        let address = address.to_canonical();
        let bits = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) => prefix.parse::<u8>().map_err(|_| invalid())?,
            None => bits,
        };
        if prefix > bits {
            return Err(invalid());
        }
        Ok(Network { address, prefix })
    }

    /// Whether `address` is in this network.
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.address, address.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                masked(u32::from(net).into(), self.prefix, 32)
                    == masked(u32::from(a).into(), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                masked(u128::from(net), self.prefix, 128) == masked(u128::from(a), self.prefix, 128)
            }
            _ => false,
        }
    }
}

/// The top `prefix` bits of a `bits`-bit number.
fn masked(value: u128, prefix: u8, bits: u8) -> u128 {
    if prefix == 0 {
        return 0;
    }
    let shift = u32::from(bits - prefix);
    (value >> shift) << shift
}

/// The trusted proxies, parsed once at start-up.
#[derive(Debug, Clone, Default)]
pub struct ProxyTrust {
    networks: Vec<Network>,
    hops: usize,
}

impl ProxyTrust {
    /// From the settings; an entry that is not an address or network is an error.
    pub fn new(settings: &TrustedProxies) -> Result<Self, ProxyError> {
        let networks = settings
            .addresses
            .iter()
            .map(|text| Network::parse(text))
            .collect::<Result<_, _>>()?;
        Ok(ProxyTrust {
            networks,
            hops: settings.hops,
        })
    }

    /// Whether the chain element `from_right` places from the right (the
    /// peer is 0), with `address`, is a trusted proxy.
    fn trusts(&self, from_right: usize, address: IpAddr) -> bool {
        from_right < self.hops || self.networks.iter().any(|n| n.contains(address))
    }

    /// Whether any proxy is trusted at all.
    pub fn is_empty(&self) -> bool {
        self.networks.is_empty() && self.hops == 0
    }
}

/// The client's address, and the trusted chain from it to the router.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientAddress {
    /// The client's address; `None` when the peer is unknown (a request not
    /// served from a socket, as in tests).
    pub address: Option<IpAddr>,
    /// The chain from the client to the router's peer, client first.
    chain: Vec<IpAddr>,
}

impl ClientAddress {
    /// The client of a request with `headers` from `peer`, under `trust`.
    pub fn resolve(headers: &HeaderMap, peer: Option<SocketAddr>, trust: &ProxyTrust) -> Self {
        let Some(peer) = peer.map(|p| p.ip().to_canonical()) else {
            return ClientAddress::default();
        };
        let mut chain = vec![peer];
        if !trust.is_empty() && trust.trusts(0, peer) {
            let entries = forwarded_entries(headers);
            for (i, entry) in entries.iter().enumerate() {
                // `entries` runs right to left; the peer was element 0.
                let Some(address) = entry else { break };
                chain.push(*address);
                if !trust.trusts(i + 1, *address) {
                    break;
                }
            }
        }
        chain.reverse();
        ClientAddress {
            address: chain.first().copied(),
            chain,
        }
    }

    /// The `X-Forwarded-For` for the subgraphs: the client, then the trusted
    /// proxies, then the router's peer. `None` when the peer is unknown.
    pub fn forwarded_for(&self) -> Option<HeaderValue> {
        if self.chain.is_empty() {
            return None;
        }
        let text = self
            .chain
            .iter()
            .map(IpAddr::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        HeaderValue::from_str(&text).ok()
    }
}

/// The `X-Forwarded-For` entries, right to left (at most [`MAX_CHAIN`]), each
/// an address or `None` when it is not one. Several headers are one list.
fn forwarded_entries(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let mut entries = Vec::new();
    for value in headers.get_all(FORWARDED_FOR).iter().rev() {
        let Ok(text) = value.to_str() else {
            entries.push(None);
            return entries;
        };
        for item in text.rsplit(',') {
            if entries.len() == MAX_CHAIN {
                return entries;
            }
            entries.push(parse_entry(item.trim()).map(|a| a.to_canonical()));
        }
    }
    entries
}

/// `192.0.2.1`, `2001:db8::1`, `[2001:db8::1]:4711`, `192.0.2.1:4711`.
fn parse_entry(text: &str) -> Option<IpAddr> {
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trust(addresses: &[&str], hops: usize) -> ProxyTrust {
        ProxyTrust::new(&TrustedProxies {
            addresses: addresses.iter().map(|a| a.to_string()).collect(),
            hops,
        })
        .expect("valid networks")
    }

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(FORWARDED_FOR, HeaderValue::from_str(value).expect("ascii"));
        headers
    }

    fn peer(text: &str) -> Option<SocketAddr> {
        Some(SocketAddr::new(text.parse().expect("an address"), 50_000))
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().expect("an address"))
    }

    fn sent(client: &ClientAddress) -> String {
        client
            .forwarded_for()
            .map(|v| v.to_str().expect("ascii").to_owned())
            .unwrap_or_default()
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored_and_replaced() {
        let headers = forwarded("203.0.113.9");
        let client = ClientAddress::resolve(&headers, peer("198.51.100.4"), &ProxyTrust::default());
        assert_eq!(
            client.address,
            ip("198.51.100.4"),
            "a client cannot pick its address"
        );
        assert_eq!(sent(&client), "198.51.100.4");
    }

    #[test]
    fn a_trusted_proxy_names_the_client_and_the_chain_is_appended() {
        let trust = trust(&["10.0.0.0/8"], 0);
        let headers = forwarded("spoofed, 203.0.113.9, 10.1.2.3");
        let client = ClientAddress::resolve(&headers, peer("10.0.0.2"), &trust);
        assert_eq!(client.address, ip("203.0.113.9"));
        assert_eq!(
            sent(&client),
            "203.0.113.9, 10.1.2.3, 10.0.0.2",
            "what the client wrote itself is dropped"
        );
    }

    #[test]
    fn an_untrusted_peer_cannot_name_a_client() {
        let trust = trust(&["10.0.0.0/8"], 0);
        let headers = forwarded("203.0.113.9");
        let client = ClientAddress::resolve(&headers, peer("198.51.100.4"), &trust);
        assert_eq!(client.address, ip("198.51.100.4"));
        assert_eq!(sent(&client), "198.51.100.4");
    }

    #[test]
    fn hops_trust_that_many_proxies_whatever_their_addresses() {
        let headers = forwarded("192.0.2.1, 203.0.113.9, 172.16.0.5");
        let one = ClientAddress::resolve(&headers, peer("172.16.0.9"), &trust(&[], 1));
        assert_eq!(one.address, ip("172.16.0.5"));
        let two = ClientAddress::resolve(&headers, peer("172.16.0.9"), &trust(&[], 2));
        assert_eq!(two.address, ip("203.0.113.9"));
        assert_eq!(sent(&two), "203.0.113.9, 172.16.0.5, 172.16.0.9");
    }

    #[test]
    fn garbage_in_the_chain_stops_at_the_proxy_that_wrote_it() {
        let trust = trust(&["10.0.0.0/8"], 0);
        let client = ClientAddress::resolve(&forwarded("unknown"), peer("10.0.0.2"), &trust);
        assert_eq!(client.address, ip("10.0.0.2"));
        let client = ClientAddress::resolve(&HeaderMap::new(), peer("10.0.0.2"), &trust);
        assert_eq!(client.address, ip("10.0.0.2"), "no header: the peer");
        let client = ClientAddress::resolve(
            &forwarded("[2001:db8::1]:4711, 10.0.0.7"),
            peer("10.0.0.2"),
            &trust,
        );
        assert_eq!(client.address, ip("2001:db8::1"));
    }

    #[test]
    fn several_headers_are_one_chain_and_a_long_one_is_cut() {
        let mut headers = HeaderMap::new();
        headers.append(FORWARDED_FOR, HeaderValue::from_static("203.0.113.9"));
        headers.append(FORWARDED_FOR, HeaderValue::from_static("10.0.0.7"));
        let client = ClientAddress::resolve(&headers, peer("10.0.0.2"), &trust(&["10.0.0.0/8"], 0));
        assert_eq!(client.address, ip("203.0.113.9"));
        let long = vec!["10.9.9.9"; 1000].join(",");
        let client = ClientAddress::resolve(
            &forwarded(&long),
            peer("10.0.0.2"),
            &trust(&["10.0.0.0/8"], 0),
        );
        assert_eq!(client.chain.len(), MAX_CHAIN + 1);
    }

    #[test]
    fn networks_parse_and_match_by_prefix() {
        let net = Network::parse("10.0.0.0/8").expect("valid");
        assert!(net.contains("10.200.1.1".parse().expect("ip")));
        assert!(!net.contains("11.0.0.1".parse().expect("ip")));
        assert!(
            net.contains("::ffff:10.0.0.1".parse().expect("ip")),
            "IPv4-mapped IPv6 counts as IPv4"
        );
        let one = Network::parse("192.0.2.7").expect("valid");
        assert!(one.contains("192.0.2.7".parse().expect("ip")));
        assert!(!one.contains("192.0.2.8".parse().expect("ip")));
        let v6 = Network::parse("2001:db8::/32").expect("valid");
        assert!(v6.contains("2001:db8:ffff::1".parse().expect("ip")));
        assert!(!v6.contains("2001:db9::1".parse().expect("ip")));
        assert!(
            Network::parse("0.0.0.0/0")
                .expect("all")
                .contains("8.8.8.8".parse().expect("ip"))
        );
        for bad in ["10.0.0.0/33", "proxy.local", "10.0.0.0/x", "::/129"] {
            assert_eq!(Network::parse(bad), Err(ProxyError(bad.into())), "{bad}");
        }
    }
}
