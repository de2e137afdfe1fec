//! Passive authentication of a chip read: are the data groups the ones the document signer
//! hashed, did the document signer sign them, and is the document signer one of the CSCA's?
//!
//! Every check is made, whatever the others found, so a report can say exactly which failed.

use std::{collections::HashMap, time::SystemTime};

use prost::Message;
use ring::digest;

use super::{
    pki::{check_signature, CscaTrust},
    read::{DG1, DG13},
};
use crate::{error::quote, proto};

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

/// At most this many data groups in a read (ICAO 9303 defines 16).
pub const MAX_DATA_GROUPS: usize = 16;
/// At most this many hashes in the security object.
pub(crate) const MAX_DATA_GROUP_HASHES: usize = 16;
/// At most this many bytes in one data group.
pub const MAX_DATA_GROUP_BYTES: usize = 64 * 1024;
/// At most this many bytes in the security object's signed content, certificate and signature
/// each (16 hashes and a document number take well under 1 KiB; a certificate about 600 bytes).
pub(crate) const MAX_SECURITY_OBJECT_PART_BYTES: usize = 16 * 1024;

/// Checks the size bounds of `read` without hashing or decoding anything: constant work, so a
/// read beyond them is refused before it costs the server anything. The error names the bound.
pub(crate) fn check_bounds(read: &proto::ChipRead) -> Result<(), MalformedChipRead> {
    if read.data_groups.len() > MAX_DATA_GROUPS {
        return Err(malformed(
            "chip_read.data_groups",
            format!(
                "{} data groups: at most {MAX_DATA_GROUPS} (MAX_DATA_GROUPS)",
                read.data_groups.len()
            ),
        ));
    }
    for (index, group) in read.data_groups.iter().enumerate() {
        if group.content.len() > MAX_DATA_GROUP_BYTES {
            return Err(malformed(
                format!("chip_read.data_groups[{index}].content"),
                format!(
                    "{} bytes: at most {MAX_DATA_GROUP_BYTES} (MAX_DATA_GROUP_BYTES)",
                    group.content.len()
                ),
            ));
        }
    }
    if let Some(sod) = &read.security_object {
        let parts = [
            ("signed_content", sod.signed_content.len()),
            (
                "document_signer_certificate",
                sod.document_signer_certificate.len(),
            ),
            ("signature", sod.signature.len()),
            ("signature_algorithm", sod.signature_algorithm.len()),
        ];
        for (part, len) in parts {
            if len > MAX_SECURITY_OBJECT_PART_BYTES {
                return Err(malformed(
                    format!("chip_read.security_object.{part}"),
                    format!(
                        "{len} bytes: at most {MAX_SECURITY_OBJECT_PART_BYTES} \
                         (MAX_SECURITY_OBJECT_PART_BYTES)"
                    ),
                ));
            }
        }
    }
    Ok(())
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
    check_bounds(read)?;
    let sod = read
        .security_object
        .as_ref()
        .ok_or_else(|| malformed("chip_read.security_object", "missing"))?;
    let lds = proto::LdsSecurityObject::decode(sod.signed_content.as_slice())
        .map_err(|e| malformed("chip_read.security_object.signed_content", e.to_string()))?;
    if lds.hash_algorithm != "SHA-256" {
        return Err(malformed(
            "chip_read.security_object.signed_content",
            format!(
                "hash algorithm {} is not SHA-256",
                quote(&lds.hash_algorithm)
            ),
        ));
    }
    if sod.signature_algorithm != super::pki::SIGNATURE_ALGORITHM {
        return Err(malformed(
            "chip_read.security_object.signature_algorithm",
            format!(
                "{} is not {}",
                quote(&sod.signature_algorithm),
                super::pki::SIGNATURE_ALGORITHM
            ),
        ));
    }
    if lds.data_group_hashes.len() > MAX_DATA_GROUP_HASHES {
        return Err(malformed(
            "chip_read.security_object.signed_content",
            format!(
                "{} data group hashes: at most {MAX_DATA_GROUP_HASHES} (MAX_DATA_GROUP_HASHES)",
                lds.data_group_hashes.len()
            ),
        ));
    }

    // Both sides by number: one hash per data group, each found in constant time.
    let mut signed = HashMap::with_capacity(lds.data_group_hashes.len());
    for hash in &lds.data_group_hashes {
        if signed.insert(hash.number, hash.hash.as_slice()).is_some() {
            return Err(malformed(
                "chip_read.security_object.signed_content",
                format!("DG{} is hashed twice", hash.number),
            ));
        }
    }
    let mut groups = HashMap::with_capacity(read.data_groups.len());
    for group in &read.data_groups {
        if groups
            .insert(group.number, group.content.as_slice())
            .is_some()
        {
            return Err(malformed(
                "chip_read.data_groups",
                format!("DG{} is read twice", group.number),
            ));
        }
    }
    let mut tampered = Vec::new();
    for group in &read.data_groups {
        let hash = digest::digest(&digest::SHA256, &group.content);
        if signed
            .get(&group.number)
            .is_none_or(|h| *h != hash.as_ref())
        {
            tampered.push(group.number);
        }
    }
    let content = |number: u32| -> Result<&[u8], MalformedChipRead> {
        groups
            .get(&number)
            .copied()
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
