//! Who looked a citizen up: the verifications recorded under a keyed subject hash, found through
//! the citizen index ([`CitizenIndex`](crate::projector::CitizenIndex)) and checked
//! against the events themselves.

use super::AuditReader;
use crate::{
    vocabulary::Subject,
    {AuditError, AuditEvent, EventKind},
};

impl AuditReader {
    /// Every verification of the citizen `subject`, oldest first.
    pub fn accesses(&self, subject: &Subject) -> Result<Vec<AuditEvent>, AuditError> {
        let seqs = self.citizens()?.positions(subject)?;
        let mut found = Vec::with_capacity(seqs.len());
        for seq in seqs {
            if let Some(event) = self.event(seq)? {
                if matches!(&event.kind, EventKind::Verification { subject: Some(s), .. } if s == subject)
                {
                    found.push(event);
                }
            }
        }
        Ok(found)
    }
}
