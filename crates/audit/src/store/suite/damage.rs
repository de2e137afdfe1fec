//! The suite's checks of what must leave a log as it was or say what is wrong with it: a
//! failed or abandoned append stores nothing, the write lock of a shared log (taken, reporting
//! the end, released by an append, a failure, an abandon or a dropped handle), and the damage a
//! scan reports (gaps, short and overlong runs) or a read refuses (checksums, the dictionary).

use super::{
    contents, event_group, events, hash, head, raw_group, read_events, run, scan, Backend, Scanned,
};
use crate::{
    record::{self, Dictionary},
    store::{Group, LogOfRecord, SharedEnd},
    AuditError,
};

/// What `lock_for_append` must answer on `B` for a log of `size` records whose head at that
/// size (if any) signs `root`.
fn end<B: Backend>(size: u64, root: Option<[u8; 32]>) -> Option<SharedEnd> {
    B::SHARED.then_some(SharedEnd { size, root })
}

/// A group that cannot be stored, because its last run starts where a stored run does; before
/// it, rows every table would take (a run at `size`, a dictionary entry, a block root, a head).
fn failing_group(size: u64, strings: u64) -> Group {
    Group {
        runs: vec![run(size, 3), run(0, 1)],
        strings: vec![(strings, "không lưu".into())],
        blocks: vec![(7, hash(7))],
        heads: vec![head(size + 3, 1)],
    }
}

/// An append that fails stores nothing of its group (not its other runs, dictionary entries,
/// block roots or heads), and the log takes the next group.
pub(crate) fn a_failed_append_leaves_nothing(backend: impl Backend) {
    let mut log = backend.open();
    let mut dictionary = Dictionary::default();
    let mut group = event_group(&mut dictionary, &events(0, 10));
    group.heads = vec![head(10, 1)];
    group.blocks = vec![(0, hash(0))];
    log.append(&group).unwrap();
    let before = contents(&log);
    let strings = dictionary.len();
    assert!(log.append(&failing_group(10, strings)).is_err());
    // A dictionary entry already stored under that id fails the group too.
    let mut taken = raw_group(10, 12);
    taken.strings = vec![(0, "đã có".into())];
    assert!(log.append(&taken).is_err());
    assert_eq!(contents(&log), before);
    assert_eq!(contents(&backend.open()), before);
    assert_eq!(read_events(&log, 0, u64::MAX).unwrap(), events(0, 10));
    let mut next = event_group(&mut dictionary, &events(10, 5));
    next.heads = vec![head(15, 2)];
    log.append(&next).unwrap();
    assert_eq!(read_events(&backend.open(), 0, 15).unwrap(), events(0, 15));
    assert_eq!(log.latest_head().unwrap(), Some(head(15, 2)));
}

/// A signed head is never replaced: a group carrying a head at a size already signed (another
/// time, another signature) is refused whole, and the first head stays as it was.
pub(crate) fn a_signed_head_is_never_replaced(backend: impl Backend) {
    let mut log = backend.open();
    let mut group = raw_group(0, 10);
    group.heads = vec![head(10, 1)];
    log.append(&group).unwrap();
    let before = contents(&log);
    let mut again = raw_group(10, 12);
    again.heads = vec![head(10, 2)];
    assert!(log.append(&again).is_err());
    assert_eq!(contents(&log), before);
    assert_eq!(contents(&backend.open()), before);
    assert_eq!(log.heads().unwrap(), vec![head(10, 1)]);
    let mut next = raw_group(10, 12);
    next.heads = vec![head(12, 3)];
    log.append(&next).unwrap();
    assert_eq!(log.heads().unwrap(), vec![head(10, 1), head(12, 3)]);
}

/// A lock given up (by `abandon` or by dropping the handle) stores nothing, and appends go on.
pub(crate) fn an_abandoned_append_leaves_nothing(backend: impl Backend) {
    let mut log = backend.open();
    log.append(&raw_group(0, 3)).unwrap();
    let before = contents(&log);
    log.abandon();
    log.lock_for_append().unwrap();
    log.abandon();
    log.abandon();
    {
        let mut dropped = backend.open();
        dropped.lock_for_append().unwrap();
    }
    assert_eq!(contents(&log), before);
    log.append(&raw_group(3, 5)).unwrap();
    assert_eq!(backend.open().size().unwrap(), 5);
}

/// A shared log's `lock_for_append` answers the size every handle committed and the root of
/// the head at that size (none without one); a log with one writer answers `None`.
pub(crate) fn lock_for_append_returns_the_shared_end<B: Backend>(backend: B) {
    let mut log = backend.open();
    assert_eq!(log.lock_for_append().unwrap(), end::<B>(0, None));
    log.abandon();
    let mut group = raw_group(0, 5);
    group.heads = vec![head(5, 1)];
    log.append(&group).unwrap();
    assert_eq!(
        log.lock_for_append().unwrap(),
        end::<B>(5, Some(head(5, 1).root))
    );
    log.append(&raw_group(5, 7)).unwrap();
    let mut other = backend.open();
    assert_eq!(other.lock_for_append().unwrap(), end::<B>(7, None));
    let mut group = raw_group(7, 9);
    group.heads = vec![head(8, 2), head(9, 3)];
    other.append(&group).unwrap();
    let at_9 = end::<B>(9, Some(head(9, 3).root));
    assert_eq!(log.lock_for_append().unwrap(), at_9);
    // Locking again gives up the first lock and takes the next.
    assert_eq!(log.lock_for_append().unwrap(), at_9);
    log.abandon();
    assert_eq!(other.lock_for_append().unwrap(), at_9);
    other.abandon();
}

/// The write lock is released by the append it was taken for, by a failed append and by a
/// dropped handle: the next writer takes it and sees what was committed. (A lock left held
/// would keep the next `lock_for_append` waiting.)
pub(crate) fn the_write_lock_is_released_by_append_and_failure<B: Backend>(backend: B) {
    let mut a = backend.open();
    let mut b = backend.open();
    a.lock_for_append().unwrap();
    a.append(&raw_group(0, 3)).unwrap();
    assert_eq!(b.lock_for_append().unwrap(), end::<B>(3, None));
    assert!(b.append(&failing_group(3, 0)).is_err());
    assert_eq!(a.lock_for_append().unwrap(), end::<B>(3, None));
    a.abandon();
    b.lock_for_append().unwrap();
    drop(b);
    assert_eq!(a.lock_for_append().unwrap(), end::<B>(3, None));
    a.append(&raw_group(3, 4)).unwrap();
    assert_eq!(backend.open().size().unwrap(), 4);
}

/// A run that does not start where the last one ended (or the first run not at the scan's
/// start) is reported as a gap (the records before it given, none after); `events` names the
/// missing record.
pub(crate) fn gaps_are_reported_and_end_the_scan(backend: impl Backend) {
    let mut log = backend.open();
    log.append(&raw_group(1, 3)).unwrap();
    log.append(&raw_group(5, 7)).unwrap();
    log.append(&raw_group(200_000, 200_002)).unwrap();
    assert_eq!(log.size().unwrap(), 200_002);
    let gap =
        |expected: u64, found: u64| vec![format!("Gap {{ expected: {expected}, found: {found} }}")];
    let positions = |scanned: Scanned| {
        (
            scanned.0.into_iter().map(|r| r.0).collect::<Vec<_>>(),
            scanned.1,
        )
    };
    // The first run missing.
    assert_eq!(positions(scan(&log, 0, 10)), (vec![], gap(0, 1)));
    assert_eq!(positions(scan(&log, 1, 10)), (vec![1, 2], gap(3, 5)));
    assert_eq!(positions(scan(&log, 3, 7)), (vec![], gap(3, 5)));
    assert_eq!(positions(scan(&log, 5, 7)), (vec![5, 6], vec![]));
    assert_eq!(positions(scan(&log, 1, 3)), (vec![1, 2], vec![]));
    // A gap wider than any batch a store reads at once.
    assert_eq!(
        positions(scan(&log, 5, u64::MAX)),
        (vec![5, 6], gap(7, 200_000))
    );
    assert_eq!(
        positions(scan(&log, 100_000, 200_001)),
        (vec![], gap(7, 200_000))
    );
    assert_eq!(
        positions(scan(&log, 200_000, 300_000)),
        (vec![200_000, 200_001], vec![])
    );
    let error = read_events(&log, 3, 7).unwrap_err().to_string();
    assert!(
        error.contains("event #3 is missing: the next stored event is #5"),
        "{error}"
    );
}

/// A run holding fewer records than it says, or bytes after its last, is reported after the
/// records it does hold, and ends the scan; a `damaged` that fails is the scan's error.
pub(crate) fn short_and_overlong_runs_are_reported(backend: impl Backend) {
    let mut log = backend.open();
    let (_, _, short) = run(0, 2);
    let (_, _, mut long) = run(3, 2);
    long.extend_from_slice(&[1, 2, 3]);
    log.append(&Group {
        runs: vec![(0, 3, short), (3, 2, long), run(5, 2)],
        ..Group::default()
    })
    .unwrap();
    let (records, damage) = scan(&log, 0, 10);
    assert_eq!(records.iter().map(|r| r.0).collect::<Vec<_>>(), [0, 1]);
    assert_eq!(damage, ["Truncated { seq: 2, error: Truncated }"]);
    let (records, damage) = scan(&log, 3, 10);
    assert_eq!(records.iter().map(|r| r.0).collect::<Vec<_>>(), [3, 4]);
    assert_eq!(
        damage,
        ["Truncated { seq: 5, error: Invalid(\"bytes after the run's last record\") }"]
    );
    assert_eq!(scan(&log, 5, 7).0.len(), 2);
    let result = log.scan(0, 10, &mut |_| Ok(true), &mut |_| Err(AuditError::Closed));
    assert!(matches!(result, Err(AuditError::Closed)), "{result:?}");
    let error = read_events(&log, 2, 10).unwrap_err().to_string();
    assert!(
        error.contains("event #2 cannot be read: its bytes end early"),
        "{error}"
    );
}

/// A record whose checksum does not match its position is given as stored by `scan` and is an
/// error naming it to `events`; the records around it read.
pub(crate) fn damaged_records_are_errors_naming_them(backend: impl Backend) {
    let mut log = backend.open();
    let all = events(0, 3);
    let mut dictionary = Dictionary::default();
    let mut group = Group::default();
    let (mut body, mut scratch) = (Vec::new(), Vec::new());
    for (stored, at) in all.iter().zip([0, 99, 2]) {
        record::encode(
            at,
            &stored.event,
            stored.received_at_ms,
            &mut dictionary,
            &mut group.strings,
            &mut scratch,
            &mut body,
        );
    }
    group.runs = vec![(0, 3, body)];
    log.append(&group).unwrap();
    let (records, damage) = scan(&log, 0, 3);
    assert_eq!(damage, Vec::<String>::new());
    assert_eq!(records[1].2, record::checksum(99, &records[1].1));
    let error = read_events(&log, 0, 3).unwrap_err().to_string();
    assert!(
        error.contains("event #1 cannot be read: its checksum does not match"),
        "{error}"
    );
    assert_eq!(read_events(&log, 0, 1).unwrap(), all[..1]);
    assert_eq!(read_events(&log, 2, 3).unwrap(), all[2..]);
}

/// A dictionary whose ids are not contiguous is an error to `dictionary` and to every decode.
pub(crate) fn a_damaged_dictionary_is_an_error(backend: impl Backend) {
    let mut log = backend.open();
    let mut dictionary = Dictionary::default();
    let mut group = event_group(&mut dictionary, &events(0, 2));
    let last = group.strings.len() as u64;
    group.strings.push((last + 1, "lạc chỗ".into()));
    log.append(&group).unwrap();
    for error in [
        log.dictionary().map(|_| ()).unwrap_err(),
        read_events(&log, 0, 2).map(|_| ()).unwrap_err(),
    ] {
        assert!(
            matches!(&error, AuditError::Corrupt(m) if m.contains("dictionary")),
            "{error}"
        );
    }
}
