//! The sequencer: the only writer of the log of record. It reads the log back once when it
//! opens (checksums, tree, signed head, stored client events, by agency and event id), then stores each group the
//! queue gives it — deduplicated, encoded, hashed into the tree, signed — in one commit, and
//! answers the group's callers.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use super::{
    dedup::{self, Added, Known, SpillConfig, StoredIds},
    event::AuditEvent,
    follower::{Committed, Handover},
    keys::{now_ms, SignedTreeHead, SigningKey, VerifyingKey},
    merkle::{leaf_hash, Frontier, Hash, BLOCK_LEAVES},
    projector::Progress,
    queue::{Answerer, AppendReceipt, Job},
    record::{self, DedupKey, Dictionary, KeyKind, View},
    store::{self, Group, LogOfRecord, RUN},
    AuditError,
};

/// Events after which the sequencer itself, after answering, finishes a checkpoint: under
/// sustained writes the checkpointer's passes never reach the end of the write-ahead log, which
/// restarts from its beginning only once a pass has.
const WRITER_CHECKPOINT_EVENTS: u64 = 65_536;
/// Events after which the sequencer publishes what its stored ids hold in memory again.
const MEMORY_EVERY_EVENTS: u64 = 65_536;

/// What opening finds in the log: its tree, its dictionary and the client event ids stored.
struct Recovered {
    frontier: Frontier,
    dictionary: Dictionary,
    ids: StoredIds,
    /// The records the stored ids' checkpoint held (the log's first), not read back.
    checkpointed: u64,
}

/// The error (logged here, loudly) of a shared log that does not extend what this server saw.
fn split(what: String) -> AuditError {
    let message = format!(
        "the fleet's log has split: {what}; this server refuses to record anything on it (calls are refused AUDIT_UNAVAILABLE) until an operator finds out which log is the true one"
    );
    tracing::error!("{message}");
    AuditError::Corrupt(message)
}

/// The Merkle root of the log's first `size` records: the stored block roots before them and
/// the leaves after the last block. An error, or another root, says the log is not the one a
/// checkpoint of `size` records was made of.
fn root_at<L: LogOfRecord>(
    log: &L,
    dictionary: &mut Dictionary,
    size: u64,
) -> Result<Hash, AuditError> {
    let blocks = size / BLOCK_LEAVES;
    let mut frontier = Frontier::new();
    for (i, (block, root)) in log.blocks(0, blocks)?.into_iter().enumerate() {
        let root: Hash = root
            .try_into()
            .map_err(|_| AuditError::Corrupt("a block root is not 32 bytes".into()))?;
        if block != i as u64 {
            return Err(AuditError::Corrupt(format!("block root {i} is missing")));
        }
        frontier.push_block(root);
    }
    if frontier.size() != blocks * BLOCK_LEAVES {
        return Err(AuditError::Corrupt("block roots are missing".into()));
    }
    let mut bytes = Vec::new();
    log.views(dictionary, frontier.size(), size, &mut |seq, view| {
        record::view_leaf_bytes(seq, &view, &mut bytes);
        frontier.push(leaf_hash(&bytes));
        Ok(true)
    })?;
    Ok(frontier.root())
}

/// The stored ids of the log, from the checkpoint in `spill`'s directory if it holds the log's
/// first records (the same Merkle root), and the position they hold every key before.
fn checkpointed<L: LogOfRecord>(
    log: &L,
    dictionary: &mut Dictionary,
    size: u64,
    spill: Option<SpillConfig>,
) -> Result<(StoredIds, u64), AuditError> {
    let (ids, mark) = StoredIds::open(spill.clone())?;
    let Some((covers, root)) = mark else {
        return Ok((ids, 0));
    };
    let found = if covers > size {
        Err(format!("it holds {covers} records, the log {size}"))
    } else {
        match root_at(log, dictionary, covers) {
            Ok(found) if found == root => Ok(()),
            Ok(_) => Err(format!(
                "the log's first {covers} records are not the ones it was made of"
            )),
            Err(error) => Err(error.to_string()),
        }
    };
    match found {
        Ok(()) => {
            tracing::info!(
                checkpointed = covers,
                after = size - covers,
                "audit stored ids: checkpoint taken back; reading back the records after it"
            );
            Ok((ids, covers))
        }
        Err(why) => {
            tracing::warn!(%why, "audit stored ids: the checkpoint is not this log's; reading the whole log back instead");
            drop(ids);
            Ok((StoredIds::new(spill)?, 0))
        }
    }
}

/// Reads the log back once at start: checks the checksum of every record after the stored ids'
/// checkpoint (all of them without one; a damaged record stops start-up, naming it; `vnpop
/// audit verify` reads every record), collects their client event ids, rebuilds the tree's
/// right edge from the stored block roots and the leaves after them, and checks that it hashes
/// to the latest signed head. When the block roots do not (they are derived data), the tree is
/// rebuilt from every leaf, and the roots restored if that matches.
fn recover<L: LogOfRecord>(
    log: &mut L,
    key: &VerifyingKey,
    spill: Option<SpillConfig>,
) -> Result<Recovered, AuditError> {
    let mut dictionary = log.dictionary()?;
    let size = log.size()?;
    let (mut ids, from) = checkpointed(log, &mut dictionary, size, spill)?;
    log.scan(
        from,
        size,
        &mut |raw| {
            if !record::checks(raw.seq, raw.payload, raw.crc) {
                return Err(store::damaged_record(
                    raw.seq,
                    &record::RecordError::Checksum,
                ));
            }
            if let Some(key) = record::dedup_key(raw.payload, &dictionary)
                .map_err(|e| store::damaged_record(raw.seq, &e))?
            {
                ids.remember(key, raw.seq)?;
            }
            Ok(true)
        },
        &mut |damage| Err(store::damage_error(&damage)),
    )?;
    let head = log.latest_head()?;
    super::verify::check_head(head.as_ref(), size, key)?;
    let complete = size / BLOCK_LEAVES;
    let blocks = log.blocks(0, complete)?;
    let mut frontier = Frontier::new();
    if blocks.len() as u64 == complete
        && blocks
            .iter()
            .enumerate()
            .all(|(i, (b, r))| *b == i as u64 && r.len() == 32)
    {
        for (_, root) in &blocks {
            frontier.push_block(root[..].try_into().expect("32 bytes"));
        }
    }
    let start = frontier.size();
    let mut push_leaves =
        |frontier: &mut Frontier, from: u64| -> Result<Vec<(u64, Hash)>, AuditError> {
            let mut completed = Vec::new();
            let mut bytes = Vec::new();
            log.views(&mut dictionary, from, size, &mut |seq, view| {
                record::view_leaf_bytes(seq, &view, &mut bytes);
                if let Some(block) = frontier.push(leaf_hash(&bytes)) {
                    completed.push((frontier.size() / BLOCK_LEAVES - 1, block));
                }
                Ok(true)
            })?;
            Ok(completed)
        };
    let completed = push_leaves(&mut frontier, start)?;
    if head.as_ref().is_some_and(|h| h.root != frontier.root()) {
        // Perhaps only the derived block roots are damaged: recompute from every leaf.
        let mut full = Frontier::new();
        let completed = push_leaves(&mut full, 0)?;
        if head.as_ref().is_some_and(|h| h.root != full.root()) {
            let found = super::verify::first_tamper(log, key)?;
            return Err(AuditError::Corrupt(match found {
                Some(tamper) => format!("{tamper}; run `vnpop audit verify` for the whole log"),
                None => "the stored events do not hash to the root of the latest signed tree head"
                    .into(),
            }));
        }
        tracing::warn!(
            "audit log: stored Merkle block roots did not match the events; restored them"
        );
        log.restore_blocks(&completed)?;
        frontier = full;
    } else if !completed.is_empty() {
        // Missing block roots (derived data): stored again.
        log.restore_blocks(&completed)?;
    }
    if from < size {
        // What was read back, checkpointed: the next start reads back none of it.
        ids.checkpoint(size, frontier.root());
    }
    Ok(Recovered {
        frontier,
        dictionary,
        ids,
        checkpointed: from,
    })
}

/// The sequencer: owns the log's write side, the tree's right edge, the dictionary and the
/// stored event ids.
pub(super) struct Sequencer<L> {
    log: L,
    frontier: Frontier,
    dictionary: Dictionary,
    ids: StoredIds,
    key: SigningKey,
    acknowledged: Arc<AtomicU64>,
    progress: Arc<Progress>,
    /// In a fleet: where each committed group goes, its callers answered once this server's
    /// copy of the log holds it (else they are answered at once).
    handover: Option<Handover>,
    /// Events written since the sequencer last finished a checkpoint.
    since_checkpoint: u64,
    scratch: Vec<u8>,
    /// Answers callers waiting on a runtime.
    answerer: Arc<Answerer>,
    /// The bytes the stored ids hold, published every [`MEMORY_EVERY_EVENTS`].
    ids_memory: Arc<AtomicU64>,
    /// Events stored since `ids_memory` was last published.
    since_memory: u64,
    /// The records the stored ids' checkpoint held at open, not read back.
    checkpointed: u64,
}

/// What encoding a group produced, before it is stored.
struct Encoded {
    group: Group,
    receipts: Vec<AppendReceipt>,
    /// Ids added to [`StoredIds`] by this group, removed again if the commit fails.
    new_ids: Vec<Added>,
}

impl<L: LogOfRecord> Sequencer<L> {
    /// Takes the log's write side with `key`: reads it back first ([`recover`]). The older
    /// stored ids leave memory as `spill` says (see `dedup`).
    pub(super) fn open(
        mut log: L,
        key: SigningKey,
        spill: Option<SpillConfig>,
    ) -> Result<Self, AuditError> {
        let recovered = recover(&mut log, &key.verifying_key(), spill)?;
        let ids_memory = Arc::new(AtomicU64::new(recovered.ids.memory_bytes() as u64));
        Ok(Sequencer {
            log,
            frontier: recovered.frontier,
            dictionary: recovered.dictionary,
            ids: recovered.ids,
            key,
            acknowledged: Arc::new(AtomicU64::new(0)),
            progress: Arc::new(Progress::default()),
            handover: None,
            since_checkpoint: 0,
            scratch: Vec::new(),
            answerer: Arc::new(Answerer::default()),
            ids_memory,
            since_memory: 0,
            checkpointed: recovered.checkpointed,
        })
    }

    /// Waits until the stored ids frozen are written out, with their checkpoint (for tests).
    #[cfg(test)]
    pub(super) fn wait_for_stored_ids(&mut self) {
        self.ids.settle_all();
    }

    /// The log's first records, whose stored ids a checkpoint held at open: they were not read
    /// back (the records after them were).
    pub(super) fn checkpointed(&self) -> u64 {
        self.checkpointed
    }

    /// The bytes its stored ids (the dedup map) hold in memory, as last published.
    pub(super) fn ids_memory(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.ids_memory)
    }

    /// The log's size.
    pub(super) fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// Publishes each commit's size to `acknowledged` and to the projector's `progress`.
    pub(super) fn answering(
        mut self,
        acknowledged: Arc<AtomicU64>,
        progress: Arc<Progress>,
    ) -> Self {
        self.acknowledged = acknowledged;
        self.progress = progress;
        self
    }

    /// Answers the callers that wait on a runtime through `answerer`.
    pub(super) fn answering_through(mut self, answerer: Arc<Answerer>) -> Self {
        self.answerer = answerer;
        self
    }

    /// In a fleet: hands each committed group over to the follower, which answers its callers
    /// once this server's copy holds its head.
    pub(super) fn handing_over(mut self, handover: Handover) -> Self {
        self.handover = Some(handover);
        self
    }

    /// Stores one group and answers its callers. When the log of record refuses the group's
    /// data ([`AuditError::Refused`]: a value one job carried, not a lost connection), the
    /// group is split in halves committed apart, down to the job at fault, which alone is
    /// refused: one bad job never fails the others.
    pub(super) fn commit_group(&mut self, mut jobs: Vec<Job>) {
        match self.try_commit(&jobs) {
            Ok(receipts) => {
                let size = self.frontier.size();
                let stored: u64 = receipts.iter().map(|r| r.appended as u64).sum();
                self.acknowledged.store(size, Ordering::Release);
                match &self.handover {
                    Some(handover) => handover.committed(Committed {
                        size,
                        root: self.frontier.root(),
                        answers: jobs.into_iter().map(|job| job.ack).zip(receipts).collect(),
                    }),
                    None => {
                        let mut batch = Vec::new();
                        for (job, receipt) in jobs.into_iter().zip(receipts) {
                            if job.via_answerer {
                                batch.push((job.ack, Ok(receipt)));
                            } else {
                                let _ = job.ack.send(Ok(receipt));
                            }
                        }
                        self.answerer.answer(batch);
                    }
                }
                self.progress.acknowledge(size);
                let frontier = &self.frontier;
                self.ids.settle(|| Some((size, frontier.root())));
                self.checkpoint(stored);
                self.since_memory += stored;
                if self.since_memory >= MEMORY_EVERY_EVENTS {
                    self.since_memory = 0;
                    self.ids_memory
                        .store(self.ids.memory_bytes() as u64, Ordering::Relaxed);
                }
            }
            Err(AuditError::Refused(error)) if jobs.len() > 1 => {
                tracing::warn!(
                    %error,
                    jobs = jobs.len(),
                    "audit group commit refused for its data; committing its halves apart"
                );
                let second = jobs.split_off(jobs.len() / 2);
                self.commit_group(jobs);
                self.commit_group(second);
            }
            Err(error) => {
                tracing::error!(%error, jobs = jobs.len(), "audit group commit failed");
                for job in jobs {
                    let _ = job.ack.send(Err(AuditError::Write(error.to_string())));
                }
            }
        }
    }

    /// Encodes and stores `jobs` as one group: each job's receipt, or the error, with nothing
    /// of the group stored and the tree, dictionary and dedup state as before.
    fn try_commit(&mut self, jobs: &[Job]) -> Result<Vec<AppendReceipt>, AuditError> {
        let before = (self.frontier.clone(), self.dictionary.len());
        let encoded = self.catch_up().and_then(|()| self.encode(jobs));
        let result = match encoded {
            Ok(encoded) => match self.log.append(&encoded.group) {
                Ok(()) => Ok(encoded.receipts),
                Err(error) => {
                    self.ids.forget(encoded.new_ids);
                    Err(error)
                }
            },
            Err(error) => {
                self.log.abandon();
                Err(error)
            }
        };
        if result.is_err() {
            // Nothing of the group was stored: the tree and dictionary are as before.
            self.frontier = before.0;
            self.dictionary.truncate(before.1);
        }
        result
    }

    /// For a log shared by several servers: takes its write lock and takes in what the others
    /// appended since this sequencer's last group — their leaves into the tree, their strings
    /// into the dictionary, their client event ids into the dedup map — so this group's
    /// positions follow theirs. A log with one writer has nothing to take in.
    ///
    /// The log must extend the tree this sequencer last saw (its own last commit, or what it
    /// took in before), as a transparency log's client demands of each new head: no smaller,
    /// and the leaves after it hashing, with the tree it saw, to the root of the log's head.
    /// A log that does not (restored from an older backup, then written again; two databases
    /// taken for one) is a split: this server refuses to sequence on it, loudly, rather than
    /// sign a tree nobody else holds.
    fn catch_up(&mut self) -> Result<(), AuditError> {
        let Some(end) = self.log.lock_for_append()? else {
            return Ok(());
        };
        let (size, from) = (end.size, self.frontier.size());
        if size < from {
            return Err(split(format!(
                "the shared log holds {size} events, fewer than the {from} this server has seen"
            )));
        }
        let (frontier, ids, bytes) = (&mut self.frontier, &mut self.ids, &mut self.scratch);
        self.log
            .views(&mut self.dictionary, from, size, &mut |seq, view| {
                record::view_leaf_bytes(seq, &view, bytes);
                frontier.push(leaf_hash(bytes));
                if let Some(key) = DedupKey::of_view(&view) {
                    ids.remember(key, seq)?;
                }
                Ok(true)
            })?;
        if self.frontier.size() != size {
            return Err(AuditError::Corrupt(format!(
                "the shared log says {size} events but holds {}",
                self.frontier.size()
            )));
        }
        if size > 0 && end.root != Some(self.frontier.root()) {
            return Err(split(format!(
                "its signed head at {size} events is not an extension of the tree of {from} events this server last saw"
            )));
        }
        Ok(())
    }

    /// What the log holds of `key` (and, for a call, of the `event` itself): looked up in the
    /// records stored, or earlier in this group, whose events start at `group_start` and are
    /// `pending`.
    fn stored(
        &self,
        key: DedupKey<'_>,
        hash: u64,
        event: Option<&AuditEvent>,
        group_start: u64,
        pending: &[&AuditEvent],
    ) -> Result<Known, AuditError> {
        let Some(seq) = self.ids.candidate(key, hash)? else {
            return Ok(Known::No);
        };
        let event = event.map(View::of_event);
        if seq >= group_start {
            return Ok(match pending.get((seq - group_start) as usize) {
                Some(other) => dedup::compare(&View::of_event(other), key, event.as_ref()),
                None => Known::No,
            });
        }
        let mut known = Known::No;
        let dictionary = &self.dictionary;
        self.log.scan(
            seq,
            seq + 1,
            &mut |raw| {
                if let Ok(stored) = record::view(raw.payload, dictionary) {
                    known = dedup::compare(&stored, key, event.as_ref());
                }
                Ok(false)
            },
            &mut |damage| Err(store::damage_error(&damage)),
        )?;
        Ok(known)
    }

    /// Encodes the jobs' events after the log's end (duplicates dropped), extends the tree
    /// and signs the new head: the group to commit and each job's receipt.
    fn encode(&mut self, jobs: &[Job]) -> Result<Encoded, AuditError> {
        let group_start = self.frontier.size();
        let mut group = Group::default();
        let mut receipts = Vec::with_capacity(jobs.len());
        let mut new_ids = Vec::new();
        // The events added by this group, by position.
        let mut pending: Vec<&AuditEvent> = Vec::new();
        let mut run: (u64, usize, Vec<u8>) = (group_start, 0, Vec::new());
        for job in jobs {
            let (mut appended, mut duplicates) = (0, 0);
            for event in &job.events {
                let seq = self.frontier.size();
                if let Some(key) = DedupKey::of_view(&View::of_event(event)) {
                    let hash = self.ids.hash(key);
                    match self.stored(key, hash, Some(event), group_start, &pending)? {
                        Known::Same => {
                            duplicates += 1;
                            continue;
                        }
                        Known::No => new_ids.push(self.ids.insert(key, hash, seq)?),
                        Known::KeyOnly => {}
                    }
                }
                pending.push(event);
                record::encode(
                    seq,
                    event,
                    job.received_at_ms,
                    &mut self.dictionary,
                    &mut group.strings,
                    &mut self.scratch,
                    &mut run.2,
                );
                run.1 += 1;
                let leaf = leaf_hash(&record::leaf_bytes(seq, event, job.received_at_ms));
                if let Some(block) = self.frontier.push(leaf) {
                    group
                        .blocks
                        .push((self.frontier.size() / BLOCK_LEAVES - 1, block));
                }
                if run.1 == RUN {
                    let next = (self.frontier.size(), 0, Vec::new());
                    group.runs.push(std::mem::replace(&mut run, next));
                }
                appended += 1;
            }
            // Events only looked up, after the job's own events (as a redelivery would be).
            let probed = job
                .probes
                .iter()
                .map(|probe| {
                    let key = DedupKey {
                        kind: KeyKind::Report,
                        agency: probe.agency_id.as_bytes(),
                        id: probe.event_id.as_bytes(),
                    };
                    let known =
                        self.stored(key, self.ids.hash(key), None, group_start, &pending)?;
                    Ok::<_, AuditError>(known == Known::Same)
                })
                .collect::<Result<Vec<_>, _>>()?;
            receipts.push((appended, duplicates, probed));
        }
        if run.1 > 0 {
            group.runs.push(run);
        }
        let size = self.frontier.size();
        if size > group_start {
            let root = self.frontier.root();
            let signed_at_ms = now_ms();
            let signature = self
                .key
                .sign(&SignedTreeHead::message(size, signed_at_ms, &root));
            group.heads.push(SignedTreeHead {
                tree_size: size,
                root,
                signed_at_ms,
                signature: signature.to_bytes(),
            });
        }
        Ok(Encoded {
            group,
            receipts: receipts
                .into_iter()
                .map(|(appended, duplicates, probed)| AppendReceipt {
                    appended,
                    duplicates,
                    tree_size: size,
                    probed,
                })
                .collect(),
            new_ids,
        })
    }

    /// After answering: every [`WRITER_CHECKPOINT_EVENTS`], a passive checkpoint on the
    /// sequencer's own connection, which no write races, so it reaches the end of the
    /// write-ahead log (the checkpointer thread has copied most of it already).
    fn checkpoint(&mut self, events: u64) {
        self.since_checkpoint += events;
        if self.since_checkpoint < WRITER_CHECKPOINT_EVENTS {
            return;
        }
        self.since_checkpoint = 0;
        if let Err(error) = self.log.checkpoint() {
            tracing::warn!(%error, "audit WAL checkpoint failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::audit::{
        event::{test_dossier, test_lookup, EventKind, EventSource, Outcome, Subject},
        lock::DataDirLock,
        AuditEvent, AuditLog,
    };

    /// Dossier `id`'s receipt, reported by `agency` under the event id "receipt-1".
    fn receipt(agency: &str, id: &str) -> AuditEvent {
        AuditEvent {
            event_id: "receipt-1".into(),
            agency_id: agency.into(),
            ..test_dossier(id, "Quận Ba Đình", "cb01", 1_700_000_000_000)
        }
    }

    #[test]
    fn event_ids_are_deduplicated_per_agency_in_a_group_in_the_log_and_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let open = || AuditLog::open(DataDirLock::acquire(dir.path()).unwrap()).unwrap();
        let log = open();
        // One group: the second agency's event is its own; the first's repeat a duplicate.
        let receipt_1 = log
            .append_blocking(vec![
                receipt("one-stop-phuong-ba-dinh", "A"),
                receipt("hospital-bach-mai", "B"),
                receipt("one-stop-phuong-ba-dinh", "A"),
            ])
            .unwrap();
        assert_eq!((receipt_1.appended, receipt_1.duplicates), (2, 1));
        // Later groups: found in the log, by agency.
        let again = log
            .append_blocking(vec![receipt("hospital-bach-mai", "B")])
            .unwrap();
        assert_eq!((again.appended, again.duplicates), (0, 1));
        let third = log
            .append_blocking(vec![receipt("simulation", "C")])
            .unwrap();
        assert_eq!((third.appended, third.duplicates), (1, 0));
        drop(log);
        // Reopened: the keys are derived from the stored records (agency and id).
        let log = open();
        let after = log
            .append_blocking(vec![
                receipt("one-stop-phuong-ba-dinh", "A"),
                receipt("hospital-bach-mai", "B"),
                receipt("simulation", "C"),
                receipt("qa-admin", "D"),
            ])
            .unwrap();
        assert_eq!(
            (after.appended, after.duplicates, after.tree_size),
            (1, 3, 4)
        );
    }

    /// A call the server served for dossier "D" of `agency`, under `call_id`, naming `subject`
    /// (64 hex digits, as the recorder keys citizens), at `at`.
    fn served(agency: &str, call_id: &str, subject: char, at: i64) -> AuditEvent {
        let mut event = test_lookup(0, "D", EventSource::Server, at);
        event.agency_id = agency.into();
        event.call_id = Some(call_id.into());
        if let EventKind::Verification { subject: s, .. } = &mut event.kind {
            *s = Subject::from_hex(&subject.to_string().repeat(64));
        }
        event
    }

    #[test]
    fn a_call_tried_again_is_recorded_once_and_a_reused_call_id_hides_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let open = || AuditLog::open(DataDirLock::acquire(dir.path()).unwrap()).unwrap();
        let log = open();
        let ba_dinh = "one-stop-phuong-ba-dinh";
        // One group: the same call twice (another time) is one record.
        let first = log
            .append_blocking(vec![
                served(ba_dinh, "v0", 'a', 1),
                served(ba_dinh, "v0", 'a', 2),
            ])
            .unwrap();
        assert_eq!((first.appended, first.duplicates), (1, 1));
        // Later, and after reopening: still the same call.
        let again = log
            .append_blocking(vec![served(ba_dinh, "v0", 'a', 3)])
            .unwrap();
        assert_eq!((again.appended, again.duplicates), (0, 1));
        drop(log);
        let log = open();
        let after = log
            .append_blocking(vec![served(ba_dinh, "v0", 'a', 4)])
            .unwrap();
        assert_eq!((after.appended, after.duplicates), (0, 1));
        // The same call id for another citizen, outcome or dossier is another call: recorded,
        // every time; so is another agency's, and a report under the same id.
        let mut other_outcome = served(ba_dinh, "v0", 'a', 5);
        if let EventKind::Verification { outcome, .. } = &mut other_outcome.kind {
            *outcome = Outcome::Failed(tonic::Code::NotFound);
        }
        let mut other_dossier = served(ba_dinh, "v0", 'a', 6);
        other_dossier.dossier_id = "E".into();
        let mut report = test_lookup(0, "D", EventSource::Client, 7);
        report.event_id = "v0".into();
        let others = log
            .append_blocking(vec![
                served(ba_dinh, "v0", 'b', 5),
                served(ba_dinh, "v0", 'b', 6),
                other_outcome,
                other_dossier,
                served("hospital-bach-mai", "v0", 'a', 7),
                report,
                served(ba_dinh, "v0", 'a', 8),
            ])
            .unwrap();
        assert_eq!((others.appended, others.duplicates), (6, 1));
        drop(log);
        let log = open();
        let last = log
            .append_blocking(vec![
                served(ba_dinh, "v0", 'b', 9),
                served(ba_dinh, "v0", 'a', 9),
            ])
            .unwrap();
        assert_eq!((last.appended, last.duplicates), (1, 1));
        // Served events without a call id are never deduplicated.
        let plain = test_lookup(0, "D", EventSource::Server, 10);
        let plain = log.append_blocking(vec![plain.clone(), plain]).unwrap();
        assert_eq!((plain.appended, plain.duplicates), (2, 0));
    }
}

#[cfg(test)]
mod refused_groups {
    use tokio::sync::oneshot;

    use super::*;
    use crate::audit::{
        event::test_dossier,
        keys,
        merkle::Hash,
        queue::Job,
        store::{RawRecord, RunDamage, SqliteLog, DATABASE_FILE},
    };

    /// The SQLite log, refusing as PostgreSQL does a group whose dictionary entries hold a NUL
    /// (a text column cannot), with [`AuditError::Refused`]; `connection_lost` refuses every
    /// group with [`AuditError::Store`] instead.
    struct RefusingLog {
        inner: SqliteLog,
        connection_lost: bool,
        attempts: usize,
    }

    impl LogOfRecord for RefusingLog {
        fn append(&mut self, group: &Group) -> Result<(), AuditError> {
            self.attempts += 1;
            if self.connection_lost {
                return Err(AuditError::Store("connection closed".into()));
            }
            if group.strings.iter().any(|(_, text)| text.contains('\0')) {
                return Err(AuditError::Refused("invalid byte sequence 0x00".into()));
            }
            self.inner.append(group)
        }
        fn scan(
            &self,
            from: u64,
            to: u64,
            each: &mut dyn FnMut(RawRecord<'_>) -> Result<bool, AuditError>,
            damaged: &mut dyn FnMut(RunDamage) -> Result<(), AuditError>,
        ) -> Result<(), AuditError> {
            self.inner.scan(from, to, each, damaged)
        }
        fn size(&self) -> Result<u64, AuditError> {
            self.inner.size()
        }
        fn strings_from(&self, from: u64) -> Result<Vec<(u64, String)>, AuditError> {
            self.inner.strings_from(from)
        }
        fn heads(&self) -> Result<Vec<SignedTreeHead>, AuditError> {
            self.inner.heads()
        }
        fn latest_head(&self) -> Result<Option<SignedTreeHead>, AuditError> {
            self.inner.latest_head()
        }
        fn blocks(&self, from: u64, to: u64) -> Result<Vec<(u64, Vec<u8>)>, AuditError> {
            self.inner.blocks(from, to)
        }
        fn restore_blocks(&mut self, blocks: &[(u64, Hash)]) -> Result<(), AuditError> {
            self.inner.restore_blocks(blocks)
        }
    }

    /// A job of one dossier event by `officer`, and where its answer arrives.
    fn job(id: &str, officer: &str) -> (Job, oneshot::Receiver<Result<AppendReceipt, AuditError>>) {
        let (ack, done) = oneshot::channel();
        let job = Job {
            events: vec![test_dossier(id, "Quận Ba Đình", officer, 1_700_000_000_000)],
            received_at_ms: 1_700_000_000_000,
            probes: Vec::new(),
            ack,
            via_answerer: false,
        };
        (job, done)
    }

    /// Commits a group of jobs by the `officers` on a sequencer over a [`RefusingLog`]: each
    /// job's answer (stored or not), the log's size after, and the commits tried.
    fn commit(officers: &[&str], connection_lost: bool) -> (Vec<bool>, u64, usize) {
        let dir = tempfile::tempdir().unwrap();
        let log = RefusingLog {
            inner: SqliteLog::open_for_writing(&dir.path().join(DATABASE_FILE)).unwrap(),
            connection_lost,
            attempts: 0,
        };
        let mut sequencer = Sequencer::open(log, keys::open(dir.path()).unwrap(), None).unwrap();
        let (jobs, answers): (Vec<_>, Vec<_>) = officers
            .iter()
            .enumerate()
            .map(|(i, officer)| job(&format!("D-{i}"), officer))
            .unzip();
        sequencer.commit_group(jobs);
        let stored = answers
            .into_iter()
            .map(|mut done| done.try_recv().unwrap().is_ok_and(|r| r.appended == 1))
            .collect();
        let size = sequencer.log.size().unwrap();
        (stored, size, sequencer.log.attempts)
    }

    #[test]
    fn a_job_whose_data_the_log_refuses_is_refused_alone() {
        let (stored, size, attempts) = commit(&["cb01", "cb02", "cb\0bad", "cb04", "cb05"], false);
        assert_eq!(stored, [true, true, false, true, true]);
        assert_eq!(size, 4);
        // Bisected: the whole, then halves, down to the one job.
        assert!(attempts <= 1 + 2 * 3, "{attempts}");
        let (stored, size, _) = commit(&["cb\0a", "cb02", "cb\0b"], false);
        assert_eq!((stored, size), (vec![false, true, false], 1));
        let (stored, _, _) = commit(&["cb01", "cb02"], false);
        assert_eq!(stored, [true, true]);
    }

    #[test]
    fn a_lost_connection_fails_the_group_without_retrying_it() {
        let (stored, size, attempts) = commit(&["cb01", "cb02", "cb03"], true);
        assert_eq!((stored, size, attempts), (vec![false; 3], 0, 1));
    }
}
