//! The suite's checks of what a log stores and gives back: groups read back exactly (records,
//! events, dictionary, heads, block roots, size) through any handle, scans within their bounds
//! and stopped when told, the dictionary from an id, heads in order, block roots by range and
//! restored.

use super::{
    contents, event_group, events, hash, head, raw_group, read_events, scan, scanned_positions,
    Backend,
};
use crate::{
    record::Dictionary,
    store::{Group, LogOfRecord},
    AuditError,
};

/// A fresh log holds nothing, and every read says so.
pub(crate) fn an_empty_log_reads_empty(backend: impl Backend) {
    let log = backend.open();
    assert_eq!(contents(&log), (0, vec![], vec![], vec![]));
    assert_eq!(log.latest_head().unwrap(), None);
    assert_eq!(scan(&log, 0, 100), (vec![], vec![]));
    assert_eq!(read_events(&log, 0, u64::MAX).unwrap(), vec![]);
    assert_eq!(log.dictionary().unwrap().len(), 0);
}

/// Groups of encoded events (several runs, new dictionary entries, block roots, one head or
/// several) read back exactly, through the handle that wrote them and through another.
pub(crate) fn groups_read_back_exactly(backend: impl Backend) {
    let mut log = backend.open();
    let mut dictionary = Dictionary::default();
    let all = events(0, 300);
    let mut groups = vec![
        event_group(&mut dictionary, &all[..290]),
        event_group(&mut dictionary, &all[290..291]),
        event_group(&mut dictionary, &all[291..]),
    ];
    assert_eq!(groups[0].runs.len(), 3, "290 events take three runs");
    assert!(
        !groups[0].strings.is_empty() && !groups[1].strings.is_empty(),
        "the first two groups add dictionary entries"
    );
    groups[0].blocks = vec![(0, hash(1))];
    groups[0].heads = vec![head(290, 1_700_000_000_290)];
    groups[1].heads = vec![head(291, -5)];
    groups[2].blocks = vec![(1, hash(2)), (2, hash(3))];
    groups[2].heads = vec![head(295, i64::MAX), head(300, 1_700_000_000_300)];
    let strings: Vec<_> = groups.iter().flat_map(|g| g.strings.clone()).collect();
    let heads: Vec<_> = groups.iter().flat_map(|g| g.heads.clone()).collect();
    let blocks: Vec<_> = [(0, hash(1)), (1, hash(2)), (2, hash(3))]
        .map(|(i, h)| (i, h.to_vec()))
        .to_vec();
    for group in &groups {
        log.append(group).unwrap();
    }
    for handle in [&log, &backend.open()] {
        assert_eq!(
            contents(handle),
            (300, strings.clone(), heads.clone(), blocks.clone())
        );
        assert_eq!(handle.latest_head().unwrap(), heads.last().cloned());
        assert_eq!(read_events(handle, 0, 300).unwrap(), all);
        assert_eq!(read_events(handle, 100, 292).unwrap(), all[100..292]);
        assert_eq!(handle.dictionary().unwrap().len(), strings.len() as u64);
        // The raw records are the bytes appended, run by run.
        let mut stored = Vec::new();
        for (first, count, body) in groups.iter().flat_map(|g| &g.runs) {
            let mut rest = &body[..];
            for seq in *first..*first + *count as u64 {
                let (payload, crc) = crate::record::next_record(&mut rest).unwrap();
                stored.push((seq, payload.to_vec(), crc));
            }
        }
        assert_eq!(scan(handle, 0, 300), (stored, vec![]));
    }
}

/// A scan gives exactly the stored records in `[from, to)`, whatever the bounds: inside a run,
/// across runs, past the end, empty or reversed ranges, up to `u64::MAX`.
pub(crate) fn scan_honours_its_bounds(backend: impl Backend) {
    let mut log = backend.open();
    log.append(&raw_group(0, 300)).unwrap();
    log.append(&raw_group(300, 301)).unwrap();
    for (from, to) in [
        (0, 301),
        (0, 1),
        (5, 6),
        (127, 129),
        (128, 256),
        (130, 131),
        (200, 301),
        (299, 1_000),
        (300, 301),
        (301, 400),
        (0, u64::MAX),
        (250, u64::MAX),
        (1_000, 2_000),
        (u64::MAX - 1, u64::MAX),
        (10, 10),
        (20, 10),
    ] {
        let expected: Vec<u64> = (from..to.min(301)).collect();
        assert_eq!(
            scanned_positions(&log, from, to),
            expected,
            "scan [{from}, {to})"
        );
    }
    assert_eq!(log.size().unwrap(), 301);
}

/// A scan ends where `each` returns false, inside a run or at its end; so do `events` and
/// `views`.
pub(crate) fn scan_stops_when_told(backend: impl Backend) {
    let mut log = backend.open();
    let mut dictionary = Dictionary::default();
    log.append(&event_group(&mut dictionary, &events(0, 300)))
        .unwrap();
    for (from, stop) in [(0, 0), (0, 5), (3, 127), (100, 128), (130, 299)] {
        let mut seen = Vec::new();
        log.scan(
            from,
            300,
            &mut |raw| {
                seen.push(raw.seq);
                Ok(raw.seq < stop)
            },
            &mut |d| panic!("damage: {d:?}"),
        )
        .unwrap();
        assert_eq!(seen, (from..=stop).collect::<Vec<_>>(), "stop at {stop}");
        let mut seen = Vec::new();
        log.events(&mut Dictionary::default(), from, 300, &mut |event| {
            seen.push(event.seq);
            Ok(event.seq < stop)
        })
        .unwrap();
        assert_eq!(
            seen,
            (from..=stop).collect::<Vec<_>>(),
            "events stop at {stop}"
        );
        let mut seen = Vec::new();
        log.views(&mut Dictionary::default(), from, 300, &mut |seq, _| {
            seen.push(seq);
            Ok(seq < stop)
        })
        .unwrap();
        assert_eq!(
            seen,
            (from..=stop).collect::<Vec<_>>(),
            "views stop at {stop}"
        );
    }
}

/// An error from `each` ends the scan and is the scan's error.
pub(crate) fn scan_passes_errors_on(backend: impl Backend) {
    let mut log = backend.open();
    log.append(&raw_group(0, 200)).unwrap();
    let mut seen = 0;
    let result = log.scan(
        0,
        200,
        &mut |raw| {
            seen += 1;
            if raw.seq == 150 {
                return Err(AuditError::Closed);
            }
            Ok(true)
        },
        &mut |d| panic!("damage: {d:?}"),
    );
    assert!(matches!(result, Err(AuditError::Closed)), "{result:?}");
    assert_eq!(seen, 151);
}

/// A scan longer than any batch a store reads at once gives every record, in order.
pub(crate) fn long_scans_read_every_record(backend: impl Backend) {
    let mut log = backend.open();
    const SIZE: u64 = 140_000;
    for start in (0..SIZE).step_by(35_000) {
        log.append(&raw_group(start, start + 35_000)).unwrap();
    }
    assert_eq!(log.size().unwrap(), SIZE);
    for (from, to) in [
        (0, SIZE),
        (1, SIZE - 1),
        (65_000, 140_000),
        (70_001, u64::MAX),
    ] {
        let seen = scanned_positions(&log, from, to);
        assert_eq!(seen.len() as u64, to.min(SIZE) - from, "[{from}, {to})");
        assert!(
            seen.iter().copied().eq(from..to.min(SIZE)),
            "scan [{from}, {to}) is not every record in order"
        );
    }
}

/// `strings_from` gives the dictionary's entries with an id at least the one asked for.
pub(crate) fn strings_from_gives_the_entries_from_an_id(backend: impl Backend) {
    let mut log = backend.open();
    let strings: Vec<(u64, String)> = (0..20).map(|id| (id, format!("chuỗi {id}"))).collect();
    log.append(&Group {
        strings: strings[..12].to_vec(),
        ..Group::default()
    })
    .unwrap();
    log.append(&Group {
        strings: strings[12..].to_vec(),
        ..Group::default()
    })
    .unwrap();
    for from in 0..=22 {
        assert_eq!(
            log.strings_from(from).unwrap(),
            strings[(from as usize).min(20)..],
            "from {from}"
        );
    }
    assert_eq!(log.strings_from(u64::MAX).unwrap(), vec![]);
    assert_eq!(log.dictionary().unwrap().len(), 20);
    assert_eq!(log.size().unwrap(), 0, "strings are not records");
}

/// `views` and `events` bring a dictionary read earlier up to date with the log first, so
/// records using entries added since decode.
pub(crate) fn views_bring_the_dictionary_up_to_date(backend: impl Backend) {
    let mut log = backend.open();
    let mut writer = Dictionary::default();
    let all = events(0, 40);
    log.append(&event_group(&mut writer, &all[..10])).unwrap();
    let mut reader = log.dictionary().unwrap();
    let before = reader.len();
    log.append(&event_group(&mut writer, &all[10..])).unwrap();
    assert!(writer.len() > before, "the second group adds entries");
    let mut seen = Vec::new();
    log.views(&mut reader, 10, 40, &mut |seq, view| {
        seen.push(view.to_stored(seq));
        Ok(true)
    })
    .unwrap();
    assert_eq!(seen, all[10..]);
    assert_eq!(reader.len(), writer.len());
    let mut seen = Vec::new();
    log.events(&mut reader, 0, 40, &mut |event| {
        seen.push(event);
        Ok(true)
    })
    .unwrap();
    assert_eq!(seen, all);
}

/// `heads` gives every head by size, oldest first, whichever group stored it; `latest_head`
/// the newest.
pub(crate) fn heads_are_oldest_first_and_latest_is_newest(backend: impl Backend) {
    let mut log = backend.open();
    let heads = [head(1, 10), head(2, 20), head(3, 30), head(1_000_000, 40)];
    for group in [&heads[..1], &heads[1..3], &heads[3..]] {
        log.append(&Group {
            heads: group.to_vec(),
            ..Group::default()
        })
        .unwrap();
        assert_eq!(log.latest_head().unwrap().as_ref(), group.last());
    }
    assert_eq!(log.heads().unwrap(), heads);
    assert_eq!(backend.open().heads().unwrap(), heads);
}

/// `blocks` gives the stored roots with an index in `[from, to)`, in order.
pub(crate) fn blocks_are_read_by_half_open_range(backend: impl Backend) {
    let mut log = backend.open();
    let stored = [(0, hash(10)), (1, hash(11)), (2, hash(12)), (5, hash(15))];
    log.append(&Group {
        blocks: stored[..3].to_vec(),
        ..Group::default()
    })
    .unwrap();
    log.append(&Group {
        blocks: stored[3..].to_vec(),
        ..Group::default()
    })
    .unwrap();
    for (from, to) in [
        (0, 3),
        (1, 2),
        (3, 5),
        (5, 6),
        (2, 2),
        (3, 0),
        (0, u64::MAX),
        (4, u64::MAX >> 1),
        (6, u64::MAX),
    ] {
        let expected: Vec<(u64, Vec<u8>)> = stored
            .iter()
            .filter(|(i, _)| (from..to).contains(i))
            .map(|(i, h)| (*i, h.to_vec()))
            .collect();
        assert_eq!(log.blocks(from, to).unwrap(), expected, "[{from}, {to})");
    }
}

/// `restore_blocks` stores the roots given (again without harm) and touches nothing else.
pub(crate) fn restore_blocks_stores_roots_and_nothing_else(backend: impl Backend) {
    let mut log = backend.open();
    let mut dictionary = Dictionary::default();
    let mut group = event_group(&mut dictionary, &events(0, 5));
    group.heads = vec![head(5, 1)];
    group.blocks = vec![(0, hash(0))];
    log.append(&group).unwrap();
    let (size, strings, heads, _) = contents(&log);
    log.restore_blocks(&[(1, hash(1)), (2, hash(2))]).unwrap();
    log.restore_blocks(&[(2, hash(2))]).unwrap();
    let restored = [(0, hash(0)), (1, hash(1)), (2, hash(2))]
        .map(|(i, h)| (i, h.to_vec()))
        .to_vec();
    assert_eq!(contents(&log), (size, strings, heads, restored.clone()));
    assert_eq!(backend.open().blocks(0, 10).unwrap(), restored);
}

/// `checkpoint` (housekeeping) leaves what the log holds as it was.
pub(crate) fn checkpoint_changes_nothing(backend: impl Backend) {
    let mut log = backend.open();
    let mut dictionary = Dictionary::default();
    let mut group = event_group(&mut dictionary, &events(0, 130));
    group.heads = vec![head(130, 1)];
    log.append(&group).unwrap();
    let before = contents(&log);
    log.checkpoint().unwrap();
    assert_eq!(contents(&log), before);
    assert_eq!(contents(&backend.open()), before);
    assert_eq!(
        read_events(&backend.open(), 0, 130).unwrap(),
        events(0, 130)
    );
}
