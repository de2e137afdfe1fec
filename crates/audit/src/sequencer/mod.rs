//! The sequencer: the only writer of the log of record. It reads the log back once when it
//! opens (checksums, tree, signed head, stored client events, by agency and event id), then stores each group the
//! queue gives it — deduplicated, encoded, hashed into the tree, signed — in one commit, and
//! answers the group's callers.

mod recover;
#[cfg(test)]
mod refused_groups;
#[cfg(test)]
mod tests;

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use super::{
    dedup::{self, Added, Known, SpillConfig, StoredIds},
    event::AuditEvent,
    follower::{Committed, Handover},
    keys::{now_ms, SignedTreeHead, SigningKey},
    merkle::{leaf_hash, Frontier, BLOCK_LEAVES},
    projector::Progress,
    queue::{Answerer, AppendReceipt, Job},
    record::{self, DedupKey, Dictionary, KeyKind, View},
    store::{self, Group, LogOfRecord, RUN},
    AuditError,
};
use recover::recover;

/// Events after which the sequencer itself, after answering, finishes a checkpoint: under
/// sustained writes the checkpointer's passes never reach the end of the write-ahead log, which
/// restarts from its beginning only once a pass has.
const WRITER_CHECKPOINT_EVENTS: u64 = 65_536;
/// Events after which the sequencer publishes what its stored ids hold in memory again.
const MEMORY_EVERY_EVENTS: u64 = 65_536;

/// The error (logged here, loudly) of a shared log that does not extend what this server saw.
fn split(what: String) -> AuditError {
    let message = format!(
        "the fleet's log has split: {what}; this server refuses to record anything on it (calls are refused AUDIT_UNAVAILABLE) until an operator finds out which log is the true one"
    );
    tracing::error!("{message}");
    AuditError::Corrupt(message)
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
    /// Takes the log's write side with `key`: reads it back first ([`recover()`]). The older
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
