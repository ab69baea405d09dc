//! A real local HTTP server that records every request it gets (webhook, chat and SMS
//! provider stand-ins), answering with a status the test can change.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

#[derive(Debug)]
pub struct Received {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// When it arrived.
    pub at: std::time::Instant,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

pub struct HttpReceiver {
    pub url: String,
    rx: mpsc::UnboundedReceiver<Received>,
    status: Arc<AtomicU16>,
}

impl HttpReceiver {
    /// Answers every request with `status` and `answer`, recording it.
    pub async fn start(status: u16, answer: &'static str) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let current = Arc::new(AtomicU16::new(status));
        let answer_status = current.clone();
        let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            let status = answer_status.load(Ordering::SeqCst);
            async move {
                let path = uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
                let at = std::time::Instant::now();
                let _ = tx.send(Received { method, path, headers, body: body.to_vec(), at });
                let status = StatusCode::from_u16(status).expect("status");
                (status, [("content-type", "application/json")], answer)
            }
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        HttpReceiver { url: format!("http://{addr}"), rx, status: current }
    }

    /// Answers later requests with `status`.
    pub fn answer_with(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    pub async fn next(&mut self) -> Received {
        self.rx.recv().await.expect("a request arrived")
    }

    /// Everything that arrived so far, without waiting.
    pub fn drain(&mut self) -> Vec<Received> {
        let mut out = Vec::new();
        while let Ok(r) = self.rx.try_recv() {
            out.push(r);
        }
        out
    }

    pub fn nothing_arrived(&mut self) -> bool {
        self.rx.try_recv().is_err()
    }
}
