//! Which cache lines of a [`StreamState`] a clean copy meets: the layout
//! that keeps 10 000 streams near one stream's cost (issue 12 item 4).
//! Field offsets only; a reordering that spreads the fast paths' fields
//! over more lines fails here before it shows as cache misses.

use super::books::Books;
use super::epoch::Epochs;
use super::health::LegState;
use super::{Rules, StreamState};
use std::collections::BTreeSet;
use std::mem::offset_of;
use std::ops::Range;

/// The byte ranges of a `StreamState` that the fast paths read or write
/// for a good copy on `leg`: the send at the cursor and the free behind it
/// (cursor, `high`, `index`, `held`, `preferred`, `live`, region, rules,
/// the current epoch, the leg's liveness and position and its candidate
/// count, and the counters bumped; `next_rotate`, read at one position in
/// `SAMPLE_EVERY`, is not counted).
fn hot_ranges(leg: usize) -> Vec<Range<usize>> {
    let field = |at: usize, len: usize| at..at + len;
    let ls = offset_of!(StreamState, leg) + leg * size_of::<LegState>();
    let ep = offset_of!(StreamState, ep);
    let rules = offset_of!(StreamState, rules);
    let books = offset_of!(StreamState, books);
    let mut v = vec![
        field(offset_of!(StreamState, cursor), 8),
        field(offset_of!(StreamState, high), 8),
        field(offset_of!(StreamState, index), 8),
        field(offset_of!(StreamState, preferred), 2),
        field(offset_of!(StreamState, live), 1),
        field(offset_of!(StreamState, held), 4),
        field(
            offset_of!(StreamState, region),
            size_of::<crate::slots::Region>(),
        ),
        field(rules, size_of::<Rules>()),
        field(
            ep + offset_of!(Epochs, cur),
            size_of::<super::epoch::Epoch>(),
        ),
        field(ls + offset_of!(LegState, up), 1),
        field(ls + offset_of!(LegState, seen), 1),
        field(ls + offset_of!(LegState, epoch), 4),
        field(ls + offset_of!(LegState, last_good), 8),
        field(ls + offset_of!(LegState, last_pos), 8),
        field(ls + offset_of!(LegState, cand_count), 4),
    ];
    v.extend(Books::hot_ranges(leg).map(|r| books + r.start..books + r.end));
    v
}

/// The 64-byte lines `ranges` cover.
fn lines_of(ranges: &[Range<usize>]) -> BTreeSet<usize> {
    ranges
        .iter()
        .flat_map(|r| r.start / 64..=(r.end - 1) / 64)
        .collect()
}

#[test]
fn state_is_line_aligned() {
    // Offsets are line positions only if every state starts on a line.
    assert_eq!(align_of::<StreamState>() % 64, 0);
}

#[test]
fn a_clean_pair_meets_few_lines() {
    let mut both = hot_ranges(0);
    both.extend(hot_ranges(1));
    let lines = lines_of(&both);
    assert!(
        lines.len() <= 4,
        "a clean pair of copies meets lines {lines:?} of the {}-byte state",
        size_of::<StreamState>()
    );
}
