//! What the server itself records: every call it served, independently of what agency clients
//! report, so auditors can reconcile the two.
//!
//! The citizen is recorded as a keyed hash of the CCCD number (HMAC-SHA-256 under a key kept in
//! the data directory), never in clear: the log can show which agencies looked one citizen up,
//! for someone who knows the number, without exposing anyone's number to a log reader.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use ring::hmac;

use super::{AuditError, AuditEvent, AuditLog, EventKind, EventSource};
use crate::vocabulary::{Outcome, Rpc, Subject};

/// One call the server served.
#[derive(Debug, Clone, Copy)]
pub struct ServedCall<'a> {
    /// The agency's directory id.
    pub agency_id: &'a str,
    /// The district (the directory's spelling): the agency's former one since the reform.
    pub district: &'a str,
    /// The agency's commune-level unit on the day (5-digit code), since the reform.
    pub commune: Option<u32>,
    /// The agency's province on the day (its code then), when known.
    pub province: Option<u16>,
    /// The dossier, as the agency numbers it.
    pub dossier_id: &'a str,
    /// The officer who handled it.
    pub officer_id: &'a str,
    /// Why the citizen was looked up, as the officer stated it.
    pub purpose: &'a str,
    /// Load-test traffic (left out of figures by default).
    pub load_test: bool,
    /// The call.
    pub rpc: &'a Rpc,
    /// The citizen concerned, as the 12-digit number, if known.
    pub cccd: Option<&'a str>,
    /// How it ended.
    pub outcome: &'a Outcome,
    /// The caller's name for the call, if it gave one: the same call tried again under it is
    /// recorded once ([`RequestContext::call_id`](vnpop_core::proto::RequestContext::call_id)).
    pub call_id: Option<&'a str>,
}

/// An action outside any dossier that changes what auditors see, or reads a citizen's identity:
/// QA administration (fault rules, runtime fixtures) and token introspection. It is recorded like
/// a served call but under no dossier (`dossier_id` and `officer_id` empty, which no served call
/// or report has: ratios and reconciliation leave such events out), with the citizen's keyed
/// subject when one is concerned, so it shows in that citizen's access log.
#[derive(Debug, Clone, Copy)]
pub struct Action<'a> {
    /// The agency's directory id.
    pub agency_id: &'a str,
    /// The district (the directory's spelling): the agency's former one since the reform.
    pub district: &'a str,
    /// The agency's commune-level unit on the day (5-digit code), since the reform.
    pub commune: Option<u32>,
    /// The agency's province on the day (its code then), when known.
    pub province: Option<u16>,
    /// The action: `SetFaults`, `MarkDeceased`, `IntrospectToken` …
    pub rpc: &'a Rpc,
    /// The citizen concerned, as the 12-digit number, if any.
    pub cccd: Option<&'a str>,
    /// How it ended: applied, active, inactive (and why) …
    pub outcome: &'a Outcome,
    /// What was done, in words (recorded as the purpose).
    pub detail: &'a str,
}

/// Records served calls into the audit log.
pub struct ServedRecorder {
    log: Arc<AuditLog>,
    /// The HMAC key of subjects, made once (a key's set-up is two hash blocks: a cleaning job
    /// hashes a subject per record).
    subject_key: hmac::Key,
    /// Distinguishes this server run's event ids from every other run's.
    run_id: String,
    counter: AtomicU64,
    /// BENCHMARKS ONLY: when set, `record` records nothing. See
    /// [`ServedRecorder::skip_recording_for_benchmark`]; absent from the binary.
    #[cfg(any(test, feature = "testing"))]
    skip_for_benchmark: std::sync::atomic::AtomicBool,
    /// BENCHMARKS ONLY: when set and `floor` is there, `record` waits for the floor's durable
    /// write instead of the log. See [`ServedRecorder::floor_for_benchmark`]; absent from the
    /// binary.
    #[cfg(any(test, feature = "testing"))]
    floor_for_benchmark: std::sync::atomic::AtomicBool,
    /// BENCHMARKS ONLY: the floor a benchmark started, if any.
    #[cfg(any(test, feature = "testing"))]
    floor: std::sync::Mutex<Option<Arc<crate::testing::DurableFloor>>>,
}

impl std::fmt::Debug for ServedRecorder {
    /// Shows where it writes, never the subject key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServedRecorder")
            .field("log", &self.log.path())
            .field("run_id", &self.run_id)
            .finish_non_exhaustive()
    }
}

impl ServedRecorder {
    /// Records into `log`, hashing citizens' numbers with `subject_key`.
    pub fn new(log: Arc<AuditLog>, subject_key: [u8; 32]) -> Result<Self, AuditError> {
        Ok(ServedRecorder {
            log,
            subject_key: hmac::Key::new(hmac::HMAC_SHA256, &subject_key),
            run_id: crate::ids::run_id::<8>().map_err(|e| AuditError::Key(e.to_string()))?,
            counter: AtomicU64::new(0),
            #[cfg(any(test, feature = "testing"))]
            skip_for_benchmark: std::sync::atomic::AtomicBool::new(false),
            #[cfg(any(test, feature = "testing"))]
            floor_for_benchmark: std::sync::atomic::AtomicBool::new(false),
            #[cfg(any(test, feature = "testing"))]
            floor: std::sync::Mutex::new(None),
        })
    }

    /// Whether a benchmark asked that nothing be recorded: never, in the binary.
    fn skipping(&self) -> bool {
        #[cfg(any(test, feature = "testing"))]
        return self.skip_for_benchmark.load(Ordering::Relaxed);
        #[cfg(not(any(test, feature = "testing")))]
        false
    }

    /// The log it records into.
    pub fn log(&self) -> &Arc<AuditLog> {
        &self.log
    }

    /// The keyed hash under which a citizen's number is recorded.
    pub fn subject(&self, cccd: &str) -> Subject {
        keyed_subject(&self.subject_key, cccd)
    }

    /// BENCHMARKS ONLY (the `testing` feature). With `skip` set, served calls are answered
    /// without being recorded, so a benchmark can tell the cost of a lookup itself from the cost
    /// of its durable audit record (`cargo bench --bench baseline`). Not in the binary: `vnpop
    /// serve` always records every served call, and a server that skipped would break the rule
    /// that no lookup escapes the audit trail.
    #[cfg(any(test, feature = "testing"))]
    pub fn skip_recording_for_benchmark(&self, skip: bool) {
        self.skip_for_benchmark.store(skip, Ordering::Relaxed);
    }

    /// BENCHMARKS ONLY (the `testing` feature). With a `floor` mode, served calls are answered
    /// once a [`DurableFloor`](crate::testing::DurableFloor) started in `dir` with the commit
    /// `delay` — a bare group write and `fdatasync`, in that form — has made a write after them
    /// durable, instead of once the log holds their record: what the durable wait alone costs a
    /// lookup on this machine (`cargo bench --bench baseline`, figures (f), (g) and (h)). `None`
    /// records into the log again. Not in the binary.
    #[cfg(any(test, feature = "testing"))]
    pub fn floor_for_benchmark(
        &self,
        dir: &std::path::Path,
        floor: Option<crate::testing::FloorMode>,
        delay: std::time::Duration,
    ) -> std::io::Result<()> {
        let floor = floor
            .map(|mode| crate::testing::DurableFloor::start(dir, mode, delay))
            .transpose()?;
        self.floor_for_benchmark
            .store(floor.is_some(), Ordering::Relaxed);
        *self.floor.lock().expect("floor lock") = floor;
        Ok(())
    }

    /// The floor, when a benchmark asked for it: never, in the binary.
    #[cfg(any(test, feature = "testing"))]
    fn floor(&self) -> Option<Arc<crate::testing::DurableFloor>> {
        if !self.floor_for_benchmark.load(Ordering::Relaxed) {
            return None;
        }
        self.floor.lock().expect("floor lock").clone()
    }

    /// Records a served call; resolves once it is durable.
    pub async fn record(
        &self,
        call: ServedCall<'_>,
        occurred_at_ms: i64,
    ) -> Result<(), AuditError> {
        if self.skipping() {
            return Ok(());
        }
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let event = AuditEvent {
            event_id: format!("server-{}-{n}", self.run_id),
            source: EventSource::Server,
            dossier_id: call.dossier_id.to_owned(),
            agency_id: call.agency_id.to_owned(),
            district: call.district.to_owned(),
            officer_id: call.officer_id.to_owned(),
            occurred_at_ms,
            load_test: call.load_test,
            commune: call.commune,
            province: call.province,
            call_id: call.call_id.map(str::to_owned),
            kind: EventKind::Verification {
                rpc: call.rpc.clone(),
                outcome: call.outcome.clone(),
                purpose: call.purpose.to_owned(),
                subject: call.cccd.map(|c| self.subject(c)),
            },
        };
        #[cfg(any(test, feature = "testing"))]
        if let Some(floor) = self.floor() {
            floor.wait().await;
            drop(event);
            return Ok(());
        }
        self.log.append_served(event).await.map(|_| ())
    }
}

impl ServedRecorder {
    /// Records an [`Action`]; resolves once it is durable. Callers record before the action
    /// takes effect, and refuse it (AUDIT_UNAVAILABLE) when the log cannot take the record.
    pub async fn record_action(&self, action: Action<'_>) -> Result<(), AuditError> {
        let call = ServedCall {
            agency_id: action.agency_id,
            district: action.district,
            commune: action.commune,
            province: action.province,
            dossier_id: "",
            officer_id: "",
            purpose: action.detail,
            load_test: false,
            rpc: action.rpc,
            cccd: action.cccd,
            outcome: action.outcome,
            call_id: None,
        };
        self.record(call, crate::ids::now_ms()).await
    }
}

/// A data-cleaning job, as its records are recorded: every record's verification is an event
/// with the job id where a dossier lookup has its dossier id, the RPC
/// [`Rpc::CleanRecord`] (which every dossier figure leaves out), the job's purpose and officer,
/// and the record's verification id as its call id (so a record sent again is recorded once).
#[derive(Debug, Clone, Copy)]
pub struct CleaningJobRecord<'a> {
    /// The agency's directory id.
    pub agency_id: &'a str,
    /// The district (the directory's spelling).
    pub district: &'a str,
    /// The job's id.
    pub job_id: &'a str,
    /// The officer responsible for the job.
    pub officer_id: &'a str,
    /// Why the registry is cleaned.
    pub purpose: &'a str,
}

/// One cleaned record, as recorded.
#[derive(Debug, Clone)]
pub struct CleanedRecord {
    /// Its verification id ([`crate::ids::cleaning_verification_id`]); `None` for a record
    /// whose id cannot name one (recorded every time it is sent).
    pub verification_id: Option<String>,
    /// The citizen concerned, as the 12-digit number, if any.
    pub cccd: Option<String>,
    /// Its verdict.
    pub outcome: Outcome,
}

impl ServedRecorder {
    /// Records a batch of `job`'s cleaned records as one append; resolves once all are durable.
    pub async fn record_cleaning(
        &self,
        job: CleaningJobRecord<'_>,
        records: Vec<CleanedRecord>,
    ) -> Result<(), AuditError> {
        if self.skipping() || records.is_empty() {
            return Ok(());
        }
        let at = crate::ids::now_ms();
        let first = self
            .counter
            .fetch_add(records.len() as u64, Ordering::Relaxed);
        let events = records
            .into_iter()
            .enumerate()
            .map(|(i, record)| AuditEvent {
                event_id: format!("server-{}-{}", self.run_id, first + i as u64),
                source: EventSource::Server,
                dossier_id: job.job_id.to_owned(),
                agency_id: job.agency_id.to_owned(),
                district: job.district.to_owned(),
                officer_id: job.officer_id.to_owned(),
                occurred_at_ms: at,
                load_test: false,
                commune: None,
                province: None,
                call_id: record.verification_id,
                kind: EventKind::Verification {
                    rpc: Rpc::CleanRecord,
                    outcome: record.outcome,
                    purpose: job.purpose.to_owned(),
                    subject: record.cccd.map(|c| self.subject(&c)),
                },
            })
            .collect();
        self.log.append_served_batch(events).await.map(|_| ())
    }
}

/// HMAC-SHA-256 of a CCCD number under `key`: the citizen's [`Subject`].
pub fn subject_hash(key: &[u8; 32], cccd: &str) -> Subject {
    keyed_subject(&hmac::Key::new(hmac::HMAC_SHA256, key), cccd)
}

/// HMAC-SHA-256 of a CCCD number under a key already made.
fn keyed_subject(key: &hmac::Key, cccd: &str) -> Subject {
    let tag = hmac::sign(key, cccd.as_bytes());
    Subject(tag.as_ref().try_into().expect("HMAC-SHA-256 is 32 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_keyed_and_stable() {
        let a = subject_hash(&[1; 32], "001090012345");
        assert_eq!(a, subject_hash(&[1; 32], "001090012345"));
        assert_ne!(a, subject_hash(&[2; 32], "001090012345"));
        let a = a.to_hex();
        assert!(!a.contains("001090012345"));
        // The value earlier versions (RustCrypto's hmac) recorded, so old and new events of
        // one citizen keep the same subject (computed independently with Python's hmac).
        assert_eq!(
            a,
            "39213e42db72d67ea2c8c78946f2e510f3308fdf5d577a2dfb91ae76fa88e377"
        );
    }
}
