//! The REST API's routes: one table ([`ROUTES`]) from which both the router (`rest`) and the
//! OpenAPI document (`openapi`) are built, so the two cannot disagree.

use axum::http::Method;

/// What a route answers on success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The message `vnpop.v1.{name}` in JSON.
    Message(&'static str),
    /// The gateway's health document.
    Health,
    /// The OpenAPI document.
    OpenApi,
}

/// One route of the REST API.
#[derive(Debug, Clone)]
pub(crate) struct Route {
    pub method: Method,
    /// axum/OpenAPI path template (`{dossierId}`).
    pub path: &'static str,
    pub operation_id: &'static str,
    pub summary: &'static str,
    /// The gRPC method the route mirrors, if any (e.g. "vnpop.v1.CitizenRegistry/LookupByCccd").
    pub grpc: Option<&'static str>,
    /// The JSON body: the message `vnpop.v1.{name}`.
    pub request: Option<&'static str>,
    pub answer: Answer,
    /// Status of a successful answer.
    pub success: u16,
}

const DOSSIER: &str = "/v1/dossiers/{dossierId}";

macro_rules! dossier_path {
    ($suffix:literal) => {
        concat!("/v1/dossiers/{dossierId}", $suffix)
    };
}

/// Every route the gateway serves.
pub(crate) const ROUTES: &[Route] = &[
    Route {
        method: Method::GET,
        path: "/health",
        operation_id: "health",
        summary: "The gateway's state: SERVING, DEGRADED (the server does not answer) or NOT_SERVING (503), events waiting in the outbox, dossiers known; the server's address with the API key only.",
        grpc: None,
        request: None,
        answer: Answer::Health,
        success: 200,
    },
    Route {
        method: Method::GET,
        path: "/openapi.json",
        operation_id: "openApi",
        summary: "This document.",
        grpc: None,
        request: None,
        answer: Answer::OpenApi,
        success: 200,
    },
    Route {
        method: Method::POST,
        path: "/v1/dossiers",
        operation_id: "openDossier",
        summary: "Open a dossier (recorded durably before the answer), received at a district before 1 July 2025 and at a commune since (field commune); the agency's reporting rules are checked first. 201 when new; 200 with the dossier as first opened when repeated with the same details.",
        grpc: Some("vnpop.v1.AgencyGateway/OpenDossier"),
        request: Some("OpenDossierRequest"),
        answer: Answer::Message("OpenedDossier"),
        success: 201,
    },
    Route {
        method: Method::GET,
        path: DOSSIER,
        operation_id: "getDossier",
        summary: "A dossier opened through this gateway.",
        grpc: Some("vnpop.v1.AgencyGateway/GetDossier"),
        request: None,
        answer: Answer::Message("OpenedDossier"),
        success: 200,
    },
    Route {
        method: Method::POST,
        path: dossier_path!("/lookup-by-cccd"),
        operation_id: "lookupByCccd",
        summary: "Look a citizen up by the 12-digit CCCD number, for the dossier.",
        grpc: Some("vnpop.v1.CitizenRegistry/LookupByCccd"),
        request: Some("LookupByCccdRequest"),
        answer: Answer::Message("LookupResponse"),
        success: 200,
    },
    Route {
        method: Method::POST,
        path: dossier_path!("/lookup-by-cmnd"),
        operation_id: "lookupByCmnd",
        summary: "Look a citizen up by the old 9-digit CMND number, for the dossier.",
        grpc: Some("vnpop.v1.CitizenRegistry/LookupByCmnd"),
        request: Some("LookupByCmndRequest"),
        answer: Answer::Message("LookupResponse"),
        success: 200,
    },
    Route {
        method: Method::POST,
        path: dossier_path!("/verify-demographics"),
        operation_id: "verifyDemographics",
        summary: "Check declared name, date of birth, sex or address against the record.",
        grpc: Some("vnpop.v1.CitizenRegistry/VerifyDemographics"),
        request: Some("VerifyDemographicsRequest"),
        answer: Answer::Message("VerifyDemographicsResponse"),
        success: 200,
    },
    Route {
        method: Method::POST,
        path: dossier_path!("/verify-qr"),
        operation_id: "verifyQr",
        summary: "Verify the QR code printed on a card.",
        grpc: Some("vnpop.v1.CitizenRegistry/VerifyQr"),
        request: Some("VerifyQrRequest"),
        answer: Answer::Message("VerifyQrResponse"),
        success: 200,
    },
    Route {
        method: Method::POST,
        path: dossier_path!("/vneid/start"),
        operation_id: "startVneid",
        summary: "Start a VNeID authentication of the applicant (level 1 or 2).",
        grpc: Some("vnpop.v1.VneidAuthentication/StartAuthentication"),
        request: Some("StartAuthenticationRequest"),
        answer: Answer::Message("StartAuthenticationResponse"),
        success: 200,
    },
    Route {
        method: Method::POST,
        path: dossier_path!("/vneid/complete"),
        operation_id: "completeVneid",
        summary: "Answer the VNeID challenge (passcode, one-time code, and a chip read at level 2).",
        grpc: Some("vnpop.v1.VneidAuthentication/CompleteAuthentication"),
        request: Some("CompleteAuthenticationRequest"),
        answer: Answer::Message("CompleteAuthenticationResponse"),
        success: 200,
    },
    Route {
        method: Method::POST,
        path: dossier_path!("/verify-chip"),
        operation_id: "verifyChip",
        summary: "Verify a chip read (passive authentication and comparison with the database).",
        grpc: Some("vnpop.v1.ChipVerification/VerifyChipRead"),
        request: Some("VerifyChipReadRequest"),
        answer: Answer::Message("VerifyChipReadResponse"),
        success: 200,
    },
];
