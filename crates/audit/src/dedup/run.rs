//! [`Run`]: stored ids frozen out of memory into a file of their own, sorted, with what finds
//! one of them kept in memory, so that the table of the newest keys ([`PositionTable`](super::table::PositionTable)) need
//! not hold them all (see `tiers`).
//!
//! A run's file, every integer little-endian:
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 8 | magic `VNPIDRUN` |
//! | 8 | 4 | format version, 1 |
//! | 12 | 4 | CRC-32 of the entries |
//! | 16 | 8 × ([`SHARDS`] + 1) | where each shard's entries start (an entry index); the last is the count |
//! | [`HEADER`] | 8 × count | the entries, as a table holds them (fragment ≪ 40 ∣ position), by shard, then fragment |
//!
//! In memory a run keeps each shard's start, the fragment of every [`SAMPLE`]th entry of each
//! shard, and binary fuse filters (`xorf`) of the table hashes it holds, one per part of about
//! [`FILTER_PART`] keys: some 1.2 bytes a key, where the table holds 9.5. A key the run does not
//! hold is answered from memory but for the filter's false positives (under 0.4%); a key it may
//! hold costs one read of at most `SAMPLE` entries (4 KiB).
//!
//! A run is derived data: written once, whole, under a temporary name and renamed, and read
//! back (its checksum checked) only by `tiers` when it reopens a checkpoint.

use std::{
    fs::File,
    io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write},
    os::unix::fs::FileExt,
    path::{Path, PathBuf},
    sync::atomic::{AtomicBool, Ordering},
};

use xorf::{BinaryFuse8, Filter};

use super::table::{fragment, split, FRAGMENT_BITS, POSITION_MASK, SHARDS, SHARD_BITS};

/// The file's first bytes.
const MAGIC: &[u8; 8] = b"VNPIDRUN";
/// The file format's version.
const VERSION: u32 = 1;
/// The header's bytes: magic, version, checksum, the shards' starts.
const HEADER: u64 = 16 + 8 * (SHARDS as u64 + 1);
/// Entries between two samples of a shard: one read of a key's neighbourhood (4 KiB).
const SAMPLE: usize = 512;
/// Keys a filter is built over, about: its construction's memory (some 25 bytes a key) stays
/// small, and its space per key near the 9 bits of a large one.
const FILTER_PART: u64 = 1 << 16;

/// A run of stored ids on disk: see the module.
pub(super) struct Run {
    /// The run's file.
    path: PathBuf,
    /// The file, open to read.
    file: File,
    /// Where each shard's entries start, and the count last.
    starts: Box<[u64]>,
    /// Where each shard's samples start in `samples`, and their count last.
    sample_starts: Box<[u32]>,
    /// The fragment of every [`SAMPLE`]th entry of each shard, from its first.
    samples: Box<[u32]>,
    /// A filter of the table hashes held, per part of the shards (none where it could not be
    /// built: every key is looked up on disk there).
    filters: Box<[Option<BinaryFuse8>]>,
    /// A shard's part is `shard >> part_shift`.
    part_shift: u32,
}

/// The error of `what` on the run at `path`, for [`super::StoredIds`]'s callers.
pub(super) fn run_error(path: &Path, what: impl std::fmt::Display) -> crate::AuditError {
    crate::AuditError::StoredIds {
        file: path.display().to_string(),
        message: what.to_string(),
    }
}

/// The table hash (`table::table_hash`) of the entry `entry` of shard `shard`: the key of
/// the filters.
fn table_hash_of(shard: usize, entry: u64) -> u64 {
    (shard as u64) << FRAGMENT_BITS | fragment(entry)
}

/// What a run keeps in memory, built while its entries are written or read back in order.
struct Index {
    starts: Vec<u64>,
    sample_starts: Vec<u32>,
    samples: Vec<u32>,
    filters: Vec<Option<BinaryFuse8>>,
    part_shift: u32,
    /// The current part's keys.
    keys: Vec<u64>,
    /// Entries taken so far.
    count: u64,
}

impl Index {
    /// An index for a run of about `count` entries.
    fn new(count: u64) -> Self {
        let parts = (count / FILTER_PART)
            .clamp(1, SHARDS as u64)
            .next_power_of_two();
        Self {
            starts: Vec::with_capacity(SHARDS + 1),
            sample_starts: Vec::with_capacity(SHARDS + 1),
            samples: Vec::with_capacity(count as usize / SAMPLE + SHARDS),
            filters: Vec::with_capacity(parts as usize),
            part_shift: SHARD_BITS - parts.trailing_zeros(),
            keys: Vec::new(),
            count: 0,
        }
    }

    /// Takes shard `shard`'s entries, in order.
    fn shard(&mut self, shard: usize, entries: &[u64]) {
        self.starts.push(self.count);
        self.sample_starts.push(self.samples.len() as u32);
        for (i, &entry) in entries.iter().enumerate() {
            if i % SAMPLE == 0 {
                self.samples.push(fragment(entry) as u32);
            }
            self.keys.push(table_hash_of(shard, entry));
        }
        self.count += entries.len() as u64;
        if (shard + 1).is_multiple_of(1 << self.part_shift) {
            // A filter fails to build only on a repeated key, which a run never holds; if it
            // did, its part would be read from disk, which is slower, never wrong.
            self.filters.push(if self.keys.is_empty() {
                None
            } else {
                BinaryFuse8::try_from(&self.keys).ok()
            });
            self.keys.clear();
        }
    }

    /// The run, once every shard was taken.
    fn finish(mut self, path: PathBuf, file: File) -> Run {
        self.starts.push(self.count);
        self.sample_starts.push(self.samples.len() as u32);
        Run {
            path,
            file,
            starts: self.starts.into(),
            sample_starts: self.sample_starts.into(),
            samples: self.samples.into(),
            filters: self.filters.into(),
            part_shift: self.part_shift,
        }
    }
}

/// Whether `entries` are in strictly increasing fragment order.
fn ordered(entries: &[u64]) -> bool {
    entries
        .windows(2)
        .all(|pair| fragment(pair[0]) < fragment(pair[1]))
}

impl Run {
    /// Writes a run of `count` entries to `path`, shard by shard: `fill(shard, entries)` pushes
    /// shard `shard`'s entries, in fragment order, each table hash once. Gives up (an
    /// [`io::ErrorKind::Interrupted`] error, the file left unfinished under its temporary
    /// name) when `cancel` is set.
    pub(super) fn write(
        path: &Path,
        count: u64,
        mut fill: impl FnMut(usize, &mut Vec<u64>) -> io::Result<()>,
        cancel: &AtomicBool,
    ) -> io::Result<Run> {
        let temporary = path.with_extension("tmp");
        let mut out = BufWriter::with_capacity(1 << 16, File::create(&temporary)?);
        out.write_all(&[0; HEADER as usize])?;
        let mut index = Index::new(count);
        let mut crc = crc32fast::Hasher::new();
        let mut entries = Vec::new();
        for shard in 0..SHARDS {
            if cancel.load(Ordering::Relaxed) {
                return Err(io::ErrorKind::Interrupted.into());
            }
            entries.clear();
            fill(shard, &mut entries)?;
            if !ordered(&entries) {
                return Err(io::Error::other(format!(
                    "shard {shard}'s entries are not in order"
                )));
            }
            for &entry in &entries {
                let bytes = entry.to_le_bytes();
                crc.update(&bytes);
                out.write_all(&bytes)?;
            }
            index.shard(shard, &entries);
        }
        let mut file = out.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        let mut header = Vec::with_capacity(HEADER as usize);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&VERSION.to_le_bytes());
        header.extend_from_slice(&crc.finalize().to_le_bytes());
        for start in index.starts.iter().chain([&index.count]) {
            header.extend_from_slice(&start.to_le_bytes());
        }
        file.write_all(&header)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temporary, path)?;
        Ok(index.finish(path.to_owned(), File::open(path)?))
    }

    /// Reads back the run at `path`: its header, and every entry once (the checksum checked,
    /// the index rebuilt).
    pub(super) fn open(path: &Path) -> io::Result<Run> {
        let file = File::open(path)?;
        let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
        let mut input = BufReader::with_capacity(1 << 16, &file);
        let mut header = vec![0; HEADER as usize];
        input.read_exact(&mut header)?;
        if &header[..8] != MAGIC {
            return Err(invalid("not a run of stored ids"));
        }
        if header[8..12] != VERSION.to_le_bytes() {
            return Err(invalid("a run of another format version"));
        }
        let expected = u32::from_le_bytes(header[12..16].try_into().expect("4 bytes"));
        let starts: Vec<u64> = header[16..]
            .chunks_exact(8)
            .map(|bytes| u64::from_le_bytes(bytes.try_into().expect("8 bytes")))
            .collect();
        let count = starts[SHARDS];
        if starts.windows(2).any(|pair| pair[0] > pair[1])
            || file.metadata()?.len() != HEADER + 8 * count
        {
            return Err(invalid("its header does not match its length"));
        }
        let mut index = Index::new(count);
        let mut crc = crc32fast::Hasher::new();
        let mut entries = Vec::new();
        let mut bytes = [0; 8];
        for shard in 0..SHARDS {
            entries.clear();
            for _ in starts[shard]..starts[shard + 1] {
                input.read_exact(&mut bytes)?;
                crc.update(&bytes);
                entries.push(u64::from_le_bytes(bytes));
            }
            if !ordered(&entries) {
                return Err(invalid("its entries are not in order"));
            }
            index.shard(shard, &entries);
        }
        if crc.finalize() != expected {
            return Err(invalid("its checksum does not match its entries"));
        }
        drop(input);
        Ok(index.finish(path.to_owned(), file))
    }

    /// The run's file.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Entries held.
    pub(super) fn len(&self) -> u64 {
        self.starts[SHARDS]
    }

    /// Appends shard `shard`'s entries to `entries`, read from the file.
    pub(super) fn read_shard(&self, shard: usize, entries: &mut Vec<u64>) -> io::Result<()> {
        let (from, to) = (self.starts[shard], self.starts[shard + 1]);
        self.read(from, to, entries)
    }

    /// Appends the entries `from..to` to `entries`, read from the file.
    fn read(&self, from: u64, to: u64, entries: &mut Vec<u64>) -> io::Result<()> {
        let mut bytes = vec![0; ((to - from) * 8) as usize];
        self.file.read_exact_at(&mut bytes, HEADER + from * 8)?;
        entries.extend(
            bytes
                .chunks_exact(8)
                .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes"))),
        );
        Ok(())
    }

    /// The position stored under `hash` (its table hash), if the run holds it.
    pub(super) fn get(&self, hash: u64) -> io::Result<Option<u64>> {
        let (shard, wanted) = split(hash);
        let (from, to) = (self.starts[shard], self.starts[shard + 1]);
        if from == to {
            return Ok(None);
        }
        if let Some(filter) = &self.filters[shard >> self.part_shift] {
            if !filter.contains(&(((shard as u64) << FRAGMENT_BITS) | wanted)) {
                return Ok(None);
            }
        }
        let samples = &self.samples
            [self.sample_starts[shard] as usize..self.sample_starts[shard + 1] as usize];
        let block = samples.partition_point(|&sample| u64::from(sample) <= wanted);
        if block == 0 {
            return Ok(None);
        }
        let first = from + ((block - 1) * SAMPLE) as u64;
        let mut entries = Vec::with_capacity(SAMPLE);
        self.read(first, (first + SAMPLE as u64).min(to), &mut entries)?;
        Ok(entries
            .binary_search_by_key(&wanted, |&entry| fragment(entry))
            .ok()
            .map(|at| entries[at] & POSITION_MASK))
    }

    /// The bytes the run holds in memory: its starts, samples and filters.
    pub(super) fn memory_bytes(&self) -> usize {
        std::mem::size_of_val::<[u64]>(&self.starts)
            + std::mem::size_of_val::<[u32]>(&self.sample_starts)
            + std::mem::size_of_val::<[u32]>(&self.samples)
            + self
                .filters
                .iter()
                .flatten()
                .map(|filter| filter.fingerprints.len() + std::mem::size_of::<BinaryFuse8>())
                .sum::<usize>()
    }
}
