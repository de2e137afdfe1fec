//! The OpenAPI document against what the gateway serves.

use super::*;

/// Every operation the OpenAPI document lists is served at its path and method (and no other
/// method is), and answers use the documented JSON names.
#[tokio::test]
async fn the_openapi_document_matches_the_routes_served() {
    let server = TestServer::start().await;
    let gateway = start_gateway(server.local_addr.port()).await;
    let mut rest = Rest::new(gateway.local_addr);
    let document = rest.get("/openapi.json").await.unwrap();
    assert_eq!(document.status, 200);
    let document = document.json;
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(
        rest.post("/v1/dossiers", &open_body("D-OA"))
            .await
            .unwrap()
            .status,
        201
    );
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.len() >= 11, "{}", paths.len());
    let mut operations = 0;
    for (path, methods) in paths {
        let concrete = path.replace("{dossierId}", "D-OA");
        for (method, operation) in methods.as_object().unwrap() {
            operations += 1;
            let body: &[u8] = if method == "post" { b"{}" } else { b"" };
            let answer = rest
                .raw(&method.to_uppercase(), &concrete, body)
                .await
                .unwrap();
            assert!(
                !["ROUTE_NOT_FOUND", "METHOD_NOT_ALLOWED"].contains(&answer.reason()),
                "{method} {path} is documented but not served: {answer:?}"
            );
            let documented: Vec<&String> =
                operation["responses"].as_object().unwrap().keys().collect();
            if answer.status < 300 {
                assert!(
                    documented.contains(&&answer.status.to_string()),
                    "{method} {path} answered {} (documented: {documented:?})",
                    answer.status
                );
            } else {
                assert_eq!(answer.content_type, "application/problem+json");
            }
        }
        let put = rest.raw("PUT", &concrete, b"{}").await.unwrap();
        put.assert_problem(405, "UNIMPLEMENTED", "METHOD_NOT_ALLOWED");
    }
    assert!(operations >= 11);

    // An answer carries only documented field names, at every level.
    let answer = rest
        .post("/v1/dossiers/D-OA/lookup-by-cccd", &lookup_body(AN))
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    let schemas = &document["components"]["schemas"];
    conforms(&answer.json, &schemas["LookupResponse"], schemas, "$");
    gateway.shutdown().await;
}

/// Checks that every key of `value` is a property of `schema` (following `$ref`), recursively.
fn conforms(value: &Value, schema: &Value, schemas: &Value, at: &str) {
    let schema = match schema["$ref"].as_str() {
        Some(reference) => &schemas[reference.trim_start_matches("#/components/schemas/")],
        None => schema,
    };
    match value {
        Value::Object(fields) => {
            for (key, inner) in fields {
                let property = &schema["properties"][key];
                assert!(!property.is_null(), "{at}.{key} is not documented");
                conforms(inner, property, schemas, &format!("{at}.{key}"));
            }
        }
        Value::Array(items) => {
            for item in items {
                conforms(item, &schema["items"], schemas, at);
            }
        }
        _ => {}
    }
}
