//! Compiles the workspace's `proto/` (at its top) into Rust with `protox` (a pure-Rust protobuf compiler), so a fresh machine
//! needs no `protoc`. The encoded descriptor set is also kept in `OUT_DIR` for gRPC reflection, with
//! a second one for `google/rpc/error_details.proto` (the types of every error's details, whose
//! Rust code comes from `tonic-types`): reflection serves it so that grpcurl and other reflection
//! clients decode ErrorInfo and BadRequest instead of printing bytes. Every message gets
//! `prost::Name` (its proto name and package). Server stubs, and the serde
//! code of the proto3 JSON mapping (pbjson-build: the gateway's REST bodies), are generated only
//! with the `server` feature.

use std::{env, fs, path::PathBuf};

use prost::Message;

const PROTOS: &[&str] = &[
    "../../proto/vnpop/v1/common.proto",
    "../../proto/vnpop/v1/citizen_registry.proto",
    "../../proto/vnpop/v1/audit.proto",
    "../../proto/vnpop/v1/chip.proto",
    "../../proto/vnpop/v1/vneid.proto",
    "../../proto/vnpop/v1/admin.proto",
    "../../proto/vnpop/v1/gateway.proto",
    "../../proto/vnpop/v1/cleaning.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=../../proto");
    let descriptors = protox::compile(PROTOS, ["../../proto"])?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    let descriptor_path = out_dir.join("vnpop_descriptor.bin");
    fs::write(&descriptor_path, descriptors.encode_to_vec())?;

    // Descriptors only: the Rust types are tonic-types'. Includes its import (duration.proto).
    let error_details = protox::compile(
        ["../../proto/google/rpc/error_details.proto"],
        ["../../proto"],
    )?;
    fs::write(
        out_dir.join("error_details_descriptor.bin"),
        error_details.encode_to_vec(),
    )?;

    // Without the `server` feature (the client library's build: what agency software links to)
    // the message types and client stubs only, no server traits.
    let server = env::var_os("CARGO_FEATURE_SERVER").is_some();
    tonic_prost_build::configure()
        .build_server(server)
        .file_descriptor_set_path(&descriptor_path)
        .skip_protoc_run()
        .compile_with_config(
            {
                let mut config = prost_build::Config::new();
                config.enable_type_names();
                config
            },
            PROTOS,
            &["../../proto"],
        )?;
    // The proto3 JSON mapping as serde code, for the gateway's REST API (server builds only).
    if server {
        pbjson_build::Builder::new()
            .register_descriptors(&fs::read(&descriptor_path)?)?
            .emit_fields()
            .build(&[".vnpop.v1"])?;
    }
    Ok(())
}
