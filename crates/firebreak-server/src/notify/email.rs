//! Email over SMTP (lettre): STARTTLS, implicit TLS or plain, optional AUTH, an extra trusted
//! root for self-hosted relays. Each message is multipart/alternative: the plain text and an
//! HTML rendering (askama, escaped) with one row and three links per incident.

use super::config::{SmtpConfig, SmtpTls};
use super::guard::REQUEST_TIMEOUT;
use super::{Channel, IncidentNotice, Message, Recipient, SendError};
use askama::Template;
use async_trait::async_trait;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

/// Sends through one SMTP relay.
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Smtp {
    /// A sender for the relay; fails on a malformed `from`, an unreadable `ca_file` or bad TLS
    /// settings (nothing is contacted yet).
    pub fn new(cfg: &SmtpConfig) -> Result<Self, String> {
        let from: Mailbox = cfg
            .from
            .parse()
            .map_err(|e| format!("`from` is not a mailbox like \"Firebreak <pager@example.com>\": {e}"))?;
        let tls = if cfg.tls == SmtpTls::None {
            Tls::None
        } else {
            let mut params = TlsParameters::builder(cfg.host.clone());
            if let Some(path) = &cfg.ca_file {
                let pem = std::fs::read(path).map_err(|e| format!("cannot read ca_file {}: {e}", path.display()))?;
                let cert = Certificate::from_pem(&pem).map_err(|e| format!("ca_file {}: {e}", path.display()))?;
                params = params.add_root_certificate(cert);
            }
            let params = params.build_rustls().map_err(|e| format!("TLS settings: {e}"))?;
            match cfg.tls {
                SmtpTls::Tls => Tls::Wrapper(params),
                _ => Tls::Required(params),
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(cfg.host.as_str())
            .port(cfg.port)
            .tls(tls)
            .timeout(Some(REQUEST_TIMEOUT));
        if let Some(user) = &cfg.username {
            let password = cfg.password.as_ref().map(|p| p.expose().to_owned()).unwrap_or_default();
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        Ok(Smtp { transport: builder.build(), from })
    }
}

#[derive(Template)]
#[template(path = "notify/email.html")]
struct EmailHtml<'a> {
    subject: &'a str,
    lines: Vec<&'a str>,
    incidents: &'a [IncidentNotice],
}

/// The HTML part of a message.
pub fn render_html(message: &Message) -> Result<String, askama::Error> {
    EmailHtml {
        subject: &message.subject,
        lines: message.text.lines().filter(|l| !l.trim().is_empty()).collect(),
        incidents: &message.incidents,
    }
    .render()
}

/// The whole email, ready for any transport.
pub fn build_email(from: &Mailbox, to: &Recipient, message: &Message) -> Result<lettre::Message, SendError> {
    let to: Mailbox = to.address.parse().map_err(|_| SendError::permanent("the address is not an email address"))?;
    let html = render_html(message).map_err(|e| SendError::permanent(format!("cannot render the email: {e}")))?;
    // One line, whatever the title held.
    let subject: String = message.subject.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let message_id = format!("<{}@{}>", message.id.0.simple(), from.email.domain());
    let mut builder =
        lettre::Message::builder().from(from.clone()).to(to).subject(subject).message_id(Some(message_id));
    // RFC 8058 one-click unsubscribe; only a plain http(s) URL goes into a header.
    if let Some(url) = message.unsubscribe.as_deref().filter(|u| is_header_safe_url(u)) {
        builder = builder
            .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("List-Unsubscribe"), format!("<{url}>")))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_owned(),
            ));
    }
    builder
        .multipart(MultiPart::alternative_plain_html(message.text.clone(), html))
        .map_err(|e| SendError::permanent(format!("cannot build the email: {e}")))
}

/// An `https://` or `http://` URL of visible ASCII without `<`, `>` or spaces: safe inside
/// `List-Unsubscribe: <…>`.
fn is_header_safe_url(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && url.bytes().all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>')
}

/// SMTP errors: a 5xx answer is permanent; 4xx, timeouts, TLS and connection failures retried.
fn smtp_error(e: &lettre::transport::smtp::Error) -> SendError {
    if e.is_permanent() {
        SendError::permanent(format!("the mail relay refused the message: {e}"))
    } else {
        SendError::retry(format!("the mail relay: {e}"))
    }
}

#[async_trait]
impl Channel for Smtp {
    fn provider(&self) -> &'static str {
        "smtp"
    }

    async fn send(&self, to: &Recipient, message: &Message) -> Result<(), SendError> {
        let email = build_email(&self.from, to, message)?;
        self.transport.send(email).await.map(|_| ()).map_err(|e| smtp_error(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::MessageKind;
    use firebreak_domain::contact::ContactKind;
    use firebreak_domain::{NotificationId, Severity};

    fn message(title: &str) -> Message {
        Message {
            id: NotificationId::new(),
            kind: MessageKind::Page,
            subject: format!("INC-7 {title}\r\nBcc: victim@example.com"),
            text: "INC-7 is triggered".into(),
            incidents: vec![IncidentNotice {
                number: 7,
                title: title.into(),
                severity: Severity::High,
                status: "triggered".into(),
                service: Some("<api>".into()),
                open_url: "https://fb.example/incidents/7".into(),
                ack_url: "https://fb.example/a/7?t=x&y=1".into(),
                resolve_url: "https://fb.example/r/7".into(),
            }],
            created_at: chrono::Utc::now(),
            unsubscribe: None,
        }
    }

    #[test]
    fn html_escapes_hostile_titles_and_headers_stay_single() {
        let m = message("<script>alert(1)</script>");
        let html = render_html(&m).expect("renders");
        assert!(!html.contains("<script>"));
        assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
        assert!(html.contains("&#60;api&#62;"));
        assert!(html.contains("https://fb.example/a/7?t=x&#38;y=1"));
        let from: Mailbox = "Firebreak <pager@example.com>".parse().expect("mailbox");
        let to = Recipient { kind: ContactKind::Email, address: "oncall@example.com".into(), secret: None };
        let raw = String::from_utf8(build_email(&from, &to, &m).expect("builds").formatted()).expect("utf-8");
        let headers = raw.split("\r\n\r\n").next().unwrap_or_default();
        assert!(!headers.lines().any(|l| l.starts_with("Bcc:")), "{raw}");
        assert!(raw.contains("multipart/alternative"));
        assert!(!raw.contains("List-Unsubscribe"), "only subscribers' messages carry it");
    }

    #[test]
    fn one_click_unsubscribe_headers() {
        let from: Mailbox = "Firebreak <updates@example.com>".parse().expect("mailbox");
        let to = Recipient { kind: ContactKind::Email, address: "reader@example.com".into(), secret: None };
        let url = "https://fb.example/status/unsubscribe/0194f3c1-7a2b-7c3d-8e4f-0123456789ab/abc_-DEF";
        let m = Message { unsubscribe: Some(url.into()), ..message("x") };
        let raw = String::from_utf8(build_email(&from, &to, &m).expect("builds").formatted()).expect("utf-8");
        assert!(raw.contains(&format!("\r\nList-Unsubscribe: <{url}>\r\n")), "{raw}");
        assert!(raw.contains("\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"), "{raw}");
        let hostile =
            Message { unsubscribe: Some("https://x.example/>\r\nBcc: victim@example.com".into()), ..message("x") };
        let raw = String::from_utf8(build_email(&from, &to, &hostile).expect("builds").formatted()).expect("utf-8");
        let headers = raw.split("\r\n\r\n").next().unwrap_or_default();
        assert!(!raw.contains("List-Unsubscribe") && !headers.lines().any(|l| l.starts_with("Bcc:")), "{raw}");
    }
}
