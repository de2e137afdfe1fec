//! Where served connections come from: TCP accepted here, TLS terminated here (rustls, client
//! certificate required), then handed to tonic.
//!
//! tonic can terminate TLS itself, but its TLS stream tells h2 that it prefers vectored writes,
//! and h2 then flushes after every answer larger than 256 bytes instead of gathering the answers
//! ready at that moment into one write. A citizen record is larger than that: under load the
//! server made 1.6 `writev` calls per lookup against 0.6 per no-op call. [`ServedTls`] asks for
//! plain writes, so h2 copies answers of up to 1 KiB into its buffer and writes them together.
//!
//! Handshakes run in their own tasks, so a slow or silent client never holds up the others, and
//! are bounded by [`AcceptLimits::handshake_timeout`]. A refused handshake (no client
//! certificate, one from another CA) is logged at info with the peer address and dropped.
//!
//! At most [`AcceptLimits::max_connections`] connections, handshaking or established, are open
//! at once: each holds a slot until it closes, and while none is free the acceptor waits, so
//! further clients queue in the kernel's accept backlog instead of costing memory here.

use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{mpsc, OwnedSemaphorePermit, Semaphore},
};
use tokio_rustls::{rustls::ServerConfig, server::TlsStream, TlsAcceptor};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::Connected;

/// The acceptor's bounds (`--max-connections`, `--handshake-timeout`).
#[derive(Debug, Clone, Copy)]
pub struct AcceptLimits {
    /// Connections open at once, handshaking or established.
    pub max_connections: usize,
    /// How long a client has to complete the TLS handshake.
    pub handshake_timeout: Duration,
}

/// Established connections waiting for tonic to take them.
const BACKLOG: usize = 128;

/// A TLS connection as the server serves it (see the module documentation), holding its
/// connection slot until it is dropped.
pub(crate) struct ServedTls {
    tls: TlsStream<TcpStream>,
    /// Released when the connection closes.
    _slot: OwnedSemaphorePermit,
}

impl Connected for ServedTls {
    /// The same as tonic's own TLS connections: `Request::peer_certs` works unchanged.
    type ConnectInfo = <TlsStream<TcpStream> as Connected>::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.tls.connect_info()
    }
}

impl AsyncRead for ServedTls {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tls).poll_read(cx, buf)
    }
}

impl AsyncWrite for ServedTls {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tls).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tls).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tls).poll_shutdown(cx)
    }

    /// Plain writes: what makes h2 gather small answers into one write.
    fn is_write_vectored(&self) -> bool {
        false
    }
}

/// Accepts connections on `listener` and completes their TLS handshakes with `config`; the
/// stream of established connections to give tonic. Stops accepting (and releases the port) once
/// the stream is dropped.
pub(crate) fn tls_incoming(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    limits: AcceptLimits,
) -> ReceiverStream<io::Result<ServedTls>> {
    let (ready, incoming) = mpsc::channel(BACKLOG);
    let acceptor = TlsAcceptor::from(config);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    tokio::spawn(async move {
        loop {
            let slot = tokio::select! {
                slot = Arc::clone(&slots).acquire_owned() => {
                    slot.expect("the semaphore is never closed")
                }
                () = ready.closed() => break,
            };
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = ready.closed() => break,
            };
            let (tcp, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            // Without it an answer written in more than one segment waits for the client's
            // delayed ACK (Nagle), about 40 ms on Linux.
            let _ = tcp.set_nodelay(true);
            tokio::spawn(handshake(
                acceptor.clone(),
                tcp,
                peer,
                ready.clone(),
                (slot, limits.handshake_timeout),
            ));
        }
    });
    ReceiverStream::new(incoming)
}

async fn handshake(
    acceptor: TlsAcceptor,
    tcp: TcpStream,
    peer: SocketAddr,
    ready: mpsc::Sender<io::Result<ServedTls>>,
    (slot, timeout): (OwnedSemaphorePermit, Duration),
) {
    match tokio::time::timeout(timeout, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => {
            let _ = ready.send(Ok(ServedTls { tls, _slot: slot })).await;
        }
        Ok(Err(error)) => tracing::info!(%peer, %error, "TLS handshake refused"),
        Err(_) => tracing::info!(%peer, "TLS handshake timed out"),
    }
}
