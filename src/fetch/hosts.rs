//! Per-host politeness: how many requests may be open to one host at once, how far apart they
//! start, and whether the host asked us to wait (429/503 with Retry-After).
//!
//! Invariant: every request newsfold sends, robots.txt included, holds a `Visit` of its host for
//! as long as the response is read, so the limits hold for the whole exchange. Spacing is a GCRA
//! limiter (governor) with one request per `delay` and no burst; the delay is the larger of the
//! source's `min_delay` and the host's robots.txt Crawl-delay.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// The limits one source asks for on the hosts it visits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub concurrency: usize,
    pub min_delay: Duration,
}

struct Host {
    /// Replaced (not resized) when a source's new limits apply: visits holding the old one finish
    /// under it.
    slots: Mutex<Arc<Semaphore>>,
    /// The limits the host's slots and spacing were made for, and the host's Crawl-delay.
    limits: Mutex<(Limits, Duration)>,
    /// `None` when requests need no spacing.
    spacing: Mutex<(Duration, Option<Arc<DefaultDirectRateLimiter>>)>,
    paused_until: Mutex<Option<Instant>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn limiter(delay: Duration) -> Option<Arc<DefaultDirectRateLimiter>> {
    Quota::with_period(delay).map(|q| Arc::new(RateLimiter::direct(q.allow_burst(NonZeroU32::MIN))))
}

/// Every host newsfold has talked to in this process. A host's limits are those of the source that
/// configured it, applied when that source starts (again after a reload, so changed limits take
/// effect), else of the first source that reached it; a robots.txt Crawl-delay can only lengthen
/// its spacing.
#[derive(Default)]
pub struct Hosts {
    map: Mutex<HashMap<String, Arc<Host>>>,
}

/// Permission to send one request to a host; dropping it frees the host's slot.
pub struct Visit {
    _slot: OwnedSemaphorePermit,
    spacing: Option<Arc<DefaultDirectRateLimiter>>,
}

impl Visit {
    /// Waits out the host's spacing once more. For a visit that then waited for something else
    /// (a global slot): its request must still start at least `delay` after the previous one.
    pub async fn respace(&self) {
        if let Some(l) = &self.spacing {
            l.until_ready().await;
        }
    }
}

impl Hosts {
    fn host(&self, key: &str, limits: Limits) -> Arc<Host> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(key.to_string())
            .or_insert_with(|| {
                Arc::new(Host {
                    slots: Mutex::new(Arc::new(Semaphore::new(limits.concurrency.max(1)))),
                    limits: Mutex::new((limits, Duration::ZERO)),
                    spacing: Mutex::new((limits.min_delay, limiter(limits.min_delay))),
                    paused_until: Mutex::new(None),
                })
            })
            .clone()
    }

    /// A source that configures `key` starts with `limits`: the host takes them from now on (its
    /// Crawl-delay still holds if longer).
    pub fn apply(&self, key: &str, limits: Limits) {
        let host = self.host(key, limits);
        let mut current = lock(&host.limits);
        if current.0 == limits {
            return;
        }
        let crawl_delay = current.1;
        *current = (limits, crawl_delay);
        *lock(&host.slots) = Arc::new(Semaphore::new(limits.concurrency.max(1)));
        let delay = limits.min_delay.max(crawl_delay);
        *lock(&host.spacing) = (delay, limiter(delay));
    }

    /// Waits until `key` may receive a request under `limits`: a free slot, the spacing since the
    /// previous request, and the end of any pause the host asked for.
    pub async fn visit(&self, key: &str, limits: Limits) -> Visit {
        let host = self.host(key, limits);
        let slots = lock(&host.slots).clone();
        let slot = slots.acquire_owned().await.expect("host semaphores are never closed");
        loop {
            let paused = *host.paused_until.lock().unwrap_or_else(|p| p.into_inner());
            match paused {
                Some(until) if until > Instant::now() => tokio::time::sleep_until(until).await,
                _ => break,
            }
        }
        let spacing = host.spacing.lock().unwrap_or_else(|p| p.into_inner()).1.clone();
        if let Some(l) = &spacing {
            l.until_ready().await;
        }
        Visit { _slot: slot, spacing }
    }

    /// The host asked us to wait (Retry-After): no request to it starts before `until`.
    pub fn pause(&self, key: &str, limits: Limits, until: Instant) {
        let host = self.host(key, limits);
        let mut paused = host.paused_until.lock().unwrap_or_else(|p| p.into_inner());
        if paused.is_none_or(|p| p < until) {
            *paused = Some(until);
        }
    }

    /// Lengthens the host's spacing to `delay` (a robots.txt Crawl-delay) if it is shorter.
    pub fn slow_down(&self, key: &str, limits: Limits, delay: Duration) {
        let host = self.host(key, limits);
        {
            let mut l = lock(&host.limits);
            l.1 = l.1.max(delay);
        }
        let mut spacing = lock(&host.spacing);
        if delay > spacing.0 {
            // The request that brought the news (robots.txt) counts as the previous one.
            let fresh = limiter(delay);
            if let Some(l) = &fresh {
                let _ = l.check();
            }
            *spacing = (delay, fresh);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // governor keeps real time, so this test does too, with short delays.
    #[tokio::test]
    async fn requests_to_one_host_are_spaced_and_paused() {
        let ms = Duration::from_millis;
        let hosts = Hosts::default();
        let limits = Limits {
            concurrency: 1,
            min_delay: ms(150),
        };
        let start = Instant::now();
        for _ in 0..3 {
            drop(hosts.visit("a.vn", limits).await);
        }
        assert!(start.elapsed() >= ms(300), "{:?}", start.elapsed());
        // Another host is not held up by the first one's spacing.
        let other = Instant::now();
        drop(hosts.visit("b.vn", limits).await);
        assert!(other.elapsed() < ms(100));
        hosts.pause("b.vn", limits, Instant::now() + ms(400));
        let paused = Instant::now();
        drop(hosts.visit("b.vn", limits).await);
        assert!(paused.elapsed() >= ms(400));
        hosts.slow_down("a.vn", limits, ms(500));
        drop(hosts.visit("a.vn", limits).await);
        let a = Instant::now();
        drop(hosts.visit("a.vn", limits).await);
        assert!(a.elapsed() >= ms(450), "{:?}", a.elapsed());
    }

    #[tokio::test]
    async fn a_source_restarted_with_new_limits_applies_them() {
        let hosts = Hosts::default();
        let one = Limits {
            concurrency: 1,
            min_delay: Duration::ZERO,
        };
        let _held = hosts.visit("a.vn", one).await;
        let second = tokio::time::timeout(Duration::from_millis(100), hosts.visit("a.vn", one)).await;
        assert!(second.is_err(), "one slot is taken");
        let two = Limits { concurrency: 2, ..one };
        hosts.apply("a.vn", two);
        let second = tokio::time::timeout(Duration::from_millis(100), hosts.visit("a.vn", two)).await;
        assert!(second.is_ok(), "the new limits give a free slot");
        // Crawl-delay outlives new limits when it is longer.
        hosts.slow_down("b.vn", one, Duration::from_millis(300));
        hosts.apply("b.vn", two);
        drop(hosts.visit("b.vn", two).await);
        let t = Instant::now();
        drop(hosts.visit("b.vn", two).await);
        assert!(t.elapsed() >= Duration::from_millis(250), "{:?}", t.elapsed());
    }

    #[tokio::test]
    async fn a_host_has_at_most_its_concurrency_in_flight() {
        let hosts = Hosts::default();
        let limits = Limits {
            concurrency: 2,
            min_delay: Duration::ZERO,
        };
        let first = hosts.visit("a.vn", limits).await;
        let _second = hosts.visit("a.vn", limits).await;
        let third = tokio::time::timeout(Duration::from_millis(100), hosts.visit("a.vn", limits)).await;
        assert!(third.is_err(), "a third visit must wait for a free slot");
        drop(first);
        let third = tokio::time::timeout(Duration::from_millis(100), hosts.visit("a.vn", limits)).await;
        assert!(third.is_ok());
    }
}
