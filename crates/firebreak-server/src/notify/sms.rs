//! What phone channels say, whoever carries them: the short SMS line and the spoken text of a
//! call. An SMS or voice provider is one more [`super::Channel`] that sends these.

use super::chat::truncate;
use super::{Message, MessageKind};

/// The longest SMS body we send (two segments of GSM-7).
pub const SMS_MAX: usize = 320;

/// The SMS body: `[Firebreak] INC-42 critical: title… Reply ACK 42 or RES 42`, at most
/// [`SMS_MAX`] characters (the title is what gets cut). Several incidents are listed, and the
/// reply names them all: `Reply ACK 42 43 or RES 42 43`. Codes and tests send the text.
pub fn sms_text(message: &Message) -> String {
    let prefix = "[Firebreak] ";
    if message.incidents.is_empty() {
        let body = if message.kind == MessageKind::Page { &message.subject } else { &message.text };
        let body: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
        return truncate(&format!("{prefix}{body}"), SMS_MAX);
    }
    let numbers: Vec<String> = message.incidents.iter().map(|i| i.number.to_string()).collect();
    let numbers = numbers.join(" ");
    let suffix = format!(" Reply ACK {numbers} or RES {numbers}");
    let budget = SMS_MAX.saturating_sub(prefix.chars().count() + suffix.chars().count());
    let per_incident = budget / message.incidents.len();
    let lines: Vec<String> = message
        .incidents
        .iter()
        .map(|i| {
            let title: String = i.title.split_whitespace().collect::<Vec<_>>().join(" ");
            truncate(&format!("INC-{} {}: {title}", i.number, i.severity), per_incident.max(12))
        })
        .collect();
    truncate(&format!("{prefix}{}{suffix}", lines.join("; ")), SMS_MAX)
}

/// What a voice call says (plain text; the provider escapes it for its markup).
pub fn spoken_text(message: &Message) -> String {
    if message.incidents.is_empty() {
        return truncate(&format!("This is Firebreak. {}", message.text), 1000);
    }
    let mut text = String::from("This is Firebreak.");
    for i in &message.incidents {
        text.push_str(&format!(" Incident {}, severity {}: {}.", i.number, i.severity, i.title));
        if let Some(service) = &i.service {
            text.push_str(&format!(" Service {service}."));
        }
    }
    text.push_str(" Acknowledge it in Firebreak or reply to the text message.");
    truncate(&text, 1000)
}
