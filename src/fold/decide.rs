//! The fold's tests of one record against its candidates: is it the same article as a member
//! (`same_article`, `faithful`), does it agree with that member's whole story
//! (`agrees_with_story`), is the match mutual at story level (`is_mutual`), or does it only report
//! the same event (`same_event`). Pure reads of the index; `Folder::decide` calls them in that
//! order (see the module documentation of `fold`).

use super::evidence::{self, Overlap};
use super::index::{Id, Query, Scored};
use super::*;

/// A candidate story for a record: the member it matched and how.
#[derive(Clone, Copy, Debug)]
pub(super) struct Match {
    pub(super) story: Id,
    pub(super) doc: u32,
    pub(super) score: f32,
    /// Jaccard of the sketches for a near-copy; the fingerprint score otherwise.
    pub(super) reported: f32,
}

impl Folder {
    /// Whether the record is the candidate's article: a near-copy in words within one language, or
    /// a faithful rendering of the same facts (a translation, or a second translation into the
    /// same language). Returns the score to report.
    pub(super) fn same_article(&self, lang: Option<Lang>, input: &FoldInput, c: &Scored, o: &Overlap) -> Option<f32> {
        let ix = &self.index;
        let o = *o;
        if o.day_conflict || !o.numbers_agree() {
            return None;
        }
        if same_lang(ix.lang(c.doc), lang) {
            if let Some(j) = self.near_copy(input, c) {
                return Some(j);
            }
            let retranslation = c.score >= SAME_LANG_MIN_SCORE
                && c.evidence >= MIN_EVIDENCE
                && o.coverage >= SAME_LANG_COVERAGE
                && o.order >= FAITHFUL_ORDER;
            // A short excerpt whose text the page contains and whose facts it states.
            let other = ix.sketch(c.doc);
            let excerpt = input.sketch.containment(other) >= NEAR_LOOSE_CONTAINMENT
                && o.containment >= EXCERPT_CONTAINMENT
                && o.coverage >= SAME_LANG_COVERAGE
                && faithful(c, &o, self.min_score);
            return (retranslation || excerpt).then_some(c.score);
        }
        // Two pages in a language not known (Chinese, Arabic...) may be one language: a copy in
        // words is the same article whatever it is.
        if lang.is_none()
            && ix.lang(c.doc).is_none()
            && let Some(j) = self.near_copy(input, c)
        {
            return Some(j);
        }
        faithful(c, &o, self.min_score).then_some(c.score)
    }

    /// A same-language near-copy in words (re-post, truncation, light edit) that states the same
    /// facts: stories written on one template share most of their wording. Returns the Jaccard.
    fn near_copy(&self, input: &FoldInput, c: &Scored) -> Option<f32> {
        let other = self.index.sketch(c.doc);
        if input.sketch.shingles < NEAR_MIN_SHINGLES || other.shingles < NEAR_MIN_SHINGLES || c.score < NEAR_MIN_SCORE {
            return None;
        }
        let j = input.sketch.jaccard(other);
        let contained = input.sketch.containment(other);
        // A copy states the same facts (a truncated one, a subset of them) ...
        let facts = self
            .index
            .feature_containment(&input.features, self.index.features(c.doc));
        if facts < NEAR_FACTS {
            return None;
        }
        // ... in nearly the same words; a subset of the facts vouches for a looser overlap.
        let subset =
            c.evidence >= MIN_EVIDENCE && contained >= NEAR_LOOSE_CONTAINMENT && facts >= NEAR_FEATURE_CONTAINMENT;
        let near = j >= NEAR_JACCARD || contained >= NEAR_CONTAINMENT || subset;
        near.then_some(j)
    }

    /// Whether the record agrees with the story as a whole: no member's event day or numbers
    /// contradict it, and no member in its language is an independent write-up of it (the same
    /// facts in other words, not a faithful rendering).
    pub(super) fn agrees_with_story(
        &self,
        lang: Option<Lang>,
        input: &FoldInput,
        query: &Query<'_>,
        m: &Match,
    ) -> bool {
        let ix = &self.index;
        let Some(story) = self.stories.get(&m.story) else {
            return true;
        };
        // When the matched member mentions the record's lead date, that date is one of the
        // article's (an excerpt of later paragraphs opens on it), not a different event's day.
        let vouched = input
            .event_day
            .is_some_and(|d| evidence::mentions(ix.features(m.doc), d));
        for &seq in story.members.iter().rev().take(AGREE_MEMBERS) {
            if seq == m.doc || !ix.is_live(seq) {
                continue;
            }
            let o = Overlap::of(input.side(), self.side(seq));
            if (o.day_conflict && !vouched) || !o.numbers_agree() {
                return false;
            }
            if same_lang(ix.lang(seq), lang) {
                let c = ix.score(query, seq);
                let copy = self.near_copy(input, &c).is_some();
                let faithful = o.coverage >= SAME_LANG_COVERAGE && o.order >= FAITHFUL_ORDER;
                if !copy && !faithful && c.score >= WRITE_UP_SCORE {
                    return false;
                }
            }
        }
        true
    }

    /// When the record is, beyond doubt, the matched member's article (a near copy in its
    /// language, or a full faithful rendering) yet contradicts another member of the story (its
    /// event day, numbers or document codes), the two members cannot be one article: the
    /// member's branch (it and the pages that joined through it) is a story of its own. Returns
    /// that branch, the member first, or `None` when the record does not show this: the member
    /// founded the story or is its canonical one, the contradiction is inside the branch, or
    /// nothing outside it contradicts the record.
    pub(super) fn split_off(
        &self,
        lang: Option<Lang>,
        input: &FoldInput,
        c: &Scored,
        o: &Overlap,
        m: &Match,
    ) -> Option<Vec<u32>> {
        let ix = &self.index;
        let story = self.stories.get(&m.story)?;
        let member = ix.record(m.doc);
        // Not the founder nor the canonical member; not a story whose canonical member changed
        // (`prefer_lang`: the canonical one's own match is no longer recorded); not a story too
        // large to check member by member.
        if member == m.story || story.canonical != m.story || story.members.len() > AGREE_MEMBERS {
            return None;
        }
        // Two pages of a language not known may be one language: a copy in words vouches too.
        let near = ix.lang(m.doc) == lang && self.near_copy(input, c).is_some();
        let rendering = c.score >= SPLIT_MIN_SCORE.max(self.min_score)
            && c.evidence >= MIN_EVIDENCE
            && o.coverage >= FAITHFUL_COVERAGE
            && o.order >= FAITHFUL_ORDER
            && o.containment >= FAITHFUL_CONTAINMENT;
        if !near && !rendering {
            return None;
        }
        // The branch: members whose chain of matches leads to the member.
        let members: Vec<u32> = story.members.iter().copied().filter(|&s| ix.is_live(s)).collect();
        let in_branch = |seq: u32| {
            let mut cur = Some(seq);
            for _ in 0..=members.len() {
                match cur {
                    Some(s) if s == m.doc => return true,
                    Some(s) => cur = ix.matched(s),
                    None => return false,
                }
            }
            false
        };
        // As in `agrees_with_story`: a lead date the member mentions is one of the article's.
        let vouched = input
            .event_day
            .is_some_and(|d| evidence::mentions(ix.features(m.doc), d));
        let mut branch = vec![m.doc];
        let mut contradicted = false;
        for &seq in &members {
            let o = Overlap::of(input.side(), self.side(seq));
            let contradicts = (o.day_conflict && !vouched) || !o.numbers_agree();
            if seq != m.doc && in_branch(seq) {
                if contradicts {
                    return None;
                }
                branch.push(seq);
            } else if seq != m.doc && contradicts {
                contradicted = true;
            }
        }
        contradicted.then_some(branch)
    }

    /// Whether the story's matched member has no better same-article partner in the record's
    /// language in another story: then that page, not this record, is its counterpart.
    pub(super) fn is_mutual(&self, lang: Option<Lang>, m: &Match) -> bool {
        let ix = &self.index;
        let member = ix.features(m.doc);
        let member_query = ix.query(member);
        let day = ix.event_day(m.doc);
        let conflict = |e: Option<(u8, u8)>| matches!((day, e), (Some(x), Some(y)) if x != y);
        let rivals = ix.candidates_top(
            &member_query,
            // Rivals in the record's language, or like it in a language not known: stricter.
            |d, l, e| l == lang && !conflict(e) && ix.story(d) != m.story,
            RIVALS,
        );
        for r in rivals {
            if r.score <= m.score {
                break;
            }
            let o = Overlap::of(self.side(m.doc), self.side(r.doc));
            if faithful(&r, &o, self.min_score) {
                return false;
            }
        }
        true
    }

    /// Whether the record reports the candidate's event: the same day (or neither dated, with one
    /// more shared fact), shared quantities, no contradiction.
    pub(super) fn same_event(&self, input: &FoldInput, c: &Scored, o: &Overlap) -> bool {
        let dated = input.event_day.is_some() && self.index.event_day(c.doc).is_some();
        let facts = if dated { EVENT_FACTS } else { EVENT_FACTS_UNDATED };
        !o.day_conflict
            && o.numbers_agree()
            && o.shared_event_facts >= facts
            && c.evidence >= EVENT_MIN_EVIDENCE
            && c.score >= EVENT_MIN_SCORE
    }
}

/// Whether a scored pair is a faithful rendering of one article: the same facts, in the same
/// order, with most of the names and counts, and no contradiction. An excerpt (nearly all of its
/// features, and all of its facts, in the other page) scores lower against the full page, whose
/// other paragraphs it lacks, and has fewer facts to show: it needs less score and evidence.
fn faithful(c: &Scored, o: &Overlap, min_score: f32) -> bool {
    let excerpt = o.containment >= EXCERPT_CONTAINMENT && o.coverage >= EXCERPT_COVERAGE;
    let (min_score, min_evidence, order) = if excerpt {
        (EXCERPT_MIN_SCORE.min(min_score), EXCERPT_MIN_EVIDENCE, o.order_but_one)
    } else {
        (min_score, MIN_EVIDENCE, o.order)
    };
    // With few specific facts to compare, names carry the match: then nearly all must be shared.
    let containment = if o.shared_specific < FEW_FACTS {
        EXCERPT_CONTAINMENT
    } else {
        FAITHFUL_CONTAINMENT
    };
    !o.day_conflict
        && o.numbers_agree()
        && c.score >= min_score
        && c.evidence >= min_evidence
        && o.coverage >= FAITHFUL_COVERAGE
        && order >= FAITHFUL_ORDER
        && o.containment >= containment
}
