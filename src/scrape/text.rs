//! The plain-text page format: one paragraph a line, as saved by earlier scrapers (the seeds).
//! A leading stamp line ("19:49, 06/06/2023") or "date 2024-01" prefix is metadata, not text.

use std::sync::LazyLock;

use regex::Regex;

use super::Extracted;
use crate::dates::parse_stamp;

static DATE_PREFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^date\s+(\d{4})-(\d{1,2})(?:-(\d{1,2}))?\s+").expect("prefix pattern compiles"));

pub fn read(text: &str) -> Extracted {
    let mut ex = Extracted::default();
    let mut lines: Vec<String> = text
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    if let Some(first) = lines.first_mut() {
        if let Some(dt) = parse_stamp(first) {
            ex.published_at = Some(dt);
            ex.provenance.date = "date line at the top";
            lines.remove(0);
        } else if let Some(c) = DATE_PREFIX.captures(first) {
            let year = c[1].parse().ok();
            let month = c[2].parse().ok();
            let day: Option<u32> = c.get(3).and_then(|d| d.as_str().parse().ok());
            if let (Some(y), Some(m)) = (year, month) {
                match day.and_then(|d| chrono::NaiveDate::from_ymd_opt(y, m, d)) {
                    Some(date) => {
                        ex.published_at = crate::dates::local_midnight(date);
                        ex.provenance.date = "date prefix";
                    }
                    None => ex.published_month = Some((y, m)),
                }
            }
            let rest = first[c[0].len()..].to_string();
            *first = rest;
        }
    }
    ex.provenance.body = "every line of the text";
    ex.lines = lines;
    ex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_leading_stamp_and_prefix() {
        let ex = read("19:49, 06/06/2023\nBHG - Dans l'après-midi du 6 juin\n\n");
        assert_eq!(
            ex.published_at.map(|d| d.to_rfc3339()).as_deref(),
            Some("2023-06-06T19:49:00+07:00")
        );
        assert_eq!(ex.lines, vec!["BHG - Dans l'après-midi du 6 juin"]);

        let ex = read(" date 2024-01 (QNO) - Chiều nay 19/1/2024\n");
        assert_eq!(ex.published_month, Some((2024, 1)));
        assert_eq!(ex.lines, vec!["(QNO) - Chiều nay 19/1/2024"]);
    }
}
