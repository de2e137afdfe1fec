//! The storage test suite on PostgreSQL (`PgLog`), each test on a new, empty database of its
//! own in the throwaway cluster that `tests/with-postgres` (the README's test command) starts
//! and names in `VNPOP_TEST_POSTGRES`; and what only a shared log has, its write lock as
//! another connection sees it.

use super::{PgLog, PgStore};
use crate::store::{
    suite::{log_of_record_suite, Backend},
    Group, LogOfRecord,
};

/// A database of its own, its log reached through a store's pool.
struct Database(PgStore);

impl Backend for Database {
    type Log = PgLog;
    const SHARED: bool = true;
    fn open(&self) -> PgLog {
        self.0.log().unwrap()
    }
}

/// A new, empty database in the test cluster, with the log's schema.
fn fresh() -> Database {
    let url = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(crate::testing::postgres_database());
    Database(PgStore::connect(&url).unwrap())
}

log_of_record_suite!(fresh);

/// Advisory locks held in `store`'s database, as another connection sees them.
fn advisory_locks(store: &PgStore) -> i64 {
    let client = store.client().unwrap();
    store
        .block_on(client.query_one(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            &[],
        ))
        .unwrap()
        .get(0)
}

/// The write lock is held from `lock_for_append` until the append, a failed append, `abandon`
/// or the handle's drop, and no longer.
#[test]
fn the_write_lock_is_held_until_the_append_ends() {
    let Database(store) = fresh();
    let mut log = store.log().unwrap();
    assert_eq!(advisory_locks(&store), 0);
    log.lock_for_append().unwrap();
    assert_eq!(advisory_locks(&store), 1);
    log.append(&Group::default()).unwrap();
    assert_eq!(advisory_locks(&store), 0, "released by the append");
    log.lock_for_append().unwrap();
    log.abandon();
    assert_eq!(advisory_locks(&store), 0, "released by abandon");
    log.lock_for_append().unwrap();
    let twice = Group {
        strings: vec![(0, "a".into()), (0, "b".into())],
        ..Group::default()
    };
    assert!(log.append(&twice).is_err());
    assert_eq!(advisory_locks(&store), 0, "released by a failed append");
    log.lock_for_append().unwrap();
    log.lock_for_append().unwrap();
    assert_eq!(advisory_locks(&store), 1, "taken again, once");
    drop(log);
    assert_eq!(advisory_locks(&store), 0, "released by the handle's drop");
}
