//! Producing what a card reader reads from a citizen's chip — genuine, or tampered in one of the
//! ways agencies' reader code must catch (`vnpop chip read <cccd> [--tamper ...]`).

use base64::{engine::general_purpose::STANDARD, Engine as _};
use prost::Message;
use ring::digest;

use super::{
    data_groups::data_groups,
    pki::{DocumentSigner, SIGNATURE_ALGORITHM},
};
use crate::{domain::Citizen, proto, security::certs::CertificateAuthority};

/// Data group numbers on vnpop chips.
pub(crate) const DG1: u32 = 1;
pub(crate) const DG13: u32 = 13;

/// The ways a chip read can be spoiled, for negative tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Tamper {
    /// DG1 altered after signing (the name changed): its hash no longer matches.
    Dg1,
    /// DG13 altered after signing (the father's name changed): its hash no longer matches.
    Dg13,
    /// The security object's signature damaged.
    Signature,
    /// Signed by a document signer of another, unknown CSCA.
    UnknownSigner,
    /// Genuinely signed, but the name differs from the database (a card the database does not
    /// know, as after a change of name).
    DatabaseMismatch,
}

#[derive(Debug, thiserror::Error)]
pub enum ChipReadError {
    #[error("citizen {masked} holds no chip card")]
    NoCard { masked: String },
    #[error("cannot create the foreign signer: {0}")]
    ForeignSigner(String),
    #[error("not a base64 chip read: {0}")]
    Base64(#[from] base64::DecodeError),
    #[error("not a chip read: {0}")]
    Decode(#[from] prost::DecodeError),
}

/// The genuine chip read of `citizen` (population `seed`), signed by `signer`.
pub fn chip_read(
    seed: u64,
    citizen: &Citizen,
    signer: &DocumentSigner,
) -> Result<proto::ChipRead, ChipReadError> {
    if citizen.card.is_none() {
        return Err(ChipReadError::NoCard {
            masked: citizen.cccd.masked(),
        });
    }
    let (dg1, dg13) = data_groups(seed, citizen);
    Ok(sign(
        citizen,
        dg1.encode_to_vec(),
        dg13.encode_to_vec(),
        signer,
    ))
}

/// A chip read of `citizen` spoiled as `tamper` says.
pub fn tampered_chip_read(
    seed: u64,
    citizen: &Citizen,
    signer: &DocumentSigner,
    tamper: Tamper,
) -> Result<proto::ChipRead, ChipReadError> {
    let mut read = chip_read(seed, citizen, signer)?;
    let (mut dg1, mut dg13) = data_groups(seed, citizen);
    let renamed = format!("{} Giả", citizen.full_name);
    match tamper {
        Tamper::Dg1 => {
            dg1.full_name = renamed;
            replace_content(&mut read, DG1, dg1.encode_to_vec());
        }
        Tamper::Dg13 => {
            dg13.father_name = format!("{} Giả", dg13.father_name);
            replace_content(&mut read, DG13, dg13.encode_to_vec());
        }
        Tamper::Signature => {
            let sod = read.security_object.as_mut().expect("just signed");
            // Inside the DER INTEGER r: the structure stays readable, the value is wrong.
            sod.signature[8] ^= 0x01;
        }
        Tamper::UnknownSigner => {
            let to_error = |e: rcgen::Error| ChipReadError::ForeignSigner(e.to_string());
            let csca =
                CertificateAuthority::country_signing_ca("Unknown CSCA (not trusted by vnpop)")
                    .map_err(to_error)?;
            let foreign = csca
                .document_signer("Unknown Document Signer")
                .map_err(to_error)?;
            let foreign = DocumentSigner::from_pem(&foreign.cert_pem, &foreign.key_pem)
                .map_err(|e| ChipReadError::ForeignSigner(e.to_string()))?;
            read = sign(citizen, dg1.encode_to_vec(), dg13.encode_to_vec(), &foreign);
        }
        Tamper::DatabaseMismatch => {
            dg1.full_name = renamed.clone();
            dg13.full_name = renamed;
            read = sign(citizen, dg1.encode_to_vec(), dg13.encode_to_vec(), signer);
        }
    }
    Ok(read)
}

fn replace_content(read: &mut proto::ChipRead, number: u32, content: Vec<u8>) {
    if let Some(group) = read.data_groups.iter_mut().find(|g| g.number == number) {
        group.content = content;
    }
}

/// Hashes the data groups into a security object and signs it.
fn sign(
    citizen: &Citizen,
    dg1: Vec<u8>,
    dg13: Vec<u8>,
    signer: &DocumentSigner,
) -> proto::ChipRead {
    let data_groups = vec![
        proto::DataGroup {
            number: DG1,
            content: dg1,
        },
        proto::DataGroup {
            number: DG13,
            content: dg13,
        },
    ];
    let lds = proto::LdsSecurityObject {
        version: 1,
        hash_algorithm: "SHA-256".into(),
        data_group_hashes: data_groups
            .iter()
            .map(|g| proto::DataGroupHash {
                number: g.number,
                hash: digest::digest(&digest::SHA256, &g.content)
                    .as_ref()
                    .to_vec(),
            })
            .collect(),
        document_number: citizen.cccd.to_string(),
    };
    let signed_content = lds.encode_to_vec();
    let signature = signer.sign(&signed_content);
    proto::ChipRead {
        data_groups,
        security_object: Some(proto::SecurityObject {
            signed_content,
            signature_algorithm: SIGNATURE_ALGORITHM.into(),
            signature,
            document_signer_certificate: signer.certificate_der().to_vec(),
        }),
    }
}

/// A chip read as one line of text (base64 of its protobuf encoding), as the CLI prints it.
pub fn encode_chip_read(read: &proto::ChipRead) -> String {
    STANDARD.encode(read.encode_to_vec())
}

/// The inverse of [`encode_chip_read`].
pub fn decode_chip_read(text: &str) -> Result<proto::ChipRead, ChipReadError> {
    let bytes = STANDARD.decode(text.trim())?;
    Ok(proto::ChipRead::decode(bytes.as_slice())?)
}
