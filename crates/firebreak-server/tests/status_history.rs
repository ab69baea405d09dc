//! Status history on both backends: the engine records what components show as incidents
//! open and resolve and maintenance runs by the clock, and the daily bars and uptime come
//! from what it recorded, in the page's time zone.

mod common;

use axum::http::StatusCode;
use chrono::TimeDelta;
use common::TestApp;
use firebreak_domain::status_page::{ComponentStatus, Impact, NoticeKind, NoticeStatus};
use firebreak_domain::{Actor, Timestamp, Via};
use firebreak_server::app::status_pages::{history, subscribers};
use firebreak_server::engine::status::run_once;
use firebreak_store::{NewNotice, PageBranding, PageSettings, StatusComponent};
use serde_json::json;

/// The next UTC midnight after the wall clock: instants after it are after the components
/// were made, and whole hours from it keep the minutes exact.
fn next_midnight() -> Timestamp {
    let today = firebreak_domain::time::now().date_naive();
    let tomorrow = today.succ_opt().unwrap_or(today);
    tomorrow.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

fn named<'a>(components: &'a [StatusComponent], name: &str) -> &'a StatusComponent {
    components.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no component {name}"))
}

async fn incidents_and_maintenance_make_the_history_and_the_bars(app: TestApp) {
    let (admin, tok) = (&app.admin.token, &app.responder.token);
    let state = &app.state;
    let actor = Actor::system("test", Via::Admin);
    app.pagerduty_service("checkout").await;
    app.pagerduty_service("search").await;
    assert_eq!(
        app.post("/api/v1/status-pages", admin, json!({"slug": "acme", "name": "Acme"})).await.status,
        StatusCode::CREATED
    );
    for (name, service) in [("Checkout", "checkout"), ("Search", "search")] {
        let body = json!({"name": name, "group": "Shop", "services": [service]});
        let r = app.post("/api/v1/status-pages/acme/components", admin, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let page = state.store.status_page("acme").await.unwrap_or_else(|e| panic!("{e}"));
    let components = state.store.list_status_components(page.id).await.unwrap_or_else(|e| panic!("{e}"));
    let (checkout, search) = (named(&components, "Checkout").id, named(&components, "Search").id);

    let t = next_midnight();
    let (t1, t2, t3) = (t + TimeDelta::hours(1), t + TimeDelta::minutes(90), t + TimeDelta::hours(2));
    let message = subscribers::message_for(state);
    let maintenance = NewNotice {
        page_id: page.id,
        notice_id: None,
        kind: NoticeKind::Maintenance,
        incident_id: None,
        title: "Search index rebuild".into(),
        impact: Impact::Maintenance,
        component_ids: vec![search],
        scheduled_for: Some(t1),
        scheduled_until: Some(t3),
    };
    let (maintenance, _) = state
        .store
        .post_status_update(maintenance, NoticeStatus::Scheduled, "We rebuild the index.", true, &message, &actor)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let outage = NewNotice {
        kind: NoticeKind::Incident,
        title: "Checkout failing".into(),
        impact: Impact::Critical,
        component_ids: vec![checkout],
        page_id: page.id,
        notice_id: None,
        incident_id: None,
        scheduled_for: None,
        scheduled_until: None,
    };
    let (outage, _) = state
        .store
        .post_status_update(outage, NoticeStatus::Investigating, "We are looking.", true, &message, &actor)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(run_once(state, t).await, 0, "nothing is due and everything is operational as never recorded");
    let declared = app
        .post(
            "/api/v1/incidents",
            tok,
            json!({"title": "Payments failing", "severity": "critical", "type": "outage", "services": ["checkout"]}),
        )
        .await;
    assert_eq!(declared.status, StatusCode::CREATED, "{}", declared.text);
    // The maintenance starts, and both components' new statuses are recorded.
    assert_eq!(run_once(state, t1).await, 3);
    let notice = state.store.status_notice(page.id, maintenance.id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(notice.status, NoticeStatus::InProgress);
    assert!(notice.updates.last().is_some_and(|u| u.published_at == Some(t1)), "{notice:?}");

    let id = declared.body["id"].as_str().unwrap_or_default();
    let r = app.post(&format!("/api/v1/incidents/{id}/resolve"), tok, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(run_once(state, t2).await, 1, "checkout is back to operational");
    assert_eq!(run_once(state, t2 + TimeDelta::seconds(1)).await, 0, "recorded at most every 5 seconds");
    // The maintenance ends; search is operational again.
    assert_eq!(run_once(state, t3).await, 2);
    let notice = state.store.status_notice(page.id, maintenance.id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((notice.status, notice.resolved_at), (NoticeStatus::Completed, Some(t3)));
    assert_eq!(run_once(state, t3 + TimeDelta::minutes(1)).await, 0, "each step once");

    let recorded = state.store.component_history(page.id, t).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        recorded,
        [
            (checkout, t1, ComponentStatus::MajorOutage),
            (search, t1, ComponentStatus::UnderMaintenance),
            (checkout, t2, ComponentStatus::Operational),
            (search, t3, ComponentStatus::Operational),
        ]
    );

    // The bars up to 03:00: today's (the UTC day from t) is the last.
    let now = t + TimeDelta::hours(3);
    let notices = vec![outage.clone()];
    let (bars, overall) =
        history::uptime(state, &page, &components, &notices, now, 90).await.unwrap_or_else(|e| panic!("{}", e.message));
    assert_eq!(bars.len(), 2);
    let (c, s) = (&bars[0], &bars[1]);
    assert_eq!((c.component_id, s.component_id), (checkout, search));
    assert_eq!(c.days.len(), 90);
    let today = c.days.last().unwrap_or_else(|| panic!("no days"));
    assert_eq!(today.date, t.format("%Y-%m-%d").to_string());
    assert_eq!((today.minutes.major, today.minutes.operational), (30, 150), "{today:?}");
    assert_eq!(today.worst, ComponentStatus::MajorOutage);
    assert_eq!(today.notices, ["Checkout failing"], "the open notice runs up to now");
    assert!(c.days[..88].iter().all(|d| d.minutes.total() == 0), "nothing before the component was made");
    assert!(c.percent.is_some_and(|p| p < 100.0 && p > 90.0), "{:?}", c.percent);
    let stoday = s.days.last().unwrap_or_else(|| panic!("no days"));
    assert_eq!((stoday.minutes.maintenance, stoday.minutes.operational), (60, 120), "{stoday:?}");
    assert_eq!(stoday.worst, ComponentStatus::UnderMaintenance);
    assert!(stoday.notices.is_empty(), "the outage names checkout only: {stoday:?}");
    assert_eq!(s.percent, Some(100.0), "maintenance counts as up");
    assert!(overall.is_some_and(|p| p < 100.0 && c.percent.is_some_and(|c| p > c)), "{overall:?}");

    // In Tokyo the same instants fall on a day that began at 15:00 UTC the day before.
    let branding = PageBranding { time_zone: Some("Asia/Tokyo".into()), ..Default::default() };
    let settings = PageSettings { branding: Some(branding), ..Default::default() };
    let page = state.store.update_status_page(page.id, settings, &actor).await.unwrap_or_else(|e| panic!("{e}"));
    let (bars, _) =
        history::uptime(state, &page, &components, &[], now, 90).await.unwrap_or_else(|e| panic!("{}", e.message));
    let today = bars[0].days.last().unwrap_or_else(|| panic!("no days"));
    assert_eq!(today.date, (t + TimeDelta::hours(9)).format("%Y-%m-%d").to_string());
    let created = named(&components, "Checkout").created_at;
    let from = (t - TimeDelta::hours(9)).max(created);
    assert_eq!(today.minutes.total(), (now - from).num_seconds() / 60, "{today:?}");

    // Statuses recorded with chosen instants read back the same way.
    let later = t + TimeDelta::days(1);
    let n = state
        .store
        .record_component_statuses(
            &[(checkout, ComponentStatus::PartialOutage), (search, ComponentStatus::Operational)],
            later,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(n, 1, "search did not change");
    let (bars, _) = history::uptime(state, &page, &components, &[], later + TimeDelta::hours(1), 90)
        .await
        .unwrap_or_else(|e| panic!("{}", e.message));
    let partial: i64 = bars[0].days.iter().map(|d| d.minutes.partial).sum();
    assert_eq!(partial, 60);
}

on_both_backends!(incidents_and_maintenance_make_the_history_and_the_bars);
