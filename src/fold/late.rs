//! Late evidence corrects the past: a page naming pages of two stories as its versions merges
//! them, a page that is one member's article and contradicts another splits their story, and a
//! page sharing the facts of two agreeing events links them. Each correction moves the
//! documents in the index and says which persisted rows to rewrite (`Moved`) and what to tell the
//! sinks (`StoryUpdate`).

use super::index::{Id, format_id};
use super::row::Moved;
use super::*;
use crate::model::{EventLink, MergedMember, SplitMember, StoryMerge, StorySplit};

impl Folder {
    /// Moves every member of story `merged` into `into`, each in its relation to `into`'s
    /// canonical member, into `into`'s event.
    pub(super) fn merge_story(&mut self, into: Id, merged: Id, at: i64, moved: &mut Vec<Moved>) -> Option<StoryUpdate> {
        if into == merged {
            return None;
        }
        let gone = match self.stories.remove(&merged) {
            Some(s) => s,
            None => self.single(merged)?,
        };
        let Some(target) = self.entry_of(into) else {
            if gone.members.len() > 1 {
                self.stories.insert(merged, gone);
            }
            return None;
        };
        let (canonical, canonical_lang, event) = (target.canonical, target.canonical_lang, target.event);
        let mut members = Vec::new();
        for &seq in &gone.members {
            if !self.index.is_live(seq) {
                continue;
            }
            let relation = relation_to(self.index.lang(seq), canonical_lang);
            let (_, dup) = self.index.relation(seq);
            let duplicate_of = dup.unwrap_or(canonical);
            self.index.set_story(seq, into, relation, duplicate_of);
            self.index.set_event(seq, event);
            let record = format_id(self.index.record(seq));
            moved.push(Moved {
                record_id: record.clone(),
                story_id: format_id(into),
                event_id: format_id(event),
                relation,
                duplicate_of: Some(format_id(duplicate_of)),
            });
            members.push(MergedMember {
                record_id: record,
                relation,
                duplicate_of: format_id(duplicate_of),
            });
        }
        if let Some(target) = self.stories.get_mut(&into) {
            target.members.extend(&gone.members);
            target
                .members
                .sort_unstable_by_key(|&s| s.wrapping_sub(self.index.next_seq()));
        }
        Some(StoryUpdate::StoryMerge(StoryMerge {
            story_id: format_id(into),
            merged_story_id: format_id(merged),
            event_id: format_id(event),
            members,
            updated_at: chrono::DateTime::from_timestamp(at, 0).unwrap_or_default(),
        }))
    }

    /// Takes `members` (live documents of story `from`, the new story's first member first) out
    /// of it into a story and an event of their own, named by that first member's record, which
    /// becomes their canonical member; the others stand in their relation to it.
    pub(super) fn split_story(
        &mut self,
        from: Id,
        members: &[u32],
        at: i64,
        moved: &mut Vec<Moved>,
    ) -> Option<StoryUpdate> {
        let (&first, rest) = members.split_first()?;
        let ix = &self.index;
        if !ix.is_live(first) || ix.story(first) != from {
            return None;
        }
        let story = ix.record(first);
        let lang = ix.lang(first);
        let mut listed = Vec::with_capacity(members.len());
        self.index.set_story(first, story, Relation::Original, 0);
        self.index.set_event(first, story);
        listed.push(SplitMember {
            record_id: format_id(story),
            relation: Relation::Original,
            duplicate_of: None,
        });
        for &seq in rest {
            if !self.index.is_live(seq) {
                continue;
            }
            let (was, dup) = self.index.relation(seq);
            let relation = match was {
                Relation::Duplicate => Relation::Duplicate,
                _ => relation_to(self.index.lang(seq), lang),
            };
            let duplicate_of = dup.unwrap_or(story);
            self.index.set_story(seq, story, relation, duplicate_of);
            self.index.set_event(seq, story);
            listed.push(SplitMember {
                record_id: format_id(self.index.record(seq)),
                relation,
                duplicate_of: Some(format_id(duplicate_of)),
            });
        }
        for m in &listed {
            moved.push(Moved {
                record_id: m.record_id.clone(),
                story_id: format_id(story),
                event_id: format_id(story),
                relation: m.relation,
                duplicate_of: m.duplicate_of.clone(),
            });
        }
        if let Some(s) = self.stories.get_mut(&from) {
            s.members.retain(|seq| !members.contains(seq));
            if s.members.is_empty() {
                self.stories.remove(&from);
            }
        }
        if members.len() > 1 {
            let mut seqs = members.to_vec();
            seqs.sort_unstable_by_key(|&s| s.wrapping_sub(self.index.next_seq()));
            self.stories.insert(
                story,
                StoryState {
                    canonical: story,
                    canonical_lang: lang,
                    rank: self.rank(lang),
                    event: story,
                    members: seqs,
                },
            );
        }
        Some(StoryUpdate::StorySplit(StorySplit {
            story_id: format_id(story),
            split_from: format_id(from),
            event_id: format_id(story),
            members: listed,
            updated_at: chrono::DateTime::from_timestamp(at, 0).unwrap_or_default(),
        }))
    }

    /// Puts every story of event `merged` into event `into`.
    pub(super) fn link_event(&mut self, into: Id, merged: Id, at: i64, moved: &mut Vec<Moved>) -> Option<StoryUpdate> {
        if into == merged {
            return None;
        }
        let mut any = false;
        // Stories of one page have no entry: their founding documents carry the event. A link is
        // rare, so a walk over the index is affordable.
        let singles: Vec<u32> = self
            .index
            .seqs()
            .filter(|&seq| {
                let story = self.index.story(seq);
                story == self.index.record(seq) && !self.stories.contains_key(&story) && self.index.event(seq) == merged
            })
            .collect();
        for seq in singles {
            any = true;
            self.index.set_event(seq, into);
            let (relation, dup) = self.index.relation(seq);
            moved.push(Moved {
                record_id: format_id(self.index.record(seq)),
                story_id: format_id(self.index.story(seq)),
                event_id: format_id(into),
                relation,
                duplicate_of: dup.map(format_id),
            });
        }
        for (&story, state) in self.stories.iter_mut() {
            if state.event != merged {
                continue;
            }
            any = true;
            state.event = into;
            for &seq in &state.members {
                if !self.index.is_live(seq) {
                    continue;
                }
                self.index.set_event(seq, into);
                let (relation, dup) = self.index.relation(seq);
                moved.push(Moved {
                    record_id: format_id(self.index.record(seq)),
                    story_id: format_id(story),
                    event_id: format_id(into),
                    relation,
                    duplicate_of: dup.map(format_id),
                });
            }
        }
        any.then(|| {
            StoryUpdate::EventLink(EventLink {
                event_id: format_id(into),
                merged_event_id: format_id(merged),
                updated_at: chrono::DateTime::from_timestamp(at, 0).unwrap_or_default(),
            })
        })
    }
}
