//! The gRPC methods the server answers, as a static table: metrics label calls with these names
//! without allocating, and fault rules name the citizen-facing ones.

/// One gRPC method.
#[derive(Debug, PartialEq, Eq)]
pub struct Method {
    /// The HTTP/2 path, e.g. "/vnpop.v1.CitizenRegistry/LookupByCccd".
    pub path: &'static str,
    /// The method name, e.g. "LookupByCccd" (unique across vnpop's services).
    pub name: &'static str,
    /// Whether the method serves agencies' verifications (CitizenRegistry, VneidAuthentication,
    /// ChipVerification): the methods fault injection applies to.
    pub citizen_facing: bool,
}

const fn method(path: &'static str, name: &'static str, citizen_facing: bool) -> Method {
    Method {
        path,
        name,
        citizen_facing,
    }
}

/// Every method of every service the server mounts.
pub(crate) static METHODS: &[Method] = &[
    method(
        "/vnpop.v1.CitizenRegistry/LookupByCccd",
        "LookupByCccd",
        true,
    ),
    method(
        "/vnpop.v1.CitizenRegistry/LookupByCmnd",
        "LookupByCmnd",
        true,
    ),
    method(
        "/vnpop.v1.CitizenRegistry/VerifyDemographics",
        "VerifyDemographics",
        true,
    ),
    method("/vnpop.v1.CitizenRegistry/VerifyQr", "VerifyQr", true),
    method("/vnpop.v1.CitizenRegistry/WhoAmI", "WhoAmI", true),
    method(
        "/vnpop.v1.VneidAuthentication/StartAuthentication",
        "StartAuthentication",
        true,
    ),
    method(
        "/vnpop.v1.VneidAuthentication/CompleteAuthentication",
        "CompleteAuthentication",
        true,
    ),
    method("/vnpop.v1.VneidAuthentication/GetJwks", "GetJwks", true),
    method(
        "/vnpop.v1.VneidAuthentication/IntrospectToken",
        "IntrospectToken",
        true,
    ),
    method(
        "/vnpop.v1.ChipVerification/VerifyChipRead",
        "VerifyChipRead",
        true,
    ),
    method("/vnpop.v1.AuditTrail/Ingest", "Ingest", false),
    method("/vnpop.v1.AuditTrail/LookupRatio", "LookupRatio", false),
    method(
        "/vnpop.v1.AuditTrail/StreamLookupRatio",
        "StreamLookupRatio",
        false,
    ),
    method(
        "/vnpop.v1.AuditTrail/ListUnverifiedDossiers",
        "ListUnverifiedDossiers",
        false,
    ),
    method("/vnpop.v1.AuditTrail/ListEvents", "ListEvents", false),
    method(
        "/vnpop.v1.AuditTrail/CitizenAccessLog",
        "CitizenAccessLog",
        false,
    ),
    method("/vnpop.v1.AuditTrail/GetTreeHead", "GetTreeHead", false),
    method("/vnpop.v1.AuditTrail/GetCheckpoint", "GetCheckpoint", false),
    method(
        "/vnpop.v1.AuditTrail/GetInclusionProof",
        "GetInclusionProof",
        false,
    ),
    method(
        "/vnpop.v1.AuditTrail/GetConsistencyProof",
        "GetConsistencyProof",
        false,
    ),
    method("/vnpop.v1.AuditTrail/VerifyLog", "VerifyLog", false),
    method("/vnpop.v1.AuditTrail/Reconcile", "Reconcile", false),
    method(
        "/vnpop.v1.AuditTrail/StreamReconcile",
        "StreamReconcile",
        false,
    ),
    method("/vnpop.v1.AuditTrail/FindAnomalies", "FindAnomalies", false),
    method("/vnpop.v1.QaAdministration/GetFaults", "GetFaults", false),
    method("/vnpop.v1.QaAdministration/SetFaults", "SetFaults", false),
    method(
        "/vnpop.v1.QaAdministration/ClearFaults",
        "ClearFaults",
        false,
    ),
    method("/vnpop.v1.QaAdministration/PutCitizen", "PutCitizen", false),
    method(
        "/vnpop.v1.QaAdministration/RemoveCitizen",
        "RemoveCitizen",
        false,
    ),
    method("/vnpop.v1.QaAdministration/RevokeCard", "RevokeCard", false),
    method(
        "/vnpop.v1.QaAdministration/MarkDeceased",
        "MarkDeceased",
        false,
    ),
    method(
        "/vnpop.v1.QaAdministration/ResetPopulation",
        "ResetPopulation",
        false,
    ),
    // A stream of a whole job: fault rules (per call) do not apply to it.
    method("/vnpop.v1.DataCleaning/CleanRecords", "CleanRecords", false),
    method("/grpc.health.v1.Health/Check", "Health.Check", false),
    method("/grpc.health.v1.Health/Watch", "Health.Watch", false),
    method(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "ServerReflectionInfo",
        false,
    ),
    method(
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        "ServerReflectionInfo.v1alpha",
        false,
    ),
];

/// Label of a call to a path that is not in [`METHODS`].
pub(crate) static UNKNOWN: Method = method("", "unknown", false);

/// The index in [`METHODS`] of the method at `path`.
pub(crate) fn index_of_path(path: &str) -> Option<usize> {
    METHODS.iter().position(|m| m.path == path)
}

/// The citizen-facing method named `name` ("LookupByCccd") or at path `name`
/// ("/vnpop.v1.CitizenRegistry/LookupByCccd", the leading slash optional).
pub(crate) fn citizen_facing(name: &str) -> Option<&'static Method> {
    let path = name.strip_prefix('/').unwrap_or(name);
    METHODS
        .iter()
        .filter(|m| m.citizen_facing)
        .find(|m| m.name == name || &m.path[1..] == path)
}

/// The names of the citizen-facing methods, for error messages.
pub(crate) fn citizen_facing_names() -> Vec<&'static str> {
    METHODS
        .iter()
        .filter(|m| m.citizen_facing)
        .map(|m| m.name)
        .collect()
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    /// The table lists exactly the methods of vnpop's protos (a new RPC must be added here).
    #[test]
    fn the_table_matches_the_protos() {
        let set = prost_types::FileDescriptorSet::decode(crate::proto::FILE_DESCRIPTOR_SET)
            .expect("descriptor set");
        let mut from_protos: Vec<String> = set
            .file
            .iter()
            .flat_map(|file| {
                let package = file.package().to_owned();
                // AgencyGateway is served by `vnpop gateway`, not by the server.
                file.service
                    .iter()
                    .filter(|service| service.name() != "AgencyGateway")
                    .flat_map(move |service| {
                        let prefix = format!("/{package}.{}/", service.name());
                        service
                            .method
                            .iter()
                            .map(move |m| format!("{prefix}{}", m.name()))
                    })
            })
            .collect();
        let mut from_table: Vec<String> = METHODS
            .iter()
            .filter(|m| m.path.starts_with("/vnpop."))
            .map(|m| m.path.to_owned())
            .collect();
        from_protos.sort();
        from_table.sort();
        assert_eq!(from_protos, from_table);
        let mut names: Vec<_> = METHODS.iter().map(|m| m.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), METHODS.len(), "method names are unique");
    }

    #[test]
    fn finds_citizen_facing_methods_by_name_or_path() {
        let m = citizen_facing("LookupByCccd").unwrap();
        assert_eq!(
            citizen_facing("/vnpop.v1.CitizenRegistry/LookupByCccd"),
            Some(m)
        );
        assert_eq!(
            citizen_facing("vnpop.v1.CitizenRegistry/LookupByCccd"),
            Some(m)
        );
        assert_eq!(citizen_facing("Ingest"), None);
        assert_eq!(citizen_facing("SetFaults"), None);
    }
}
