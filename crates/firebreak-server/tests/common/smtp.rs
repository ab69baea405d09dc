//! A plain SMTP relay on 127.0.0.1 for tests: it accepts every message and hands over the
//! envelope recipients and the data (no TLS, no authentication — `tls = "none"`).

use firebreak_server::notify::config::{SmtpConfig, SmtpTls};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// One message as it arrived.
#[derive(Debug, Clone, Default)]
pub struct Mail {
    /// `RCPT TO` addresses, without the angle brackets.
    pub to: Vec<String>,
    /// Headers and body, dot-unstuffed.
    pub data: String,
}

impl Mail {
    /// The value of a header (first occurrence, unfolded).
    pub fn header(&self, name: &str) -> String {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded
            .lines()
            .find_map(|l| {
                l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_default()
    }
}

pub struct SmtpServer {
    pub port: u16,
    rx: mpsc::UnboundedReceiver<Mail>,
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let mut io = BufReader::new(tcp);
                    let _ = io.write_all(b"220 localhost ESMTP test\r\n").await;
                    let mut mail = Mail::default();
                    loop {
                        let mut line = String::new();
                        if io.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let verb = line.split([' ', '\r', '\n']).next().unwrap_or_default().to_ascii_uppercase();
                        let reply = match verb.as_str() {
                            "EHLO" | "HELO" => "250-localhost\r\n250 8BITMIME\r\n".to_owned(),
                            "RCPT" => {
                                let addr = line.trim_end().split(':').nth(1).unwrap_or_default();
                                mail.to.push(addr.trim().trim_start_matches('<').trim_end_matches('>').to_owned());
                                "250 OK\r\n".to_owned()
                            }
                            "DATA" => {
                                let _ = io.write_all(b"354 go ahead\r\n").await;
                                let mut data = String::new();
                                loop {
                                    let mut l = String::new();
                                    if io.read_line(&mut l).await.unwrap_or(0) == 0 {
                                        return;
                                    }
                                    if l == ".\r\n" {
                                        break;
                                    }
                                    data.push_str(l.strip_prefix('.').filter(|_| l.starts_with("..")).unwrap_or(&l));
                                }
                                mail.data = data;
                                let _ = tx.send(std::mem::take(&mut mail));
                                "250 queued\r\n".to_owned()
                            }
                            "QUIT" => {
                                let _ = io.write_all(b"221 bye\r\n").await;
                                return;
                            }
                            _ => "250 OK\r\n".to_owned(),
                        };
                        if io.write_all(reply.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        SmtpServer { port, rx }
    }

    pub fn config(&self) -> SmtpConfig {
        SmtpConfig {
            host: "127.0.0.1".to_owned(),
            port: self.port,
            tls: SmtpTls::None,
            username: None,
            password: None,
            from: "Firebreak <updates@example.com>".to_owned(),
            ca_file: None,
        }
    }

    /// Every message that arrived so far.
    pub fn drain(&mut self) -> Vec<Mail> {
        let mut out = Vec::new();
        while let Ok(m) = self.rx.try_recv() {
            out.push(m);
        }
        out
    }
}
