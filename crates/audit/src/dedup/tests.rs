//! The stored ids: memory a key at millions of keys, runs on disk found again, and the
//! table's speed against the map before it (an ignored benchmark).

use std::{collections::HashMap, hash::BuildHasher, hint::black_box, time::Instant};

use super::*;

/// The bytes a key may cost in memory, at 100 million keys (the server holding a 100M-event
/// log in 3 GiB).
const BUDGET: f64 = 10.0;

/// Writes the `i`th test event id into `buffer`: the bytes of the key.
fn event_id(i: u64, buffer: &mut Vec<u8>) -> &[u8] {
    use std::io::Write;
    buffer.clear();
    write!(buffer, "9f1c2a7e-{i:012}").expect("in memory");
    buffer
}

/// The report key of event id `id`.
fn report(id: &[u8]) -> DedupKey<'_> {
    DedupKey {
        kind: KeyKind::Report,
        agency: b"one-stop-ba-dinh",
        id,
    }
}

/// Keys for the memory test: `VNPOP_DEDUP_KEYS`, or 4 million.
fn keys() -> u64 {
    std::env::var("VNPOP_DEDUP_KEYS")
        .ok()
        .and_then(|keys| keys.parse().ok())
        .unwrap_or(4_000_000)
}

/// This process's resident memory, in bytes (`VmRSS`, from `/proc/self/status`).
fn resident() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<usize>().ok()
        })
        .map_or(0, |kib| kib * 1024)
}

/// Stores `VNPOP_DEDUP_KEYS` keys (4 million unless set; 100 million takes some 2 minutes in
/// release) and checks what the ids report they hold against [`BUDGET`]; prints it, and
/// how much this process's resident memory grew (other tests running beside it count too).
#[test]
fn millions_of_keys_take_under_ten_bytes_each_and_are_all_found() {
    let keys = keys();
    let before = resident();
    let mut ids = StoredIds::default();
    let mut buffer = Vec::new();
    for seq in 0..keys {
        let key = report(event_id(seq, &mut buffer));
        // A candidate found has a shared hash: its record, read back, would be another key.
        let hash = ids.hash(key);
        black_box(ids.candidate(key, hash).unwrap());
        drop(ids.insert(key, hash, seq).unwrap());
    }
    let per_key = ids.memory_bytes() as f64 / keys as f64;
    println!(
        "{keys} keys: {per_key:.2} bytes a key ({} kept exactly); resident memory grew {:.2} bytes a key",
        ids.exact.len(),
        resident().saturating_sub(before) as f64 / keys as f64
    );
    assert!(per_key <= BUDGET, "{per_key:.2} bytes a key");
    // Every key is found at its own position (a shared hash's through `exact`).
    for seq in (0..keys).step_by(7) {
        let key = report(event_id(seq, &mut buffer));
        assert_eq!(ids.candidate(key, ids.hash(key)).unwrap(), Some(seq));
    }
}

/// Stores 300,000 keys in groups of 1,000, the table frozen every 20,000 keys into runs on
/// disk: every key is still found at its position (some through `exact`), no absent key is,
/// the runs merged to a handful, holding under two bytes a key in memory.
#[test]
fn keys_written_out_to_runs_are_found_from_disk_and_leave_memory() {
    let dir = tempfile::tempdir().unwrap();
    let spill = SpillConfig {
        dir: dir.path().join("stored-ids"),
        freeze_keys: 20_000,
    };
    let mut ids = StoredIds::new(Some(spill)).unwrap();
    let mut buffer = Vec::new();
    let keys = 300_000u64;
    // A few keys whose hash (as the table knows it) an earlier key has.
    let shared = |seq: u64| seq % 50_000 == 7;
    // The table hashes stored: an absent key sharing one is a candidate (read back, it would
    // be another key).
    let mut stored = std::collections::HashSet::new();
    for seq in 0..keys {
        let key = report(event_id(seq, &mut buffer));
        let hash = if shared(seq) {
            ids.hash(report(b"first"))
        } else {
            ids.hash(key)
        };
        if shared(seq) {
            assert_eq!(ids.candidate(key, hash).unwrap().is_some(), seq > 7);
        }
        if seq < keys - 1 {
            stored.insert(table::table_hash(hash));
        }
        let added = ids.insert(key, hash, seq).unwrap();
        if seq == keys - 1 {
            // A failed commit takes back the last key.
            ids.forget(vec![added]);
        }
        if seq % 1_000 == 999 {
            ids.settle(|| None);
        }
    }
    ids.by_hash.settle_all();
    assert!(
        ids.by_hash.runs() >= 2 && ids.by_hash.runs() <= 6,
        "{} runs",
        ids.by_hash.runs()
    );
    for seq in 0..keys - 1 {
        if shared(seq) {
            continue;
        }
        let key = report(event_id(seq, &mut buffer));
        assert_eq!(
            ids.candidate(key, ids.hash(key)).unwrap(),
            Some(seq),
            "key {seq}"
        );
    }
    let last = report(event_id(keys - 1, &mut buffer));
    assert_eq!(ids.candidate(last, ids.hash(last)).unwrap(), None);
    for seq in keys..keys + 100_000 {
        let key = report(event_id(seq, &mut buffer));
        let hash = ids.hash(key);
        assert_eq!(
            ids.candidate(key, hash).unwrap().is_some(),
            stored.contains(&table::table_hash(hash)),
            "absent key {seq}"
        );
    }
    // What the runs hold in memory, a key (the hot table's 9.5 bytes and its fixed 0.8 MB
    // aside: at a million keys and more, these are what count).
    let (in_runs, bytes, hot) = ids.by_hash.runs_memory();
    let per_key = bytes as f64 / in_runs as f64;
    assert_eq!(in_runs + (hot + ids.exact.len()) as u64, keys - 1);
    assert!(
        hot <= 20_000 && per_key < 2.0,
        "{per_key:.2} bytes a key in runs, {hot} hot"
    );
}

/// Today's map before the table (`HashMap<u64, u64>` under std's hasher), for speed.
#[derive(Default)]
struct Before {
    by_hash: HashMap<u64, u64>,
    exact: HashMap<Box<[u8]>, u64>,
}

impl Before {
    fn candidate(&self, key: DedupKey<'_>, hash: u64) -> Option<u64> {
        if !self.exact.is_empty() {
            if let Some(&seq) = self.exact.get(&owned(key)) {
                return Some(seq);
            }
        }
        self.by_hash.get(&hash).copied()
    }

    fn insert(&mut self, key: DedupKey<'_>, hash: u64, seq: u64) {
        if let Some(previous) = self.by_hash.insert(hash, seq) {
            self.by_hash.insert(hash, previous);
            self.exact.insert(owned(key), seq);
        }
    }
}

/// The work done for each key, given the key, its hash and its position.
type Work<'a> = Box<dyn FnMut(DedupKey<'_>, u64, u64) + 'a>;

/// Nanoseconds this thread has run (the kernel's schedstat): CPU time, which other
/// processes on the machine do not stretch as they stretch the clock.
fn thread_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|stat| stat.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Nanoseconds a key of `run`, by the clock and in CPU time.
fn timed(keys: u64, run: impl FnOnce()) -> (f64, f64) {
    let (clock, cpu) = (Instant::now(), thread_ns());
    run();
    let per_key = |ns: f64| ns / keys as f64;
    (
        per_key(clock.elapsed().as_nanos() as f64),
        per_key((thread_ns() - cpu) as f64),
    )
}

/// The median of `values`.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The sequencer's work per keyed event, with the table and with today's map before it:
/// `VNPOP_DEDUP_KEYS` new keys stored (hash, candidate, insert), then as many looked up
/// again (a redelivery) and as many absent; rounds interleaved, medians printed. Run in
/// release: `cargo test --release --lib audit::dedup::tests::speed -- --ignored --nocapture`.
#[test]
#[ignore = "a benchmark: run in release, with --nocapture"]
fn speed_against_the_map_before() {
    let keys = keys();
    let rounds: usize = std::env::var("VNPOP_DEDUP_ROUNDS")
        .ok()
        .and_then(|rounds| rounds.parse().ok())
        .unwrap_or(5);
    // Per variant: insert, found, absent; each (clock, cpu) per round.
    let mut figures = [[(); 3].map(|()| Vec::new()), [(); 3].map(|()| Vec::new())];
    let mut buffer = Vec::new();
    for round in 0..rounds {
        for variant in [round % 2, 1 - round % 2] {
            let mut table = StoredIds::default();
            let mut before = Before::default();
            let hasher = foldhash::fast::FixedState::default();
            let mut buffer_ = std::mem::take(&mut buffer);
            let mut each = |from: u64, mut work: Work<'_>| {
                timed(keys, || {
                    for seq in 0..keys {
                        let key = report(event_id(from + seq, &mut buffer_));
                        work(key, hasher.hash_one(key), seq);
                    }
                })
            };
            let measured = if variant == 0 {
                [
                    each(
                        0,
                        Box::new(|key, hash, seq| {
                            if table.candidate(key, hash).unwrap().is_none() {
                                drop(table.insert(key, hash, seq).unwrap());
                            }
                        }),
                    ),
                    each(
                        0,
                        Box::new(|key, hash, _| {
                            black_box(table.candidate(key, hash).unwrap());
                        }),
                    ),
                    each(
                        keys,
                        Box::new(|key, hash, _| {
                            black_box(table.candidate(key, hash).unwrap());
                        }),
                    ),
                ]
            } else {
                [
                    each(
                        0,
                        Box::new(|key, hash, seq| {
                            if before.candidate(key, hash).is_none() {
                                before.insert(key, hash, seq);
                            }
                        }),
                    ),
                    each(
                        0,
                        Box::new(|key, hash, _| {
                            black_box(before.candidate(key, hash));
                        }),
                    ),
                    each(
                        keys,
                        Box::new(|key, hash, _| {
                            black_box(before.candidate(key, hash));
                        }),
                    ),
                ]
            };
            buffer = buffer_;
            for (list, figure) in figures[variant].iter_mut().zip(measured) {
                list.push(figure);
            }
            let name = ["table", "before"][variant];
            println!("round {round} {name:>6}: {measured:.1?} ns a key (clock, cpu): insert, found, absent");
        }
    }
    for (what, at) in [("insert", 0), ("found", 1), ("absent", 2)] {
        let [table, before] = [0, 1].map(|variant| {
            let list = &figures[variant][at];
            (
                median(list.iter().map(|figure| figure.0).collect()),
                median(list.iter().map(|figure| figure.1).collect()),
            )
        });
        println!(
            "{keys} keys, median of {rounds} rounds, {what}: table {:.1} ns ({:.1} cpu), before {:.1} ns ({:.1} cpu): {:+.1}% ({:+.1}% cpu)",
            table.0,
            table.1,
            before.0,
            before.1,
            (table.0 / before.0 - 1.0) * 100.0,
            (table.1 / before.1 - 1.0) * 100.0,
        );
    }
}
