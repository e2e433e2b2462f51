//! `once` on a terminal: one progress line on stderr, redrawn twice a second: pages done, the
//! rate, records, failures and each source's state. Erased before the summary table is printed.
//! Not drawn when stderr is not a terminal (a pipe, a file, a service's journal).

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::report::RunReport;
use crate::stats::Stats;

const EVERY: Duration = Duration::from_millis(500);
/// Longest line drawn: wider lines wrap and the redraw would leave debris.
const MAX_WIDTH: usize = 150;

/// Draws until `stop` is cancelled, then erases the line. Await the handle before printing.
pub fn spawn(stats: Arc<Stats>, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
    let started = Instant::now();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => {
                    let text = line(&stats.snapshot(), started.elapsed());
                    let mut err = std::io::stderr().lock();
                    let _ = write!(err, "\r\x1b[2K{text}");
                    let _ = err.flush();
                }
            }
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K");
        let _ = err.flush();
    })
}

/// The progress line for a report so far.
pub fn line(r: &RunReport, elapsed: Duration) -> String {
    let pages: u64 = r.sources.values().map(|c| c.read + c.already_done).sum();
    let failed: u64 = r.sources.values().map(|c| c.failed_total()).sum();
    let secs = elapsed.as_secs_f64().max(0.001);
    let mut text = format!(
        "pages {pages} ({:.1}/s) · records {} · failed {failed} · {:.0} s",
        pages as f64 / secs,
        r.records(),
        elapsed.as_secs_f64()
    );
    for (name, c) in &r.sources {
        let part = format!(" · {name} {} {}", c.state, c.read + c.already_done);
        if text.chars().count() + part.chars().count() > MAX_WIDTH {
            text.push_str(" …");
            break;
        }
        text.push_str(&part);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{SourceCounts, SourceState};

    #[test]
    fn the_line_shows_pages_rate_and_each_source() {
        let mut r = RunReport::default();
        r.sources.insert(
            "seeds".into(),
            SourceCounts {
                read: 40,
                already_done: 10,
                records: 38,
                state: SourceState::Done,
                ..Default::default()
            },
        );
        r.sources.insert(
            "vn".into(),
            SourceCounts {
                read: 50,
                state: SourceState::Polling,
                failed: [(crate::kinds::FailureKind::Http4xx, 2)].into(),
                ..Default::default()
            },
        );
        let l = line(&r, Duration::from_secs(4));
        assert_eq!(
            l,
            "pages 100 (25.0/s) · records 38 · failed 2 · 4 s · seeds done 50 · vn polling 50"
        );
        for i in 0..40 {
            r.sources.insert(format!("source-{i}"), SourceCounts::default());
        }
        let long = line(&r, Duration::from_secs(4));
        assert!(long.chars().count() <= MAX_WIDTH + 2, "{long}");
        assert!(long.ends_with(" …"));
    }
}
