//! What two pages' fingerprints say about each other: the measures every fold decision reads, in
//! one pure comparison so the fold, `fold-eval --verbose` and the tests see the same numbers.
//!
//! Two relations are told apart here. A *same-article* pair (a translation, a re-translation, a
//! copy, an excerpt) keeps the source's facts in the source's order: nearly every specific fact of
//! the shorter page is in the longer one (coverage), and the shared facts come in the same order
//! (order). An *independent write-up* of the same event shares the key facts (the day, the main
//! quantities, the names) but adds, drops and reorders others. Pages of one template (other
//! meetings under the same decree, other seizures) share the template's wording and citations but
//! contradict each other on the event's day and numbers.

use super::fingerprint::{Class, key};

/// Features that pin a fact down: specific numbers, dates and document codes (names and small
/// numbers are too common to cover or contradict anything).
pub fn is_specific(f: u32) -> bool {
    matches!(
        Class::of(f),
        Class::NumMid | Class::NumLarge | Class::NumDecimal | Class::DateFull | Class::DateDayMonth | Class::Code
    )
}

/// Features that place an event: specific numbers and event dates, not codes (cited documents
/// are shared by every page of a template) nor names.
fn is_event_fact(f: u32) -> bool {
    matches!(
        Class::of(f),
        Class::NumMid | Class::NumLarge | Class::NumDecimal | Class::DateFull | Class::DateDayMonth
    )
}

fn is_number(f: u32) -> bool {
    matches!(Class::of(f), Class::NumMid | Class::NumLarge | Class::NumDecimal)
}

/// One side of a comparison: sorted feature keys and their ranks in the text (`order` may be
/// empty when unknown, as for documents persisted before ranks were kept).
#[derive(Clone, Copy, Debug)]
pub struct Side<'a> {
    pub features: &'a [u32],
    pub order: &'a [u8],
    pub event_day: Option<(u8, u8)>,
}

/// How two fingerprints relate, apart from rarity weights (the index adds the weighted score).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Overlap {
    /// Specific features of each side, and shared.
    pub specific: (u16, u16),
    pub shared_specific: u16,
    /// Numbers of each side, and shared.
    pub numbers: (u16, u16),
    pub shared_numbers: u16,
    /// Shared event facts (see `is_event_fact`).
    pub shared_event_facts: u16,
    /// All shared features.
    pub shared: u16,
    /// Share of the smaller fingerprint's features (of every class) the other has: a translation
    /// keeps the names and small numbers too, a write-up by another outlet has its own.
    pub containment: f32,
    /// Share of the smaller side's specific features the other has (all features when either
    /// side has fewer than `MIN_SPECIFIC` specific ones). 0 when nothing to compare.
    pub coverage: f32,
    /// Longest run of shared features in the same order on both sides, as a share of the shared
    /// features; 1 when fewer than three are shared or an order is unknown.
    pub order: f32,
    /// The same with one feature forgiven: an excerpt's title restates a fact ahead of the body.
    pub order_but_one: f32,
    /// Both sides state an event day, the days differ, and the smaller side's day is not
    /// mentioned anywhere in the larger side (an excerpt of later paragraphs opens on a secondary
    /// date of the article).
    pub day_conflict: bool,
}

/// Below this many specific features on either side, coverage counts all features.
pub const MIN_SPECIFIC: u16 = 3;

/// Two pages that each state at least this many specific numbers...
pub const NUMBERS_MIN: u16 = 3;
/// ...and share less than this share of the smaller set report different events: a translation
/// keeps its numbers, and so does a second write-up of the same incident, mostly.
pub const NUMBERS_MIN_SHARED: f32 = 0.3;

impl Overlap {
    pub fn of(a: Side<'_>, b: Side<'_>) -> Overlap {
        let (sa, na) = counts(a.features);
        let (sb, nb) = counts(b.features);
        let mut o = Overlap {
            specific: (sa, sb),
            numbers: (na, nb),
            day_conflict: day_conflict(a, b),
            ..Overlap::default()
        };
        // Ranks of shared features, (rank in a, rank in b): at most `MAX_FEATURES` are kept per
        // page, so a stack buffer holds them (beyond it, order is read from the first ones).
        let mut ranks = [(0u8, 0u8); RANKS];
        let mut n_ranks = 0;
        let (mut i, mut j) = (0, 0);
        while i < a.features.len() && j < b.features.len() {
            match a.features[i].cmp(&b.features[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    let f = a.features[i];
                    o.shared += 1;
                    if is_specific(f) {
                        o.shared_specific += 1;
                    }
                    if is_number(f) {
                        o.shared_numbers += 1;
                    }
                    if is_event_fact(f) {
                        o.shared_event_facts += 1;
                    }
                    if let (Some(&ra), Some(&rb)) = (a.order.get(i), b.order.get(j))
                        && n_ranks < RANKS
                    {
                        ranks[n_ranks] = (ra, rb);
                        n_ranks += 1;
                    }
                    i += 1;
                    j += 1;
                }
            }
        }
        let small = a.features.len().min(b.features.len());
        o.containment = if small == 0 {
            0.0
        } else {
            f32::from(o.shared) / small as f32
        };
        let (sa, sb) = o.specific;
        o.coverage = if sa.min(sb) >= MIN_SPECIFIC {
            f32::from(o.shared_specific) / f32::from(sa.min(sb))
        } else {
            o.containment
        };
        let ranks = &mut ranks[..n_ranks];
        let known = !a.order.is_empty() && !b.order.is_empty() && n_ranks == usize::from(o.shared).min(RANKS);
        (o.order, o.order_but_one) = if !known || n_ranks < 3 {
            (1.0, 1.0)
        } else {
            let run = in_order(ranks) as f32;
            let n = n_ranks as f32;
            (run / n, ((run + 1.0) / n).min(1.0))
        };
        o
    }

    /// Whether the two pages' specific numbers could come from one account (see `NUMBERS_MIN`).
    pub fn numbers_agree(&self) -> bool {
        let (na, nb) = self.numbers;
        if na < NUMBERS_MIN || nb < NUMBERS_MIN {
            return true;
        }
        f32::from(self.shared_numbers) >= NUMBERS_MIN_SHARED * f32::from(na.min(nb))
    }
}

/// The feature key of a day-and-month, as the fingerprint writes it.
pub fn day_key((month, day): (u8, u8)) -> u32 {
    key(Class::DateDayMonth, &format!("{month:02}-{day:02}"))
}

/// Whether `features` mention the day.
pub fn mentions(features: &[u32], day: (u8, u8)) -> bool {
    features.binary_search(&day_key(day)).is_ok()
}

fn day_conflict(a: Side<'_>, b: Side<'_>) -> bool {
    let (Some(x), Some(y)) = (a.event_day, b.event_day) else {
        return false;
    };
    if x == y {
        return false;
    }
    let (small_day, large) = if a.features.len() <= b.features.len() {
        (x, b.features)
    } else {
        (y, a.features)
    };
    !mentions(large, small_day)
}

/// How many specific features and how many numbers, in one pass.
fn counts(features: &[u32]) -> (u16, u16) {
    let (mut specific, mut numbers) = (0u16, 0u16);
    for &f in features {
        specific = specific.saturating_add(u16::from(is_specific(f)));
        numbers = numbers.saturating_add(u16::from(is_number(f)));
    }
    (specific, numbers)
}

/// The longest non-decreasing run of `b` ranks when pairs are ordered by `a` rank (patience
/// sorting, O(n log n)): how many shared features both texts mention in the same order.
fn in_order(ranks: &mut [(u8, u8)]) -> usize {
    ranks.sort_unstable();
    let mut tails = [0u8; RANKS];
    let mut len = 0;
    for &(_, b) in ranks.iter().take(RANKS) {
        // First tail greater than b (non-decreasing sequences may repeat a rank).
        let k = tails[..len].partition_point(|&t| t <= b);
        tails[k] = b;
        if k == len {
            len += 1;
        }
    }
    len
}

/// Shared features whose order is compared: `fingerprint::MAX_FEATURES`, with room.
const RANKS: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;

    fn side<'a>(features: &'a [u32], order: &'a [u8]) -> Side<'a> {
        Side {
            features,
            order,
            event_day: None,
        }
    }

    /// Features in text order (keys sorted, ranks by position), as the fingerprint gives them.
    fn doc(items: &[(Class, &str)]) -> (Vec<u32>, Vec<u8>) {
        let mut keyed: Vec<(u32, u8)> = items
            .iter()
            .enumerate()
            .map(|(i, (c, s))| (key(*c, s), i as u8))
            .collect();
        keyed.sort_unstable();
        keyed.into_iter().unzip()
    }

    #[test]
    fn a_faithful_rendering_keeps_coverage_and_order_a_rewrite_does_not() {
        use Class::*;
        let source = [
            (DateDayMonth, "10-15"),
            (NumLarge, "62000"),
            (NumMid, "611"),
            (NumDecimal, "6.4"),
            (Code, "03/2019/nd-cp"),
            (NumMid, "1600"),
        ];
        let (fa, oa) = doc(&source);
        let (fb, ob) = doc(&source[..4]);
        let excerpt = Overlap::of(side(&fa, &oa), side(&fb, &ob));
        assert_eq!((excerpt.coverage, excerpt.order), (1.0, 1.0), "{excerpt:?}");

        // Another outlet: the same day and main quantity, facts reordered, others added.
        let rewrite = [
            (NumMid, "1600"),
            (NumLarge, "62000"),
            (NumMid, "250"),
            (DateDayMonth, "10-15"),
            (NumMid, "611"),
            (NumLarge, "18000"),
        ];
        let (fc, oc) = doc(&rewrite);
        let o = Overlap::of(side(&fa, &oa), side(&fc, &oc));
        assert!(o.order < 0.8 && o.coverage < 0.8, "{o:?}");
        assert!(o.numbers_agree());
    }

    #[test]
    fn day_conflicts_and_number_disagreements_are_seen() {
        use Class::*;
        let (fa, oa) = doc(&[(NumMid, "120"), (NumMid, "340"), (NumLarge, "56000")]);
        let (fb, ob) = doc(&[(NumMid, "121"), (NumMid, "345"), (NumLarge, "51000")]);
        let mut a = side(&fa, &oa);
        let mut b = side(&fb, &ob);
        a.event_day = Some((10, 15));
        b.event_day = Some((1, 15));
        let o = Overlap::of(a, b);
        assert!(o.day_conflict && !o.numbers_agree(), "{o:?}");
    }

    #[test]
    fn in_order_counts_the_longest_agreeing_run() {
        assert_eq!(in_order(&mut [(0, 0), (1, 1), (2, 2)]), 3);
        assert_eq!(in_order(&mut [(0, 2), (1, 1), (2, 0)]), 1);
        assert_eq!(in_order(&mut [(0, 0), (0, 0), (1, 3), (2, 1), (3, 2)]), 4);
        assert_eq!(in_order(&mut []), 0);
    }
}
