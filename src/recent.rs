//! What happened lately, kept small for the status page: records per minute over the last hour,
//! and the latest stories with their members (the original and its translations side by side).
//!
//! Bounded: 60 minute buckets, `MAX_STORIES` stories of at most `MAX_MEMBERS` members each; the
//! story touched longest ago is dropped first. Pure data, no clock of its own: callers pass the
//! time, so tests drive it directly.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};

use crate::model::{Lang, Record, Relation, StoryUpdate};

pub const MINUTES: usize = 60;
pub const MAX_STORIES: usize = 20;
pub const MAX_MEMBERS: usize = 12;
pub const SNIPPET_CHARS: usize = 120;

/// The body's first non-empty line, cut at `SNIPPET_CHARS` characters.
fn snippet(body: &str) -> Option<String> {
    let line = body.lines().map(str::trim).find(|l| !l.is_empty())?;
    match line.char_indices().nth(SNIPPET_CHARS) {
        Some((cut, _)) => Some(format!("{}…", &line[..cut])),
        None => Some(line.to_string()),
    }
}

/// One member of a recent story.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    pub record_id: String,
    pub source: String,
    pub lang: Option<Lang>,
    /// The page's title, else the start of its body (`SNIPPET_CHARS`).
    pub title: Option<String>,
    pub location: String,
    pub relation: Relation,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Story {
    pub story_id: String,
    /// The record the story's sinks treat as canonical.
    pub canonical: String,
    pub updated: DateTime<Utc>,
    pub members: Vec<Member>,
    /// Members that arrived after `MAX_MEMBERS` were kept (counted, not listed).
    pub more: usize,
}

#[derive(Clone, Debug, Default)]
pub struct Recent {
    /// (minute since the epoch, records folded in that minute), oldest first.
    minutes: VecDeque<(i64, u64)>,
    /// Most recently touched first.
    stories: VecDeque<Story>,
}

impl Recent {
    /// A folded record: counts it in its minute and files it under its story.
    pub fn record(&mut self, r: &Record, now: DateTime<Utc>) {
        let minute = now.timestamp().div_euclid(60);
        match self.minutes.back_mut() {
            Some((m, n)) if *m == minute => *n += 1,
            _ => self.minutes.push_back((minute, 1)),
        }
        while self.minutes.front().is_some_and(|(m, _)| *m <= minute - MINUTES as i64) {
            self.minutes.pop_front();
        }
        let member = Member {
            record_id: r.id.clone(),
            source: r.source.clone(),
            lang: r.lang,
            title: r.title.clone().or_else(|| snippet(&r.body)),
            location: r.location.clone(),
            relation: r.relation,
        };
        let existing = self
            .stories
            .iter()
            .position(|s| s.story_id == r.story_id)
            .and_then(|i| self.stories.remove(i));
        let mut story = existing.unwrap_or_else(|| Story {
            story_id: r.story_id.clone(),
            canonical: r.duplicate_of.clone().unwrap_or_else(|| r.id.clone()),
            updated: now,
            members: Vec::new(),
            more: 0,
        });
        story.updated = now;
        if story.members.iter().any(|m| m.record_id == member.record_id) {
            // The same page again (a re-delivery): nothing new to list.
        } else if story.members.len() < MAX_MEMBERS {
            story.members.push(member);
        } else {
            story.more += 1;
        }
        self.stories.push_front(story);
        self.stories.truncate(MAX_STORIES);
    }

    /// A story's canonical member changed, or stories merged (event links change no story).
    pub fn update(&mut self, u: &StoryUpdate) {
        let u = match u {
            StoryUpdate::Canonical(u) => u,
            StoryUpdate::StoryMerge(m) => {
                let Some(at) = self.stories.iter().position(|s| s.story_id == m.merged_story_id) else {
                    return;
                };
                let gone = self.stories.remove(at).expect("position is in range");
                if let Some(s) = self.stories.iter_mut().find(|s| s.story_id == m.story_id) {
                    for mut member in gone.members {
                        if let Some(mm) = m.members.iter().find(|mm| mm.record_id == member.record_id) {
                            member.relation = mm.relation;
                        }
                        s.members.push(member);
                    }
                    s.more += gone.more;
                }
                return;
            }
            StoryUpdate::StorySplit(m) => {
                let Some(at) = self.stories.iter().position(|s| s.story_id == m.split_from) else {
                    return;
                };
                let from = &mut self.stories[at];
                let (gone, kept): (Vec<Member>, Vec<Member>) = std::mem::take(&mut from.members)
                    .into_iter()
                    .partition(|member| m.members.iter().any(|mm| mm.record_id == member.record_id));
                from.members = kept;
                let updated = from.updated;
                let mut members: Vec<Member> = gone
                    .into_iter()
                    .map(|mut member| {
                        if let Some(mm) = m.members.iter().find(|mm| mm.record_id == member.record_id) {
                            member.relation = mm.relation;
                        }
                        member
                    })
                    .collect();
                // The record that made the split is filed under the new story already.
                match self.stories.iter_mut().find(|s| s.story_id == m.story_id) {
                    Some(s) => {
                        members.append(&mut s.members);
                        s.members = members;
                        s.members.truncate(MAX_MEMBERS);
                    }
                    None => {
                        self.stories.insert(
                            at + 1,
                            Story {
                                story_id: m.story_id.clone(),
                                canonical: m.story_id.clone(),
                                updated,
                                members,
                                more: 0,
                            },
                        );
                        self.stories.truncate(MAX_STORIES);
                    }
                }
                return;
            }
            StoryUpdate::EventLink(_) => return,
        };
        if let Some(s) = self.stories.iter_mut().find(|s| s.story_id == u.story_id) {
            s.canonical = u.canonical.clone();
            if let Some(m) = s.members.iter_mut().find(|m| m.record_id == u.record_id) {
                m.relation = u.relation;
            }
            if let Some(m) = s.members.iter_mut().find(|m| m.record_id == u.canonical) {
                m.relation = Relation::Original;
            }
        }
    }

    /// Records per minute for the `MINUTES` minutes ending at `now`'s minute, oldest first.
    pub fn per_minute(&self, now: DateTime<Utc>) -> Vec<u64> {
        let last = now.timestamp().div_euclid(60);
        let first = last - MINUTES as i64 + 1;
        let mut out = vec![0; MINUTES];
        for (m, n) in &self.minutes {
            if (first..=last).contains(m) {
                out[(m - first) as usize] = *n;
            }
        }
        out
    }

    pub fn stories(&self) -> impl Iterator<Item = &Story> {
        self.stories.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, story: &str, lang: Lang, relation: Relation) -> Record {
        Record {
            id: id.into(),
            story_id: story.into(),
            event_id: story.into(),
            relation,
            duplicate_of: (relation != Relation::Original).then(|| format!("{story}-first")),
            source: "seeds".into(),
            location: format!("https://example.vn/{id}"),
            original_url: None,
            lang: Some(lang),
            title: Some(format!("title {id}")),
            body: String::new(),
            published_at: None,
            authors: Vec::new(),
            content_hash: String::new(),
            ingested_at: Utc::now(),
            canonical_url: None,
            updated_at: None,
            alternates: Vec::new(),
            lang_confidence: None,
        }
    }

    #[test]
    fn stories_collect_members_most_recent_first_and_stay_bounded() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let mut r = Recent::default();
        r.record(&record("fr1", "s1", Lang::Fr, Relation::Original), now);
        r.record(&record("x", "s2", Lang::Fr, Relation::Original), now);
        r.record(&record("vi1", "s1", Lang::Vi, Relation::Translation), now);
        let first = r.stories().next().unwrap();
        assert_eq!(first.story_id, "s1");
        let ids: Vec<&str> = first.members.iter().map(|m| m.record_id.as_str()).collect();
        assert_eq!(ids, ["fr1", "vi1"]);
        // The Vietnamese original becomes canonical.
        r.update(&StoryUpdate::Canonical(crate::model::CanonicalChange {
            story_id: "s1".into(),
            canonical: "vi1".into(),
            record_id: "fr1".into(),
            relation: Relation::Translation,
            updated_at: now,
        }));
        let s1 = r.stories().next().unwrap();
        assert_eq!(s1.canonical, "vi1");
        assert_eq!(s1.members[0].relation, Relation::Translation);
        assert_eq!(s1.members[1].relation, Relation::Original);

        for i in 0..MAX_STORIES + 5 {
            r.record(
                &record(&format!("n{i}"), &format!("new{i}"), Lang::En, Relation::Original),
                now,
            );
        }
        assert_eq!(r.stories().count(), MAX_STORIES);
        assert!(r.stories().all(|s| s.story_id.starts_with("new")));
        for i in 0..MAX_MEMBERS + 3 {
            r.record(&record(&format!("m{i}"), "big", Lang::Fr, Relation::NearDuplicate), now);
        }
        let big = r.stories().next().unwrap();
        assert_eq!((big.members.len(), big.more), (MAX_MEMBERS, 3));
    }

    #[test]
    fn a_split_moves_its_members_into_a_story_of_their_own() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let mut r = Recent::default();
        r.record(&record("vi1", "s1", Lang::Vi, Relation::Original), now);
        r.record(&record("vi2", "s1", Lang::Vi, Relation::NearDuplicate), now);
        r.record(&record("fr2", "s1", Lang::Fr, Relation::Translation), now);
        // The page that made the split arrives first, filed under the new story.
        r.record(&record("en2", "vi2", Lang::En, Relation::Translation), now);
        r.update(&StoryUpdate::StorySplit(crate::model::StorySplit {
            story_id: "vi2".into(),
            split_from: "s1".into(),
            event_id: "vi2".into(),
            members: vec![
                crate::model::SplitMember {
                    record_id: "vi2".into(),
                    relation: Relation::Original,
                    duplicate_of: None,
                },
                crate::model::SplitMember {
                    record_id: "fr2".into(),
                    relation: Relation::Translation,
                    duplicate_of: Some("vi2".into()),
                },
            ],
            updated_at: now,
        }));
        let stories: Vec<(&str, Vec<(&str, Relation)>)> = r
            .stories()
            .map(|s| {
                (
                    s.story_id.as_str(),
                    s.members.iter().map(|m| (m.record_id.as_str(), m.relation)).collect(),
                )
            })
            .collect();
        assert_eq!(
            stories,
            [
                (
                    "vi2",
                    vec![
                        ("vi2", Relation::Original),
                        ("fr2", Relation::Translation),
                        ("en2", Relation::Translation)
                    ]
                ),
                ("s1", vec![("vi1", Relation::Original)]),
            ]
        );
    }

    #[test]
    fn untitled_members_show_the_start_of_their_body() {
        assert_eq!(
            snippet("\n  Quảng Trị: 62.000 tấn  \nmore"),
            Some("Quảng Trị: 62.000 tấn".into())
        );
        let long = "ư".repeat(200);
        let s = snippet(&long).unwrap();
        assert_eq!(s.chars().count(), SNIPPET_CHARS + 1);
        assert!(s.ends_with('…'));
        assert_eq!(snippet(" \n "), None);
    }

    #[test]
    fn minutes_cover_the_last_hour_only() {
        let t0 = DateTime::from_timestamp(1_700_000_000 / 60 * 60, 0).unwrap();
        let mut r = Recent::default();
        r.record(&record("a", "s", Lang::Vi, Relation::Original), t0);
        r.record(&record("b", "s", Lang::Vi, Relation::Original), t0);
        let later = t0 + chrono::Duration::minutes(5);
        r.record(&record("c", "t", Lang::Vi, Relation::Original), later);
        let series = r.per_minute(later);
        assert_eq!(series.len(), MINUTES);
        assert_eq!(series[MINUTES - 1], 1);
        assert_eq!(series[MINUTES - 6], 2);
        assert_eq!(series.iter().sum::<u64>(), 3);
        // An hour on, the first minute has left the window.
        let much_later = t0 + chrono::Duration::minutes(61);
        r.record(&record("d", "u", Lang::Vi, Relation::Original), much_later);
        assert_eq!(r.per_minute(much_later).iter().sum::<u64>(), 2);
        assert_eq!(r.minutes.len(), 2);
    }
}
