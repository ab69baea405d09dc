//! A page's settings: its name and access (public, or private with an optional shared token),
//! its look (logo, accent colour, footer links, the time zone its times are shown in) and
//! the custom domain it is also served at. Admins only; every change is audited, the token
//! never (it is shown once and kept as a SHA-256 hash).

use super::PageView;
use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiResult;
use base64::Engine as _;
use firebreak_domain::DomainError;
use firebreak_domain::status_page::check_label;
use firebreak_store::{FooterLink, PageBranding, PageSettings};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use utoipa::ToSchema;

/// What to change; fields left out stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    pub name: Option<String>,
    pub public: Option<bool>,
    /// The whole look at once (logo_url, accent, footer_links, time_zone).
    pub branding: Option<PageBranding>,
    /// A host name (`status.example.com`); empty to remove it.
    pub custom_domain: Option<String>,
    /// Issues a new shared token for a private page (the old one stops working); it is in
    /// the answer once.
    #[serde(default)]
    pub new_token: bool,
    /// Withdraws the shared token.
    #[serde(default)]
    pub withdraw_token: bool,
}

/// The page after the change, and a new token when one was issued.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsAnswer {
    pub page: PageView,
    /// Shown once: readers open the private page with `?token=` and this.
    pub token: Option<String>,
}

/// Changes a page's settings; admins only.
pub async fn update(state: &AppState, p: &Principal, slug: &str, body: SettingsBody) -> ApiResult<SettingsAnswer> {
    p.require_admin()?;
    let page = state.store.status_page(slug).await?;
    let branding = body.branding.map(check_branding).transpose()?;
    let custom_domain = body.custom_domain.as_deref().map(parse_domain).transpose()?;
    if body.new_token && body.withdraw_token {
        return Err(DomainError::invalid("new_token", "issue a token or withdraw it, not both").into());
    }
    let token = body.new_token.then(new_token);
    let token_hash = match (&token, body.withdraw_token) {
        (Some(t), _) => Some(Some(hash_token(t))),
        (None, true) => Some(None),
        (None, false) => None,
    };
    let settings = PageSettings { name: body.name, public: body.public, branding, custom_domain, token_hash };
    state.store.update_status_page(page.id, settings, &p.actor()).await?;
    state.status_cache.invalidate();
    Ok(SettingsAnswer { page: super::page_view(state, slug).await?, token })
}

/// A new shared token: 32 random bytes, base64url.
fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// How a token is kept: SHA-256, hex.
pub fn hash_token(token: &str) -> String {
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

/// Whether `token` is the one whose hash is kept (compared in constant time).
pub fn token_matches(token: &str, hash: &str) -> bool {
    use subtle::ConstantTimeEq;
    hash_token(token.trim()).as_bytes().ct_eq(hash.as_bytes()).into()
}

/// A host name for a page: lower-case letters, digits, hyphens and dots, at least two labels,
/// no port; empty removes it.
pub fn parse_domain(raw: &str) -> Result<Option<String>, DomainError> {
    let host = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() {
        return Ok(None);
    }
    let labels: Vec<&str> = host.split('.').collect();
    let ok = host.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    if ok {
        Ok(Some(host))
    } else {
        Err(DomainError::invalid("custom_domain", "a host name such as status.example.com (no scheme, no port)"))
    }
}

/// Checks a page's look: an https logo, a `#rrggbb` accent, at most 10 footer links with
/// http(s) or mailto addresses, a known IANA time zone.
pub fn check_branding(mut b: PageBranding) -> Result<PageBranding, DomainError> {
    b.logo_url = match b.logo_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        None => None,
        Some(u) => {
            let parsed = url::Url::parse(u).ok().filter(|p| p.scheme() == "https" && u.len() <= 500);
            Some(
                parsed
                    .ok_or_else(|| DomainError::invalid("logo_url", "an https:// address of at most 500 characters"))?
                    .to_string(),
            )
        }
    };
    b.accent = match b.accent.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        None => None,
        Some(a) if a.len() == 7 && a.starts_with('#') && a[1..].bytes().all(|c| c.is_ascii_hexdigit()) => {
            Some(a.to_ascii_lowercase())
        }
        Some(_) => return Err(DomainError::invalid("accent", "a colour as #rrggbb")),
    };
    if b.footer_links.len() > 10 {
        return Err(DomainError::invalid("footer_links", "at most 10 links"));
    }
    let mut links = Vec::new();
    for link in &b.footer_links {
        let label = check_label("footer_links.label", &link.label, 1, 60)?;
        let url = url::Url::parse(link.url.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "https" | "http" | "mailto") && link.url.len() <= 500)
            .ok_or_else(|| DomainError::invalid("footer_links.url", "an https://, http:// or mailto: address"))?;
        links.push(FooterLink { label, url: url.to_string() });
    }
    b.footer_links = links;
    b.time_zone = match b.time_zone.as_deref().map(str::trim).filter(|z| !z.is_empty()) {
        None => None,
        Some(z) if jiff::tz::TimeZone::get(z).is_ok() => Some(z.to_owned()),
        Some(_) => return Err(DomainError::invalid("time_zone", "an IANA time zone such as Europe/Berlin")),
    };
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_tokens_and_looks_are_checked() {
        assert_eq!(parse_domain(" Status.Example.com. "), Ok(Some("status.example.com".into())));
        assert_eq!(parse_domain(""), Ok(None));
        for bad in ["localhost", "https://x.com", "x.com:443", "-a.com", "a..com", "<b>.com"] {
            assert!(parse_domain(bad).is_err(), "{bad}");
        }
        let t = new_token();
        assert!(token_matches(&t, &hash_token(&t)));
        assert!(!token_matches("guess", &hash_token(&t)));
        let ok = check_branding(PageBranding {
            logo_url: Some("https://cdn.example.com/logo.png".into()),
            accent: Some("#AA3300".into()),
            footer_links: vec![FooterLink { label: "Home".into(), url: "https://example.com".into() }],
            time_zone: Some("Europe/Berlin".into()),
        })
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(ok.accent.as_deref(), Some("#aa3300"));
        for bad in [
            PageBranding { logo_url: Some("javascript:alert(1)".into()), ..Default::default() },
            PageBranding { logo_url: Some("http://x.com/a.png".into()), ..Default::default() },
            PageBranding { accent: Some("red; background: url(x)".into()), ..Default::default() },
            PageBranding { time_zone: Some("Mars/Olympus".into()), ..Default::default() },
            PageBranding {
                footer_links: vec![FooterLink { label: "x".into(), url: "javascript:alert(1)".into() }],
                ..Default::default()
            },
        ] {
            assert!(check_branding(bad.clone()).is_err(), "{bad:?}");
        }
    }
}
