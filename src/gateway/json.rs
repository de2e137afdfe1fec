//! The proto3 JSON mapping of vnpop's messages, read and written through prost-reflect with the
//! descriptor set build.rs produces: the REST API speaks the same messages as gRPC, with the same
//! (lowerCamelCase) field names, enums by name, 64-bit integers as strings and bytes as base64.

use std::{collections::HashMap, sync::LazyLock};

use prost::Message;
use prost_reflect::{
    DescriptorPool, DeserializeOptions, DynamicMessage, MessageDescriptor, SerializeOptions,
};

use super::GatewayError;

/// Every vnpop message, from the descriptor set compiled into the binary.
pub(crate) static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
    DescriptorPool::decode(crate::server::FILE_DESCRIPTOR_SET)
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

/// Reads the JSON body of a request into `T`, the message `vnpop.v1.{name}`. Unknown fields are
/// refused, so a misspelt field is an error rather than silently ignored.
pub(crate) fn decode<T: Message + Default>(
    name: &'static str,
    body: &[u8],
) -> Result<T, GatewayError> {
    let invalid = |detail: String| GatewayError::Json {
        message: name,
        detail,
    };
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        body
    };
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let dynamic = DynamicMessage::deserialize_with_options(
        message(name),
        &mut deserializer,
        &DeserializeOptions::new().deny_unknown_fields(true),
    )
    .map_err(|e| invalid(e.to_string()))?;
    deserializer.end().map_err(|e| invalid(e.to_string()))?;
    dynamic
        .transcode_to::<T>()
        .map_err(|e| invalid(e.to_string()))
}

/// Writes `value`, the message `vnpop.v1.{name}`, as JSON. Fields at their default value are
/// written too (`"matched": false`), so callers need not know proto3's defaults.
pub(crate) fn encode<T: Message>(name: &str, value: &T) -> Vec<u8> {
    let mut dynamic = DynamicMessage::new(message(name));
    dynamic
        .transcode_from(value)
        .expect("a message decodes as its own type");
    write(&dynamic)
}

/// [`encode`] for the message `vnpop.v1.{name}` given as its protobuf encoding (an answer passed
/// on as the server sent it): read straight into the JSON writer's form, with no Rust struct in
/// between.
pub(crate) fn encode_bytes(name: &str, bytes: &[u8]) -> Result<Vec<u8>, prost::DecodeError> {
    Ok(write(&DynamicMessage::decode(message(name), bytes)?))
}

fn write(dynamic: &DynamicMessage) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    let mut serializer = serde_json::Serializer::new(&mut out);
    dynamic
        .serialize_with_options(
            &mut serializer,
            &SerializeOptions::new().skip_default_fields(false),
        )
        .expect("a dynamic message serialises to JSON");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto;

    #[test]
    fn uses_the_proto_json_names_both_ways() {
        let request: proto::LookupByCccdRequest = decode(
            "LookupByCccdRequest",
            br#"{"context": {"purpose": "p", "officerId": "o"}, "cccdNumber": "001090012345"}"#,
        )
        .unwrap();
        assert_eq!(request.cccd_number, "001090012345");
        assert_eq!(request.context.unwrap().officer_id, "o");
        let text = String::from_utf8(encode(
            "OpenedDossier",
            &proto::OpenedDossier {
                dossier_id: "D".into(),
                channel: proto::DossierChannel::Desk as i32,
                received_at_ms: 5,
                ..Default::default()
            },
        ))
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
    fn writes_the_same_json_from_the_servers_bytes() {
        let answer = proto::LookupResponse {
            citizen: Some(proto::Citizen {
                cccd_number: "001090012345".into(),
                full_name: Some("Nguyễn Văn An".into()),
                cmnd_number: Some("012345678".into()),
                ..Default::default()
            }),
            withheld_fields: vec!["religion".into()],
        };
        let from_bytes = encode_bytes("LookupResponse", &answer.encode_to_vec()).unwrap();
        assert_eq!(from_bytes, encode("LookupResponse", &answer));
        assert!(encode_bytes("LookupResponse", b"\xff\xff").is_err());
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
