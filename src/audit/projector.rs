//! The projector: derives the query tables from the log of record.
//!
//! The log's `events` rows (and the signed heads over them) are the record; everything an
//! auditor's query reads besides them is derived here: the `dossiers` summary, the per-day
//! `ratio_rollup`, the citizen index `subjects` and the Merkle `merkle_blocks`. The projector applies the events the sequencer
//! has made durable in batches, after their callers were answered, each batch in one transaction
//! that also records the position it has applied (`projection_state.applied`). A batch lost to a
//! crash is applied again from that position when the log is next opened ([`catch_up`]), and
//! [`rebuild`] derives everything again from the first event.
//!
//! Projection transactions are not fsync'd: they can always be recomputed from the record, and
//! SQLite's write-ahead log keeps a prefix of commits, so the applied position never runs ahead
//! of the rows it stands for.

use rusqlite::{params, Connection, OptionalExtension};

use super::{
    event::{AuditEvent, EventKind, EventSource},
    log::vietnam_day,
    merkle::Hash,
    verify::{read_event, EVENT_COLUMNS},
    AuditError,
};

/// Events read back from the log per catch-up transaction.
const CATCH_UP_BATCH: u64 = 20_000;

/// What the projector keeps of its own: the first event not yet applied, and the citizen
/// index: the events of each keyed subject hash, under a 64-bit key of it ([`subject_key`]; a
/// query compares the full hash), about a fifth of the size of an index on the hex text.
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS projection_state (
    id      INTEGER PRIMARY KEY CHECK (id = 0),
    applied INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS subjects (
    key INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (key, seq)
) WITHOUT ROWID;
";

/// The 64-bit key of a subject hash in the `subjects` index (FNV-1a of its text).
pub(super) fn subject_key(subject: &str) -> i64 {
    subject
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        }) as i64
}

/// Records, once per database, where projection starts. A log written before the projector
/// existed has no citizen index: its projection is derived again from the first event.
pub(super) fn initialise(connection: &Connection) -> Result<(), AuditError> {
    connection.execute_batch(
        "BEGIN;
         DELETE FROM dossiers WHERE NOT EXISTS (SELECT 1 FROM projection_state);
         DELETE FROM ratio_rollup WHERE NOT EXISTS (SELECT 1 FROM projection_state);
         INSERT OR IGNORE INTO projection_state (id, applied) VALUES (0, 0);
         COMMIT;",
    )?;
    Ok(())
}

/// The first event not yet applied to the query tables; `u64::MAX` for a log no writer has
/// opened since the projector exists (its writer projected everything in its own transaction).
pub(super) fn applied(connection: &Connection) -> Result<u64, AuditError> {
    Ok(connection
        .query_row(
            "SELECT applied FROM projection_state WHERE id = 0",
            [],
            |r| r.get::<_, i64>(0),
        )
        .optional()?
        .map_or(u64::MAX, |applied| applied as u64))
}

/// A batch for [`apply`]: events with their positions (all below `to`), the Merkle blocks
/// they completed, and the position applied once they are.
pub(super) struct Batch<'a> {
    pub events: Vec<(u64, &'a AuditEvent)>,
    pub blocks: Vec<(u64, Hash)>,
    pub to: u64,
}

/// Applies one batch in one (unsynced) transaction, with its new applied position.
pub(super) fn apply(connection: &mut Connection, batch: &Batch<'_>) -> Result<(), AuditError> {
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    let result = (|| {
        let transaction = connection.transaction()?;
        for (seq, event) in &batch.events {
            summarise(&transaction, event)?;
            if let EventKind::Verification { subject, .. } = &event.kind {
                if !subject.is_empty() {
                    transaction
                        .prepare_cached(
                            "INSERT OR IGNORE INTO subjects (key, seq) VALUES (?1, ?2)",
                        )?
                        .execute([subject_key(subject), *seq as i64])?;
                }
            }
        }
        for (index, root) in &batch.blocks {
            transaction
                .prepare_cached(
                    "INSERT OR REPLACE INTO merkle_blocks (block, root) VALUES (?1, ?2)",
                )?
                .execute(params![*index as i64, &root[..]])?;
        }
        transaction
            .prepare_cached("UPDATE projection_state SET applied = ?1 WHERE id = 0")?
            .execute([batch.to as i64])?;
        transaction.commit()?;
        Ok(())
    })();
    connection.pragma_update(None, "synchronous", "FULL")?;
    result
}

/// Applies every event from the recorded position up to `size`, reading them back from the log
/// (after a crash or restart, or when a batch failed). Returns how many were applied.
pub(super) fn catch_up(connection: &mut Connection, size: u64) -> Result<u64, AuditError> {
    let start = applied(connection)?;
    let mut from = start;
    while from < size {
        let to = (from + CATCH_UP_BATCH).min(size);
        let events: Vec<(u64, AuditEvent)> = connection
            .prepare_cached(&format!(
                "SELECT {EVENT_COLUMNS} FROM events WHERE seq >= ?1 AND seq < ?2 ORDER BY seq"
            ))?
            .query_map([from as i64, to as i64], read_event)?
            .map(|stored| {
                let stored = stored?;
                let seq = stored.seq;
                stored
                    .event
                    .map(|event| (seq, event))
                    .ok_or_else(|| AuditError::Corrupt(format!("event {seq} cannot be read back")))
            })
            .collect::<Result<_, AuditError>>()?;
        apply(
            connection,
            &Batch {
                events: events.iter().map(|(seq, event)| (*seq, event)).collect(),
                blocks: Vec::new(),
                to,
            },
        )?;
        from = to;
    }
    Ok(from.saturating_sub(start))
}

/// Derives the dossier summary and the rollup again from the first event (the Merkle blocks are
/// restored from the leaves when the log opens).
pub(super) fn rebuild(connection: &mut Connection, size: u64) -> Result<u64, AuditError> {
    connection.execute_batch(
        "BEGIN;
         DELETE FROM dossiers;
         DELETE FROM ratio_rollup;
         DELETE FROM subjects;
         UPDATE projection_state SET applied = 0 WHERE id = 0;
         COMMIT;",
    )?;
    catch_up(connection, size)
}

/// Adds to the per-day rollup row of a dossier.
fn add_to_rollup(
    transaction: &rusqlite::Transaction<'_>,
    dossier: &DossierKey,
    add: [i64; 4],
) -> Result<(), AuditError> {
    transaction
        .prepare_cached(
            "INSERT INTO ratio_rollup (day, agency_id, district, officer_id, procedure, channel, load_test,
                 dossiers, lookups, covered, served)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT (day, agency_id, district, officer_id, procedure, channel, load_test) DO UPDATE SET
                 dossiers = dossiers + excluded.dossiers, lookups = lookups + excluded.lookups,
                 covered = covered + excluded.covered, served = served + excluded.served",
        )?
        .execute(params![
            vietnam_day(dossier.received_at_ms),
            dossier.agency_id,
            dossier.district,
            dossier.officer_id,
            dossier.procedure,
            dossier.channel,
            dossier.load_test,
            add[0],
            add[1],
            add[2],
            add[3]
        ])?;
    Ok(())
}

/// A dossier summary row as read before an update.
struct SummaryRow {
    received_at_ms: Option<i64>,
    lookups: i64,
    served: i64,
    district: Option<String>,
    officer_id: Option<String>,
    procedure: Option<String>,
    channel: Option<String>,
    load_test: bool,
}

/// What the rollup is keyed by, as the dossier summary holds it.
struct DossierKey {
    agency_id: String,
    district: String,
    officer_id: String,
    procedure: String,
    channel: String,
    received_at_ms: i64,
    load_test: bool,
}

/// Keeps the `dossiers` summary and the per-day `ratio_rollup` in step with one newly stored
/// event. A dossier reported twice counts once (the first report wins); verifications reported
/// before their dossier are counted into the rollup when the dossier arrives.
fn summarise(
    transaction: &rusqlite::Transaction<'_>,
    event: &AuditEvent,
) -> Result<(), AuditError> {
    let existing: Option<SummaryRow> = transaction
        .prepare_cached(
            "SELECT received_at_ms, lookups, served, district, officer_id, procedure, channel, load_test
             FROM dossiers WHERE agency_id = ?1 AND dossier_id = ?2",
        )?
        .query_row(params![event.agency_id, event.dossier_id], |r| {
            Ok(SummaryRow {
                received_at_ms: r.get(0)?,
                lookups: r.get(1)?,
                served: r.get(2)?,
                district: r.get(3)?,
                officer_id: r.get(4)?,
                procedure: r.get(5)?,
                channel: r.get(6)?,
                load_test: r.get(7)?,
            })
        })
        .optional()?;
    match &event.kind {
        EventKind::Dossier { procedure, channel } => {
            if existing
                .as_ref()
                .is_some_and(|e| e.received_at_ms.is_some())
            {
                return Ok(()); // reported before: the first report stands
            }
            transaction
                .prepare_cached(
                    "INSERT INTO dossiers (agency_id, dossier_id, district, officer_id, procedure, channel, received_at_ms, load_test)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (agency_id, dossier_id) DO UPDATE SET district = excluded.district,
                         officer_id = excluded.officer_id, procedure = excluded.procedure, channel = excluded.channel,
                         received_at_ms = excluded.received_at_ms, load_test = excluded.load_test",
                )?
                .execute(params![
                    event.agency_id,
                    event.dossier_id,
                    event.district,
                    event.officer_id,
                    procedure,
                    channel,
                    event.occurred_at_ms,
                    event.load_test
                ])?;
            let (lookups, served) = existing.map_or((0, 0), |e| (e.lookups, e.served));
            let key = DossierKey {
                agency_id: event.agency_id.clone(),
                district: event.district.clone(),
                officer_id: event.officer_id.clone(),
                procedure: procedure.clone(),
                channel: channel.clone(),
                received_at_ms: event.occurred_at_ms,
                load_test: event.load_test,
            };
            add_to_rollup(
                transaction,
                &key,
                [1, lookups, i64::from(lookups > 0), served],
            )?;
        }
        EventKind::Verification { .. } => {
            let column = match event.source {
                EventSource::Client => "lookups",
                EventSource::Server => "served",
            };
            transaction
                .prepare_cached(&format!(
                    "INSERT INTO dossiers (agency_id, dossier_id, load_test, {column}) VALUES (?1, ?2, ?3, 1)
                     ON CONFLICT (agency_id, dossier_id) DO UPDATE SET {column} = {column} + 1"
                ))?
                .execute(params![event.agency_id, event.dossier_id, event.load_test])?;
            let Some(row) = existing else {
                return Ok(());
            };
            let Some(received_at_ms) = row.received_at_ms else {
                return Ok(()); // its dossier is not reported yet: counted when it is
            };
            {
                let lookups = row.lookups;
                let key = DossierKey {
                    agency_id: event.agency_id.clone(),
                    district: row.district.unwrap_or_default(),
                    officer_id: row.officer_id.unwrap_or_default(),
                    procedure: row.procedure.unwrap_or_default(),
                    channel: row.channel.unwrap_or_default(),
                    received_at_ms,
                    load_test: row.load_test,
                };
                let add = match event.source {
                    EventSource::Client => [0, 1, i64::from(lookups == 0), 0],
                    EventSource::Server => [0, 0, 0, 1],
                };
                add_to_rollup(transaction, &key, add)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::audit::{
        log::{parse_public_key, rebuild_projection, DATABASE_FILE, PUBLIC_KEY_FILE},
        verify_file, AuditLog,
    };

    const DAY: i64 = 86_400_000;

    /// Dossiers over ten days with client and server verifications, some reported before their
    /// dossier and some duplicated.
    fn event(i: usize) -> AuditEvent {
        let dossier = i / 3 % 400;
        let at = 1_704_067_200_000 + (dossier as i64 % 10) * DAY;
        let kind = match i % 3 {
            0 => EventKind::Dossier {
                procedure: format!("1.00{}", dossier % 4),
                channel: ["desk", "online"][dossier % 2].into(),
            },
            _ => EventKind::Verification {
                rpc: "LookupByCccd".into(),
                outcome: "found".into(),
                purpose: "p".into(),
                subject: format!("s{}", i % 7),
            },
        };
        AuditEvent {
            event_id: format!("e-{i}"),
            source: [EventSource::Client, EventSource::Server][i % 3 / 2],
            dossier_id: format!("D{dossier}"),
            agency_id: format!("agency-{}", dossier % 3),
            district: format!("district-{}", dossier % 5),
            officer_id: format!("officer-{}", dossier % 11),
            occurred_at_ms: at,
            load_test: dossier.is_multiple_of(13),
            kind,
        }
    }

    /// Every derived table, row by row.
    fn projection(path: &Path) -> Vec<String> {
        let connection = Connection::open(path).unwrap();
        let mut rows = Vec::new();
        for sql in [
            "SELECT * FROM dossiers ORDER BY agency_id, dossier_id",
            "SELECT * FROM ratio_rollup ORDER BY day, agency_id, district, officer_id, procedure, channel, load_test",
            "SELECT block, hex(root) FROM merkle_blocks ORDER BY block",
            "SELECT key, seq FROM subjects ORDER BY key, seq",
        ] {
            let mut statement = connection.prepare(sql).unwrap();
            let columns = statement.column_count();
            let mut result = statement.query([]).unwrap();
            while let Some(row) = result.next().unwrap() {
                let values: Vec<String> = (0..columns)
                    .map(|i| format!("{:?}", row.get_ref(i).unwrap()))
                    .collect();
                rows.push(values.join("|"));
            }
        }
        rows
    }

    #[test]
    fn a_crash_between_append_and_projection_is_caught_up_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DATABASE_FILE);
        let log = AuditLog::open(dir.path()).unwrap();
        let events: Vec<_> = (0..6_000).map(event).collect();
        for chunk in events[..2_500].chunks(500) {
            log.append_blocking(chunk.to_vec()).unwrap();
        }
        // From here on groups are durable and acknowledged but never projected: the state a
        // kill between the log append and the projection leaves.
        log.hold_projection_for_test(true);
        for chunk in events[2_000..].chunks(700) {
            log.append_blocking(chunk.to_vec()).unwrap();
        }
        drop(log);
        let behind = applied(&Connection::open(&path).unwrap()).unwrap();
        assert_eq!(behind, 2_500, "the held groups were not projected");

        drop(AuditLog::open(dir.path()).unwrap());
        assert_eq!(applied(&Connection::open(&path).unwrap()).unwrap(), 6_000);
        let caught_up = projection(&path);
        assert!(caught_up.len() > 400, "{}", caught_up.len());

        assert_eq!(rebuild_projection(&path).unwrap(), 6_000);
        assert_eq!(
            caught_up,
            projection(&path),
            "catch-up equals a clean rebuild"
        );
        let key = std::fs::read_to_string(dir.path().join(PUBLIC_KEY_FILE)).unwrap();
        let report = verify_file(&path, &parse_public_key(&key).unwrap()).unwrap();
        assert_eq!((report.events, report.tamper), (6_000, None));
    }
}
