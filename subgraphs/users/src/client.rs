//! The client address of a request, for the login throttle: the first
//! address of `X-Forwarded-For` when the settings trust the proxy in front
//! (`trust_forwarded_for`), else the connection's peer address.
//!
//! The shared GraphQL endpoint builds the request's data itself, so the
//! address reaches the `login` resolver through a task-local set by a layer
//! around the endpoint ([`layer`]); resolvers read it with [`current`].
//! Without the layer (a schema executed directly, as tests do) it is unknown.
//! [`client_key`] is what the throttle counts as one client.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::{self, Next};
use axum::response::Response;

/// The header a trusted proxy names the client in.
pub const FORWARDED_FOR: &str = "x-forwarded-for";

tokio::task_local! {
    static CLIENT_ADDRESS: Option<IpAddr>;
}

/// The client address of the request being served, if known.
pub fn current() -> Option<IpAddr> {
    CLIENT_ADDRESS.try_with(|address| *address).ok().flatten()
}

/// Runs `work` as a request from `address` (what [`layer`] does per request).
pub async fn scope<F: std::future::Future>(address: Option<IpAddr>, work: F) -> F::Output {
    CLIENT_ADDRESS.scope(address, work).await
}

/// The client address from the headers and the peer: `X-Forwarded-For`'s
/// first entry when `trust_forwarded_for` and it parses, else the peer.
pub fn client_address(
    headers: &HeaderMap,
    peer: Option<IpAddr>,
    trust_forwarded_for: bool,
) -> Option<IpAddr> {
    if trust_forwarded_for {
        let forwarded = headers
            .get(FORWARDED_FOR)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(',').next())
            .map(str::trim)
            .and_then(|first| {
                first
                    .parse::<IpAddr>()
                    .ok()
                    .or_else(|| first.parse::<SocketAddr>().ok().map(|s| s.ip()))
            });
        if forwarded.is_some() {
            return forwarded;
        }
    }
    peer
}

/// One client address as the throttle counts it: an IPv4 address, an IPv6
/// /64 network, or "unknown" (no address could be told; all such attempts
/// share one counter).
pub fn client_key(address: Option<IpAddr>) -> String {
    match address.map(|a| a.to_canonical()) {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            let network = Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("{network}/64")
        }
        None => "unknown".to_owned(),
    }
}

/// `routes` with every request's client address made [`current`].
pub fn layer(routes: Router, trust_forwarded_for: bool) -> Router {
    routes.layer(middleware::from_fn_with_state(
        trust_forwarded_for,
        with_client_address,
    ))
}

async fn with_client_address(
    State(trust_forwarded_for): State<bool>,
    request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let address = client_address(request.headers(), peer, trust_forwarded_for);
    scope(address, next.run(request)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(forwarded: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            FORWARDED_FOR,
            HeaderValue::from_str(forwarded).expect("a header value"),
        );
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn the_forwarded_client_counts_only_behind_a_trusted_proxy() {
        let peer = Some(ip("10.0.0.2"));
        let h = headers("203.0.113.7, 10.0.0.9");
        assert_eq!(client_address(&h, peer, true), Some(ip("203.0.113.7")));
        assert_eq!(
            client_address(&h, peer, false),
            peer,
            "a client cannot pick its address"
        );
    }

    #[test]
    fn a_missing_or_garbled_header_falls_back_to_the_peer() {
        let peer = Some(ip("10.0.0.2"));
        assert_eq!(client_address(&HeaderMap::new(), peer, true), peer);
        assert_eq!(client_address(&headers("unknown"), peer, true), peer);
        assert_eq!(
            client_address(&headers("[2001:db8::1]:4711"), peer, true),
            Some(ip("2001:db8::1"))
        );
    }

    #[tokio::test]
    async fn the_address_is_current_inside_its_scope_only() {
        assert_eq!(current(), None);
        let inside = scope(Some(ip("192.0.2.1")), async { current() }).await;
        assert_eq!(inside, Some(ip("192.0.2.1")));
    }

    #[test]
    fn ipv6_clients_count_by_their_64_network() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(client_key(Some(a)), client_key(Some(b)));
        assert_ne!(client_key(Some(a)), client_key(Some(c)));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().expect("ip");
        assert_eq!(client_key(Some(mapped)), "192.0.2.1");
        assert_eq!(client_key(None), "unknown");
    }
}
