//! What the test saw ([`Ledger`]): each dossier's route, the calls answered and how each
//! ended ([`Ending`]), and the event ids the log must hold.

use std::collections::{BTreeMap, HashMap, HashSet};

use vnpop::client::{ClientError, Origin, TransportFailure};

use crate::{rest, GATEWAY_OWN, REFUSED_BEFORE_RECORD};

/// How a dossier was opened and its calls made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// `AgencyClient::open_dossier`, calls through the `Dossier`.
    Direct,
    /// `AgencyClient::open_dossier_once` (retried after a transport failure), calls through the
    /// `Dossier`.
    Once,
    /// The gateway's REST API.
    Rest,
    /// The gateway's gRPC API.
    Grpc,
}

/// What the test saw of one dossier.
#[derive(Debug)]
pub(crate) struct DossierLog {
    pub(crate) route: Route,
    /// Verification events the client recorded: one per call that returned.
    pub(crate) recorded: u64,
    /// The numbers of the verifications (in the order they returned) that failed in transport.
    pub(crate) lost: HashSet<u64>,
    /// Per RPC: calls whose answer was lost in a way that may have reached the server.
    pub(crate) lost_maybe_served: HashMap<&'static str, u64>,
    /// Per RPC: refusals the server makes before recording (see [`REFUSED_BEFORE_RECORD`]).
    pub(crate) refused_unrecorded: HashMap<&'static str, u64>,
}

/// What every worker adds to.
#[derive(Default)]
pub(crate) struct Ledger {
    pub(crate) dossiers: BTreeMap<String, DossierLog>,
    /// Broken promises of checks 1 and 2, in words.
    pub(crate) violations: Vec<String>,
    /// How calls ended, by kind (for the summary).
    pub(crate) endings: BTreeMap<String, u64>,
}

/// How one call ended, as the test classifies it.
#[derive(Debug)]
pub(crate) enum Ending {
    /// The server's answer.
    Answered,
    /// The server's refusal, with its reason.
    Refused(String),
    /// The answer was lost; `maybe_served` when the request may have reached the server; `how`
    /// names the failure (for the summary).
    Lost {
        maybe_served: bool,
        how: &'static str,
    },
    /// Broke checks 1 or 2 (nothing was counted).
    Violation(String),
}

impl Ending {
    /// A direct call's result (check 1).
    pub(crate) fn of_client<T>(result: &Result<T, ClientError>) -> Ending {
        let Err(error) = result else {
            return Ending::Answered;
        };
        match (error.origin(), error) {
            (
                Origin::Connection,
                ClientError::Transport {
                    failure: TransportFailure::Connect,
                    ..
                }
                | ClientError::Unreachable { .. }
                | ClientError::Connect(_),
            ) => Ending::Lost {
                maybe_served: false,
                how: "connect",
            },
            (
                Origin::Connection,
                ClientError::Transport {
                    failure: TransportFailure::Timeout,
                    ..
                },
            ) => Ending::Lost {
                maybe_served: true,
                how: "timeout",
            },
            (Origin::Connection, _) => Ending::Lost {
                maybe_served: true,
                how: "broken",
            },
            (Origin::Server, ClientError::Rpc(_) | ClientError::RefusedByServer { .. }) => {
                match error.reason() {
                    Some(reason) => Ending::Refused(reason.to_string()),
                    None => Ending::Violation(format!(
                        "a server answer without an ErrorInfo reason ({:?}): {error:?}",
                        error.code()
                    )),
                }
            }
            _ => Ending::Violation(format!("neither connection nor server refusal: {error:?}")),
        }
    }

    /// A gRPC call through the gateway (check 2).
    pub(crate) fn of_gateway_grpc<T>(result: &Result<T, ClientError>) -> Ending {
        let Err(error) = result else {
            return Ending::Answered;
        };
        let ClientError::Rpc(status) = error else {
            return Ending::Violation(format!("the gateway connection failed: {error:?}"));
        };
        if matches!(status.code(), tonic::Code::Internal | tonic::Code::Unknown) {
            return Ending::Violation(format!(
                "the gateway answered {:?}: {error:?}",
                status.code()
            ));
        }
        match error.reason().map(|r| r.to_string()) {
            Some(reason) if reason == "SERVER_UNREACHABLE" => {
                if status.code() == tonic::Code::Unavailable {
                    Ending::Lost {
                        maybe_served: true,
                        how: "gateway gRPC UNAVAILABLE",
                    }
                } else {
                    Ending::Violation(format!("SERVER_UNREACHABLE as {:?}", status.code()))
                }
            }
            Some(reason) if GATEWAY_OWN.contains(&reason.as_str()) => {
                Ending::Violation(format!("the gateway refused the call itself: {error:?}"))
            }
            Some(reason) => Ending::Refused(reason),
            None => Ending::Violation(format!("a gateway answer without a reason: {error:?}")),
        }
    }

    /// A REST call through the gateway (check 2).
    pub(crate) fn of_rest(result: &Result<rest::Answer, String>) -> Ending {
        let answer = match result {
            Ok(answer) => answer,
            Err(error) => {
                return Ending::Violation(format!("the gateway connection failed: {error}"))
            }
        };
        if (200..300).contains(&answer.status) {
            return Ending::Answered;
        }
        if answer.status == 500 {
            return Ending::Violation(format!("the gateway answered 500: {answer:?}"));
        }
        match answer.reason() {
            "SERVER_UNREACHABLE" if answer.status == 503 => Ending::Lost {
                maybe_served: true,
                how: "gateway REST 503",
            },
            "" => Ending::Violation(format!("a gateway answer without a reason: {answer:?}")),
            reason if GATEWAY_OWN.contains(&reason) || reason == "SERVER_UNREACHABLE" => {
                Ending::Violation(format!("unexpected gateway answer: {answer:?}"))
            }
            reason => Ending::Refused(reason.to_owned()),
        }
    }
}

impl Ledger {
    /// A dossier opened: its receipt recorded in the outbox, or acknowledged by Ingest.
    pub(crate) fn open(&mut self, id: &str, route: Route) {
        self.dossiers.insert(
            id.to_owned(),
            DossierLog {
                route,
                recorded: 0,
                lost: HashSet::new(),
                lost_maybe_served: HashMap::new(),
                refused_unrecorded: HashMap::new(),
            },
        );
    }

    /// Counts a call of `rpc` for dossier `id` that ended as `ending`: recorded by the client
    /// unless it broke a check.
    pub(crate) fn call(&mut self, id: &str, rpc: &'static str, ending: Ending) {
        let kind = match &ending {
            Ending::Answered => "answered".to_owned(),
            Ending::Refused(reason) => format!("refused {reason}"),
            Ending::Lost { how, .. } => format!("lost: {how}"),
            Ending::Violation(_) => "VIOLATION".to_owned(),
        };
        let route = self
            .dossiers
            .get(id)
            .map_or_else(|| "?".to_owned(), |d| format!("{:?}", d.route));
        *self.endings.entry(format!("{route} {kind}")).or_default() += 1;
        if let Ending::Violation(what) = ending {
            self.violations.push(format!("{id} {rpc}: {what}"));
            return;
        }
        let dossier = self.dossiers.get_mut(id).expect("opened first");
        if matches!(ending, Ending::Lost { .. }) {
            dossier.lost.insert(dossier.recorded);
        }
        dossier.recorded += 1;
        match ending {
            Ending::Lost {
                maybe_served: true, ..
            } => *dossier.lost_maybe_served.entry(rpc).or_default() += 1,
            Ending::Refused(reason) if REFUSED_BEFORE_RECORD.contains(&reason.as_str()) => {
                *dossier.refused_unrecorded.entry(rpc).or_default() += 1
            }
            _ => {}
        }
    }
}
