//! A status page's documents for machines: the Atlassian Statuspage v2 public JSON
//! (`summary.json`, `status.json`, `components.json`, `incidents.json`,
//! `incidents/unresolved.json`, `scheduled-maintenances.json`, `…/upcoming.json`,
//! `…/active.json`) with the field names and values Statuspage clients read, and the Atom
//! and RSS feeds of its incidents and maintenance. Only what readers may see is in them:
//! published notices and updates, no people, no internal incident.

use super::status_pages::{self as pages, groups};
use crate::AppState;
use crate::app::status_pages::Derived;
use firebreak_domain::status_page::{ComponentStatus, NoticeKind, NoticeStatus};
use firebreak_domain::time::canonical;
use firebreak_store::StatusNotice;
use serde_json::{Value, json};

/// How many incidents `incidents.json` and the feeds list (Statuspage's 50).
const LISTED: usize = 50;

/// The JSON documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Json {
    Summary,
    Status,
    Components,
    Incidents,
    Unresolved,
    Maintenances,
    Upcoming,
    Active,
}

impl Json {
    const ALL: [Json; 8] = [
        Json::Summary,
        Json::Status,
        Json::Components,
        Json::Incidents,
        Json::Unresolved,
        Json::Maintenances,
        Json::Upcoming,
        Json::Active,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Json::Summary => "summary.json",
            Json::Status => "status.json",
            Json::Components => "components.json",
            Json::Incidents => "incidents.json",
            Json::Unresolved => "incidents/unresolved.json",
            Json::Maintenances => "scheduled-maintenances.json",
            Json::Upcoming => "scheduled-maintenances/upcoming.json",
            Json::Active => "scheduled-maintenances/active.json",
        }
    }

    /// The document at `api/v2/{name}`.
    pub fn named(name: &str) -> Option<Json> {
        Json::ALL.into_iter().find(|j| j.name() == name)
    }
}

/// One JSON document of the page.
/// Links in it are absolute, under `base` (the server's public address).
pub fn json(d: &Derived, doc: Json, base: &str) -> Value {
    let base = base.trim_end_matches('/');
    let page = page_json(d, base);
    let incidents = |filter: &dyn Fn(&StatusNotice) -> bool| -> Vec<Value> {
        d.notices.iter().filter(|n| filter(n)).take(LISTED).map(|n| notice_json(d, n, base)).collect()
    };
    let incident = |n: &StatusNotice| n.kind == NoticeKind::Incident;
    let maintenance = |n: &StatusNotice| n.kind == NoticeKind::Maintenance;
    let unresolved = |n: &StatusNotice| incident(n) && !n.status.is_final();
    let upcoming = |n: &StatusNotice| maintenance(n) && n.status == NoticeStatus::Scheduled;
    let active =
        |n: &StatusNotice| maintenance(n) && matches!(n.status, NoticeStatus::InProgress | NoticeStatus::Verifying);
    match doc {
        Json::Summary => json!({
            "page": page,
            "components": components_json(d),
            "incidents": incidents(&unresolved),
            "scheduled_maintenances": incidents(&|n| maintenance(n) && !n.status.is_final()),
            "status": status_of(d),
        }),
        Json::Status => json!({ "page": page, "status": status_of(d) }),
        Json::Components => json!({ "page": page, "components": components_json(d) }),
        Json::Incidents => json!({ "page": page, "incidents": incidents(&incident) }),
        Json::Unresolved => json!({ "page": page, "incidents": incidents(&unresolved) }),
        Json::Maintenances => json!({ "page": page, "scheduled_maintenances": incidents(&maintenance) }),
        Json::Upcoming => json!({ "page": page, "scheduled_maintenances": incidents(&upcoming) }),
        Json::Active => json!({ "page": page, "scheduled_maintenances": incidents(&active) }),
    }
}

fn page_json(d: &Derived, base: &str) -> Value {
    json!({
        "id": d.page.id,
        "name": d.page.name,
        "url": format!("{base}/status/{}", d.page.slug),
        "time_zone": pages::time_zone(d).iana_name().unwrap_or("Etc/UTC"),
        "updated_at": canonical(d.updated_at),
    })
}

fn status_of(d: &Derived) -> Value {
    json!({ "indicator": d.indicator.0.as_str(), "description": d.indicator.1 })
}

fn component_json(
    d: &Derived,
    id: &str,
    name: &str,
    status: ComponentStatus,
    position: i64,
    group_id: Option<&str>,
) -> Value {
    json!({
        "id": id, "name": name, "status": status.as_str(),
        "created_at": canonical(d.page.created_at), "updated_at": canonical(d.updated_at),
        "position": position, "description": null, "showcase": true, "start_date": null,
        "group_id": group_id, "page_id": d.page.id.to_string(), "group": false, "only_show_if_degraded": false,
    })
}

/// The components in Statuspage's shape: each group is a component with `group: true` and
/// the ids of its `components`, whose members point back with `group_id`.
fn components_json(d: &Derived) -> Vec<Value> {
    let groups = groups(d);
    let mut out = Vec::new();
    for (c, status) in &d.components {
        let group = groups.iter().find(|g| g.name == c.group_name).map(|g| g.id.as_str());
        out.push(component_json(d, &c.id.to_string(), &c.name, *status, c.position, group));
    }
    for g in &groups {
        let mut shown = component_json(d, &g.id, g.name, g.status, g.position, None);
        shown["group"] = json!(true);
        shown["components"] = json!(g.members.iter().map(|(m, _)| m.id.to_string()).collect::<Vec<_>>());
        out.push(shown);
    }
    out
}

/// An incident or a maintenance in Statuspage's shape, its updates newest first.
fn notice_json(d: &Derived, n: &StatusNotice, base: &str) -> Value {
    let first_at = |status: NoticeStatus| {
        n.updates.iter().find(|u| u.status == status).and_then(|u| u.published_at).map(canonical)
    };
    let started = first_published(n);
    let components: Vec<Value> = d
        .components
        .iter()
        .filter(|(c, _)| n.component_ids.contains(&c.id))
        .map(|(c, status)| component_json(d, &c.id.to_string(), &c.name, *status, c.position, None))
        .collect();
    let updates: Vec<Value> = n
        .updates
        .iter()
        .rev()
        .map(|u| {
            let at = canonical(u.published_at.unwrap_or(u.created_at));
            json!({
                "id": u.id, "status": u.status.as_str(), "body": u.body, "incident_id": n.id,
                "created_at": at, "updated_at": at, "display_at": at,
                "affected_components": null, "deliver_notifications": true, "custom_tweet": null, "tweet_id": null,
            })
        })
        .collect();
    let mut out = json!({
        "id": n.id,
        "name": n.title,
        "status": n.status.as_str(),
        "impact": n.impact.as_str(),
        "created_at": canonical(n.created_at),
        "updated_at": canonical(n.updated_at),
        "started_at": canonical(started),
        "monitoring_at": first_at(NoticeStatus::Monitoring),
        "resolved_at": n.resolved_at.map(canonical),
        "shortlink": format!("{base}/status/{}#notice-{}", d.page.slug, n.id),
        "page_id": d.page.id,
        "incident_updates": updates,
        "components": components,
    });
    if n.kind == NoticeKind::Maintenance {
        out["scheduled_for"] = json!(n.scheduled_for.map(canonical));
        out["scheduled_until"] = json!(n.scheduled_until.map(canonical));
    }
    out
}

/// Text for XML: `&`, `<`, `>`, quotes escaped, and the characters XML 1.0 does not allow
/// (controls other than tab and line breaks, U+FFFE, U+FFFF) left out.
pub fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// The page's absolute address.
fn page_url(state: &AppState, d: &Derived) -> String {
    format!("{}/status/{}", state.public_base().trim_end_matches('/'), d.page.slug)
}

/// A notice's updates as HTML (each rendered safely), for a feed entry's content.
fn entry_html(n: &StatusNotice) -> String {
    let mut html = String::new();
    if let (Some(from), Some(to)) = (n.scheduled_for, n.scheduled_until) {
        html.push_str(&format!("<p>Scheduled from {} to {}</p>", canonical(from), canonical(to)));
    }
    for u in n.updates.iter().rev() {
        let at = canonical(u.published_at.unwrap_or(u.created_at));
        html.push_str(&format!(
            "<p><strong>{}</strong> – {at}</p>{}",
            u.status.label(),
            crate::views::markdown::render(&u.body)
        ));
    }
    html
}

fn listed(d: &Derived) -> impl Iterator<Item = &StatusNotice> {
    d.notices.iter().take(LISTED)
}

/// When readers first saw a notice: its first published update.
fn first_published(n: &StatusNotice) -> firebreak_domain::Timestamp {
    n.updates.iter().filter_map(|u| u.published_at).min().unwrap_or(n.created_at)
}

/// The Atom feed (RFC 4287) of the page's incidents and maintenance.
pub fn atom(state: &AppState, d: &Derived) -> String {
    let url = page_url(state, d);
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    out.push_str(&format!("<id>{}</id>\n", xml(&format!("{url}/history.atom"))));
    out.push_str(&format!("<title>{}</title>\n", xml(&format!("{} status", d.page.name))));
    out.push_str(&format!("<updated>{}</updated>\n", canonical(d.updated_at)));
    out.push_str(&format!("<author><name>{}</name></author>\n", xml(&d.page.name)));
    out.push_str(&format!("<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n", xml(&url)));
    out.push_str(&format!(
        "<link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>\n",
        xml(&format!("{url}/history.atom"))
    ));
    for n in listed(d) {
        out.push_str("<entry>\n");
        out.push_str(&format!("<id>urn:uuid:{}</id>\n", n.id));
        out.push_str(&format!("<title>{}</title>\n", xml(&n.title)));
        out.push_str(&format!("<published>{}</published>\n", canonical(first_published(n))));
        out.push_str(&format!("<updated>{}</updated>\n", canonical(n.updated_at)));
        out.push_str(&format!(
            "<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
            xml(&format!("{url}#notice-{}", n.id))
        ));
        out.push_str(&format!("<content type=\"html\">{}</content>\n", xml(&entry_html(n))));
        out.push_str("</entry>\n");
    }
    out.push_str("</feed>\n");
    out
}

/// The RSS 2.0 feed of the page's incidents and maintenance.
pub fn rss(state: &AppState, d: &Derived) -> String {
    let url = page_url(state, d);
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\">\n<channel>\n",
    );
    out.push_str(&format!("<title>{}</title>\n", xml(&format!("{} status", d.page.name))));
    out.push_str(&format!("<link>{}</link>\n", xml(&url)));
    out.push_str(&format!(
        "<description>{}</description>\n",
        xml(&format!("Incidents and maintenance of {}", d.page.name))
    ));
    out.push_str(&format!("<lastBuildDate>{}</lastBuildDate>\n", d.updated_at.to_rfc2822()));
    out.push_str(&format!(
        "<atom:link href=\"{}\" rel=\"self\" type=\"application/rss+xml\"/>\n",
        xml(&format!("{url}/history.rss"))
    ));
    for n in listed(d) {
        out.push_str("<item>\n");
        out.push_str(&format!("<title>{}</title>\n", xml(&n.title)));
        out.push_str(&format!("<link>{}</link>\n", xml(&format!("{url}#notice-{}", n.id))));
        out.push_str(&format!("<guid isPermaLink=\"false\">{}</guid>\n", n.id));
        out.push_str(&format!("<pubDate>{}</pubDate>\n", first_published(n).to_rfc2822()));
        out.push_str(&format!("<description>{}</description>\n", xml(&entry_html(n))));
        out.push_str("</item>\n");
    }
    out.push_str("</channel>\n</rss>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_text_is_escaped_and_stripped_of_what_xml_forbids() {
        assert_eq!(xml("<a href=\"x\">&'</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;");
        assert_eq!(xml("a\u{0}b\u{1b}c\td\u{FFFF}"), "abc\td");
        assert_eq!(Json::named("incidents/unresolved.json"), Some(Json::Unresolved));
        assert_eq!(Json::named("../summary.json"), None);
    }
}
