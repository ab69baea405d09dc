//! One-click links in notifications: acknowledge or resolve an incident as the person who was
//! paged, without signing in. A link is signed with a per-installation secret and expires; the
//! server takes each one once.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use firebreak_domain::{IncidentId, Timestamp, UserId};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What a link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkAction {
    Acknowledge,
    Resolve,
}

impl LinkAction {
    fn code(self) -> &'static str {
        match self {
            LinkAction::Acknowledge => "ack",
            LinkAction::Resolve => "res",
        }
    }

    pub fn verb(self) -> &'static str {
        match self {
            LinkAction::Acknowledge => "acknowledge",
            LinkAction::Resolve => "resolve",
        }
    }
}

/// A link's checked content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionLink {
    pub action: LinkAction,
    pub incident: IncidentId,
    pub user: UserId,
    pub expires_at: Timestamp,
}

/// Why a link does nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("this link is not valid")]
    Invalid,
    #[error("this link has expired; open the incident instead")]
    Expired,
}

fn mac(secret: &str, body: &str) -> Hmac<Sha256> {
    // HMAC accepts keys of any length.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    m.update(b"firebreak-link-v1:");
    m.update(body.as_bytes());
    m
}

/// The token of a link: `ack.<incident>.<user>.<expiry>.<signature>`.
pub fn sign(secret: &str, link: &ActionLink) -> String {
    let body = format!(
        "{}.{}.{}.{}",
        link.action.code(),
        link.incident.0.simple(),
        link.user.0.simple(),
        link.expires_at.timestamp()
    );
    let sig = B64.encode(mac(secret, &body).finalize().into_bytes());
    format!("{body}.{sig}")
}

/// Checks a token's signature and expiry.
pub fn verify(secret: &str, token: &str, now: Timestamp) -> Result<ActionLink, LinkError> {
    let (body, sig) = token.rsplit_once('.').ok_or(LinkError::Invalid)?;
    let sig = B64.decode(sig).map_err(|_| LinkError::Invalid)?;
    mac(secret, body).verify_slice(&sig).map_err(|_| LinkError::Invalid)?;
    let mut parts = body.split('.');
    let (Some(action), Some(incident), Some(user), Some(expires), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(LinkError::Invalid);
    };
    let action = match action {
        "ack" => LinkAction::Acknowledge,
        "res" => LinkAction::Resolve,
        _ => return Err(LinkError::Invalid),
    };
    let incident = incident.parse().map_err(|_| LinkError::Invalid)?;
    let user = user.parse().map_err(|_| LinkError::Invalid)?;
    let expires_at =
        expires.parse::<i64>().ok().and_then(|s| chrono::DateTime::from_timestamp(s, 0)).ok_or(LinkError::Invalid)?;
    if expires_at < now {
        return Err(LinkError::Expired);
    }
    Ok(ActionLink { action, incident, user, expires_at })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(expires_at: Timestamp) -> ActionLink {
        ActionLink { action: LinkAction::Acknowledge, incident: IncidentId::new(), user: UserId::new(), expires_at }
    }

    #[test]
    fn links_round_trip_and_refuse_tampering_and_age() {
        let now = firebreak_domain::time::now();
        // Links carry whole seconds.
        let l = link(chrono::DateTime::from_timestamp(now.timestamp() + 3600, 0).expect("a time"));
        let token = sign("s3cret", &l);
        assert_eq!(verify("s3cret", &token, now), Ok(l));
        assert_eq!(verify("other", &token, now), Err(LinkError::Invalid));
        assert_eq!(verify("s3cret", &token.replacen("ack.", "res.", 1), now), Err(LinkError::Invalid));
        assert_eq!(verify("s3cret", &format!("{token}x"), now), Err(LinkError::Invalid));
        assert_eq!(verify("s3cret", "", now), Err(LinkError::Invalid));
        assert_eq!(verify("s3cret", "a.b.c.d.e.f", now), Err(LinkError::Invalid));
        assert_eq!(verify("s3cret", &token, now + chrono::TimeDelta::hours(2)), Err(LinkError::Expired));
    }
}
