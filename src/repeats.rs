//! Rate limit for repeated identical failure lines: a dead feed polled every minute writes one
//! WARN line, then one per `window` saying how many times it failed meanwhile, not a line a minute.
//! The failures themselves are always counted (`Stats::failed_with`); only the lines are limited.
//!
//! Bounded: at most `MAX_KEYS` failures are remembered; when full, those not logged within the
//! window are forgotten first (they would be logged again anyway).

use std::collections::HashMap;
use std::time::{Duration, Instant};

pub const MAX_KEYS: usize = 10_000;
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(3600);

/// What to do with one occurrence of a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Log it. `repeated` is how many occurrences were left out since the last line (0 the first
    /// time).
    Log { repeated: u64 },
    /// Leave it out of the log; it is counted towards the next line.
    Suppress,
}

#[derive(Debug)]
struct Seen {
    kind: String,
    logged_at: Instant,
    suppressed: u64,
}

#[derive(Debug)]
pub struct Repeats {
    window: Duration,
    seen: HashMap<String, Seen>,
}

impl Repeats {
    pub fn new(window: Duration) -> Repeats {
        Repeats {
            window,
            seen: HashMap::new(),
        }
    }

    /// One failure of `kind` at `key` (a URL, a folder). A failure of another kind at the same key
    /// is news and is logged.
    pub fn check(&mut self, key: &str, kind: &str, now: Instant) -> Verdict {
        if let Some(s) = self.seen.get_mut(key)
            && s.kind == kind
        {
            if now.saturating_duration_since(s.logged_at) < self.window {
                s.suppressed += 1;
                return Verdict::Suppress;
            }
            let repeated = s.suppressed;
            s.logged_at = now;
            s.suppressed = 0;
            return Verdict::Log { repeated };
        }
        if self.seen.len() >= MAX_KEYS {
            let window = self.window;
            self.seen
                .retain(|_, s| now.saturating_duration_since(s.logged_at) < window);
            if self.seen.len() >= MAX_KEYS {
                self.seen.clear();
            }
        }
        self.seen.insert(
            key.to_string(),
            Seen {
                kind: kind.to_string(),
                logged_at: now,
                suppressed: 0,
            },
        );
        Verdict::Log { repeated: 0 }
    }

    /// The key works again (the URL answered): its next failure is news.
    pub fn clear(&mut self, key: &str) {
        self.seen.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_window_with_the_count_left_out() {
        let t0 = Instant::now();
        let mut r = Repeats::new(Duration::from_secs(60));
        let at = |s| t0 + Duration::from_secs(s);
        assert_eq!(r.check("feed", "http_404", t0), Verdict::Log { repeated: 0 });
        for s in 1..60 {
            assert_eq!(r.check("feed", "http_404", at(s)), Verdict::Suppress);
        }
        // Another URL, or another kind of failure at the same URL, is logged on its own.
        assert_eq!(r.check("other", "http_404", t0), Verdict::Log { repeated: 0 });
        assert_eq!(r.check("other", "timeout", at(1)), Verdict::Log { repeated: 0 });
        assert_eq!(r.check("feed", "http_404", at(60)), Verdict::Log { repeated: 59 });
        assert_eq!(r.check("feed", "http_404", at(61)), Verdict::Suppress);
        r.clear("feed");
        assert_eq!(r.check("feed", "http_404", at(62)), Verdict::Log { repeated: 0 });
    }

    #[test]
    fn memory_is_bounded() {
        let t0 = Instant::now();
        let mut r = Repeats::new(Duration::from_secs(60));
        for i in 0..MAX_KEYS + 10 {
            r.check(&format!("k{i}"), "timeout", t0);
        }
        assert!(r.seen.len() <= MAX_KEYS);
    }
}
