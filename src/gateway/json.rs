//! The proto3 JSON mapping of vnpop's messages: the REST API speaks the same messages as gRPC,
//! with the same (lowerCamelCase) field names, enums by name, 64-bit integers as strings and bytes
//! as base64. The bodies are read and written by the serde code pbjson-build generates from the
//! protos (`proto`'s `Serialize`/`Deserialize`); the descriptor set the same build produces is kept
//! here too ([`POOL`], read through prost-reflect), for the OpenAPI document and as the reference
//! the generated code is tested against.

use std::{collections::HashMap, sync::LazyLock};

use prost::Message;
use prost_reflect::{DescriptorPool, MessageDescriptor};
use serde::{de::DeserializeOwned, Serialize};

use super::GatewayError;

/// Every vnpop message, from the descriptor set compiled into the binary.
pub(crate) static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
    DescriptorPool::decode(crate::proto::FILE_DESCRIPTOR_SET)
        .expect("the compiled descriptor set decodes")
});

/// Every `vnpop.v1` message's descriptor by its short name, so a call looks its messages up
/// without building their full names.
static MESSAGES: LazyLock<HashMap<String, MessageDescriptor>> = LazyLock::new(|| {
    POOL.all_messages()
        .filter_map(|descriptor| {
            let name = descriptor.full_name().strip_prefix("vnpop.v1.")?.to_owned();
            Some((name, descriptor))
        })
        .collect()
});

/// The descriptor of `vnpop.v1.{name}`.
pub(crate) fn message(name: &str) -> MessageDescriptor {
    MESSAGES
        .get(name)
        .cloned()
        .unwrap_or_else(|| panic!("vnpop.v1.{name} is not in the protos"))
}

/// Reads the JSON body of a request into `T`, the message `vnpop.v1.{name}` (named in the error).
/// Unknown fields are refused, so a misspelt field is an error rather than silently ignored; an
/// empty body is the empty message.
pub(crate) fn decode<T: DeserializeOwned>(
    name: &'static str,
    body: &[u8],
) -> Result<T, GatewayError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| GatewayError::Json {
        message: name,
        detail: e.to_string(),
    })
}

/// Writes `value` as JSON. Fields at their default value are written too (`"matched": false`),
/// so callers need not know proto3's defaults.
pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    serde_json::to_writer(&mut out, value).expect("a message serialises to JSON");
    out
}

/// [`encode`] for a `T` given as its protobuf encoding (an answer passed on as the server sent it).
pub(crate) fn encode_bytes<T: Message + Default + Serialize>(
    bytes: &[u8],
) -> Result<Vec<u8>, prost::DecodeError> {
    Ok(encode(&T::decode(bytes)?))
}

#[cfg(test)]
mod tests {
    use prost_reflect::{DeserializeOptions, DynamicMessage, SerializeOptions};

    use super::*;
    use crate::proto;

    /// `value` in JSON as prost-reflect writes it from the descriptors: the reference.
    fn reference<T: Message>(name: &str, value: &T) -> serde_json::Value {
        let mut dynamic = DynamicMessage::new(message(name));
        dynamic.transcode_from(value).unwrap();
        let mut out = Vec::new();
        dynamic
            .serialize_with_options(
                &mut serde_json::Serializer::new(&mut out),
                &SerializeOptions::new().skip_default_fields(false),
            )
            .unwrap();
        serde_json::from_slice(&out).unwrap()
    }

    /// `body` read by prost-reflect into `T`: the reference.
    fn read_reference<T: Message + Default>(name: &str, body: &str) -> T {
        let mut deserializer = serde_json::Deserializer::from_str(body);
        DynamicMessage::deserialize_with_options(
            message(name),
            &mut deserializer,
            &DeserializeOptions::new().deny_unknown_fields(true),
        )
        .unwrap()
        .transcode_to()
        .unwrap()
    }

    /// A served citizen with every field the generator fills, through the widest scope.
    fn citizen(index: u64) -> proto::Citizen {
        let spec = crate::population::PopulationSpec {
            seed: 7,
            size: 1_000,
            reference_date: crate::population::PopulationSpec::default_reference_date(),
        };
        let domain = crate::population::citizen_at(spec, index);
        crate::registry::convert::citizen(
            &domain,
            crate::security::FieldScope::all(),
            spec.reference_date,
        )
        .0
    }

    #[test]
    fn the_generated_json_is_the_descriptors_json() {
        for index in [0, 1, 17, 999] {
            let answer = proto::LookupResponse {
                citizen: Some(citizen(index)),
                withheld_fields: vec!["religion".into()],
            };
            let ours: serde_json::Value = serde_json::from_slice(&encode(&answer)).unwrap();
            assert_eq!(ours, reference("LookupResponse", &answer));
            let from_bytes =
                encode_bytes::<proto::LookupResponse>(&answer.encode_to_vec()).unwrap();
            assert_eq!(from_bytes, encode(&answer));
            // And read back to the same message, by both.
            let text = String::from_utf8(from_bytes).unwrap();
            let back: proto::LookupResponse = decode("LookupResponse", text.as_bytes()).unwrap();
            assert_eq!(back, answer);
            assert_eq!(
                read_reference::<proto::LookupResponse>("LookupResponse", &text),
                answer
            );
        }
        let dossier = proto::OpenedDossier {
            dossier_id: "D".into(),
            channel: proto::DossierChannel::Desk as i32,
            received_at_ms: 5,
            ..Default::default()
        };
        let ours: serde_json::Value = serde_json::from_slice(&encode(&dossier)).unwrap();
        assert_eq!(ours, reference("OpenedDossier", &dossier));
        assert!(encode_bytes::<proto::LookupResponse>(b"\xff\xff").is_err());
    }

    #[test]
    fn uses_the_proto_json_names_both_ways() {
        let body =
            r#"{"context": {"purpose": "p", "officerId": "o"}, "cccdNumber": "001090012345"}"#;
        let request: proto::LookupByCccdRequest =
            decode("LookupByCccdRequest", body.as_bytes()).unwrap();
        assert_eq!(request.cccd_number, "001090012345");
        assert_eq!(request.context.as_ref().unwrap().officer_id, "o");
        assert_eq!(request, read_reference("LookupByCccdRequest", body));
        let empty: proto::LookupByCccdRequest = decode("LookupByCccdRequest", b"  ").unwrap();
        assert_eq!(empty, proto::LookupByCccdRequest::default());
        let text = String::from_utf8(encode(&proto::OpenedDossier {
            dossier_id: "D".into(),
            channel: proto::DossierChannel::Desk as i32,
            received_at_ms: 5,
            ..Default::default()
        }))
        .unwrap();
        assert!(text.contains(r#""dossierId":"D""#), "{text}");
        assert!(
            text.contains(r#""channel":"DOSSIER_CHANNEL_DESK""#),
            "{text}"
        );
        assert!(text.contains(r#""receivedAtMs":"5""#), "{text}");
        assert!(text.contains(r#""loadTest":false"#), "{text}");
    }

    #[test]
    fn refuses_unknown_fields_and_wrong_types() {
        for body in [
            &br#"{"cccd_numbr": "1"}"#[..],
            br#"{"cccdNumber": 12}"#,
            br#"{"cccdNumber": "1"} trailing"#,
            b"not json",
        ] {
            let error =
                decode::<proto::LookupByCccdRequest>("LookupByCccdRequest", body).unwrap_err();
            assert!(matches!(error, GatewayError::Json { .. }), "{error}");
        }
    }
}
