//! TESTS ONLY (the `testing` feature): what someone with write access to the log file could do
//! to it, so tests can check that verification names it; and a fresh PostgreSQL database for a
//! test. Nothing in the server or the CLI calls these.

use std::path::Path;

use rusqlite::{params, Connection};

mod floor;

pub use floor::{DurableFloor, FloorMode};

use super::{
    event::AuditEvent,
    record,
    store::{LogOfRecord, SqliteLog},
    AuditError,
};

/// Raw records: (payload, crc).
type Raw = Vec<(Vec<u8>, u32)>;

/// The run (first seq, records) holding `seq`.
fn run_of(connection: &Connection, seq: u64) -> Result<(u64, Raw), AuditError> {
    let (first, count, body): (i64, i64, Vec<u8>) = connection.query_row(
        "SELECT first_seq, count, body FROM records WHERE first_seq <= ?1 ORDER BY first_seq DESC LIMIT 1",
        [seq as i64],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let mut rest = &body[..];
    let mut records = Vec::new();
    for _ in 0..count {
        let (payload, crc) =
            record::next_record(&mut rest).map_err(|e| AuditError::Corrupt(e.to_string()))?;
        records.push((payload.to_vec(), crc));
    }
    Ok((first as u64, records))
}

/// Replaces the run starting at `first` with `records` (payload, checksum) as given.
fn write_run(
    connection: &Connection,
    first: u64,
    records: &[(Vec<u8>, u32)],
) -> Result<(), AuditError> {
    let mut body = Vec::new();
    for (payload, crc) in records {
        record::frame(payload, *crc, &mut body);
    }
    let n = connection.execute(
        "UPDATE records SET count = ?2, body = ?3 WHERE first_seq = ?1",
        params![first as i64, records.len() as i64, body],
    )?;
    if n != 1 {
        return Err(AuditError::Corrupt(format!("no run starts at #{first}")));
    }
    Ok(())
}

/// Changes what event `seq` of the log at `path` says, keeping its receive time; with
/// `fix_checksum` its checksum is recomputed (as a careful forger would), else kept.
pub fn rewrite_event(
    path: &Path,
    seq: u64,
    fix_checksum: bool,
    edit: impl FnOnce(&mut AuditEvent),
) -> Result<(), AuditError> {
    let log = SqliteLog::open(path)?;
    let dictionary = log.dictionary()?;
    let connection = log.connection();
    let (first, mut records) = run_of(connection, seq)?;
    let (payload, crc) = &records[(seq - first) as usize];
    let mut stored = record::decode(seq, payload, &dictionary)
        .map_err(|e| AuditError::Corrupt(e.to_string()))?;
    edit(&mut stored.event);
    let new_payload = record::inline_payload(&stored.event, stored.received_at_ms);
    let crc = if fix_checksum {
        record::checksum(seq, &new_payload)
    } else {
        *crc
    };
    records[(seq - first) as usize] = (new_payload, crc);
    write_run(connection, first, &records)
}

/// Removes event `seq` from its run, as an edit of the file would (the run's count is
/// adjusted, later runs keep their positions).
pub fn remove_event(path: &Path, seq: u64) -> Result<(), AuditError> {
    let log = SqliteLog::open(path)?;
    let (first, mut records) = run_of(log.connection(), seq)?;
    records.remove((seq - first) as usize);
    write_run(log.connection(), first, &records)
}

/// A new, empty PostgreSQL database for one test, in the throwaway cluster that
/// `tests/with-postgres` (the README's test command) starts and names in `VNPOP_TEST_POSTGRES`:
/// its URL. Panics, saying how to run the tests, when there is none.
pub async fn postgres_database() -> String {
    let base = std::env::var("VNPOP_TEST_POSTGRES").unwrap_or_else(|_| {
        panic!(
            "VNPOP_TEST_POSTGRES is not set: the PostgreSQL tests need a PostgreSQL server; run them as `bash tests/with-postgres cargo test` (the README's test command), which starts one"
        )
    });
    let (client, connection) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
        .await
        .expect("the test PostgreSQL server answers");
    let connection = tokio::spawn(connection);
    let name = format!("vnpop_test_{}", crate::ids::run_id::<6>().unwrap());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("CREATE DATABASE");
    drop(client);
    let _ = connection.await;
    let (prefix, _) = base.rsplit_once('/').expect("a URL ending in /database");
    format!("{prefix}/{name}")
}
