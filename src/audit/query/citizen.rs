//! Who looked a citizen up: the verifications recorded under a keyed subject hash, found through
//! the projector's `subjects` index and checked against the events themselves.

use super::AuditReader;
use crate::{
    audit::{projector, AuditError, AuditEvent, EventKind},
    vocabulary::Subject,
};

impl AuditReader {
    /// Every verification of the citizen `subject`, oldest first.
    pub fn accesses(&self, subject: &Subject) -> Result<Vec<AuditEvent>, AuditError> {
        let key = projector::subject_key(subject);
        let seqs: Vec<i64> = self
            .connection()
            .prepare_cached("SELECT seq FROM subjects WHERE key = ?1 ORDER BY seq")?
            .query_map([key], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut found = Vec::with_capacity(seqs.len());
        for seq in seqs {
            if let Some(event) = self.event(seq as u64)? {
                if matches!(&event.kind, EventKind::Verification { subject: Some(s), .. } if s == subject)
                {
                    found.push(event);
                }
            }
        }
        Ok(found)
    }
}
