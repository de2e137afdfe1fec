//! One storage test suite for every implementation of [`LogOfRecord`] (in the style of
//! facebook/akd's storage tests): each check is a function generic over a [`Backend`] (a fresh,
//! empty log and a way to open more handles on it), and [`log_of_record_suite!`] makes one
//! `#[test]` of each for a backend. SQLite runs it in `store::sqlite`, PostgreSQL in
//! `postgres::log_tests`.
//!
//! Here: the backend seam, the suite's list of checks, and the data the checks store (records
//! framed as the log frames them, heads, block roots) and read back; the checks of what a log
//! stores and returns are in `reads`, those of damage, failed appends and the write lock in
//! `damage`.

mod damage;
mod reads;

pub(crate) use damage::*;
pub(crate) use reads::*;

use super::{Group, LogOfRecord, RawRecord, RUN};
use crate::{
    event::test_dossier,
    keys::SignedTreeHead,
    merkle::Hash,
    record::{self, Dictionary, StoredEvent},
    AuditError,
};

/// A log under test: a fresh, empty one per test, kept (a temporary directory, a database) for
/// as long as this value lives.
pub(crate) trait Backend {
    /// The implementation under test.
    type Log: LogOfRecord;
    /// Whether several writers share the log, so that [`LogOfRecord::lock_for_append`] takes a
    /// write lock and returns the end every writer committed (else it returns `None`).
    const SHARED: bool;
    /// A new handle on this backend's log (the file opened again, a connection of its own).
    fn open(&self) -> Self::Log;
}

/// Makes one `#[test]` of every check of the suite, each on the fresh backend `$fresh()` gives.
macro_rules! log_of_record_suite {
    ($fresh:path) => {
        $crate::store::suite::log_of_record_suite!(@each $fresh;
            an_empty_log_reads_empty,
            groups_read_back_exactly,
            scan_honours_its_bounds,
            scan_stops_when_told,
            scan_passes_errors_on,
            long_scans_read_every_record,
            strings_from_gives_the_entries_from_an_id,
            views_bring_the_dictionary_up_to_date,
            heads_are_oldest_first_and_latest_is_newest,
            blocks_are_read_by_half_open_range,
            restore_blocks_stores_roots_and_nothing_else,
            checkpoint_changes_nothing,
            a_failed_append_leaves_nothing,
            a_signed_head_is_never_replaced,
            an_abandoned_append_leaves_nothing,
            lock_for_append_returns_the_shared_end,
            the_write_lock_is_released_by_append_and_failure,
            gaps_are_reported_and_end_the_scan,
            short_and_overlong_runs_are_reported,
            damaged_records_are_errors_naming_them,
            a_damaged_dictionary_is_an_error
        );
    };
    (@each $fresh:path; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                $crate::store::suite::$check($fresh());
            }
        )*
    };
}
pub(crate) use log_of_record_suite;

/// A record `[first, first + n)`'s test payload: distinct bytes of varying length per position.
fn payload(seq: u64) -> Vec<u8> {
    let mut bytes = format!("record-{seq}").into_bytes();
    bytes.resize(bytes.len() + (seq % 7) as usize, (seq % 251) as u8);
    bytes
}

/// A run of the records `[first, first + count)` with [`payload`]s, framed as the log frames
/// them (correct checksums).
fn run(first: u64, count: usize) -> (u64, usize, Vec<u8>) {
    let mut body = Vec::new();
    for seq in first..first + count as u64 {
        let payload = payload(seq);
        record::frame(&payload, record::checksum(seq, &payload), &mut body);
    }
    (first, count, body)
}

/// The runs of at most [`RUN`] records holding `[first, end)`.
fn runs(first: u64, end: u64) -> Vec<(u64, usize, Vec<u8>)> {
    (first..end)
        .step_by(RUN)
        .map(|start| run(start, (end - start).min(RUN as u64) as usize))
        .collect()
}

/// A root (or any 32 bytes) told apart by `n`.
fn hash(n: u64) -> Hash {
    let mut hash = [0u8; 32];
    hash[..8].copy_from_slice(&n.to_le_bytes());
    hash[31] = 0xa5;
    hash
}

/// A signed head at `size` (the bytes stand in: a store does not check signatures).
fn head(size: u64, signed_at_ms: i64) -> SignedTreeHead {
    let mut signature = [0u8; 64];
    signature[..8].copy_from_slice(&signed_at_ms.to_le_bytes());
    signature[63] = size as u8;
    SignedTreeHead {
        tree_size: size,
        root: hash(size ^ 0xffff),
        signed_at_ms,
        signature,
    }
}

/// The events `[first, first + count)` of the tests, each by one of a few officers, in a
/// district of every ten (strings the dictionary interns).
fn events(first: u64, count: u64) -> Vec<StoredEvent> {
    (first..first + count)
        .map(|seq| StoredEvent {
            seq,
            received_at_ms: 1_700_000_000_000 + seq as i64,
            event: test_dossier(
                &format!("D-{seq}"),
                &format!("Quận {}", seq / 10),
                &format!("cb{:02}", seq % 11),
                1_699_999_999_000 + seq as i64,
            ),
        })
        .collect()
}

/// A group storing `events` (consecutive, from the log's size), encoded against `dictionary`
/// (its new entries in the group), in runs of at most [`RUN`].
fn event_group(dictionary: &mut Dictionary, events: &[StoredEvent]) -> Group {
    let mut group = Group::default();
    let mut scratch = Vec::new();
    for chunk in events.chunks(RUN) {
        let mut body = Vec::new();
        for stored in chunk {
            record::encode(
                stored.seq,
                &stored.event,
                stored.received_at_ms,
                dictionary,
                &mut group.strings,
                &mut scratch,
                &mut body,
            );
        }
        group.runs.push((chunk[0].seq, chunk.len(), body));
    }
    group
}

/// A group of the raw runs holding `[first, end)`, and nothing else.
fn raw_group(first: u64, end: u64) -> Group {
    Group {
        runs: runs(first, end),
        ..Group::default()
    }
}

/// What a scan of `[from, to)` gave: each record (position, payload, checksum) and each damage
/// (its `Debug` form); the scan goes on as the log lets it.
type Scanned = (Vec<(u64, Vec<u8>, u32)>, Vec<String>);

/// Scans `[from, to)`, taking every record and every damage.
fn scan(log: &impl LogOfRecord, from: u64, to: u64) -> Scanned {
    let (mut records, mut damage) = (Vec::new(), Vec::new());
    log.scan(
        from,
        to,
        &mut |raw: RawRecord<'_>| {
            records.push((raw.seq, raw.payload.to_vec(), raw.crc));
            Ok(true)
        },
        &mut |d| {
            damage.push(format!("{d:?}"));
            Ok(())
        },
    )
    .unwrap();
    (records, damage)
}

/// The positions a scan of `[from, to)` gave, checking each record is the [`payload`] of its
/// position with its checksum; fails on damage.
fn scanned_positions(log: &impl LogOfRecord, from: u64, to: u64) -> Vec<u64> {
    let (records, damage) = scan(log, from, to);
    assert_eq!(damage, Vec::<String>::new(), "scan [{from}, {to})");
    records
        .into_iter()
        .map(|(seq, bytes, crc)| {
            assert_eq!(bytes, payload(seq), "record #{seq}'s payload");
            assert_eq!(
                crc,
                record::checksum(seq, &bytes),
                "record #{seq}'s checksum"
            );
            seq
        })
        .collect()
}

/// Every event in `[from, to)` as [`LogOfRecord::events`] decodes it with a fresh dictionary.
fn read_events(log: &impl LogOfRecord, from: u64, to: u64) -> Result<Vec<StoredEvent>, AuditError> {
    let mut out = Vec::new();
    log.events(&mut Dictionary::default(), from, to, &mut |event| {
        out.push(event);
        Ok(true)
    })?;
    Ok(out)
}

/// What a log holds besides its records: size, dictionary, heads and block roots.
type Contents = (
    u64,
    Vec<(u64, String)>,
    Vec<SignedTreeHead>,
    Vec<(u64, Vec<u8>)>,
);

/// What `log` holds besides its records: size, dictionary, heads and block roots.
fn contents(log: &impl LogOfRecord) -> Contents {
    (
        log.size().unwrap(),
        log.strings_from(0).unwrap(),
        log.heads().unwrap(),
        log.blocks(0, u64::MAX).unwrap(),
    )
}
