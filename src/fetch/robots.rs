//! robots.txt, per origin: what our agent may fetch and how slowly (Crawl-delay).
//!
//! Matching is texting_robots' (Google-compatible, fuzzed); this module owns the policy around it,
//! after RFC 9309: a 4xx robots.txt means no rules; a 5xx or unreachable one means stay away for
//! now (retried after `UNAVAILABLE_TTL`); a good one is kept for `TTL`. Bodies over
//! `MAX_ROBOTS_BYTES` are cut there, as the RFC allows.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use texting_robots::Robot;
use tokio::time::Instant;

pub const MAX_ROBOTS_BYTES: u64 = 500 * 1024;
const TTL: Duration = Duration::from_secs(24 * 3600);
const UNAVAILABLE_TTL: Duration = Duration::from_secs(600);
/// A Crawl-delay above this is treated as this (and still logged as what the site asked).
pub const MAX_CRAWL_DELAY: Duration = Duration::from_secs(120);

/// What one origin's robots.txt says for our agent.
#[derive(Clone)]
pub enum Rules {
    /// No robots.txt (4xx), or one that could not be parsed: everything allowed.
    AllowAll,
    /// robots.txt answered 5xx or could not be reached: nothing allowed until it can be read.
    Unavailable(crate::fetch::FetchError),
    Parsed(Arc<Robot>),
}

impl Rules {
    /// Parses a robots.txt body for `agent` (the product token of our User-Agent).
    pub fn parse(agent: &str, body: &[u8]) -> Rules {
        let body = &body[..body.len().min(MAX_ROBOTS_BYTES as usize)];
        match Robot::new(agent, body) {
            Ok(r) => Rules::Parsed(Arc::new(r)),
            Err(_) => Rules::AllowAll,
        }
    }

    /// Whether `url` may be fetched. An unreachable robots.txt fails the fetch with its own
    /// reason (the host is down, not our rules).
    pub fn check(&self, url: &str) -> Result<(), crate::fetch::FetchError> {
        match self {
            Rules::AllowAll => Ok(()),
            Rules::Unavailable(why) => Err(why.clone().context("robots.txt")),
            Rules::Parsed(r) if r.allowed(url) => Ok(()),
            Rules::Parsed(_) => Err(crate::fetch::FetchError::Robots("disallowed by robots.txt".to_string())),
        }
    }

    /// The Crawl-delay for our agent, capped at `MAX_CRAWL_DELAY`.
    pub fn crawl_delay(&self) -> Option<Duration> {
        match self {
            Rules::Parsed(r) => r
                .delay
                .filter(|d| d.is_finite() && *d > 0.0)
                .map(|d| Duration::from_secs_f32(d).min(MAX_CRAWL_DELAY)),
            _ => None,
        }
    }

    fn ttl(&self) -> Duration {
        match self {
            Rules::Unavailable(_) => UNAVAILABLE_TTL,
            _ => TTL,
        }
    }
}

/// The agent token robots.txt groups are matched against: the User-Agent's first product name.
pub fn agent_token(user_agent: &str) -> &str {
    user_agent
        .split(|c: char| c == '/' || c.is_whitespace())
        .find(|s| !s.is_empty())
        .unwrap_or("newsfold")
}

/// Rules by origin (`scheme://host:port`) and agent token, with their expiry.
#[derive(Default)]
pub struct RobotsCache {
    map: Mutex<HashMap<(String, String), (Instant, Rules)>>,
}

impl RobotsCache {
    pub fn get(&self, origin: &str, agent: &str) -> Option<Rules> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&(origin.to_string(), agent.to_string()))
            .filter(|(expires, _)| *expires > Instant::now())
            .map(|(_, r)| r.clone())
    }

    pub fn put(&self, origin: &str, agent: &str, rules: Rules) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded: a crawl that wanders over many origins forgets expired ones first, then all.
        if map.len() >= 10_000 {
            let now = Instant::now();
            map.retain(|_, (e, _)| *e > now);
            if map.len() >= 10_000 {
                map.clear();
            }
        }
        let expires = Instant::now() + rules.ttl();
        map.insert((origin.to_string(), agent.to_string()), (expires, rules));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_for_our_agent_and_crawl_delay() {
        let txt = b"User-agent: *\nDisallow: /private/\n\nUser-agent: newsfold\nDisallow: /admin/\nDisallow: */print\nCrawl-delay: 3\n";
        let r = Rules::parse("newsfold", txt);
        assert!(r.check("https://baohagiang.vn/thoi-su/a.html").is_ok());
        assert!(r.check("https://baohagiang.vn/admin/x").is_err());
        assert!(r.check("https://baohagiang.vn/tin/a/print").is_err());
        // Our group replaces the `*` group.
        assert!(r.check("https://baohagiang.vn/private/x").is_ok());
        assert_eq!(r.crawl_delay(), Some(Duration::from_secs(3)));
        let other = Rules::parse("otherbot", txt);
        assert!(other.check("https://baohagiang.vn/private/x").is_err());
        assert_eq!(other.crawl_delay(), None);
        let slow = Rules::parse("newsfold", b"User-agent: *\nCrawl-delay: 86400\n");
        assert_eq!(slow.crawl_delay(), Some(MAX_CRAWL_DELAY));
        let down = Rules::Unavailable(crate::fetch::FetchError::Connect("refused".into()));
        let err = down.check("https://a.vn/").unwrap_err();
        assert_eq!(
            (err.kind(), err.to_string().as_str()),
            (
                crate::kinds::FailureKind::Connect,
                "connection failed: robots.txt: refused"
            )
        );
        assert!(Rules::AllowAll.check("https://a.vn/").is_ok());
    }

    #[test]
    fn agent_token_is_the_first_product() {
        assert_eq!(agent_token("newsfold/0.1 (+https://example.org/bot)"), "newsfold");
        assert_eq!(agent_token("  MyBot 2.0"), "MyBot");
        assert_eq!(agent_token(""), "newsfold");
    }
}
