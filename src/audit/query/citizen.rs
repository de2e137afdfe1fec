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
        // One seek per bucket, up to the last bucket the index holds.
        let last: Option<i64> = self
            .connection()
            .prepare_cached("SELECT MAX(bucket) FROM subjects")?
            .query_row([], |r| r.get(0))?;
        let mut seqs: Vec<i64> = Vec::new();
        let mut statement = self.connection().prepare_cached(
            "SELECT seq FROM subjects WHERE bucket = ?1 AND key = ?2 ORDER BY seq",
        )?;
        for bucket in 0..=last.unwrap_or(-1) {
            for seq in statement.query_map([bucket, key], |r| r.get(0))? {
                seqs.push(seq?);
            }
        }
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
