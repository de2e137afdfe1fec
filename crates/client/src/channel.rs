//! The connection to a vnpop server: the agency's mTLS identity ([`ClientTls`]), the channel
//! with its timeouts ([`ChannelBuilder`]), and what a failed connection means in words a user
//! can act on ([`connection_failure`], [`ConnectionFailure`]).

use std::{fmt, fs, path::Path, time::Duration};

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use super::ClientError;

/// The agency's mTLS identity and the CA it trusts. Its `Debug` leaves the private key out.
#[derive(Clone)]
pub struct ClientTls {
    /// The CA certificate(s) the server's certificate must chain to (PEM).
    pub ca_pem: String,
    /// The agency's client certificate (PEM).
    pub cert_pem: String,
    /// The client certificate's private key (PEM).
    pub key_pem: String,
    /// The name the server certificate must carry; "localhost" for the development one.
    pub domain: String,
    /// Where the CA was read from, for error messages.
    pub ca_file: Option<String>,
    /// Where the client certificate was read from, for error messages.
    pub cert_file: Option<String>,
}

impl fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTls")
            .field("domain", &self.domain)
            .field("ca_file", &self.ca_file)
            .field("cert_file", &self.cert_file)
            .field("key_pem", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl ClientTls {
    /// From PEM text already in memory; the server name expected is "localhost" (see
    /// [`ClientTls::with_domain`]).
    pub fn from_pem(ca_pem: String, cert_pem: String, key_pem: String) -> Self {
        ClientTls {
            ca_pem,
            cert_pem,
            key_pem,
            domain: "localhost".into(),
            ca_file: None,
            cert_file: None,
        }
    }

    /// Reads the CA certificate, the client certificate and its key from PEM files.
    pub fn from_files(
        ca: impl AsRef<Path>,
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, ClientError> {
        let read = |p: &Path| {
            fs::read_to_string(p).map_err(|source| ClientError::ReadTls {
                path: p.display().to_string(),
                source,
            })
        };
        let ca_pem = read(ca.as_ref())?;
        let (cert_pem, key_pem) = (read(cert.as_ref())?, read(key.as_ref())?);
        if let Err(why) = identity_matches(&cert_pem, &key_pem) {
            return Err(ClientError::TlsIdentity {
                cert: cert.as_ref().display().to_string(),
                key: key.as_ref().display().to_string(),
                why,
            });
        }
        let mut tls = Self::from_pem(ca_pem, cert_pem, key_pem);
        tls.ca_file = Some(ca.as_ref().display().to_string());
        tls.cert_file = Some(cert.as_ref().display().to_string());
        Ok(tls)
    }

    /// Expects the server certificate to carry `domain` instead of "localhost".
    pub fn with_domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = domain.into();
        self
    }

    pub(crate) fn config(&self) -> ClientTlsConfig {
        ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&self.ca_pem))
            .identity(Identity::from_pem(&self.cert_pem, &self.key_pem))
            .domain_name(self.domain.clone())
    }
}

/// Connect timeout of a [`ChannelBuilder`] unless set: 10 s.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How a client reaches the server: endpoint, TLS and timeouts. Every client's `from_channel`
/// takes the channel it builds, and one channel can serve several clients.
///
/// Defaults: connect timeout [`DEFAULT_CONNECT_TIMEOUT`] (10 s), no per-call timeout (a call
/// waits for its answer as long as the connection lives; audit queries over a large log can take
/// long). [`super::AgencyClient`] sets its own (see [`super::AgencyClientConfig`]).
///
/// ```no_run
/// # async fn example() -> Result<(), vnpop_client::ClientError> {
/// use std::time::Duration;
/// use vnpop_client::{ChannelBuilder, ClientTls, RegistryClient};
///
/// let tls = ClientTls::from_files("certs/ca.pem", "certs/one-stop-phuong-ba-dinh.pem", "certs/one-stop-phuong-ba-dinh.key")?;
/// let channel = ChannelBuilder::new("https://localhost:50051", Some(tls))
///     .connect_timeout(Duration::from_secs(3))
///     .call_timeout(Duration::from_secs(5))
///     .connect()
///     .await?;
/// let client = RegistryClient::from_channel(channel);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ChannelBuilder {
    endpoint: String,
    tls: Option<ClientTls>,
    connect_timeout: Option<Duration>,
    call_timeout: Option<Duration>,
}

impl ChannelBuilder {
    /// A channel to `endpoint` (e.g. "https://localhost:50051"); `tls: None` for a server started
    /// with --insecure.
    pub fn new(endpoint: impl Into<String>, tls: Option<ClientTls>) -> Self {
        ChannelBuilder {
            endpoint: endpoint.into(),
            tls,
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            call_timeout: None,
        }
    }

    /// How long connecting (TCP and TLS) may take before it fails as unreachable.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How long each call may wait for its answer before it fails with DEADLINE_EXCEEDED
    /// (sent to the server as the call's `grpc-timeout` too).
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = Some(timeout);
        self
    }

    fn endpoint(&self) -> Result<Endpoint, ClientError> {
        let invalid = |source| ClientError::InvalidEndpoint {
            endpoint: self.endpoint.clone(),
            source,
        };
        let mut endpoint = Endpoint::from_shared(self.endpoint.clone()).map_err(invalid)?;
        if let Some(timeout) = self.connect_timeout {
            endpoint = endpoint.connect_timeout(timeout);
        }
        if let Some(timeout) = self.call_timeout {
            endpoint = endpoint.timeout(timeout);
        }
        if let Some(tls) = &self.tls {
            endpoint = endpoint.tls_config(tls.config()).map_err(invalid)?;
        }
        Ok(endpoint)
    }

    /// Connects now: an unreachable server is an error here ([`ClientError::Unreachable`],
    /// saying why when it can). The connect timeout bounds the whole of it: TCP, the TLS
    /// handshake and the HTTP/2 preface (tonic's own bounds the TCP connection only, so a server
    /// that accepts and never answers would hold it for ever).
    pub async fn connect(&self) -> Result<Channel, ClientError> {
        let endpoint = self.endpoint()?;
        let connecting = endpoint.connect();
        let connected = match self.connect_timeout {
            Some(limit) => tokio::time::timeout(limit, connecting).await.map_err(|_| {
                ClientError::Unreachable {
                    endpoint: self.endpoint.clone(),
                    cause: ConnectionFailure::NoAnswerWithin(limit.as_millis()),
                }
            })?,
            None => connecting.await,
        };
        connected.map_err(
            |error| match ConnectionFailure::of(&error, self.tls.as_ref()) {
                Some(cause) => ClientError::Unreachable {
                    endpoint: self.endpoint.clone(),
                    cause,
                },
                None => ClientError::Connect(error),
            },
        )
    }

    /// A channel that connects on its first call and reconnects after outages: the server need
    /// not be up yet. Its calls are bounded by the call timeout once connected; (re)connecting
    /// is bounded by the connect timeout for TCP only (tonic), so bound the call yourself if the
    /// server may accept and never answer ([`super::AgencyClient`] does).
    pub fn connect_lazy(&self) -> Result<Channel, ClientError> {
        Ok(self.endpoint()?.connect_lazy())
    }
}

/// Whether the first certificate in `cert_pem` is the one of the private key in `key_pem`; else
/// why not, in words.
fn identity_matches(cert_pem: &str, key_pem: &str) -> Result<(), String> {
    use rustls_pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
    let cert = CertificateDer::from_pem_slice(cert_pem.as_bytes())
        .map_err(|e| format!("the certificate file holds no PEM certificate ({e})"))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| format!("the key file holds no PEM private key ({e})"))?;
    let signing = rustls::crypto::ring::sign::any_supported_type(&key)
        .map_err(|e| format!("the key is not one TLS can use ({e})"))?;
    rustls::sign::CertifiedKey::new(vec![cert], signing)
        .keys_match()
        .map_err(|_| "the key is not the certificate's: they do not belong together".to_owned())
}

/// Opens a channel to `endpoint` (e.g. "https://localhost:50051") with the default timeouts of
/// [`ChannelBuilder`]; `tls: None` for a server started with --insecure. One channel can serve
/// several clients.
pub async fn connect_channel(
    endpoint: &str,
    tls: Option<&ClientTls>,
) -> Result<Channel, ClientError> {
    ChannelBuilder::new(endpoint, tls.cloned()).connect().await
}

/// Why a connection failed, in words a user can act on, if `error` (or what caused it) says:
/// nothing listening, the server's certificate not verifying against our CA, or our certificate
/// refused by the server. `None` for anything else. A server that refuses our certificate says so
/// after the TLS 1.3 handshake, so that failure shows on the first call, not on connecting: give
/// its status to this function too. The words are [`ConnectionFailure`]'s English; its
/// [`of`](ConnectionFailure::of) gives the cause itself, to write in another language.
pub fn connection_failure(
    error: &(dyn std::error::Error + 'static),
    tls: Option<&ClientTls>,
) -> Option<String> {
    ConnectionFailure::of(error, tls).map(|failure| failure.to_string())
}

/// Why a connection to the server failed, as a user can act on it. Its `Display` is English;
/// [`in_language`](ConnectionFailure::in_language) writes it in Vietnamese too.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionFailure {
    /// Nothing listens at the address.
    Refused,
    /// No answer: the system's connection timeout.
    TimedOut,
    /// No answer within the client's connect timeout (milliseconds).
    NoAnswerWithin(u128),
    /// The server closed the connection, which is how a refused certificate can look; the
    /// client certificate file, if known.
    Closed(Option<String>),
    /// The server's certificate did not verify against the CA (file, if known); what rustls said.
    ServerCertificate(Option<String>, String),
    /// The server refused our certificate (file, if known); what rustls said.
    CertificateRefused(Option<String>, String),
}

impl ConnectionFailure {
    /// Why `error` (or what caused it) failed to connect, if it says; see
    /// [`connection_failure`].
    pub fn of(
        error: &(dyn std::error::Error + 'static),
        tls: Option<&ClientTls>,
    ) -> Option<ConnectionFailure> {
        let ca = tls.and_then(|t| t.ca_file.clone());
        let cert = tls.and_then(|t| t.cert_file.clone());
        let mut next = Some(error);
        while let Some(error) = next {
            if let Some(io) = error.downcast_ref::<std::io::Error>() {
                use std::io::ErrorKind::*;
                match io.kind() {
                    ConnectionRefused => return Some(ConnectionFailure::Refused),
                    TimedOut => return Some(ConnectionFailure::TimedOut),
                    ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof
                        if tls.is_some() =>
                    {
                        return Some(ConnectionFailure::Closed(cert))
                    }
                    _ => {}
                }
                // rustls reports TLS failures as an io::Error wrapping its own error (or its
                // text).
                let inner = io.get_ref().map(ToString::to_string).unwrap_or_default();
                if inner.contains("invalid peer certificate")
                    || inner.starts_with("InvalidCertificate")
                {
                    return Some(ConnectionFailure::ServerCertificate(ca, inner));
                }
                if inner.contains("received fatal alert") {
                    return Some(ConnectionFailure::CertificateRefused(cert, inner));
                }
            }
            // hyper's words when the server drops the connection as the first call goes out (or
            // before it could go: the call is then canceled, which tonic reports as a status with
            // no source), which is how a refused certificate can look too.
            let dropped = error.source().is_none() && error.to_string() == "connection closed"
                || error
                    .downcast_ref::<tonic::Status>()
                    .is_some_and(|s| s.message() == "operation was canceled");
            if dropped && tls.is_some() {
                return Some(ConnectionFailure::Closed(cert));
            }
            next = error.source();
        }
        None
    }

    /// The cause in `language`.
    pub fn in_language(&self, language: vnpop_core::lang::Language) -> String {
        if language != vnpop_core::lang::Language::Vietnamese {
            return self.to_string();
        }
        let ca = |file: &Option<String>| {
            file.as_ref().map_or("tệp CA đã chỉ định".into(), |f| {
                format!("tệp CA {f}")
            })
        };
        let cert = |file: &Option<String>| {
            file.as_ref()
                .map_or("chứng thư số của cơ quan".into(), |f| {
                    format!("chứng thư số {f} của cơ quan")
                })
        };
        match self {
            ConnectionFailure::Refused => {
                "máy chủ từ chối kết nối (lệnh `vnpop serve` có đang chạy ở địa chỉ đó không?)"
                    .into()
            }
            ConnectionFailure::TimedOut => "không có phản hồi (hết thời gian chờ)".into(),
            ConnectionFailure::NoAnswerWithin(millis) => {
                format!("không có phản hồi trong {millis} ms (hết thời gian chờ kết nối)")
            }
            ConnectionFailure::Closed(file) => format!(
                "máy chủ đã đóng kết nối; có thể máy chủ đã từ chối {}",
                cert(file)
            ),
            ConnectionFailure::ServerCertificate(file, detail) => format!(
                "chứng thư số của máy chủ không xác minh được bằng {} ({detail})",
                ca(file)
            ),
            ConnectionFailure::CertificateRefused(file, detail) => format!(
                "máy chủ từ chối {} ({detail}): chứng thư này có do CA của máy chủ ký không?",
                cert(file)
            ),
        }
    }
}

impl fmt::Display for ConnectionFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ca = |file: &Option<String>| {
            file.clone()
                .unwrap_or_else(|| "the given CA certificate".into())
        };
        let cert = |file: &Option<String>| {
            file.clone()
                .unwrap_or_else(|| "our client certificate".into())
        };
        match self {
            ConnectionFailure::Refused => {
                f.write_str("connection refused (is `vnpop serve` running there?)")
            }
            ConnectionFailure::TimedOut => f.write_str("no answer (timed out)"),
            ConnectionFailure::NoAnswerWithin(millis) => {
                write!(f, "no answer within {millis} ms (timed out connecting)")
            }
            ConnectionFailure::Closed(file) => write!(
                f,
                "the server closed the connection; it may have refused our certificate {}",
                cert(file)
            ),
            ConnectionFailure::ServerCertificate(file, detail) => write!(
                f,
                "the server's certificate did not verify against the CA in {} ({detail})",
                ca(file)
            ),
            ConnectionFailure::CertificateRefused(file, detail) => write!(
                f,
                "the server refused our certificate {} ({detail}): is it signed by the server's \
                 CA?",
                cert(file)
            ),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Instant;

    use super::*;
    use crate::Origin;

    pub(crate) fn development_tls() -> ClientTls {
        let certs = concat!(env!("CARGO_MANIFEST_DIR"), "/../../certs");
        ClientTls::from_files(
            format!("{certs}/ca.pem"),
            format!("{certs}/one-stop-phuong-ba-dinh.pem"),
            format!("{certs}/one-stop-phuong-ba-dinh.key"),
        )
        .expect("the development certificates")
    }

    #[test]
    fn a_missing_certificate_file_is_a_local_failure() {
        let error = ClientTls::from_files("no/ca.pem", "no/cert.pem", "no/key.pem").unwrap_err();
        assert!(matches!(error, ClientError::ReadTls { .. }), "{error}");
        assert_eq!(error.origin(), Origin::Local);
        assert!(error.to_string().contains("no/ca.pem"), "{error}");
    }

    #[test]
    fn a_certificate_and_a_key_that_do_not_belong_together_are_named() {
        let certs = concat!(env!("CARGO_MANIFEST_DIR"), "/../../certs");
        let error = ClientTls::from_files(
            format!("{certs}/ca.pem"),
            format!("{certs}/one-stop-phuong-ba-dinh.pem"),
            format!("{certs}/hospital-bach-mai.key"),
        )
        .unwrap_err();
        assert!(matches!(error, ClientError::TlsIdentity { .. }), "{error}");
        assert_eq!(error.origin(), Origin::Local);
        let said = error.to_string();
        assert!(said.contains("one-stop-phuong-ba-dinh.pem"), "{said}");
        assert!(said.contains("hospital-bach-mai.key"), "{said}");
        assert!(said.contains("do not belong together"), "{said}");
    }

    #[test]
    fn the_key_stays_out_of_debug() {
        let shown = format!("{:?}", development_tls());
        assert!(!shown.contains("PRIVATE KEY"), "{shown}");
        assert!(shown.contains("one-stop-phuong-ba-dinh.pem"), "{shown}");
    }

    #[tokio::test]
    async fn an_endpoint_that_is_not_a_uri_is_a_local_failure() {
        let error = ChannelBuilder::new("not a uri", None)
            .connect()
            .await
            .unwrap_err();
        assert!(
            matches!(error, ClientError::InvalidEndpoint { .. }),
            "{error}"
        );
        assert!(error.is_local());
    }

    /// A server that accepts connections and never answers: connecting fails after the connect
    /// timeout set, not the operating system's.
    /// A server that accepts connections and never answers, until aborted; its port.
    pub(crate) async fn silent_server() -> (u16, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let silent = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        (port, silent)
    }

    #[tokio::test]
    async fn the_connect_timeout_bounds_a_silent_server() {
        let (port, silent) = silent_server().await;
        let started = Instant::now();
        let error =
            ChannelBuilder::new(format!("https://localhost:{port}"), Some(development_tls()))
                .connect_timeout(Duration::from_millis(300))
                .connect()
                .await
                .unwrap_err();
        let took = started.elapsed();
        assert!(took < Duration::from_secs(5), "{took:?}: {error}");
        assert!(took >= Duration::from_millis(250), "{took:?}: {error}");
        assert_eq!(error.origin(), Origin::Connection, "{error}");

        silent.abort();
    }

    #[test]
    fn a_call_canceled_by_a_dropped_connection_is_told_as_a_possible_refusal() {
        let tls = development_tls();
        let canceled = tonic::Status::cancelled("operation was canceled");
        let cause = connection_failure(&canceled, Some(&tls)).expect("a cause in words");
        assert!(
            cause.contains("may have refused our certificate"),
            "{cause}"
        );
        assert_eq!(connection_failure(&canceled, None), None);
        let vietnamese = ConnectionFailure::of(&canceled, Some(&tls))
            .expect("a cause")
            .in_language(vnpop_core::lang::Language::Vietnamese);
        assert!(
            vietnamese
                .starts_with("máy chủ đã đóng kết nối; có thể máy chủ đã từ chối chứng thư số"),
            "{vietnamese}"
        );
    }

    #[tokio::test]
    async fn nothing_listening_is_a_connection_failure_in_words() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let error = connect_channel(&format!("http://127.0.0.1:{port}"), None)
            .await
            .unwrap_err();
        assert_eq!(error.origin(), Origin::Connection, "{error}");
        assert!(error.to_string().contains("connection refused"), "{error}");
        let vietnamese = error.message_in(vnpop_core::lang::Language::Vietnamese);
        assert!(
            vietnamese.starts_with(&format!(
                "không kết nối được tới máy chủ vnpop tại http://127.0.0.1:{port}: máy chủ từ chối kết nối"
            )),
            "{vietnamese}"
        );
    }
}
