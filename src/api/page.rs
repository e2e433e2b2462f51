//! The status page at `/`: each source's health and last fetch, records per minute over the last
//! hour as an inline SVG chart, the sinks, and the latest stories with their members side by side
//! (original and translations, with languages and links). Server-rendered HTML with inline CSS, no
//! script and no external asset; it reloads itself every 10 seconds.
//!
//! Everything that came from a page (titles, URLs) or an error is escaped; only http(s) locations
//! become links.

use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::Api;
use crate::recent::{MINUTES, Story};
use crate::report::{RunReport, SourceState};

pub(super) const STYLE: &str = "
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1d232a;background:#fafafa}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.4em 0 .4em}
table{border-collapse:collapse;background:#fff}th,td{padding:.25em .6em;border-bottom:1px solid #e3e3e3;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#17702a}.bad{color:#b3261e}.muted{color:#6b7280}
.story{background:#fff;border:1px solid #e3e3e3;border-radius:6px;margin:.6em 0;padding:.5em .7em}
.members{display:flex;gap:.7em;flex-wrap:wrap}
.member{flex:1 1 16em;border-left:3px solid #c9d3df;padding:.2em .6em}
.member.canonical{border-left-color:#17702a}
.lang{display:inline-block;font-weight:600;text-transform:uppercase;background:#eef2f7;border-radius:3px;padding:0 .35em;margin-right:.4em}
svg rect{fill:#4a78b5}
";

pub fn render(api: &Api, now: DateTime<Utc>) -> String {
    let report = api.stats.snapshot();
    let recent = api.stats.recent();
    let mut h = String::with_capacity(16 * 1024);
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"10\"><title>newsfold status</title>\
         <style>{STYLE}</style></head><body>"
    );
    let _ = write!(
        h,
        "<h1>newsfold</h1><p class=\"muted\">version {} · up {} · {} records · story index: {} documents, {}</p>",
        env!("CARGO_PKG_VERSION"),
        age(api.started.elapsed().as_secs()),
        report.records(),
        report.index.documents,
        bytes(report.index.memory_bytes)
    );
    if let Some(c) = &api.cluster {
        cluster(&mut h, c);
    }
    sources(&mut h, &report, now);
    chart(&mut h, &recent.per_minute(now));
    sinks(&mut h, api, &report);
    h.push_str("<h2>Latest stories</h2>");
    let mut any = false;
    for s in recent.stories() {
        story(&mut h, s, now);
        any = true;
    }
    if !any {
        h.push_str("<p class=\"muted\">No story yet.</p>");
    }
    h.push_str("</body></html>\n");
    h
}

/// This member's part in its cluster, and the members it saw last.
fn cluster(h: &mut String, c: &crate::cluster::Gauges) {
    use std::sync::atomic::Ordering::Relaxed;
    let members = c.members.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let _ = write!(
        h,
        "<h2>Cluster</h2><p id=\"cluster\">member <b>{}</b>{} · {} of {} partitions · {} pages published</p>\
         <ul id=\"members\">",
        escape(&c.name),
        if c.leader.load(Relaxed) { " · fold leader" } else { "" },
        c.partitions_held.load(Relaxed),
        c.partitions.load(Relaxed),
        c.published.load(Relaxed)
    );
    for m in &members {
        let _ = write!(h, "<li>{}</li>", escape(m));
    }
    h.push_str("</ul>");
}

fn sources(h: &mut String, r: &RunReport, now: DateTime<Utc>) {
    h.push_str(
        "<h2>Sources</h2><table id=\"sources\"><tr><th>source</th><th>state</th><th>last success</th>\
         <th>fetched</th><th>read</th><th>records</th><th>failures</th><th>last error</th></tr>",
    );
    for (name, c) in r.sources.iter().filter(|(_, c)| c.state != SourceState::Removed) {
        let healthy = !matches!(c.state, SourceState::Failed(_));
        let last = c.last_success.map_or("never".to_string(), |t| {
            format!("{} ago", age((now - t).num_seconds().max(0) as u64))
        });
        let error = c.last_error.as_ref().map_or(String::new(), |e| {
            format!(
                "{} {} <span class=\"muted\">({} ago)</span>",
                escape(e.kind.as_str()),
                escape(&e.message),
                age((now - e.at).num_seconds().max(0) as u64)
            )
        });
        let _ = write!(
            h,
            "<tr data-source=\"{}\"><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            escape(name),
            escape(name),
            if healthy { "ok" } else { "bad" },
            escape(&c.state.to_string()),
            last,
            c.fetched,
            c.read,
            c.records,
            c.failed_total(),
            error
        );
    }
    h.push_str("</table>");
}

/// Records per minute, oldest left, as bars scaled to the hour's busiest minute.
fn chart(h: &mut String, per_minute: &[u64]) {
    let (w, hgt, bar) = (MINUTES * 8, 60u64, 6);
    let max = per_minute.iter().copied().max().unwrap_or(0).max(1);
    let total: u64 = per_minute.iter().sum();
    let _ = write!(
        h,
        "<h2>Throughput, last hour</h2><p class=\"muted\">{total} records; busiest minute {}</p>\
         <svg id=\"throughput\" width=\"{w}\" height=\"{hgt}\" viewBox=\"0 0 {w} {hgt}\" role=\"img\" \
         aria-label=\"records per minute over the last hour\">",
        per_minute.iter().max().unwrap_or(&0)
    );
    for (i, n) in per_minute.iter().enumerate() {
        let bh = if *n == 0 { 0 } else { (n * hgt / max).max(1) };
        let ago = per_minute.len() - 1 - i;
        let _ = write!(
            h,
            "<rect x=\"{}\" y=\"{}\" width=\"{bar}\" height=\"{bh}\"><title>{ago} min ago: {n}</title></rect>",
            i * 8,
            hgt - bh
        );
    }
    let _ = write!(
        h,
        "<line x1=\"0\" y1=\"{hgt}\" x2=\"{w}\" y2=\"{hgt}\" stroke=\"#9aa5b1\"/></svg>\
         <div class=\"muted\" style=\"width:{w}px;display:flex;justify-content:space-between\">\
         <span>60 min ago</span><span>now</span></div>"
    );
}

fn sinks(h: &mut String, api: &Api, r: &RunReport) {
    h.push_str(
        "<h2>Sinks</h2><table id=\"sinks\"><tr><th>sink</th><th>state</th><th>delivered</th><th>retries</th>\
         <th>dead-lettered</th><th>queued</th></tr>",
    );
    for spec in &api.sinks {
        let e = r.sink_events.get(&spec.id).cloned().unwrap_or_default();
        let queued = api
            .queues
            .iter()
            .find(|(n, _)| n.strip_prefix("sink:") == Some(spec.id.as_str()))
            .map_or(0, |(_, len)| len());
        let (class, state) = if e.stopped {
            ("bad", "stopped")
        } else if e.down {
            ("bad", "retrying")
        } else {
            ("ok", "up")
        };
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"{class}\">{state}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{queued}</td></tr>",
            escape(&spec.id),
            r.delivered.get(&spec.id).copied().unwrap_or(0),
            e.retries,
            e.dead_lettered
        );
    }
    h.push_str("</table>");
}

fn story(h: &mut String, s: &Story, now: DateTime<Utc>) {
    let _ = write!(
        h,
        "<section class=\"story\" data-story=\"{}\"><div class=\"muted\"><a href=\"/stories/{}\">story</a> {} · {} member(s) · updated {} ago</div>\
         <div class=\"members\">",
        escape(&s.story_id),
        escape(&s.story_id),
        escape(&s.story_id),
        s.members.len() + s.more,
        age((now - s.updated).num_seconds().max(0) as u64)
    );
    for m in &s.members {
        let canonical = m.record_id == s.canonical;
        let lang = m.lang.map_or("?", |l| l.code());
        let title = m.title.as_deref().unwrap_or("(no title)");
        let linked = if m.location.starts_with("https://") || m.location.starts_with("http://") {
            format!("<a href=\"{}\">{}</a>", escape(&m.location), escape(title))
        } else {
            format!("{} <span class=\"muted\">{}</span>", escape(title), escape(&m.location))
        };
        let _ = write!(
            h,
            "<article class=\"member{}\" data-record=\"{}\" data-lang=\"{lang}\" data-relation=\"{}\">\
             <span class=\"lang\">{lang}</span>{}{linked}<div class=\"muted\">{} · {}</div></article>",
            if canonical { " canonical" } else { "" },
            escape(&m.record_id),
            m.relation.as_str(),
            if canonical { "<b>canonical</b> " } else { "" },
            escape(&m.source),
            m.relation.as_str()
        );
    }
    if s.more > 0 {
        let _ = write!(h, "<p class=\"muted\">and {} more</p>", s.more);
    }
    h.push_str("</div></section>");
}

/// Text or attribute value made safe for HTML.
pub(super) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn age(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        3600..86400 => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
        _ => format!("{} d {} h", secs / 86400, secs % 86400 / 3600),
    }
}

fn bytes(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / (1 << 20) as f64)
    } else {
        format!("{:.1} KiB", n as f64 / 1024.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_text_is_escaped() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(escape("Lê Văn Dũng"), "Lê Văn Dũng");
    }

    #[test]
    fn ages_read_naturally() {
        assert_eq!(age(5), "5 s");
        assert_eq!(age(125), "2 min");
        assert_eq!(age(3 * 3600 + 60), "3 h 1 min");
        assert_eq!(age(90_000), "1 d 1 h");
    }

    #[test]
    fn the_chart_scales_to_the_busiest_minute() {
        let mut per_minute = vec![0; MINUTES];
        per_minute[MINUTES - 1] = 10;
        per_minute[MINUTES - 2] = 5;
        let mut h = String::new();
        chart(&mut h, &per_minute);
        assert_eq!(h.matches("<rect").count(), MINUTES);
        assert!(h.contains("height=\"60\"><title>0 min ago: 10</title>"), "{h}");
        assert!(h.contains("height=\"30\"><title>1 min ago: 5</title>"), "{h}");
        assert!(h.contains("15 records"));
    }
}
