//! The log's appenders answered with or without the answering task.

use std::sync::Arc;

use super::{AuditLog, DataDirLock};
use crate::event::{test_dossier, AuditEvent};

fn dossier(id: &str) -> Vec<AuditEvent> {
    vec![test_dossier(id, "Quận Ba Đình", "cb01", 1_700_000_000_000)]
}

/// Async appenders on a multi-threaded runtime are answered through the answering task
/// there; once that runtime is gone, appenders of another runtime (of either flavour) and
/// synchronous ones are answered by the sequencer: nobody waits on a runtime that cannot
/// run the task.
#[test]
fn appenders_are_answered_with_or_without_the_answering_task() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(AuditLog::open(DataDirLock::acquire(dir.path()).unwrap()).unwrap());
    let first = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let sizes = first.block_on(async {
        let appends = (0..20).map(|i| {
            let log = Arc::clone(&log);
            tokio::spawn(
                async move { log.append_served(dossier(&format!("A{i}")).remove(0)).await },
            )
        });
        let mut sizes = Vec::new();
        for append in appends {
            sizes.push(append.await.unwrap().unwrap().tree_size);
        }
        sizes
    });
    assert!(sizes.iter().all(|&size| (1..=20).contains(&size)));
    assert_eq!(log.answerer.running(), Some(true));
    drop(first);
    assert_eq!(log.answerer.running(), Some(false));
    let second = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let receipt = second.block_on(log.append(dossier("B"))).unwrap();
    assert_eq!(receipt.tree_size, 21);
    let current = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let receipt = current.block_on(log.append(dossier("C"))).unwrap();
    assert_eq!(receipt.tree_size, 22);
    assert_eq!(log.append_blocking(dossier("D")).unwrap().tree_size, 23);
}

/// With a commit delay, a burst of concurrent appenders is answered in full, every one with its
/// own position, and the log verifies; a caller alone afterwards is answered as before.
#[test]
fn a_commit_delay_loses_no_append_and_the_log_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(AuditLog::open(DataDirLock::acquire(dir.path()).unwrap()).unwrap());
    log.set_commit_delay(std::time::Duration::from_micros(500));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let mut sizes = runtime.block_on(async {
        let mut sizes = Vec::new();
        for burst in 0..5 {
            let appends: Vec<_> = (0..64)
                .map(|i| {
                    let log = Arc::clone(&log);
                    let event = dossier(&format!("A{burst}-{i}")).remove(0);
                    tokio::spawn(async move { log.append_served(event).await })
                })
                .collect();
            for append in appends {
                sizes.push(append.await.unwrap().unwrap().tree_size);
            }
        }
        sizes
    });
    sizes.sort_unstable();
    sizes.dedup();
    assert_eq!(sizes.last(), Some(&320));
    let alone = runtime.block_on(log.append(dossier("B"))).unwrap();
    assert_eq!(alone.tree_size, 321);
    let report = log.verify().unwrap();
    assert_eq!((report.events, report.tamper), (321, None));
}
