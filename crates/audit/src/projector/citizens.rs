//! The citizen index: the log positions of each keyed subject's verifications, as sorted,
//! append-only runs in [`CITIZEN_FILE`] and an in-memory tail.
//!
//! Projecting an event into it costs a push onto the tail, however long the log: no B-tree is
//! touched per event. Once the tail spans [`RUN_EVENTS`] positions the projector sorts it and
//! appends it to the file as one run, synced, then swaps it for the tail under the lock readers
//! take, so a reader sees every entry exactly once. A query reads, for each run, the one or two
//! blocks of [`FENCE_EVERY`] entries that can hold its key (found through the run's fences, kept
//! in memory), then the tail; a history is a few dozen reads however many events the log holds.
//!
//! A run in the file:
//!
//! | part | bytes |
//! |---|---|
//! | header | `MAGIC`, first position, end position (exclusive), entries: 4 × u64 little-endian |
//! | entries | u64 each, sorted: the subject's key (its first 4 bytes, big-endian) in the high 32 bits, the position less the run's first in the low 32 |
//! | fences | u32 each: the key of every [`FENCE_EVERY`]th entry |
//! | footer | CRC-32 of the header (u32), then `FOOTER` |
//!
//! A run without its footer (a crash while appending) and every run after it are not part of the
//! index; runs beyond the position the query tables record as applied are dropped at start (the
//! query tables were derived again, or lost their last commits): the file never runs ahead of
//! `projection_state.applied`, and what lies between its last run and that position is read
//! again from the log into the tail ([`CitizenIndex::open`]).

use std::{
    fs::{File, OpenOptions},
    os::unix::fs::FileExt,
    path::{Path, PathBuf},
    sync::{Arc, RwLock},
};

use crate::{
    vocabulary::Subject,
    {
        record::{Dictionary, ViewKind},
        store::LogOfRecord,
        AuditError,
    },
};

/// The citizen index's file in the data directory, beside the query tables'.
pub const CITIZEN_FILE: &str = "audit-citizens.idx";

/// Positions a run spans at least (the tail is written out once it spans this many); small in
/// unit tests, so that their logs have runs.
const RUN_EVENTS: u64 = if cfg!(test) { 1 << 10 } else { 1 << 20 };
/// Entries per block: a run keeps the key of each block's first entry in memory.
const FENCE_EVERY: usize = 512;
/// A run's first 8 bytes.
const MAGIC: u64 = u64::from_le_bytes(*b"vnpopCI1");
/// A run's last 4 bytes, after the header's checksum.
const FOOTER: [u8; 4] = *b"RUN.";
/// Bytes of a run's header.
const HEADER: u64 = 32;
/// Bytes a run is written in at a time.
const WRITE_PIECE: usize = 1 << 16;

/// The key a subject is indexed under: its first 4 bytes (a keyed hash: uniform). A query
/// compares the full subject with the event read back.
pub(crate) fn subject_key(subject: &Subject) -> u32 {
    u32::from_be_bytes([subject.0[0], subject.0[1], subject.0[2], subject.0[3]])
}

/// The error of the index at `path` failing with `error`.
fn failed(path: &Path, error: std::io::Error) -> AuditError {
    AuditError::CitizenIndex {
        file: path.display().to_string(),
        message: error.to_string(),
    }
}

/// An entry: `key` high, `offset` (a position less its run's or tail's first) low.
fn entry(key: u32, offset: u64) -> u64 {
    (u64::from(key) << 32) | (offset & 0xffff_ffff)
}

/// One run of the file, as readers need it.
#[derive(Debug, Clone)]
struct Run {
    /// Its first position.
    start: u64,
    /// The end of the positions it covers (exclusive).
    end: u64,
    /// Where its entries begin in the file.
    offset: u64,
    /// How many entries it holds.
    entries: u64,
    /// The key of every [`FENCE_EVERY`]th entry.
    fences: Vec<u32>,
}

impl Run {
    /// The run's bytes in the file (header to footer).
    fn bytes(&self) -> u64 {
        HEADER + self.entries * 8 + self.fences.len() as u64 * 4 + 8
    }

    /// Adds the positions this run holds under `key` to `out`, in order.
    fn find(&self, file: &File, key: u32, out: &mut Vec<u64>) -> std::io::Result<()> {
        // The first block whose first key is not below `key`; entries under `key` may begin in
        // the block before it.
        let first = self.fences.partition_point(|&fence| fence < key);
        let mut index = first.saturating_sub(1) * FENCE_EVERY;
        let mut block = vec![0u8; FENCE_EVERY * 8];
        while (index as u64) < self.entries {
            let count = (self.entries - index as u64).min(FENCE_EVERY as u64) as usize;
            let bytes = &mut block[..count * 8];
            file.read_exact_at(bytes, self.offset + index as u64 * 8)?;
            for chunk in bytes.chunks_exact(8) {
                let value = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
                match (value >> 32) as u32 {
                    k if k < key => {}
                    k if k == key => out.push(self.start + (value & 0xffff_ffff)),
                    _ => return Ok(()),
                }
            }
            index += count;
        }
        Ok(())
    }
}

/// What readers see: the file's runs and the tail after them.
#[derive(Debug)]
struct Shared {
    runs: Vec<Run>,
    /// The first position the tail covers (the last run's end).
    tail_start: u64,
    /// Entries of positions from `tail_start`, in the order applied.
    tail: Vec<u64>,
}

/// The citizen index, shared by the projector (which extends it) and the readers of a running
/// server.
#[derive(Debug, Clone)]
pub(crate) struct CitizenIndex {
    path: PathBuf,
    shared: Arc<RwLock<Shared>>,
}

impl CitizenIndex {
    /// Opens the index at `path` for the projector of a log whose query tables hold the events
    /// before `applied`: drops any run beyond it (and a run left half written), then reads the
    /// verifications between the last run and `applied` back from `log` into the tail.
    pub(crate) fn open(
        path: &Path,
        applied: u64,
        log: &dyn LogOfRecord,
        dictionary: &mut Dictionary,
    ) -> Result<(Self, CitizenWriter), AuditError> {
        let (index, mut writer) = Self::open_runs(path, applied).map_err(|e| failed(path, e))?;
        let tail_start = writer.tail_start;
        let mut from = tail_start;
        while from < applied {
            let to = applied.min(from + RUN_EVENTS);
            log.views(dictionary, from, to, &mut |seq, view| {
                if let ViewKind::Verification { subject, .. } = view.kind {
                    if let Some(subject) = subject.keyed() {
                        writer.push(seq, &subject);
                    }
                }
                Ok(true)
            })?;
            writer.publish(to)?;
            from = to;
        }
        Ok((index, writer))
    }

    /// The index's file at `path` with its complete runs up to `applied` (the rest cut off),
    /// and an empty tail after them.
    fn open_runs(path: &Path, applied: u64) -> std::io::Result<(Self, CitizenWriter)> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let mut runs = read_runs(&file)?;
        runs.retain(|run| run.end <= applied);
        let length = runs
            .last()
            .map_or(0, |run| run.offset - HEADER + run.bytes());
        if file.metadata()?.len() != length {
            file.set_len(length)?;
            file.sync_data()?;
        }
        let tail_start = runs.last().map_or(0, |run| run.end);
        let index = CitizenIndex {
            path: path.to_owned(),
            shared: Arc::new(RwLock::new(Shared {
                runs,
                tail_start,
                tail: Vec::new(),
            })),
        };
        let writer = CitizenWriter {
            index: index.clone(),
            file,
            length,
            tail: Vec::new(),
            tail_start,
            batch: Vec::new(),
        };
        Ok((index, writer))
    }

    /// Reads the index at `path` as it stands, for a reader of the file with no projector
    /// beside it: its runs, and the verifications of `[last run's end, size)` read from `log`.
    pub(crate) fn read(
        path: &Path,
        size: u64,
        log: &dyn LogOfRecord,
        dictionary: &mut Dictionary,
    ) -> Result<Self, AuditError> {
        let runs = match File::open(path) {
            Ok(file) => read_runs(&file).map_err(|e| failed(path, e))?,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(error) => return Err(failed(path, error)),
        };
        let runs: Vec<Run> = runs.into_iter().take_while(|run| run.end <= size).collect();
        let tail_start = runs.last().map_or(0, |run| run.end);
        let mut tail = Vec::new();
        log.views(dictionary, tail_start, size, &mut |seq, view| {
            if let ViewKind::Verification { subject, .. } = view.kind {
                if let Some(subject) = subject.keyed() {
                    tail.push(entry(subject_key(&subject), seq - tail_start));
                }
            }
            Ok(true)
        })?;
        Ok(CitizenIndex {
            path: path.to_owned(),
            shared: Arc::new(RwLock::new(Shared {
                runs,
                tail_start,
                tail,
            })),
        })
    }

    /// The positions indexed under `subject`'s key, in order (some may hold another subject
    /// with the same key: the caller compares).
    pub(crate) fn positions(&self, subject: &Subject) -> Result<Vec<u64>, AuditError> {
        let key = subject_key(subject);
        let shared = self.shared.read().unwrap_or_else(|e| e.into_inner());
        let mut found = Vec::new();
        if !shared.runs.is_empty() {
            let io = |error| failed(&self.path, error);
            let file = File::open(&self.path).map_err(io)?;
            for run in &shared.runs {
                run.find(&file, key, &mut found).map_err(io)?;
            }
        }
        let start = shared.tail_start;
        found.extend(
            shared
                .tail
                .iter()
                .filter(|value| (*value >> 32) as u32 == key)
                .map(|value| start + (value & 0xffff_ffff)),
        );
        Ok(found)
    }

    /// Every entry as (position, key), in position order: for tests comparing two indexes.
    #[cfg(test)]
    pub(crate) fn dump(&self) -> std::io::Result<Vec<(u64, u32)>> {
        let shared = self.shared.read().unwrap_or_else(|e| e.into_inner());
        let file = File::open(&self.path)?;
        let mut all = Vec::new();
        for run in &shared.runs {
            let mut bytes = vec![0u8; run.entries as usize * 8];
            file.read_exact_at(&mut bytes, run.offset)?;
            for chunk in bytes.chunks_exact(8) {
                let value = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
                all.push((run.start + (value & 0xffff_ffff), (value >> 32) as u32));
            }
        }
        let start = shared.tail_start;
        all.extend(
            shared
                .tail
                .iter()
                .map(|value| (start + (value & 0xffff_ffff), (value >> 32) as u32)),
        );
        all.sort_unstable();
        Ok(all)
    }
}

/// The projector's side: collects a batch's entries, publishes them with the batch, and writes
/// the tail out as a run once it is long enough.
#[derive(Debug)]
pub(crate) struct CitizenWriter {
    index: CitizenIndex,
    file: File,
    /// The file's length: where the next run goes.
    length: u64,
    /// The projector's own copy of the published tail (written out without holding the lock).
    tail: Vec<u64>,
    tail_start: u64,
    /// Entries of the batch being applied, not yet published.
    batch: Vec<u64>,
}

impl CitizenWriter {
    /// Notes that the event at `seq` is a verification of `subject`.
    pub(crate) fn push(&mut self, seq: u64, subject: &Subject) {
        self.push_key(seq, subject_key(subject));
    }

    /// Notes that the event at `seq` is a verification of a subject of key `key`
    /// ([`subject_key`]).
    pub(crate) fn push_key(&mut self, seq: u64, key: u32) {
        self.batch.push(entry(key, seq - self.tail_start));
    }

    /// Forgets the batch's entries (its transaction failed).
    pub(crate) fn discard(&mut self) {
        self.batch.clear();
    }

    /// Makes the batch's entries visible (every event before `applied` is now indexed), and
    /// writes the tail out as a run once it spans [`RUN_EVENTS`] positions.
    pub(crate) fn publish(&mut self, applied: u64) -> Result<(), AuditError> {
        {
            let mut shared = self.index.shared.write().unwrap_or_else(|e| e.into_inner());
            shared.tail.extend_from_slice(&self.batch);
        }
        self.tail.append(&mut self.batch);
        if applied - self.tail_start >= RUN_EVENTS {
            self.write_run(applied)?;
        }
        Ok(())
    }

    /// Sorts the tail, appends it to the file as the run `[tail_start, end)`, syncs it, then
    /// hands it to readers in the tail's place.
    fn write_run(&mut self, end: u64) -> Result<(), AuditError> {
        let mut entries = std::mem::take(&mut self.tail);
        entries.sort_unstable();
        let fences: Vec<u32> = entries
            .iter()
            .step_by(FENCE_EVERY)
            .map(|value| (value >> 32) as u32)
            .collect();
        // Written a piece at a time: no second copy of a run's 8 MB in memory.
        let io = |error| failed(&self.index.path, error);
        let mut piece = Vec::with_capacity(WRITE_PIECE + 8);
        let mut at = self.length;
        for word in [MAGIC, self.tail_start, end, entries.len() as u64] {
            piece.extend_from_slice(&word.to_le_bytes());
        }
        let checksum = crc32fast::hash(&piece);
        let mut put = |bytes: &[u8], piece: &mut Vec<u8>| -> Result<(), AuditError> {
            piece.extend_from_slice(bytes);
            if piece.len() >= WRITE_PIECE {
                self.file.write_all_at(piece, at).map_err(io)?;
                at += piece.len() as u64;
                piece.clear();
            }
            Ok(())
        };
        for value in &entries {
            put(&value.to_le_bytes(), &mut piece)?;
        }
        for fence in &fences {
            put(&fence.to_le_bytes(), &mut piece)?;
        }
        piece.extend_from_slice(&checksum.to_le_bytes());
        piece.extend_from_slice(&FOOTER);
        self.file.write_all_at(&piece, at).map_err(io)?;
        at += piece.len() as u64;
        self.file.sync_data().map_err(io)?;
        let run = Run {
            start: self.tail_start,
            end,
            offset: self.length + HEADER,
            entries: entries.len() as u64,
            fences,
        };
        self.length = at;
        self.tail_start = end;
        // The sorted entries' room is the next tail's.
        entries.clear();
        self.tail = entries;
        let mut shared = self.index.shared.write().unwrap_or_else(|e| e.into_inner());
        shared.runs.push(run);
        shared.tail.clear();
        shared.tail_start = end;
        Ok(())
    }

    /// Empties the index (the query tables are derived again from the first event).
    pub(crate) fn clear(&mut self) -> Result<(), AuditError> {
        let io = |error| failed(&self.index.path, error);
        self.file.set_len(0).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.length = 0;
        self.tail.clear();
        self.batch.clear();
        self.tail_start = 0;
        let mut shared = self.index.shared.write().unwrap_or_else(|e| e.into_inner());
        shared.runs.clear();
        shared.tail.clear();
        shared.tail_start = 0;
        Ok(())
    }
}

/// The complete runs of `file`, in order, up to the first that is not.
fn read_runs(file: &File) -> std::io::Result<Vec<Run>> {
    let length = file.metadata()?.len();
    let mut runs = Vec::new();
    let mut at = 0;
    let mut header = [0u8; HEADER as usize];
    while at + HEADER <= length {
        file.read_exact_at(&mut header, at)?;
        let word = |i: usize| u64::from_le_bytes(header[i * 8..i * 8 + 8].try_into().expect("8"));
        let (magic, start, end, entries) = (word(0), word(1), word(2), word(3));
        let fences = entries.div_ceil(FENCE_EVERY as u64);
        let bytes = HEADER
            .saturating_add(entries.saturating_mul(8))
            .saturating_add(fences.saturating_mul(4))
            .saturating_add(8);
        if magic != MAGIC || at.saturating_add(bytes) > length || end < start {
            break;
        }
        let mut footer = [0u8; 8];
        file.read_exact_at(&mut footer, at + bytes - 8)?;
        if footer[4..] != FOOTER || footer[..4] != crc32fast::hash(&header).to_le_bytes() {
            break;
        }
        let mut fence_bytes = vec![0u8; fences as usize * 4];
        file.read_exact_at(&mut fence_bytes, at + HEADER + entries * 8)?;
        runs.push(Run {
            start,
            end,
            offset: at + HEADER,
            entries,
            fences: fence_bytes
                .chunks_exact(4)
                .map(|b| u32::from_le_bytes(b.try_into().expect("4")))
                .collect(),
        });
        at += bytes;
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn subject(n: u64) -> Subject {
        let mut bytes = [0u8; 32];
        // Few distinct keys, so runs hold long stretches of one key across blocks.
        bytes[..8].copy_from_slice(&(n % 7).wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes());
        bytes[8..16].copy_from_slice(&n.to_be_bytes());
        Subject(bytes)
    }

    fn writer(dir: &Path) -> (CitizenIndex, CitizenWriter) {
        CitizenIndex::open_runs(&dir.join(CITIZEN_FILE), u64::MAX).unwrap()
    }

    #[test]
    fn runs_and_tail_find_every_position_once_and_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let (index, mut writer) = writer(dir.path());
        let total = 2 * RUN_EVENTS + 345;
        let mut from = 0;
        while from < total {
            let to = total.min(from + 100);
            for seq in from..to {
                if seq % 3 != 0 {
                    writer.push(seq, &subject(seq % 5_000));
                }
            }
            writer.publish(to).unwrap();
            from = to;
        }
        assert_eq!(index.shared.read().unwrap().runs.len(), 2);
        for n in [0, 1, 6, 7, 4_999, 2_500] {
            let expected: Vec<u64> = (0..total)
                .filter(|seq| seq % 3 != 0 && seq % 5_000 % 7 == n % 7)
                .collect();
            assert_eq!(index.positions(&subject(n)).unwrap(), expected, "{n}");
        }

        // Reopened: the runs are read back; a half-written run at the end is not one.
        drop(writer);
        let path = dir.path().join(CITIZEN_FILE);
        let length = std::fs::metadata(&path).unwrap().len();
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(&MAGIC.to_le_bytes()).unwrap();
        file.write_all(&[7u8; 100]).unwrap();
        let runs = read_runs(&File::open(&path).unwrap()).unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[1].end, index.shared.read().unwrap().runs[1].end);
        assert!(std::fs::metadata(&path).unwrap().len() > length);
    }
}
