//! The OpenAPI 3.1 document of the REST API, generated from the route table
//! ([`super::routes::ROUTES`]) and, for every body and answer, from the protos' descriptors (the
//! proto3 JSON mapping as JSON Schema, each message and field described by its comment in the
//! proto). Nothing is kept by hand, so it cannot drift from what is served; a test checks every
//! documented operation against the running router.

use std::collections::BTreeMap;

use prost_reflect::{FileDescriptor, Kind, MessageDescriptor};
use serde_json::{json, Map, Value};

use super::{
    json,
    routes::{Answer, ROUTES},
};

/// The JSON Schema of one field's value (without repetition).
fn kind_schema(kind: &Kind, wanted: &mut Vec<MessageDescriptor>) -> Value {
    match kind {
        Kind::Double | Kind::Float => json!({"type": "number"}),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            json!({"type": "integer", "format": "int32"})
        }
        Kind::Uint32 | Kind::Fixed32 => {
            json!({"type": "integer", "format": "int32", "minimum": 0})
        }
        // The proto3 JSON mapping writes 64-bit integers as strings (and reads either).
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 | Kind::Uint64 | Kind::Fixed64 => {
            json!({"type": ["string", "integer"], "format": "int64", "pattern": "^-?[0-9]+$"})
        }
        Kind::Bool => json!({"type": "boolean"}),
        Kind::String => json!({"type": "string"}),
        Kind::Bytes => json!({"type": "string", "contentEncoding": "base64"}),
        Kind::Enum(e) => json!({
            "type": "string",
            "enum": e.values().map(|v| v.name().to_owned()).collect::<Vec<_>>(),
        }),
        Kind::Message(m) => {
            wanted.push(m.clone());
            json!({"$ref": format!("#/components/schemas/{}", m.name())})
        }
    }
}

/// The comment above the declaration at `path` in `file` (the proto's documentation of a message
/// or field), on one line.
fn proto_comment(file: &FileDescriptor, path: &[i32]) -> Option<String> {
    let info = file.file_descriptor_proto().source_code_info.as_ref()?;
    let location = info.location.iter().find(|l| l.path == path)?;
    let text = location.leading_comments.as_deref()?;
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then_some(text)
}

/// The JSON Schema of a message: its fields by JSON name.
fn message_schema(message: &MessageDescriptor, wanted: &mut Vec<MessageDescriptor>) -> Value {
    let mut properties = Map::new();
    for field in message.fields() {
        let schema = if field.is_map() {
            let Kind::Message(entry) = field.kind() else {
                unreachable!("a map field's kind is its entry message")
            };
            json!({
                "type": "object",
                "additionalProperties": kind_schema(&entry.map_entry_value_field().kind(), wanted),
            })
        } else if field.is_list() {
            json!({"type": "array", "items": kind_schema(&field.kind(), wanted)})
        } else {
            kind_schema(&field.kind(), wanted)
        };
        let mut schema = schema;
        if let Some(comment) = proto_comment(&field.parent_file(), field.path()) {
            schema["description"] = comment.into();
        }
        properties.insert(field.json_name().to_owned(), schema);
    }
    let mut description = format!("vnpop.v1.{} in the proto3 JSON mapping.", message.name());
    if let Some(comment) = proto_comment(&message.parent_file(), message.path()) {
        description = format!("{description} {comment}");
    }
    json!({
        "type": "object",
        "description": description,
        "properties": properties,
        "additionalProperties": false,
    })
}

fn problem_schema() -> Value {
    json!({
        "type": "object",
        "description": "RFC 9457 problem details, carrying the gRPC status and its google.rpc details.",
        "required": ["type", "title", "status", "detail", "grpcCode", "grpcStatus"],
        "properties": {
            "type": {"type": "string", "description": "urn:vnpop:problem:REASON, or about:blank"},
            "title": {"type": "string"},
            "status": {"type": "integer", "description": "HTTP status"},
            "detail": {"type": "string"},
            "grpcCode": {"type": "string", "description": "gRPC code name, e.g. NOT_FOUND"},
            "grpcStatus": {"type": "integer", "description": "gRPC code number, e.g. 5"},
            "reason": {"type": "string", "description": "google.rpc.ErrorInfo reason (the error catalogue, docs/errors.md)"},
            "domain": {"type": "string"},
            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
            "invalidParams": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "reason": {"type": "string"}},
                },
            },
            "retryAfterSeconds": {"type": "integer"},
        },
    })
}

fn health_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["SERVING", "DEGRADED", "NOT_SERVING"], "description": "SERVING: the server answers and the outbox takes events; DEGRADED: the server does not answer but the outbox takes events (dossiers open, verifications fail UNAVAILABLE); NOT_SERVING (HTTP 503): the outbox cannot be read"},
            "upstream": {"type": "string", "enum": ["UNKNOWN", "REACHABLE", "UNREACHABLE"], "description": "the server, as the gateway's last probe (WhoAmI, every --health-interval) found it"},
            "server": {"type": "string", "description": "the server's address: to callers with the API key only"},
            "outboxError": {"type": "string", "description": "why the outbox cannot be read: to callers with the API key only"},
            "pendingEvents": {"type": "integer", "description": "events in the outbox not yet delivered"},
            "dossiers": {"type": "integer", "description": "dossiers opened through this gateway"},
        },
    })
}

fn body(schema: Value) -> Value {
    json!({"content": {"application/json": {"schema": schema}}})
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// The OpenAPI 3.1 document.
pub fn document() -> Value {
    let mut wanted: Vec<MessageDescriptor> = Vec::new();
    let mut paths: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    for route in ROUTES {
        let mut operation = Map::new();
        operation.insert("operationId".into(), route.operation_id.into());
        operation.insert("summary".into(), route.summary.into());
        if let Some(grpc) = route.grpc {
            operation.insert(
                "description".into(),
                format!(
                    "REST form of the gRPC method /{grpc}; the same messages and reason codes."
                )
                .into(),
            );
        }
        if route.path.contains("{dossierId}") {
            operation.insert(
                "parameters".into(),
                json!([{
                    "name": "dossierId",
                    "in": "path",
                    "required": true,
                    "description": "A dossier opened through this gateway (POST /v1/dossiers).",
                    "schema": {"type": "string"},
                }]),
            );
        }
        if let Some(request) = route.request {
            wanted.push(json::message(request));
            let mut request_body = body(reference(request));
            request_body["required"] = true.into();
            operation.insert("requestBody".into(), request_body);
        }
        let success = match route.answer {
            Answer::Message(name) => {
                wanted.push(json::message(name));
                body(reference(name))
            }
            Answer::Health => body(reference("GatewayHealth")),
            Answer::OpenApi => body(json!({"type": "object"})),
        };
        let mut responses = Map::new();
        let mut ok = success.clone();
        ok["description"] = "Success".into();
        responses.insert(route.success.to_string(), ok);
        if route.operation_id == "openDossier" {
            let mut again = success;
            again["description"] = "Opened before with the same details".into();
            responses.insert("200".into(), again);
        }
        responses.insert(
            "default".into(),
            json!({
                "description": "An error: the gRPC code and reason as problem details",
                "content": {"application/problem+json": {"schema": reference("Problem")}},
            }),
        );
        operation.insert("responses".into(), responses.into());
        paths
            .entry(route.path)
            .or_default()
            .insert(route.method.as_str().to_lowercase(), operation.into());
    }

    let mut schemas = Map::new();
    while let Some(message) = wanted.pop() {
        if schemas.contains_key(message.name()) {
            continue;
        }
        let schema = message_schema(&message, &mut wanted);
        schemas.insert(message.name().to_owned(), schema);
    }
    schemas.insert("Problem".into(), problem_schema());
    schemas.insert("GatewayHealth".into(), health_schema());
    let schemas: BTreeMap<String, Value> = schemas.into_iter().collect();

    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "vnpop agency gateway",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Every verification is made for a dossier opened through this gateway and is recorded in the gateway's durable outbox before it is answered; the outbox is delivered to the vnpop server's audit trail in the background. Bodies and answers are vnpop.v1 messages in the proto3 JSON mapping. Errors are RFC 9457 problem+json with the gRPC code and reason.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "Required when the gateway was started with --api-key (always off loopback); x-api-key works too."},
            },
        },
        "security": [{}, {"apiKey": []}],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_resolves() {
        let document = document();
        let text = document.to_string();
        let schemas = document["components"]["schemas"].as_object().unwrap();
        for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = &reference[..reference.find('"').unwrap()];
            assert!(
                schemas.contains_key(name),
                "{name} is referenced but not defined"
            );
        }
        let lookup = &schemas["LookupByCccdRequest"]["properties"];
        assert!(lookup.get("cccdNumber").is_some(), "{lookup}");
        assert!(schemas.contains_key("RequestContext"));
        assert_eq!(document["openapi"], "3.1.0");
        // Fields carry their proto comments: what a dossier's commune is, for instance.
        for message in ["OpenDossierRequest", "OpenedDossier"] {
            let commune = &schemas[message]["properties"]["commune"];
            assert_eq!(commune["type"], "string", "{message}: {commune}");
            assert!(
                commune["description"]
                    .as_str()
                    .is_some_and(|d| d.contains("commune")),
                "{message}: {commune}"
            );
        }
        let opened = schemas["OpenDossierRequest"]["properties"]["commune"]["description"]
            .as_str()
            .unwrap();
        assert!(opened.contains("1 July 2025"), "{opened}");
        assert!(opened.contains("COMMUNE_UNKNOWN"), "{opened}");
    }
}
