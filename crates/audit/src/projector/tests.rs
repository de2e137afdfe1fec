//! The projector's tests: catch-up after a crash, the citizen index reopened at earlier
//! positions, and every auditor answer of a live query side against a clean rebuild.
use std::path::Path;

use rusqlite::Connection;

use super::*;
use crate::vocabulary::{Answer, Channel, Outcome, Rpc, Subject};
use crate::{
    log::{parse_public_key, rebuild_projection, DATABASE_FILE, PUBLIC_KEY_FILE, QUERY_FILE},
    query::AuditReader,
    verify_file, AuditEvent, AuditLog, EventKind, EventSource,
};

const DAY: i64 = 86_400_000;
/// When the test events begin (2024-01-01T07:00+07:00).
const START: i64 = 1_704_067_200_000;

/// Dossiers over ten days with client and server verifications, some reported before their
/// dossier and some duplicated.
fn event(i: usize) -> AuditEvent {
    let dossier = i / 3 % 400;
    let at = START + (dossier as i64 % 10) * DAY;
    let kind = match i % 3 {
        0 => EventKind::Dossier {
            procedure: format!("1.00{}", dossier % 4),
            channel: [Channel::Desk, Channel::Online][dossier % 2].clone(),
        },
        _ => EventKind::Verification {
            rpc: Rpc::LookupByCccd,
            outcome: Answer::Found.into(),
            purpose: "p".into(),
            subject: Some(Subject([(i % 7) as u8; 32])),
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
        commune: None,
        province: None,
        call_id: None,
        kind,
    }
}

/// Every derived table, row by row, then the citizen index's entries, then every auditor
/// answer (the state in memory, derived from the log by the reader).
fn projection(path: &Path) -> Vec<String> {
    let connection = Connection::open(path).unwrap();
    let mut rows = Vec::new();
    for sql in [
        "SELECT * FROM dossiers ORDER BY seq",
        "SELECT * FROM merkle_nodes ORDER BY 1, 2",
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
    let log = SqliteLog::open(&path.with_file_name(DATABASE_FILE)).unwrap();
    let size = applied(&connection).unwrap();
    let index = CitizenIndex::read(
        &path.with_file_name(CITIZEN_FILE),
        size,
        &log,
        &mut Dictionary::default(),
    )
    .unwrap();
    rows.extend(index.dump().unwrap().iter().map(|e| format!("{e:?}")));
    let reader = AuditReader::open(&path.with_file_name(DATABASE_FILE)).unwrap();
    rows.extend(answers(&reader));
    rows
}

/// Every auditor question's answer over the test events' days, as text.
fn answers(reader: &AuditReader) -> Vec<String> {
    use crate::query::{GroupBy, RatioQuery, RatioSource, UnverifiedQuery};
    use crate::reconcile::ReconcileQuery;
    let mut out = Vec::new();
    let whole = (START - DAY, START + 40 * DAY);
    let partial = (START + DAY / 3, START + 7 * DAY + DAY / 5);
    let groups: Vec<Vec<GroupBy>> = vec![
        vec![],
        vec![GroupBy::Agency],
        vec![GroupBy::District],
        vec![GroupBy::Officer],
        vec![GroupBy::Procedure],
        vec![GroupBy::Channel],
        vec![GroupBy::Month],
        vec![GroupBy::Commune],
        vec![GroupBy::Province],
        vec![GroupBy::District, GroupBy::Month],
        vec![GroupBy::Officer, GroupBy::Procedure, GroupBy::Channel],
    ];
    for (from_ms, to_ms) in [whole, partial] {
        for agency_id in [None, Some("agency-1".to_owned()), Some("none".to_owned())] {
            for include_load_test in [false, true] {
                for group_by in &groups {
                    let query = RatioQuery {
                        from_ms,
                        to_ms,
                        agency_id: agency_id.clone(),
                        group_by: group_by.clone(),
                        include_load_test,
                    };
                    out.push(format!("{:?}", reader.ratio(&query).unwrap()));
                    out.push(format!(
                        "{:?}",
                        reader.ratio_from(&query, RatioSource::Dossiers).unwrap()
                    ));
                    out.push(format!("{:?}", reader.ratio_left_out(&query).unwrap()));
                }
                let reconciled = reader
                    .reconcile(&ReconcileQuery {
                        from_ms,
                        to_ms,
                        agency_id: agency_id.clone(),
                        include_load_test,
                        max_findings: 0,
                    })
                    .unwrap();
                use crate::reconcile::FindingKind;
                let counts: Vec<u64> = [
                    FindingKind::ServedNotReported,
                    FindingKind::ReportedNotServed,
                    FindingKind::DossierNotReported,
                    FindingKind::ReportedLate,
                    FindingKind::ReportedFailureUnconfirmed,
                ]
                .map(|kind| reconciled.count(kind))
                .to_vec();
                out.push(format!(
                    "{} {} {} {} {:?} {counts:?}",
                    reconciled.dossiers,
                    reconciled.reported,
                    reconciled.served,
                    reconciled.not_reaching_server,
                    reconciled.findings
                ));
            }
            for district in [None, Some("district-2".to_owned())] {
                let mut query = UnverifiedQuery {
                    from_ms,
                    to_ms,
                    agency_id: agency_id.clone(),
                    district,
                    officer_id: None,
                    after: None,
                    limit: 7,
                };
                loop {
                    let page = reader.unverified(&query).unwrap();
                    out.push(format!("{page:?}"));
                    match page.last() {
                        Some(last) => {
                            query.after = Some((
                                last.received_at_ms,
                                last.agency_id.clone(),
                                last.dossier_id.clone(),
                            ))
                        }
                        None => break,
                    }
                }
            }
        }
    }
    for n in 0..8u8 {
        out.push(format!("{:?}", reader.accesses(&Subject([n; 32])).unwrap()));
    }
    out
}

/// The citizen index's entries of `[0, size)` read from the log itself.
fn citizens_in_log(data_dir: &Path, size: u64) -> Vec<(u64, u32)> {
    let log = SqliteLog::open(&data_dir.join(DATABASE_FILE)).unwrap();
    let mut all = Vec::new();
    log.views(&mut Dictionary::default(), 0, size, &mut |seq, view| {
        if let ViewKind::Verification { subject, .. } = view.kind {
            if let Some(subject) = subject.keyed() {
                all.push((seq, citizens::subject_key(&subject)));
            }
        }
        Ok(true)
    })
    .unwrap();
    all
}

#[test]
fn a_crash_between_append_and_projection_is_caught_up_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(QUERY_FILE);
    let log = AuditLog::open(crate::lock::DataDirLock::acquire(dir.path()).unwrap()).unwrap();
    let events: Vec<_> = (0..6_000).map(event).collect();
    for chunk in events[..2_500].chunks(500) {
        log.append_blocking(chunk.to_vec()).unwrap();
    }
    // From here on groups are durable and acknowledged but never projected: the state a
    // kill between the log append and the projection leaves.
    log.hold_projection_for_test(true);
    // Clients redeliver some reports already stored (server records are never sent twice).
    let again = events[2_000..2_500]
        .iter()
        .filter(|e| e.source == EventSource::Client);
    let rest: Vec<_> = again.chain(&events[2_500..]).cloned().collect();
    for chunk in rest.chunks(700) {
        log.append_blocking(chunk.to_vec()).unwrap();
    }
    drop(log);
    let behind = applied(&Connection::open(&path).unwrap()).unwrap();
    assert_eq!(behind, 2_500, "the held groups were not projected");

    drop(AuditLog::open(crate::lock::DataDirLock::acquire(dir.path()).unwrap()).unwrap());
    assert_eq!(applied(&Connection::open(&path).unwrap()).unwrap(), 6_000);
    let caught_up = projection(&path);
    assert!(caught_up.len() > 400, "{}", caught_up.len());

    assert_eq!(rebuild_projection(dir.path()).unwrap(), 6_000);
    assert_eq!(
        caught_up,
        projection(&path),
        "catch-up equals a clean rebuild"
    );
    // The rebuild dropped the receipts' index on the receipt time and built it again.
    let indexes: Vec<String> = Connection::open(&path)
        .unwrap()
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'dossiers'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        indexes.contains(&"dossiers_by_received".to_owned()),
        "{indexes:?}"
    );

    // The citizen index holds runs: opened for query tables that hold fewer events (their
    // last commits lost), it drops the runs beyond them and reads the rest from the log.
    let log = SqliteLog::open(&dir.path().join(DATABASE_FILE)).unwrap();
    let index_path = dir.path().join(CITIZEN_FILE);
    let (index, _) =
        CitizenIndex::open(&index_path, 6_000, &log, &mut Dictionary::default()).unwrap();
    assert_eq!(index.dump().unwrap(), citizens_in_log(dir.path(), 6_000));
    for applied in [4_321, 1_024, 0] {
        let (index, _) =
            CitizenIndex::open(&index_path, applied, &log, &mut Dictionary::default()).unwrap();
        assert_eq!(
            index.dump().unwrap(),
            citizens_in_log(dir.path(), applied),
            "{applied}"
        );
    }
    let key = std::fs::read_to_string(dir.path().join(PUBLIC_KEY_FILE)).unwrap();
    let report = verify_file(
        &dir.path().join(DATABASE_FILE),
        &parse_public_key(&key).unwrap(),
    )
    .unwrap();
    assert_eq!((report.events, report.tamper), (6_000, None));
}

/// Dossiers over five weeks, some reported late, twice or never; verifications reported and
/// served with every kind of outcome (found, missed, refused as malformed, failed before the
/// server), some for dossiers never received; communes and provinces on some.
fn varied_event(i: usize) -> AuditEvent {
    let dossier = (i / 4) ^ usize::from(i.is_multiple_of(7)); // some events land on a neighbour
    let at = START + (dossier as i64 % 35) * DAY + (i as i64 % 97) * 600_000;
    let outcome: Outcome = match i % 11 {
        0 => Outcome::Failed(tonic::Code::Unavailable),
        1 => Outcome::Failed(tonic::Code::InvalidArgument),
        2 => Outcome::Failed(tonic::Code::NotFound),
        3 => Answer::Unspecified.into(),
        _ => Answer::Found.into(),
    };
    let kind = if i.is_multiple_of(4) && dossier % 17 != 5 {
        EventKind::Dossier {
            procedure: format!("1.00{}", dossier % 4),
            channel: [Channel::Desk, Channel::Online][dossier % 2].clone(),
        }
    } else {
        EventKind::Verification {
            rpc: Rpc::LookupByCccd,
            outcome,
            purpose: "p".into(),
            subject: Some(Subject([(i % 8) as u8; 32])),
        }
    };
    AuditEvent {
        event_id: format!("v-{}", i - usize::from(i.is_multiple_of(29) && i > 0)),
        source: [EventSource::Client, EventSource::Server][usize::from(i % 4 >= 2)],
        dossier_id: format!("D{dossier}"),
        agency_id: format!("agency-{}", dossier % 3),
        district: format!("district-{}", dossier % 5),
        officer_id: format!("officer-{}", dossier % 11),
        occurred_at_ms: at,
        load_test: dossier.is_multiple_of(13),
        commune: dossier.is_multiple_of(3).then_some(4),
        province: dossier.is_multiple_of(5).then_some(17),
        call_id: None,
        kind,
    }
}

#[test]
fn a_rebuild_answers_every_question_as_the_live_query_side_did() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(crate::lock::DataDirLock::acquire(dir.path()).unwrap()).unwrap();
    let events: Vec<_> = (0..100_000).map(varied_event).collect();
    for chunk in events.chunks(2_000) {
        log.append_blocking(chunk.to_vec()).unwrap();
    }
    let live = answers(&log.caught_up_reader_blocking().unwrap());
    drop(log);
    // Some reports were sent twice: stored once.
    let stored = rebuild_projection(dir.path()).unwrap();
    assert!((99_000..100_000).contains(&stored), "{stored}");
    let rebuilt = answers(&AuditReader::open(&dir.path().join(DATABASE_FILE)).unwrap());
    assert_eq!(live.len(), rebuilt.len());
    for (n, (live, rebuilt)) in live.iter().zip(&rebuilt).enumerate() {
        if live != rebuilt {
            let at = live
                .bytes()
                .zip(rebuilt.bytes())
                .position(|(a, b)| a != b)
                .unwrap_or(live.len().min(rebuilt.len()));
            let near = |s: &str| s[at.saturating_sub(300)..(at + 200).min(s.len())].to_owned();
            panic!(
                "answer {n} differs at byte {at}:\nlive:    {}\nrebuilt: {}",
                near(live),
                near(rebuilt)
            );
        }
    }
    // The questions have answers worth comparing.
    let text = live.join("\n");
    for expected in ["DossierRow", "served: ", "Phường Ba Đình", "NotReported"] {
        assert!(text.contains(expected), "{expected}");
    }
}

#[test]
fn the_log_says_what_its_structures_hold_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let open = || AuditLog::open(crate::lock::DataDirLock::acquire(dir.path()).unwrap()).unwrap();
    let log = open();
    let empty = log.memory();
    log.append_blocking((0..3_000).map(event).collect())
        .unwrap();
    let held = log.memory();
    // 400 dossiers: their counts, and rollups by day and attributes.
    assert!(held.state.dossiers > empty.state.dossiers, "{held:?}");
    assert!(held.state.rollups > empty.state.rollups, "{held:?}");
    assert!(held.total() > held.state.dossiers, "{held:?}");
    assert_eq!(log.projection_behind(), 0);
    drop(log);
    // The stored ids (2,000 client event ids) are counted at open.
    let reopened = open().memory();
    assert!(
        reopened.stored_ids > empty.stored_ids + 2_000 * 8,
        "{reopened:?} against {empty:?}"
    );
    assert_eq!(reopened.state, held.state);
}
