//! The stored ids' checkpoint through the sequencer: a server restarted on its log takes the
//! runs back and reads back only the records after them, and still drops every redelivery; a
//! checkpoint that is not its log's is refused, and the whole log read back.

use std::path::Path;

use tokio::sync::oneshot;

use super::{SpillConfig, STORED_IDS_DIR};
use crate::{
    event::test_dossier,
    keys,
    queue::Job,
    sequencer::Sequencer,
    store::{SqliteLog, DATABASE_FILE},
    AuditEvent,
};

/// Keys the hot table holds before it is frozen, here.
const FREEZE: usize = 500;

/// A sequencer on the log in `dir`, its stored ids written out in `ids_dir`.
fn open(dir: &Path, ids_dir: &Path) -> Sequencer<SqliteLog> {
    let log = SqliteLog::open_for_writing(&dir.join(DATABASE_FILE)).unwrap();
    let spill = SpillConfig {
        dir: ids_dir.to_owned(),
        freeze_keys: FREEZE,
    };
    Sequencer::open(log, keys::open(dir).unwrap(), Some(spill)).unwrap()
}

/// Dossier events reported under the event ids `{prefix}-{i}` for `ids`.
fn events(prefix: &str, ids: std::ops::Range<u32>) -> Vec<AuditEvent> {
    ids.map(|i| AuditEvent {
        event_id: format!("{prefix}-{i}"),
        ..test_dossier(&format!("D-{i}"), "Quận Ba Đình", "cb01", 1_700_000_000_000)
    })
    .collect()
}

/// Commits `events` as one job: (appended, duplicates).
fn commit(sequencer: &mut Sequencer<SqliteLog>, events: Vec<AuditEvent>) -> (usize, usize) {
    let (ack, mut done) = oneshot::channel();
    sequencer.commit_group(vec![Job {
        events,
        received_at_ms: 1_700_000_000_000,
        probes: Vec::new(),
        ack,
        via_answerer: false,
    }]);
    let receipt = done.try_recv().unwrap().unwrap();
    (receipt.appended, receipt.duplicates)
}

/// Writes 3,000 keyed events in groups of 100 and waits for their runs and checkpoint.
fn written(dir: &Path, prefix: &str) {
    let mut sequencer = open(dir, &dir.join(STORED_IDS_DIR));
    for group in 0..30 {
        let from = group * 100;
        assert_eq!(
            commit(&mut sequencer, events(prefix, from..from + 100)),
            (100, 0)
        );
    }
    sequencer.wait_for_stored_ids();
}

#[test]
fn a_restart_reads_back_only_what_the_checkpoint_does_not_hold_and_drops_every_redelivery() {
    let dir = tempfile::tempdir().unwrap();
    written(dir.path(), "a");
    let mut sequencer = open(dir.path(), &dir.path().join(STORED_IDS_DIR));
    let checkpointed = sequencer.checkpointed();
    assert!(
        (2_000..=3_000).contains(&checkpointed),
        "checkpoint of {checkpointed}"
    );
    // Redeliveries from before the checkpoint and after it, and new events.
    let mut again = events("a", 0..3_000);
    again.extend(events("a", 3_000..3_050));
    assert_eq!(commit(&mut sequencer, again), (50, 3_000));
}

#[test]
fn a_checkpoint_of_another_log_is_refused_and_the_log_read_back_whole() {
    let (first, second) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    written(first.path(), "a");
    written(second.path(), "b");
    // The second server's directory given the first's checkpoint.
    let ids_dir = second.path().join(STORED_IDS_DIR);
    std::fs::remove_dir_all(&ids_dir).unwrap();
    std::fs::rename(first.path().join(STORED_IDS_DIR), &ids_dir).unwrap();
    let mut sequencer = open(second.path(), &ids_dir);
    assert_eq!(sequencer.checkpointed(), 0);
    // Its own events are redeliveries; the first log's are not.
    assert_eq!(commit(&mut sequencer, events("b", 0..3_000)), (0, 3_000));
    assert_eq!(commit(&mut sequencer, events("a", 0..100)), (100, 0));
}

#[test]
fn a_damaged_run_or_manifest_is_refused_and_the_log_read_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    written(dir.path(), "a");
    let ids_dir = dir.path().join(STORED_IDS_DIR);
    let mut runs: Vec<_> = std::fs::read_dir(&ids_dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "run"))
        .collect();
    runs.sort();
    // One byte of an entry flipped: the run's checksum fails.
    let run = &runs[0];
    let mut bytes = std::fs::read(run).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 1;
    std::fs::write(run, bytes).unwrap();
    let mut sequencer = open(dir.path(), &ids_dir);
    assert_eq!(sequencer.checkpointed(), 0);
    assert_eq!(commit(&mut sequencer, events("a", 0..3_000)), (0, 3_000));
    sequencer.wait_for_stored_ids();
    drop(sequencer);
    // Written again from the whole log; then the manifest cut short.
    let manifest = ids_dir.join(super::manifest::MANIFEST_FILE);
    let bytes = std::fs::read(&manifest).unwrap();
    std::fs::write(&manifest, &bytes[..bytes.len() - 1]).unwrap();
    let mut sequencer = open(dir.path(), &ids_dir);
    assert_eq!(sequencer.checkpointed(), 0);
    assert_eq!(commit(&mut sequencer, events("a", 0..3_000)), (0, 3_000));
}
