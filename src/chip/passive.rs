//! Passive authentication of a chip read: are the data groups the ones the document signer
//! hashed, did the document signer sign them, and is the document signer one of the CSCA's?
//!
//! Every check is made, whatever the others found, so a report can say exactly which failed.

use std::time::SystemTime;

use prost::Message;
use ring::digest;

use super::{
    pki::{check_signature, CscaTrust},
    read::{DG1, DG13},
};
use crate::proto;

/// A chip read that cannot even be examined; the field path names the part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct MalformedChipRead {
    pub field: String,
    pub message: String,
}

fn malformed(field: impl Into<String>, message: impl Into<String>) -> MalformedChipRead {
    MalformedChipRead {
        field: field.into(),
        message: message.into(),
    }
}

/// The outcome of passive authentication.
#[derive(Debug, Clone)]
pub struct PassiveAuthentication {
    /// The document number the security object was signed for.
    pub document_number: String,
    /// Data groups whose hash differs from the signed one, or that the security object does not
    /// list.
    pub tampered: Vec<u32>,
    /// The security object's signature, checked with the document signer's key.
    pub signature: Result<(), String>,
    /// The document signer's certificate, checked against the CSCA.
    pub certificate_chain: Result<(), String>,
    pub dg1: proto::Dg1,
    pub dg13: proto::Dg13,
}

/// Examines `read` against the trusted CSCA at time `now`.
pub fn authenticate(
    read: &proto::ChipRead,
    trust: &CscaTrust,
    now: SystemTime,
) -> Result<PassiveAuthentication, MalformedChipRead> {
    let sod = read
        .security_object
        .as_ref()
        .ok_or_else(|| malformed("chip_read.security_object", "missing"))?;
    let lds = proto::LdsSecurityObject::decode(sod.signed_content.as_slice())
        .map_err(|e| malformed("chip_read.security_object.signed_content", e.to_string()))?;
    if lds.hash_algorithm != "SHA-256" {
        return Err(malformed(
            "chip_read.security_object.signed_content",
            format!("hash algorithm {:?} is not SHA-256", lds.hash_algorithm),
        ));
    }
    if sod.signature_algorithm != super::pki::SIGNATURE_ALGORITHM {
        return Err(malformed(
            "chip_read.security_object.signature_algorithm",
            format!(
                "{:?} is not {}",
                sod.signature_algorithm,
                super::pki::SIGNATURE_ALGORITHM
            ),
        ));
    }

    let mut tampered = Vec::new();
    for group in &read.data_groups {
        let hash = digest::digest(&digest::SHA256, &group.content);
        let signed = lds
            .data_group_hashes
            .iter()
            .find(|h| h.number == group.number);
        if signed.is_none_or(|h| h.hash.as_slice() != hash.as_ref()) {
            tampered.push(group.number);
        }
    }
    let content = |number: u32| -> Result<&[u8], MalformedChipRead> {
        read.data_groups
            .iter()
            .find(|g| g.number == number)
            .map(|g| g.content.as_slice())
            .ok_or_else(|| malformed("chip_read.data_groups", format!("DG{number} is missing")))
    };
    let dg1 = proto::Dg1::decode(content(DG1)?)
        .map_err(|e| malformed("chip_read.data_groups.dg1", e.to_string()))?;
    let dg13 = proto::Dg13::decode(content(DG13)?)
        .map_err(|e| malformed("chip_read.data_groups.dg13", e.to_string()))?;

    Ok(PassiveAuthentication {
        document_number: lds.document_number,
        tampered,
        signature: check_signature(
            &sod.document_signer_certificate,
            &sod.signed_content,
            &sod.signature,
        ),
        certificate_chain: trust.check_document_signer(&sod.document_signer_certificate, now),
        dg1,
        dg13,
    })
}
