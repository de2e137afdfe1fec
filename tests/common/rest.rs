//! A minimal REST/JSON client for the gateway tests: HTTP/1.1 on hyper (already a dependency), one
//! kept-alive connection, reconnecting after a failure.

#![allow(dead_code)]

use std::net::SocketAddr;

use http_body_util::{BodyExt, Full};
use hyper::{body::Bytes, client::conn::http1::SendRequest, Request};
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// An answer: HTTP status, content type and JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub json: Value,
}

impl Answer {
    /// The problem's reason, for an error answer.
    pub fn reason(&self) -> &str {
        self.json["reason"].as_str().unwrap_or_default()
    }

    /// Asserts an RFC 9457 problem with this HTTP status, gRPC code and reason.
    pub fn assert_problem(&self, status: u16, grpc_code: &str, reason: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.content_type, "application/problem+json", "{self:?}");
        assert_eq!(self.json["status"], status, "{self:?}");
        assert_eq!(self.json["grpcCode"], grpc_code, "{self:?}");
        assert_eq!(self.reason(), reason, "{self:?}");
        assert_eq!(
            self.json["type"],
            format!("urn:vnpop:problem:{reason}"),
            "{self:?}"
        );
        assert!(self.json["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
}

pub struct Rest {
    addr: SocketAddr,
    api_key: Option<String>,
    /// Headers sent with every request (e.g. `accept-language`).
    headers: Vec<(String, String)>,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Rest {
    pub fn new(addr: SocketAddr) -> Self {
        Rest {
            addr,
            api_key: None,
            headers: Vec::new(),
            sender: None,
        }
    }

    /// Sends `name: value` with every request.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn with_api_key(mut self, key: &str) -> Self {
        self.api_key = Some(key.into());
        self
    }

    async fn sender(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, String> {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            let stream = tokio::net::TcpStream::connect(self.addr)
                .await
                .map_err(|e| e.to_string())?;
            stream.set_nodelay(true).map_err(|e| e.to_string())?;
            let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(connection);
            self.sender = Some(sender);
        }
        Ok(self.sender.as_mut().expect("just set"))
    }

    /// Sends `body` (raw bytes) and reads the answer as JSON; Err when the connection fails.
    pub async fn raw(&mut self, method: &str, path: &str, body: &[u8]) -> Result<Answer, String> {
        let (status, content_type, bytes) = self.send(method, path, body).await?;
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Answer {
            status,
            content_type,
            json,
        })
    }

    /// Sends `body` (raw bytes); the answer's status, content type and body as it came.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Result<(u16, String, Bytes), String> {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", self.addr.to_string())
            .header("content-type", "application/json");
        if let Some(key) = &self.api_key {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        let request = request
            .body(Full::new(Bytes::copy_from_slice(body)))
            .expect("a valid request");
        let sender = self.sender().await?;
        // A kept-alive connection takes the next request only once it is done with the last one.
        if let Err(error) = sender.ready().await {
            self.sender = None;
            return Err(error.to_string());
        }
        let response = match sender.send_request(request).await {
            Ok(response) => response,
            Err(error) => {
                self.sender = None;
                return Err(error.to_string());
            }
        };
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = match response.into_body().collect().await {
            Ok(body) => body.to_bytes(),
            Err(error) => {
                self.sender = None;
                return Err(error.to_string());
            }
        };
        Ok((status, content_type, bytes))
    }

    pub async fn post(&mut self, path: &str, body: &Value) -> Result<Answer, String> {
        self.raw("POST", path, body.to_string().as_bytes()).await
    }

    pub async fn get(&mut self, path: &str) -> Result<Answer, String> {
        self.raw("GET", path, b"").await
    }
}
