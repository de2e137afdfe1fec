//! `vnpop chip read`: DEVELOPMENT ONLY, chip reads of citizens' cards, genuine or tampered, as
//! base64 or (`--format json`) in the protobuf JSON mapping (proto3 canonical JSON: lowerCamelCase
//! field names, bytes in standard base64), so that it pastes into a grpcurl request as the
//! `chip_read` of `CompleteAuthentication` or the `chip_read` of `VerifyChipRead`.

use base64::{engine::general_purpose::STANDARD, Engine};
use clap::ValueEnum;

use super::{citizen::find_citizen, failure::Failure, output::print};
use crate::{
    chip::{DocumentSigner, Tamper},
    config::PopulationArgs,
    proto,
};

/// `vnpop chip …`.
#[derive(Debug, clap::Subcommand)]
pub enum ChipCommand {
    /// Print what a card reader reads from the citizen's chip, signed by the development document
    /// signer: one line of base64 (the protobuf encoding of vnpop.v1.ChipRead), or with --format
    /// json the ChipRead message in the protobuf JSON mapping, ready for grpcurl. Takes the same
    /// population flags as `serve`.
    Read {
        /// The 12-digit CCCD number.
        cccd: String,
        /// Spoil the read in this way (for negative tests).
        #[arg(long, value_enum)]
        tamper: Option<Tamper>,
        /// How the read is printed.
        #[arg(long, value_enum, default_value = "base64")]
        format: ChipFormat,
        #[command(flatten)]
        population: PopulationArgs,
    },
}

/// Runs a `chip` subcommand.
pub fn run(command: ChipCommand) -> Result<(), Failure> {
    match command {
        ChipCommand::Read {
            cccd,
            tamper,
            format,
            population,
        } => read(&cccd, tamper, format, &population),
    }
}

/// Prints a chip read of the citizen `cccd`, spoilt as `tamper` says, in `format`.
fn read(
    cccd: &str,
    tamper: Option<Tamper>,
    format: ChipFormat,
    population: &PopulationArgs,
) -> Result<(), Failure> {
    let citizen = find_citizen(cccd, population)?;
    let signer = DocumentSigner::development();
    let read = match tamper {
        None => crate::chip::chip_read(population.seed, &citizen, &signer),
        Some(tamper) => crate::chip::tampered_chip_read(population.seed, &citizen, &signer, tamper),
    }
    .map_err(|e| e.to_string())?;
    let line = match format {
        ChipFormat::Base64 => crate::chip::encode_chip_read(&read),
        ChipFormat::Json => chip_read_json(&read).to_string(),
    };
    Ok(print(&(line + "\n"))?)
}

/// How `chip read` prints a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChipFormat {
    /// One line of base64: the protobuf encoding of vnpop.v1.ChipRead (for the library and the
    /// example programs).
    Base64,
    /// The ChipRead message in the protobuf JSON mapping, on one line (for grpcurl).
    Json,
}

/// `read` in the protobuf JSON mapping (every field written, as grpcurl's own output does).
pub(crate) fn chip_read_json(read: &proto::ChipRead) -> serde_json::Value {
    let groups: Vec<_> = read
        .data_groups
        .iter()
        .map(|g| serde_json::json!({"number": g.number, "content": STANDARD.encode(&g.content)}))
        .collect();
    let mut json = serde_json::json!({ "dataGroups": groups });
    if let Some(so) = &read.security_object {
        json["securityObject"] = serde_json::json!({
            "signedContent": STANDARD.encode(&so.signed_content),
            "signatureAlgorithm": so.signature_algorithm,
            "signature": STANDARD.encode(&so.signature),
            "documentSignerCertificate": STANDARD.encode(&so.document_signer_certificate),
        });
    }
    json
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads the JSON back the way a protobuf JSON parser would, field by field.
    fn parse(json: &serde_json::Value) -> proto::ChipRead {
        let bytes = |v: &serde_json::Value| STANDARD.decode(v.as_str().unwrap()).unwrap();
        let so = &json["securityObject"];
        proto::ChipRead {
            data_groups: json["dataGroups"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| proto::DataGroup {
                    number: g["number"].as_u64().unwrap() as u32,
                    content: bytes(&g["content"]),
                })
                .collect(),
            security_object: Some(proto::SecurityObject {
                signed_content: bytes(&so["signedContent"]),
                signature_algorithm: so["signatureAlgorithm"].as_str().unwrap().into(),
                signature: bytes(&so["signature"]),
                document_signer_certificate: bytes(&so["documentSignerCertificate"]),
            }),
        }
    }

    #[test]
    fn the_json_mapping_carries_the_whole_read() {
        let read = proto::ChipRead {
            data_groups: vec![
                proto::DataGroup {
                    number: 1,
                    content: vec![1, 2, 3, 250],
                },
                proto::DataGroup {
                    number: 13,
                    content: b"dg13".to_vec(),
                },
            ],
            security_object: Some(proto::SecurityObject {
                signed_content: vec![9; 40],
                signature_algorithm: "ecdsa-with-SHA256".into(),
                signature: vec![7; 72],
                document_signer_certificate: vec![0x30, 0x82],
            }),
        };
        let json = chip_read_json(&read);
        assert_eq!(parse(&json), read);
        assert_eq!(json["dataGroups"][0]["content"], "AQID+g==");
        assert!(json.get("data_groups").is_none(), "lowerCamelCase names");
    }
}
