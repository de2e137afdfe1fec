//! Opening the log: [`AuditLog::open`] (a server's own file) and [`AuditLog::open_fleet`] (the
//! fleet's shared database), which recover the log and start the sequencer, the projector and
//! the WAL checkpointer.

use std::{
    path::{Path, PathBuf},
    sync::{atomic::AtomicU64, mpsc, Arc},
    thread::JoinHandle,
    time::Duration,
};

use super::{
    super::{
        dedup::SpillConfig,
        follower::Follower,
        keys::SigningKey,
        postgres::{Meta, PgStore},
        projector::Projector,
        queue::{Answerer, Queue},
        sequencer::Sequencer,
        store::{LogOfRecord, SqliteLog},
        AuditError,
    },
    hex, load_or_create_secret, AuditLog, DataDirLock, DATABASE_FILE, KEY_FILE, PUBLIC_KEY_FILE,
    QUERY_FILE, STORED_IDS_DIR, SUBJECT_KEY_FILE,
};

/// How often the checkpointer moves the write-ahead log into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// Where the sequencer's older stored ids go: the data directory's [`STORED_IDS_DIR`].
fn spill(data_dir: &Path) -> Option<SpillConfig> {
    Some(SpillConfig::in_dir(data_dir.join(STORED_IDS_DIR)))
}
impl AuditLog {
    /// Opens (or creates) the log in the data directory `lock` holds: checks the end of the log against its latest
    /// signed head (a damaged record stops start-up, naming it), rebuilds the tree's right edge,
    /// then starts the sequencer, the projector (which first catches up with anything
    /// acknowledged but not yet applied before the last stop) and the checkpointer.
    pub fn open(lock: DataDirLock) -> Result<Self, AuditError> {
        let data_dir = lock.dir();
        let key = super::super::keys::open(data_dir)?;
        let path = data_dir.join(DATABASE_FILE);
        let signer = super::super::keys::open(data_dir)?;
        // The projector derives the query side from the log while the sequencer reads it to
        // recover.
        let projector = Projector::start(&path, &data_dir.join(QUERY_FILE))?;
        let sequencer = SqliteLog::open_for_writing(&path)
            .and_then(|log| Sequencer::open(log, key, spill(data_dir)));
        let sequencer = sequencer.inspect_err(|_| projector.abandon())?;
        let size = sequencer.size();
        projector.acknowledge(size);
        let acknowledged = Arc::new(AtomicU64::new(size));
        let sequencer = sequencer.answering(Arc::clone(&acknowledged), projector.progress());
        Self::run(sequencer, projector, None, signer, path, acknowledged, lock)
    }

    /// Opens the log of record a fleet of servers shares in `store` (see
    /// [`super::super::postgres`]), with this server's keys and its own copy of the log and query
    /// tables in the data directory `lock` holds. The first server to open the database makes its keys the fleet's;
    /// the others must have the same (their key files copied from it) or are refused.
    pub fn open_fleet(lock: DataDirLock, store: &PgStore) -> Result<Self, AuditError> {
        let data_dir = lock.dir();
        let key = super::super::keys::open(data_dir)?;
        let public_key = key.verifying_key();
        let subject_key = load_or_create_secret(&data_dir.join(SUBJECT_KEY_FILE))?;
        let mut log_id = [0u8; 16];
        getrandom::fill(&mut log_id).map_err(|e| AuditError::Key(e.to_string()))?;
        let ours = Meta {
            log_id: hex(&log_id),
            public_key: public_key.to_bytes(),
            subject_key_check: Meta::subject_key_check(&subject_key),
        };
        let fleet = store.claim(&ours)?;
        for (differs, file) in [
            (fleet.public_key != ours.public_key, KEY_FILE),
            (
                fleet.subject_key_check != ours.subject_key_check,
                SUBJECT_KEY_FILE,
            ),
        ] {
            if differs {
                return Err(AuditError::Key(format!(
                    "{} is not the fleet's: every server of a fleet signs with one key and records citizens under one subject key; copy {KEY_FILE}, {PUBLIC_KEY_FILE} and {SUBJECT_KEY_FILE} from the data directory of a server already in the fleet ({}) into {}",
                    data_dir.join(file).display(),
                    store.shown(),
                    data_dir.display()
                )));
            }
        }
        let path = data_dir.join(DATABASE_FILE);
        let copied = super::super::follower::open_copy(data_dir, store, &fleet.log_id)?;
        let sequencer = Sequencer::open(store.log()?, key, spill(data_dir))?;
        let signer = super::super::keys::open(data_dir)?;
        let acknowledged = Arc::new(AtomicU64::new(copied));
        let projector = Projector::start(&path, &data_dir.join(QUERY_FILE))?;
        projector.acknowledge(copied);
        let follower = Follower::start(store, &path, copied, projector.progress())?;
        let sequencer = sequencer.handing_over(follower.handover());
        Self::run(
            sequencer,
            projector,
            Some((store.clone(), follower)),
            signer,
            path,
            acknowledged,
            lock,
        )
    }

    /// Starts the sequencer's thread and the checkpointer.
    fn run<L: LogOfRecord + Send + 'static>(
        sequencer: Sequencer<L>,
        projector: Projector,
        fleet: Option<(PgStore, Follower)>,
        signer: SigningKey,
        path: PathBuf,
        acknowledged: Arc<AtomicU64>,
        lock: DataDirLock,
    ) -> Result<Self, AuditError> {
        let applied = projector.applied();
        let ids_memory = sequencer.ids_memory();
        tracing::info!(
            events = sequencer.size(),
            read_back = sequencer.size() - sequencer.checkpointed(),
            "audit log open: the records after the stored ids' checkpoint read back"
        );
        let queue = Arc::new(Queue::default());
        let answerer = Arc::new(Answerer::default());
        let mut sequencer = sequencer.answering_through(Arc::clone(&answerer));
        let sequencer = {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name("audit-sequencer".into())
                .spawn(move || {
                    while let Some(group) = queue.take() {
                        sequencer.commit_group(group);
                    }
                })
                .map_err(|e| AuditError::Key(e.to_string()))?
        };
        let checkpointer = spawn_checkpointer(&path)?;
        Ok(AuditLog {
            queue,
            answerer,
            sequencer: Some(sequencer),
            projector: Some(projector),
            checkpointer: Some(checkpointer),
            public_key: signer.verifying_key(),
            signer,
            path,
            written: AtomicU64::new(0),
            acknowledged,
            applied,
            ids_memory,
            fleet,
            readers: Arc::default(),
            _lock: lock,
        })
    }
}

/// Starts the thread that checkpoints the write-ahead log every [`CHECKPOINT_EVERY`] (passive:
/// it never blocks the sequencer) until its sender is dropped.
fn spawn_checkpointer(path: &Path) -> Result<(mpsc::Sender<()>, JoinHandle<()>), AuditError> {
    let log = SqliteLog::open(path)?;
    let (stop, stopped) = mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("audit-checkpoint".into())
        .spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY)
            {
                if let Err(error) = log.checkpoint() {
                    tracing::warn!(%error, "audit WAL checkpoint failed");
                }
            }
        })
        .map_err(|e| AuditError::Key(e.to_string()))?;
    Ok((stop, thread))
}
