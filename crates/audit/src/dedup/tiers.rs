//! [`Tiers`]: the hash of each stored id → its first record's position, as one table to its
//! caller, kept in three tiers so that memory holds only the newest keys in full:
//!
//! 1. the **hot** table ([`PositionTable`], 9.5 bytes a key): every key added since the last
//!    freeze;
//! 2. **frozen** tables: hot tables grown to [`SpillConfig::freeze_keys`], no longer written,
//!    each until a run on disk holds its keys;
//! 3. **runs** ([`Run`], some 1.2 bytes a key in memory): files written and merged by a worker
//!    thread, so the sequencer never waits on them. Runs are merged like a binary counter (a run
//!    no more than one and a half times the size of the next newer one is merged with it), so there are some
//!    log₂(keys / freeze_keys) of them and each key is rewritten as many times.
//!
//! A hash is held by one tier at most: [`Tiers::insert_new`] asks every tier first. A failed
//! commit takes back only keys of its own group, which are in the hot table: the table is
//! frozen only between groups ([`Tiers::settle`]).
//!
//! A freeze made between groups carries a [`Mark`] (the log's size and root then, and the keys
//! kept exactly): once its table is written out, the worker writes a [`Manifest`] naming the
//! runs, and a server restarted later takes the runs back ([`Tiers::open`]) and reads back only
//! the records after the mark. A run merged away is deleted once no manifest names it.
//!
//! Without a directory (`SpillConfig` absent) everything stays in the hot table, as before
//! runs existed.

use std::{
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc, Arc,
    },
    thread::JoinHandle,
};

use super::{
    manifest::{Manifest, Mark, MANIFEST_FILE},
    run::{run_error, Run},
    table::PositionTable,
};
use crate::AuditError;

/// Where and when the stored ids leave memory.
#[derive(Debug, Clone)]
pub(crate) struct SpillConfig {
    /// The directory of the runs: the data directory's `stored-ids`, which nothing else uses.
    pub(crate) dir: PathBuf,
    /// Keys the hot table holds before it is frozen and written out.
    pub(crate) freeze_keys: usize,
}

impl SpillConfig {
    /// Keys the hot table holds before it is frozen: 2^21, some 20 MB.
    pub(crate) const FREEZE_KEYS: usize = 1 << 21;

    /// Runs in `dir`, frozen at the default size.
    pub(crate) fn in_dir(dir: PathBuf) -> Self {
        Self {
            dir,
            freeze_keys: Self::FREEZE_KEYS,
        }
    }
}

/// What the worker is given: the frozen tables to write out, oldest first, the runs as they
/// are, and the mark of the newest table, if it has one.
struct Work {
    frozen: Vec<Arc<PositionTable>>,
    runs: Vec<Arc<Run>>,
    mark: Option<Mark>,
}

/// A hot table no longer written, and where the log stood when it was frozen between groups.
struct Frozen {
    table: Arc<PositionTable>,
    mark: Option<Mark>,
}

/// What the worker gives back: the runs that now hold the runs given and the frozen tables.
type Done = std::io::Result<Vec<Arc<Run>>>;

/// The worker thread writing and merging runs.
struct Worker {
    work: Option<mpsc::Sender<Work>>,
    done: mpsc::Receiver<Done>,
    /// Frozen tables the worker is writing out (the oldest ones), when it is busy.
    writing: Option<usize>,
    cancel: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// The stored ids' table in tiers: see the module.
#[derive(Default)]
pub(super) struct Tiers {
    hot: PositionTable,
    /// Oldest first.
    frozen: Vec<Frozen>,
    /// Oldest first.
    runs: Vec<Arc<Run>>,
    /// Where runs go, and the worker writing them.
    spill: Option<(SpillConfig, Worker)>,
}

impl Tiers {
    /// Tiers writing runs as `spill` says, from nothing: a directory left by an earlier server
    /// is emptied first.
    pub(super) fn new(spill: Option<SpillConfig>) -> Result<Self, AuditError> {
        let Some(config) = spill else {
            return Ok(Self::default());
        };
        let dir = &config.dir;
        let failed = |e: std::io::Error| run_error(dir, e);
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(failed)?;
        }
        std::fs::create_dir_all(dir).map_err(failed)?;
        let worker = Worker::start(dir.clone(), 0, Vec::new()).map_err(failed)?;
        Ok(Self {
            spill: Some((config, worker)),
            ..Self::default()
        })
    }

    /// Tiers writing runs as `spill` says, holding the runs of the checkpoint an earlier server
    /// left in its directory, and its mark (the caller checks it against the log); from
    /// nothing ([`Tiers::new`]) when there is none or it cannot be read (it is derived data:
    /// the log is read back instead, and a warning says why).
    pub(super) fn open(spill: Option<SpillConfig>) -> Result<(Self, Option<Mark>), AuditError> {
        let Some(config) = spill else {
            return Ok((Self::default(), None));
        };
        match Self::read_checkpoint(&config.dir) {
            Ok(Some((manifest, runs))) => {
                let dir = &config.dir;
                let listed: Vec<PathBuf> = runs.iter().map(|run| run.path().to_owned()).collect();
                // Files no manifest names: runs merged away, or left unfinished.
                let entries = std::fs::read_dir(dir).map_err(|e| run_error(dir, e))?;
                for entry in entries.flatten() {
                    let path = entry.path();
                    if !listed.contains(&path) && entry.file_name() != MANIFEST_FILE {
                        let _ = std::fs::remove_file(&path);
                    }
                }
                let next = manifest.runs.iter().map(|(n, _)| n + 1).max().unwrap_or(0);
                let worker =
                    Worker::start(dir.clone(), next, listed).map_err(|e| run_error(dir, e))?;
                Ok((
                    Self {
                        runs,
                        spill: Some((config, worker)),
                        ..Self::default()
                    },
                    Some(manifest.mark),
                ))
            }
            Ok(None) => Ok((Self::new(Some(config))?, None)),
            Err(error) => {
                tracing::warn!(%error, dir = %config.dir.display(), "audit stored ids: the checkpoint cannot be read; reading the whole log back instead");
                Ok((Self::new(Some(config))?, None))
            }
        }
    }

    /// The manifest in `dir` and its runs, read back.
    fn read_checkpoint(dir: &Path) -> std::io::Result<Option<(Manifest, Vec<Arc<Run>>)>> {
        let Some(manifest) = Manifest::read(dir)? else {
            return Ok(None);
        };
        let mut runs = Vec::with_capacity(manifest.runs.len());
        for &(number, entries) in &manifest.runs {
            let run = Run::open(&run_path(dir, number))?;
            if run.len() != entries {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "run {number} holds {} entries, not the {entries} its manifest says",
                        run.len()
                    ),
                ));
            }
            runs.push(Arc::new(run));
        }
        Ok(Some((manifest, runs)))
    }

    /// The position stored under `hash`, in whichever tier holds it.
    pub(super) fn get(&self, hash: u64) -> Result<Option<u64>, AuditError> {
        match self.hot.get(hash) {
            Some(position) => Ok(Some(position)),
            None => self.cold_get(hash),
        }
    }

    /// The position stored under `hash` in a frozen table or a run, newest first.
    fn cold_get(&self, hash: u64) -> Result<Option<u64>, AuditError> {
        for frozen in self.frozen.iter().rev() {
            if let Some(position) = frozen.table.get(hash) {
                return Ok(Some(position));
            }
        }
        for run in self.runs.iter().rev() {
            let found = run.get(hash).map_err(|e| run_error(run.path(), e))?;
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// Stores `position` under `hash` unless a position is stored under it in any tier: that
    /// one, left as it is.
    pub(super) fn insert_new(
        &mut self,
        hash: u64,
        position: u64,
    ) -> Result<Option<u64>, AuditError> {
        if let Some(stored) = self.cold_get(hash)? {
            return Ok(Some(stored));
        }
        Ok(self.hot.insert_new(hash, position))
    }

    /// Takes back `hash`, added to the hot table since the last [`Tiers::settle`].
    pub(super) fn remove(&mut self, hash: u64) {
        self.hot.remove(hash);
    }

    /// Freezes the hot table now, however small, marked with `mark`, and gives it to the
    /// worker: a checkpoint of everything held follows (at the end of a read-back, so the next
    /// start need not read it back again).
    pub(super) fn checkpoint(&mut self, mark: Mark) {
        if self.spill.is_some() {
            self.frozen.push(Frozen {
                table: Arc::new(std::mem::take(&mut self.hot)),
                mark: Some(mark),
            });
            self.settle(|| None);
        }
    }

    /// Takes in the runs the worker finished, freezes the hot table if it has grown to its
    /// limit (marked with `mark()`, called only then), and gives the worker the frozen tables
    /// not yet written.
    pub(super) fn settle(&mut self, mark: impl FnOnce() -> Option<Mark>) {
        let Some((config, worker)) = &mut self.spill else {
            return;
        };
        if let Some(count) = worker.writing {
            match worker.done.try_recv() {
                Ok(Ok(runs)) => {
                    self.runs = runs;
                    self.frozen.drain(..count);
                    worker.writing = None;
                }
                Ok(Err(error)) => {
                    tracing::warn!(%error, dir = %config.dir.display(), "audit stored ids: a run could not be written; the ids stay in memory");
                    self.spill = None;
                    return;
                }
                Err(mpsc::TryRecvError::Empty) => {}
                Err(mpsc::TryRecvError::Disconnected) => {
                    tracing::warn!(dir = %config.dir.display(), "audit stored ids: the run writer stopped; the ids stay in memory");
                    self.spill = None;
                    return;
                }
            }
        }
        if self.hot.len() >= config.freeze_keys {
            self.frozen.push(Frozen {
                table: Arc::new(std::mem::take(&mut self.hot)),
                mark: mark(),
            });
        }
        if worker.writing.is_none() && !self.frozen.is_empty() {
            let work = Work {
                frozen: self.frozen.iter().map(|f| Arc::clone(&f.table)).collect(),
                runs: self.runs.clone(),
                mark: self.frozen.last().and_then(|f| f.mark.clone()),
            };
            if worker.work.as_ref().is_some_and(|w| w.send(work).is_ok()) {
                worker.writing = Some(self.frozen.len());
            }
        }
    }

    /// Waits for the worker to write out every frozen table (for tests).
    #[cfg(test)]
    pub(super) fn settle_all(&mut self) {
        while !self.frozen.is_empty() && self.spill.is_some() {
            self.settle(|| None);
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    /// The runs held (for tests).
    #[cfg(test)]
    pub(super) fn runs(&self) -> usize {
        self.runs.len()
    }

    /// Keys in runs, the bytes the runs hold in memory, and keys in the hot table (for tests).
    #[cfg(test)]
    pub(super) fn runs_memory(&self) -> (u64, usize, usize) {
        (
            self.runs.iter().map(|r| r.len()).sum(),
            self.runs.iter().map(|r| r.memory_bytes()).sum(),
            self.hot.len(),
        )
    }

    /// The bytes the tiers hold in memory: the hot and frozen tables, and the runs' indexes
    /// and filters.
    pub(super) fn memory_bytes(&self) -> usize {
        self.hot.memory_bytes()
            + self
                .frozen
                .iter()
                .map(|f| f.table.memory_bytes())
                .sum::<usize>()
            + self.runs.iter().map(|r| r.memory_bytes()).sum::<usize>()
    }
}

impl Worker {
    /// Starts the worker writing runs into `dir`, numbered from `next`; `listed` are the runs
    /// the manifest there names.
    fn start(dir: PathBuf, next: u64, listed: Vec<PathBuf>) -> std::io::Result<Self> {
        let (work, inbox) = mpsc::channel::<Work>();
        let (outbox, done) = mpsc::channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&cancel);
        let thread = std::thread::Builder::new()
            .name("vnpop-stored-ids".into())
            .spawn(move || {
                let mut files = Files {
                    dir,
                    next,
                    listed,
                    garbage: Vec::new(),
                };
                for work in inbox {
                    let done = files.write_out(work, &stop);
                    if outbox.send(done).is_err() {
                        break;
                    }
                }
            })?;
        Ok(Self {
            work: Some(work),
            done,
            writing: None,
            cancel,
            thread: Some(thread),
        })
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
        drop(self.work.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The path of run number `number` in `dir`.
fn run_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{number:08}.run"))
}

/// The number of the run at `path` (its file name's).
fn run_number(path: &Path) -> Option<u64> {
    path.file_stem()?.to_str()?.parse().ok()
}

/// The worker's files: see [`Files::write_out`].
struct Files {
    dir: PathBuf,
    /// The next run's number.
    next: u64,
    /// The runs the last manifest written names.
    listed: Vec<PathBuf>,
    /// Runs merged away, deleted once no manifest names them.
    garbage: Vec<PathBuf>,
}

impl Files {
    /// A new run's path.
    fn new_path(&mut self) -> PathBuf {
        self.next += 1;
        run_path(&self.dir, self.next - 1)
    }

    /// Writes `work`'s frozen tables out as runs after its runs, merging like a binary
    /// counter; then, if the work is marked, the manifest; then deletes the runs merged away
    /// that no manifest names.
    fn write_out(&mut self, work: Work, cancel: &AtomicBool) -> Done {
        let mut runs = work.runs;
        for table in work.frozen {
            let run = Run::write(
                &self.new_path(),
                table.len() as u64,
                |shard, entries| {
                    entries.extend(table.shard_entries(shard));
                    Ok(())
                },
                cancel,
            )?;
            runs.push(Arc::new(run));
            while let [.., older, newer] = &runs[..] {
                if 2 * older.len() > 3 * newer.len() {
                    break;
                }
                let (older, newer) = (Arc::clone(older), Arc::clone(newer));
                let merged = Run::write(
                    &self.new_path(),
                    older.len() + newer.len(),
                    |shard, entries| {
                        older.read_shard(shard, entries)?;
                        newer.read_shard(shard, entries)?;
                        entries.sort_unstable();
                        Ok(())
                    },
                    cancel,
                )?;
                runs.truncate(runs.len() - 2);
                runs.push(Arc::new(merged));
                self.garbage
                    .extend([older.path().to_owned(), newer.path().to_owned()]);
            }
        }
        if let Some(mark) = work.mark {
            let numbered = runs
                .iter()
                .map(|run| {
                    let number = run_number(run.path()).expect("runs are named by number");
                    (number, run.len())
                })
                .collect();
            Manifest {
                mark,
                runs: numbered,
            }
            .write(&self.dir)?;
            self.listed = runs.iter().map(|run| run.path().to_owned()).collect();
        }
        // Whoever still reads a run deleted keeps its open file; the name goes now.
        let listed = &self.listed;
        self.garbage.retain(|path| {
            listed.contains(path) || {
                let _ = std::fs::remove_file(path);
                false
            }
        });
        Ok(runs)
    }
}
