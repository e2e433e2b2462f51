//! Which network addresses newsfold may connect to, and a resolver that enforces it.
//!
//! Links come from pages we do not control, so a feed item or a redirect could point at the
//! machine itself, the local network or a cloud metadata endpoint. By default only globally
//! routable unicast addresses are allowed. The check runs after DNS resolution (the resolver drops
//! refused addresses, so a name that resolves only to private ones fails to connect), on IP
//! literals before a request is sent, and on the address actually connected to.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Whether `ip` is a public unicast address: not loopback, private, link-local, shared (CGNAT),
/// documentation, benchmarking, multicast, broadcast, reserved or unspecified, including IPv4
/// addresses carried inside IPv6 (mapped, compatible, NAT64, 6to4).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0                                    // "this network"
        || a == 10                              // private
        || a == 127                             // loopback
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 169 && b == 254)               // link-local, cloud metadata
        || (a == 172 && (16..32).contains(&b))  // private
        || (a == 192 && b == 0 && c == 0)       // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)       // documentation
        || (a == 192 && b == 88 && c == 99)     // 6to4 relay anycast
        || (a == 192 && b == 168)               // private
        || (a == 198 && (b == 18 || b == 19))   // benchmarking
        || (a == 198 && b == 51 && c == 100)    // documentation
        || (a == 203 && b == 0 && c == 113)     // documentation
        || a >= 224) // multicast, reserved, broadcast
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let seg = ip.segments();
    // IPv4-compatible (deprecated) ::a.b.c.d and NAT64 64:ff9b::a.b.c.d carry an IPv4 address.
    let embedded = Ipv4Addr::new((seg[6] >> 8) as u8, seg[6] as u8, (seg[7] >> 8) as u8, seg[7] as u8);
    if seg[..6].iter().all(|&s| s == 0) {
        // :: and ::1 fall here too, and are refused as "this network" and loopback would be.
        return !ip.is_unspecified() && !ip.is_loopback() && is_public_v4(embedded);
    }
    if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6].iter().all(|&s| s == 0) {
        return is_public_v4(embedded);
    }
    if seg[0] == 0x2002 {
        // 6to4: the IPv4 address is in segments 1 and 2.
        let v4 = Ipv4Addr::new((seg[1] >> 8) as u8, seg[1] as u8, (seg[2] >> 8) as u8, seg[2] as u8);
        return is_public_v4(v4);
    }
    !((seg[0] & 0xfe00) == 0xfc00           // unique local
        || (seg[0] & 0xffc0) == 0xfe80      // link-local
        || (seg[0] & 0xffc0) == 0xfec0      // site-local (deprecated)
        || (seg[0] & 0xff00) == 0xff00      // multicast
        || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
        || (seg[0] == 0x2001 && seg[1] < 0x0200)  // IETF protocol assignments (Teredo, ORCHID, …)
        || seg[0] == 0x0100) // discard-only
}

/// The address a request may use, given the source's `allow_private`.
pub fn allowed(ip: IpAddr, allow_private: bool) -> bool {
    allow_private || is_public(ip)
}

/// A DNS resolver that drops addresses `is_public` refuses. A name with no address left fails
/// with an error that says why, so the fetch is logged as refused rather than unreachable.
#[derive(Debug, Default, Clone)]
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found.iter().copied().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() && !found.is_empty() {
                return Err(Box::new(Refused(format!(
                    "{host} resolves only to non-public addresses ({}); set allow_private = true to fetch it",
                    found[0].ip()
                ))) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// A connection refused by the address policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_ranges_are_refused_and_public_ones_allowed() {
        let refused = [
            "127.0.0.1",
            "127.9.9.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "192.0.2.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2002:c0a8:0101::1",
            "2001:db8::1",
        ];
        for ip in refused {
            assert!(!is_public(ip.parse().unwrap()), "{ip} must be refused");
            assert!(allowed(ip.parse().unwrap(), true), "{ip} is allowed with allow_private");
        }
        let public = [
            "1.1.1.1",
            "8.8.8.8",
            "14.225.0.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ];
        for ip in public {
            assert!(is_public(ip.parse().unwrap()), "{ip} is public");
        }
    }
}
