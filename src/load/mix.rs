//! The RPC mix: which calls the load makes, in which proportions, and how each one is sent.

use std::{fmt, str::FromStr};

use rand::Rng;
use tonic::{client::Grpc, codegen::http::uri::PathAndQuery, transport::Channel, Code, Status};
use tonic_prost::ProstCodec;

use super::citizens::{CitizenPool, Target};
use crate::{
    client::ClientError,
    proto::{self, vneid_authentication_client::VneidAuthenticationClient},
};

/// One kind of operation the load generator performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RpcKind {
    /// `WhoAmI`: authentication from the certificate only; the baseline.
    Noop,
    /// `LookupByCccd`.
    Lookup,
    /// `VerifyDemographics` with the citizen's own name, birth date, sex and address.
    Verify,
    /// `VerifyQr` with the QR text printed on the citizen's card.
    Qr,
    /// A VNeID level-1 login: `StartAuthentication` then `CompleteAuthentication` with the
    /// account's test passcode and current one-time code; one operation, two calls.
    Auth,
}

impl RpcKind {
    pub(crate) const COUNT: usize = 5;
    pub(crate) const ALL: [RpcKind; RpcKind::COUNT] = [
        RpcKind::Noop,
        RpcKind::Lookup,
        RpcKind::Verify,
        RpcKind::Qr,
        RpcKind::Auth,
    ];

    /// The name used in `--mix` and in the report.
    pub fn name(self) -> &'static str {
        match self {
            RpcKind::Noop => "noop",
            RpcKind::Lookup => "lookup",
            RpcKind::Verify => "verify",
            RpcKind::Qr => "qr",
            RpcKind::Auth => "auth",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// Relative weights of the RPC kinds, e.g. `lookup=70,verify=15,qr=10,auth=5` (weights need not
/// add up to 100; kinds left out are not sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix {
    /// Weight per kind, indexed by `RpcKind as usize`.
    weights: [u32; RpcKind::COUNT],
    /// Running sums of the weights: kind i is picked for a draw below `cumulative[i]`.
    cumulative: [u32; RpcKind::COUNT],
}

impl Mix {
    /// A mix with only `kind`.
    pub fn only(kind: RpcKind) -> Self {
        let mut weights = [0; RpcKind::COUNT];
        weights[kind as usize] = 1;
        Self::from_weights(weights)
    }

    fn from_weights(weights: [u32; RpcKind::COUNT]) -> Self {
        let mut cumulative = [0; RpcKind::COUNT];
        let mut sum = 0;
        for (i, weight) in weights.iter().enumerate() {
            sum += weight;
            cumulative[i] = sum;
        }
        Mix {
            weights,
            cumulative,
        }
    }

    pub fn weight(&self, kind: RpcKind) -> u32 {
        self.weights[kind as usize]
    }

    /// The kinds with a weight above 0.
    pub fn kinds(&self) -> impl Iterator<Item = RpcKind> + '_ {
        RpcKind::ALL.into_iter().filter(|k| self.weight(*k) > 0)
    }

    /// Draws a kind according to the weights.
    pub fn pick(&self, rng: &mut impl Rng) -> RpcKind {
        let total = self.cumulative[RpcKind::COUNT - 1];
        let draw = rng.random_range(0..total);
        let index = self.cumulative.partition_point(|&sum| sum <= draw);
        RpcKind::ALL[index]
    }
}

impl FromStr for Mix {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let mut weights = [0u32; RpcKind::COUNT];
        let mut seen = [false; RpcKind::COUNT];
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, weight) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?} is not name=weight, e.g. lookup=70"))?;
            let kind = RpcKind::from_name(name.trim()).ok_or_else(|| {
                format!("unknown RPC {name:?} in the mix: use noop, lookup, verify, qr or auth")
            })?;
            let weight: u32 = weight
                .trim()
                .parse()
                .ok()
                .filter(|w| *w <= 1_000_000)
                .ok_or_else(|| {
                    format!(
                        "the weight of {name} must be a whole number 0 to 1000000, got {weight:?}"
                    )
                })?;
            if std::mem::replace(&mut seen[kind as usize], true) {
                return Err(format!("{name} appears twice in the mix"));
            }
            weights[kind as usize] = weight;
        }
        if weights.iter().all(|w| *w == 0) {
            return Err("the mix sends nothing: give at least one RPC a weight above 0".into());
        }
        Ok(Self::from_weights(weights))
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .kinds()
            .map(|k| format!("{}={}", k.name(), self.weight(k)))
            .collect();
        write!(f, "{}", parts.join(","))
    }
}

/// The generated clients one worker sends through (clones share the connection).
#[derive(Debug, Clone)]
pub(crate) struct Clients {
    /// CitizenRegistry calls, sent with [`send_discarding_answer`].
    registry: Grpc<Channel>,
    vneid: VneidAuthenticationClient<Channel>,
}

/// Sends one unary call and leaves its answer undecoded (it is received and framed in full, but
/// decoded as an empty message, which skips every field): the load counts status codes only,
/// and building every returned citizen record would spend, on the machine under test, the CPU
/// the server is being measured with.
async fn send_discarding_answer<Request>(
    grpc: &mut Grpc<Channel>,
    path: &'static str,
    request: Request,
) -> Result<(), Status>
where
    Request: prost::Message + Send + Sync + 'static,
{
    grpc.ready()
        .await
        .map_err(|e| Status::from_error(e.into()))?;
    let codec = ProstCodec::<Request, ()>::default();
    grpc.unary(
        tonic::Request::new(request),
        PathAndQuery::from_static(path),
        codec,
    )
    .await
    .map(drop)
}

impl Clients {
    pub fn new(channel: Channel) -> Self {
        Clients {
            registry: Grpc::new(channel.clone()),
            vneid: VneidAuthenticationClient::new(channel),
        }
    }

    /// Sends one operation of `kind` about `target` and returns the gRPC status code it ended
    /// with (OK, or the error's code). `context` is the synthetic request context.
    pub async fn send(
        &mut self,
        kind: RpcKind,
        target: Target<'_>,
        pool: &CitizenPool,
        context: proto::RequestContext,
    ) -> Code {
        let result = match kind {
            RpcKind::Noop => {
                send_discarding_answer(
                    &mut self.registry,
                    "/vnpop.v1.CitizenRegistry/WhoAmI",
                    proto::WhoAmIRequest {},
                )
                .await
            }
            RpcKind::Lookup => {
                let request = proto::LookupByCccdRequest {
                    context: Some(context),
                    cccd_number: target.cccd().to_owned(),
                };
                send_discarding_answer(
                    &mut self.registry,
                    "/vnpop.v1.CitizenRegistry/LookupByCccd",
                    request,
                )
                .await
            }
            RpcKind::Verify => {
                let request = proto::VerifyDemographicsRequest {
                    context: Some(context),
                    cccd_number: target.cccd().to_owned(),
                    declared: Some(target.declared().clone()),
                };
                send_discarding_answer(
                    &mut self.registry,
                    "/vnpop.v1.CitizenRegistry/VerifyDemographics",
                    request,
                )
                .await
            }
            RpcKind::Qr => {
                let request = proto::VerifyQrRequest {
                    context: Some(context),
                    qr_payload: target.qr_payload().to_owned(),
                };
                send_discarding_answer(
                    &mut self.registry,
                    "/vnpop.v1.CitizenRegistry/VerifyQr",
                    request,
                )
                .await
            }
            RpcKind::Auth => self.log_in(target, pool, context).await,
        };
        match result {
            Ok(()) => Code::Ok,
            // A transport failure is counted as UNAVAILABLE (or DEADLINE_EXCEEDED), whatever code
            // tonic gave it: the client library tells it by its type.
            Err(status) => ClientError::from(status).code(),
        }
    }

    /// A level-1 VNeID login. A known target logs in as the next account of the pool (each
    /// one-time code is accepted once, so logins cycle through accounts rather than follow the
    /// citizen distribution); unknown and invalid numbers only get as far as the start.
    async fn log_in(
        &mut self,
        target: Target<'_>,
        pool: &CitizenPool,
        context: proto::RequestContext,
    ) -> Result<(), Status> {
        let account = match target {
            Target::Known(_) => pool.next_account(),
            _ => None,
        };
        let cccd = account.map_or(target.cccd(), |a| a.cccd.as_str());
        let started = self
            .vneid
            .start_authentication(proto::StartAuthenticationRequest {
                context: Some(context.clone()),
                cccd_number: cccd.to_owned(),
                level: proto::VneidLevel::One as i32,
            })
            .await?
            .into_inner();
        let Some(account) = account else {
            return Ok(());
        };
        self.vneid
            .complete_authentication(proto::CompleteAuthenticationRequest {
                context: Some(context),
                challenge_id: started.challenge_id,
                passcode: account.credentials.passcode.clone(),
                totp_code: account.credentials.current_code(),
                chip_read: None,
            })
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn parses_weights_and_names_what_is_wrong() {
        let mix: Mix = "lookup=70,verify=15,qr=10,auth=5".parse().unwrap();
        assert_eq!(mix.weight(RpcKind::Lookup), 70);
        assert_eq!(mix.weight(RpcKind::Noop), 0);
        assert_eq!(mix.to_string(), "lookup=70,verify=15,qr=10,auth=5");
        assert_eq!("noop=1".parse::<Mix>().unwrap(), Mix::only(RpcKind::Noop));
        for (bad, says) in [
            ("lookup", "name=weight"),
            ("lookups=5", "unknown RPC"),
            ("lookup=-1", "whole number"),
            ("lookup=x", "whole number"),
            ("lookup=1,lookup=2", "twice"),
            ("lookup=0", "sends nothing"),
            ("", "sends nothing"),
        ] {
            let error = bad.parse::<Mix>().unwrap_err();
            assert!(error.contains(says), "{bad:?}: {error}");
        }
    }

    #[test]
    fn picks_kinds_in_proportion_to_their_weights() {
        let mix: Mix = "lookup=70,qr=30".parse().unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut counts = [0usize; RpcKind::COUNT];
        for _ in 0..100_000 {
            counts[mix.pick(&mut rng) as usize] += 1;
        }
        assert_eq!(counts[RpcKind::Noop as usize], 0);
        assert_eq!(counts[RpcKind::Verify as usize], 0);
        let lookup = counts[RpcKind::Lookup as usize] as f64 / 100_000.0;
        assert!((0.69..0.71).contains(&lookup), "lookup share {lookup}");
    }
}
