//! Each kind of finding on planted data, and none on clean data.

use super::*;
use crate::vocabulary::Subject;
use crate::{
    event::{test_dossier, test_lookup},
    log::DATABASE_FILE,
    AuditEvent, AuditLog, EventKind, EventSource,
};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// 2024-01-01T00:00:00+07:00 (a public holiday, New Year's Day), in Unix milliseconds.
const JAN_1_2024: i64 = 1_704_042_000_000;
/// The working days of the clean data: Tuesday 2 to Monday 8 January 2024, less the weekend.
const WORKING_DAYS: [i64; 5] = [1, 2, 3, 4, 7];

fn dossier(id: &str, officer: &str, at: i64) -> AuditEvent {
    let mut event = test_dossier(id, "Huyện Mai Châu", officer, at);
    event.kind = EventKind::Dossier {
        procedure: "1.000894".into(),
        channel: crate::vocabulary::Channel::Desk,
    };
    event
}

fn lookup(id: &str, officer: &str, citizen: u32, at: i64, n: usize) -> AuditEvent {
    let mut event = test_lookup(n, id, EventSource::Client, at);
    event.officer_id = officer.into();
    event.district = "Huyện Mai Châu".into();
    if let EventKind::Verification { subject, .. } = &mut event.kind {
        let mut bytes = [0; 32];
        bytes[..4].copy_from_slice(&citizen.to_be_bytes());
        *subject = Some(Subject(bytes));
    }
    event
}

/// Six officers, 25 dossiers each over five working days (08:00 to 10:00), each dossier looked
/// up once, five minutes after its receipt, for a citizen of its own.
fn clean() -> Vec<AuditEvent> {
    let mut events = Vec::new();
    let mut citizen = 0;
    for officer in 1..=6 {
        let name = format!("o{officer}");
        for (d, day) in WORKING_DAYS.iter().enumerate() {
            for slot in 0..5 {
                let at = JAN_1_2024 + day * DAY + 8 * HOUR + slot * 30 * MINUTE + officer * MINUTE;
                let id = format!("{name}-{d}-{slot}");
                citizen += 1;
                events.push(dossier(&id, &name, at));
                events.push(lookup(&id, &name, citizen, at + 5 * MINUTE, 1));
            }
        }
    }
    events
}

/// The findings of `events` over January 2024, with the default thresholds.
fn findings(events: Vec<AuditEvent>) -> Anomalies {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(crate::lock::DataDirLock::acquire(dir.path()).unwrap()).unwrap();
    log.append_blocking(events).unwrap();
    drop(log);
    let reader = AuditReader::open(&dir.path().join(DATABASE_FILE)).unwrap();
    find(
        &reader,
        &AnomalyQuery {
            from_ms: JAN_1_2024,
            to_ms: JAN_1_2024 + 31 * DAY,
            agency_id: None,
            thresholds: Thresholds::default(),
            max_findings: 100,
        },
    )
    .unwrap()
}

/// The kinds found, one entry a finding.
fn kinds(found: &Anomalies) -> Vec<&'static str> {
    found
        .findings
        .iter()
        .map(|f| f.kind.unwrap().as_str())
        .collect()
}

#[test]
fn clean_data_yields_no_finding() {
    let found = findings(clean());
    assert_eq!(found.events, 300);
    assert_eq!(kinds(&found), Vec::<&str>::new());
    assert_eq!(found.counts, [0; 7]);
}

#[test]
fn lookups_out_of_hours_and_on_days_off_are_found() {
    let mut events = clean();
    // 19:00 on Tuesday 2 January; 11:40 is within the morning's 15 minutes of grace.
    events.push(lookup("o1-0-0", "o1", 1, JAN_1_2024 + DAY + 19 * HOUR, 2));
    events.push(lookup(
        "o1-0-0",
        "o1",
        1,
        JAN_1_2024 + DAY + 11 * HOUR + 40 * MINUTE,
        3,
    ));
    // New Year's Day, a public holiday.
    events.push(lookup("o2-0-0", "o2", 26, JAN_1_2024 + 9 * HOUR, 2));
    let found = findings(events);
    assert_eq!(kinds(&found), ["day_off", "off_hours"]);
    let off = &found.findings[1];
    assert_eq!((off.officer_id.as_str(), off.count), ("o1", 1));
    assert_eq!(off.evidence.len(), 1);
    let limits = Thresholds::default();
    assert_eq!(
        explain(off, &limits),
        "Cán bộ o1 (Huyện Mai Châu) tra cứu 1 lượt ngoài giờ làm việc ngày 02/01/2024, từ 19:00 đến 19:00 (giờ làm việc 07:30–11:30 và 13:30–17:00, thêm 15 phút)."
    );
    assert!(explain(&found.findings[0], &limits).contains("Tết Dương lịch"));
}

#[test]
fn a_dossier_used_for_many_citizens_is_found() {
    let mut events = clean();
    for n in 0..5 {
        events.push(lookup(
            "o3-1-1",
            "o3",
            1_000 + n,
            JAN_1_2024 + 2 * DAY + 9 * HOUR + i64::from(n) * 3 * MINUTE,
            n as usize + 2,
        ));
    }
    let found = findings(events);
    // o3's 1,2 lookups per dossier against the others' 1 is under the peers' minimum difference.
    assert_eq!(kinds(&found), ["dossier_many_citizens"]);
    let f = &found.findings[0];
    assert_eq!((f.dossier_id.as_str(), f.count), ("o3-1-1", 6));
    assert_eq!(f.evidence.len(), 6);
    assert!(explain(f, &Thresholds::default()).starts_with("Hồ sơ o3-1-1 do cán bộ o3"));
}

#[test]
fn a_citizen_looked_up_by_many_officers_is_found() {
    let mut events = clean();
    // Citizen 1 (o1's first dossier) looked up again by o4 and o5 for dossiers of theirs.
    events.push(lookup("o4-0-1", "o4", 1, JAN_1_2024 + DAY + 10 * HOUR, 2));
    events.push(lookup(
        "o5-0-2",
        "o5",
        1,
        JAN_1_2024 + DAY + 10 * HOUR + 30 * MINUTE,
        2,
    ));
    let found = findings(events);
    assert_eq!(kinds(&found), ["citizen_many_officers"]);
    let f = &found.findings[0];
    assert_eq!(f.count, 3);
    assert_eq!(f.evidence.len(), 3);
    assert_eq!(f.subject, "0000000100000000");
}

#[test]
fn an_officer_far_from_peers_is_found() {
    let mut events = clean();
    // o6 looks every dossier's citizen up three times in all.
    for (d, day) in WORKING_DAYS.iter().enumerate() {
        for slot in 0..5 {
            let at = JAN_1_2024 + day * DAY + 8 * HOUR + slot * 30 * MINUTE + 6 * MINUTE;
            let id = format!("o6-{d}-{slot}");
            let citizen = 125 + d as u32 * 5 + slot as u32 + 1;
            events.push(lookup(&id, "o6", citizen, at + 10 * MINUTE, 2));
            events.push(lookup(&id, "o6", citizen, at + 15 * MINUTE, 3));
        }
    }
    let found = findings(events);
    assert_eq!(kinds(&found), ["peer_outlier"]);
    let f = &found.findings[0];
    assert_eq!((f.officer_id.as_str(), f.count), ("o6", 25));
    assert_eq!((f.measure, f.reference), (3.0, 1.0));
    assert!(f.score > 3.5);
    assert!(explain(f, &Thresholds::default()).contains("1.000894 – Đăng ký kết hôn"));
}

#[test]
fn a_burst_is_found() {
    let mut events = clean();
    // Twelve lookups by o2 within one minute, each for a dossier of its own, on 3 January.
    let at = JAN_1_2024 + 2 * DAY + 14 * HOUR;
    for n in 0..12 {
        let id = format!("burst-{n}");
        events.push(dossier(&id, "o2", at - HOUR));
        events.push(lookup(&id, "o2", 5_000 + n, at + i64::from(n) * 1_000, 1));
    }
    let found = findings(events);
    assert_eq!(kinds(&found), ["burst"]);
    let f = &found.findings[0];
    assert_eq!(
        (f.officer_id.as_str(), f.count, f.reference),
        ("o2", 12, 1.0)
    );
    assert_eq!(f.evidence.len(), 10);
}

#[test]
fn dossiers_without_the_lookup_their_procedure_calls_for_are_found() {
    let mut events = clean();
    events.push(dossier("o4-none", "o4", JAN_1_2024 + 3 * DAY + 9 * HOUR));
    // A certified copy calls for no lookup.
    let mut copy = dossier("o4-copy", "o4", JAN_1_2024 + 3 * DAY + 9 * HOUR);
    copy.kind = EventKind::Dossier {
        procedure: "2.000908".into(),
        channel: crate::vocabulary::Channel::Desk,
    };
    copy.event_id = "copy".into();
    events.push(copy);
    let found = findings(events);
    assert_eq!(kinds(&found), ["no_lookup"]);
    let f = &found.findings[0];
    assert_eq!(
        (f.officer_id.as_str(), f.count, f.reference),
        ("o4", 1, 26.0)
    );
    assert_eq!(f.evidence[0].dossier_id, "o4-none");
}

#[test]
fn state_is_let_go_as_the_log_moves_on() {
    // Ten thousand dossiers over five years: what the windows have passed is settled on the way,
    // so the keys held stay near one sweep's worth, not the log's.
    let limits = Thresholds::default();
    let mut scanner = scan::Scanner::new(&limits);
    let mut seq = 0;
    let mut most = 0;
    for day in 0..2_000 {
        for slot in 0..5 {
            let at = JAN_1_2024 + day * DAY + 8 * HOUR + slot * 30 * MINUTE;
            let id = format!("d{day}-{slot}");
            scanner.push(seq, &dossier(&id, "o1", at));
            scanner.push(seq + 1, &lookup(&id, "o1", seq as u32, at + MINUTE, 1));
            seq += 2;
            most = most.max(scanner.held());
        }
    }
    assert!(most <= 2 * scan::SWEEP_EVERY as usize, "{most}");
    assert_eq!(scanner.events(), 20_000);
}
