//! The benchmark's events (see the benchmark's documentation): dossiers in six districts, the
//! lookups for each, and the citizens they look up, the same every run.

use vnpop::{
    audit::{recorder::subject_hash, AuditEvent, EventKind, EventSource},
    vocabulary::{Channel, Outcome, Rpc, Subject},
};

pub(crate) const DISTRICTS: [&str; 6] = [
    "Thành phố Phủ Lý",
    "Thị xã Duy Tiên",
    "Huyện Kim Bảng",
    "Huyện Thanh Liêm",
    "Huyện Bình Lục",
    "Huyện Lý Nhân",
];
/// 2023-01-01T00:00:00+07:00.
pub(crate) const START_MS: i64 = 1_672_506_000_000;
pub(crate) const DAY_MS: i64 = 86_400_000;
/// Milliseconds between two dossiers.
pub(crate) const DOSSIER_EVERY_MS: i64 = 3_000;
/// One dossier in this many has no served lookup.
const UNVERIFIED_EVERY: usize = 20;
/// Events per citizen looked up (three in four of them lookups).
const EVENTS_PER_CITIZEN: usize = 16;
/// The key subjects are hashed with (the data directory's `audit-subject.key` in a server).
pub(crate) const SUBJECT_KEY: [u8; 32] = [0x27; 32];
/// The citizen whose history is asked for.
pub(crate) const CITIZEN_CCCD: &str = "001090012345";

/// A 64-bit mix (SplitMix64's finaliser): the benchmark's randomness, the same every run.
fn mix(x: u64) -> u64 {
    let x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    let x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The events of one run (see the module documentation).
pub(crate) struct Workload {
    citizens: u64,
    /// The citizen whose history is asked for, and its subject (the keyed hash of its number).
    chosen: u64,
    chosen_subject: Subject,
}

impl Workload {
    pub(crate) fn new(total: usize) -> Self {
        let citizens = (total / EVENTS_PER_CITIZEN).max(1) as u64;
        // A lookup (odd) in the middle of the log.
        let chosen = mix(((total / 2) | 1) as u64) % citizens;
        Workload {
            citizens,
            chosen,
            chosen_subject: subject_hash(&SUBJECT_KEY, CITIZEN_CCCD),
        }
    }

    /// The keyed subject of the citizen event `n` looks up.
    fn subject(&self, n: usize) -> Subject {
        let citizen = mix(n as u64) % self.citizens;
        if citizen == self.chosen {
            self.chosen_subject
        } else {
            let mut bytes = [0u8; 32];
            bytes[..8].copy_from_slice(&mix(citizen ^ 0x5eed).to_be_bytes());
            Subject(bytes)
        }
    }

    /// Event `n`.
    pub(crate) fn event(&self, n: usize) -> AuditEvent {
        let dossier = n / 4;
        let district = DISTRICTS[dossier % DISTRICTS.len()];
        // Picked at random, so that every district and officer has some.
        let unverified = mix(dossier as u64 ^ 0xd055_1e25).is_multiple_of(UNVERIFIED_EVERY as u64);
        let served = n % 4 == 2 && !unverified;
        let kind = if n.is_multiple_of(4) {
            EventKind::Dossier {
                procedure: format!("1.00{}", dossier % 7),
                channel: if dossier.is_multiple_of(3) {
                    Channel::Online
                } else {
                    Channel::Desk
                },
            }
        } else {
            let outcome = if unverified {
                if n % 4 == 2 {
                    "deadline_exceeded"
                } else {
                    "unavailable"
                }
            } else if n % 4 == 3 && !dossier.is_multiple_of(50) {
                "unavailable"
            } else {
                "found"
            };
            EventKind::Verification {
                rpc: Rpc::LookupByCccd,
                outcome: Outcome::parse(outcome),
                purpose: "kiểm tra thông tin công dân".into(),
                subject: Some(self.subject(n)),
            }
        };
        AuditEvent {
            event_id: format!("bench-{n}"),
            source: if served {
                EventSource::Server
            } else {
                EventSource::Client
            },
            dossier_id: format!("H35-{dossier:09}"),
            agency_id: "one-stop-phuong-ba-dinh".into(),
            district: district.into(),
            officer_id: format!("cb{:02}", dossier % 40),
            occurred_at_ms: START_MS + (dossier as i64) * DOSSIER_EVERY_MS,
            load_test: false,
            commune: None,
            province: None,
            call_id: None,
            kind,
        }
    }
}
