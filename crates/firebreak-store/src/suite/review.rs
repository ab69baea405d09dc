//! The post-incident review part of the store suite: postmortems and their review, key
//! events, action items and their tracker events, reminders, and the facts analytics read.

use super::{actor, new_incident, user};
use crate::review::{ActionFilter, ActionItemFields, AnalyticsScope, PostmortemEdit, TrackerHook};
use crate::{DynStore, StoreError};
use firebreak_domain::review::{ActionKind, ActionPriority, ActionStatus, PostmortemState};
use firebreak_domain::{
    Actor, IncidentAction, IncidentChange, IncidentRef, IncidentRole, IncidentType, Severity, TimelineEvent, UserRole,
    Via,
};

fn ok<T, E: std::fmt::Display>(r: Result<T, E>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

async fn step(store: &DynStore, id: firebreak_domain::IncidentId, action: IncidentAction) {
    ok(store.change_incident(IncidentRef::Id(id), IncidentChange::Transition(action), &actor()).await);
}

pub async fn postmortems_are_revised_reviewed_signed_and_published(store: DynStore) {
    let author = user(&store, "author@example.com", UserRole::Responder).await;
    let ann = user(&store, "ann@example.com", UserRole::Responder).await;
    let bo = user(&store, "bo@example.com", UserRole::Viewer).await;
    let by = Actor::user(author.id, "author", Via::Api);
    let i =
        ok(store.create_incident(new_incident("Checkout down", Severity::High, IncidentType::Outage), &actor()).await);
    assert!(matches!(store.postmortem(i.id).await, Err(StoreError::NotFound(_))));

    let pm = ok(store.create_postmortem(i.id, "blameless", "PM: checkout", "# Draft\n", &by).await);
    assert_eq!((pm.state, pm.revision, pm.template.as_str()), (PostmortemState::Draft, 1, "blameless"));
    assert_eq!(pm.revision_hash, firebreak_domain::review::revision_hash("PM: checkout", "# Draft\n"));
    assert!(matches!(store.create_postmortem(i.id, "blameless", "again", "", &by).await, Err(StoreError::Conflict(_))));

    // A stale base is refused and changes nothing.
    let stale = PostmortemEdit { base: 7, title: "PM".into(), body: "x".into(), impact_started_at: None };
    assert!(matches!(store.save_postmortem(i.id, stale, &by).await, Err(StoreError::Conflict(_))));
    let edit =
        PostmortemEdit { base: 1, title: "PM: checkout".into(), body: "# Revised\n".into(), impact_started_at: None };
    let pm = ok(store.save_postmortem(i.id, edit.clone(), &by).await);
    assert_eq!(pm.revision, 2);
    // Saving the same text again makes no revision.
    let same = ok(store.save_postmortem(i.id, PostmortemEdit { base: 2, ..edit }, &by).await);
    assert_eq!(same.revision, 2);
    let revisions = ok(store.postmortem_revisions(i.id).await);
    assert_eq!(
        revisions.iter().map(|r| (r.number, r.body.as_str())).collect::<Vec<_>>(),
        vec![(1, "# Draft\n"), (2, "# Revised\n")]
    );
    assert_eq!(revisions[1].author_id, Some(author.id));

    // Publishing needs a review and every sign-off.
    assert!(store.publish_postmortem(i.id, &by).await.is_err());
    assert!(store.request_postmortem_review(i.id, &[], &by).await.is_err());
    let pm = ok(store.request_postmortem_review(i.id, &[ann.id, bo.id, ann.id], &by).await);
    assert_eq!(pm.state, PostmortemState::InReview);
    assert_eq!(pm.reviewers.len(), 2);
    assert!(store.publish_postmortem(i.id, &by).await.is_err(), "nobody signed off yet");
    let as_ann = Actor::user(ann.id, "ann", Via::Web);
    assert!(matches!(
        store.sign_off_postmortem(i.id, author.id, &pm.revision_hash, &by).await,
        Err(StoreError::Domain(_))
    ));
    assert!(matches!(
        store.sign_off_postmortem(i.id, ann.id, &revisions[0].hash, &as_ann).await,
        Err(StoreError::Conflict(_))
    ));
    ok(store.sign_off_postmortem(i.id, ann.id, &pm.revision_hash, &as_ann).await);
    assert!(store.publish_postmortem(i.id, &by).await.is_err(), "bo has not signed off");
    let pm = ok(store.sign_off_postmortem(i.id, bo.id, &pm.revision_hash, &Actor::user(bo.id, "bo", Via::Web)).await);
    assert!(
        pm.reviewers
            .iter()
            .all(|r| r.signed_hash.as_deref() == Some(pm.revision_hash.as_str()) && r.signed_revision == Some(2))
    );
    let published = ok(store.publish_postmortem(i.id, &by).await);
    assert_eq!(published.state, PostmortemState::Published);
    assert!(published.published_at.is_some());

    // The sign-off is audited with who, the revision and its hash.
    let audit = ok(store.list_audit(0, 10_000).await);
    let signed: Vec<_> = audit.iter().filter(|e| e.content.action == "postmortem.signed_off").collect();
    assert_eq!(signed.len(), 2);
    assert_eq!(signed[0].content.actor_id.as_deref(), Some(ann.id.to_string().as_str()));
    assert_eq!(signed[0].content.details["hash"], serde_json::json!(pm.revision_hash));
    assert_eq!(signed[0].content.details["revision"], serde_json::json!(2));
    assert!(audit.iter().any(|e| e.content.action == "postmortem.published"));

    // A new revision of a published postmortem reopens its review; the old sign-offs no longer count.
    let edit = PostmortemEdit {
        base: 2,
        title: "PM: checkout".into(),
        body: "# Revised again\n".into(),
        impact_started_at: None,
    };
    let reopened = ok(store.save_postmortem(i.id, edit, &by).await);
    assert_eq!((reopened.state, reopened.revision), (PostmortemState::InReview, 3));
    assert!(reopened.published_at.is_none());
    assert!(store.publish_postmortem(i.id, &by).await.is_err());

    let changes: Vec<String> = ok(store.timeline(i.id).await)
        .into_iter()
        .filter_map(|e| match e.event {
            TimelineEvent::PostmortemChanged { change, .. } => Some(change),
            _ => None,
        })
        .collect();
    assert_eq!(changes, ["drafted", "revised", "review_requested", "signed_off", "signed_off", "published", "revised"]);
    assert_eq!(ok(store.postmortems_of(&[i.id]).await).len(), 1);
}

pub async fn key_events_are_starred_on_the_incident_only(store: DynStore) {
    let a = ok(store.create_incident(new_incident("A", Severity::Low, IncidentType::Other), &actor()).await);
    let b = ok(store.create_incident(new_incident("B", Severity::Low, IncidentType::Other), &actor()).await);
    let seq = ok(store.timeline(a.id).await)[0].seq;
    assert!(matches!(store.star_timeline_entry(b.id, seq, true, &actor()).await, Err(StoreError::NotFound(_))));
    ok(store.star_timeline_entry(a.id, seq, true, &actor()).await);
    ok(store.star_timeline_entry(a.id, seq, true, &actor()).await);
    assert_eq!(ok(store.key_events(a.id).await), vec![seq]);
    assert!(ok(store.key_events(b.id).await).is_empty());
    ok(store.star_timeline_entry(a.id, seq, false, &actor()).await);
    assert!(ok(store.key_events(a.id).await).is_empty());
    let audit = ok(store.list_audit(0, 10_000).await);
    let starred = audit.iter().filter(|e| e.content.action.starts_with("incident.key_event")).count();
    assert_eq!(starred, 2, "a repeated star changes nothing and is not audited");
}

fn fields(title: &str, owner: Option<firebreak_domain::UserId>, due: Option<chrono::NaiveDate>) -> ActionItemFields {
    ActionItemFields {
        title: title.into(),
        kind: ActionKind::Task,
        owner_id: owner,
        due_on: due,
        priority: ActionPriority::High,
        status: ActionStatus::Open,
        link: None,
        procedure_file: None,
    }
}

pub async fn action_items_are_filtered_closed_and_sent_to_trackers(store: DynStore) {
    let owner = user(&store, "owner@example.com", UserRole::Responder).await;
    let a = ok(store.create_incident(new_incident("A", Severity::High, IncidentType::Outage), &actor()).await);
    let b = ok(store.create_incident(new_incident("B", Severity::High, IncidentType::Outage), &actor()).await);
    let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 12, d).unwrap_or_else(|| panic!("date"));
    let hook = TrackerHook { url: "http://tracker.example/hook".into(), secret: Some("whsec_AAAA".into()) };
    let one = ok(store
        .create_action_item(a.id, true, fields("Add a lag alert", Some(owner.id), Some(day(3))), Some(&hook), &actor())
        .await);
    let two = ok(store.create_action_item(b.id, false, fields("Runbook", None, Some(day(10))), None, &actor()).await);
    assert_eq!(
        (one.number + 1, one.incident_number, one.owner_name.as_deref()),
        (two.number, a.number, Some("owner@example.com"))
    );
    assert!(one.from_postmortem && !two.from_postmortem);
    let bad_owner = fields("x", Some(firebreak_domain::UserId::new()), None);
    assert!(matches!(
        store.create_action_item(a.id, false, bad_owner, None, &actor()).await,
        Err(StoreError::Domain(_))
    ));

    let list = |f: ActionFilter| {
        let store = store.clone();
        async move {
            ok(store.list_action_items(&ActionFilter { limit: 50, ..f }).await)
                .items
                .iter()
                .map(|i| i.number)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list(ActionFilter::default()).await, vec![two.number, one.number]);
    assert_eq!(list(ActionFilter { owner: Some(owner.id), ..Default::default() }).await, vec![one.number]);
    assert_eq!(list(ActionFilter { incident: Some(b.id), ..Default::default() }).await, vec![two.number]);
    assert_eq!(list(ActionFilter { overdue_on: Some(day(5)), ..Default::default() }).await, vec![one.number]);

    // Done closes it; opening it again clears the close time.
    let done = ok(store
        .update_action_item(
            one.number,
            ActionItemFields { status: ActionStatus::Done, ..fields("Add a lag alert", Some(owner.id), Some(day(3))) },
            Some(&hook),
            &actor(),
        )
        .await);
    assert!(done.closed_at.is_some());
    assert_eq!(list(ActionFilter { overdue_on: Some(day(5)), ..Default::default() }).await, Vec::<i64>::new());
    assert_eq!(list(ActionFilter { statuses: vec![ActionStatus::Done], ..Default::default() }).await, vec![one.number]);
    let reopened = ok(store
        .update_action_item(one.number, fields("Add a lag alert", Some(owner.id), Some(day(3))), None, &actor())
        .await);
    assert!(reopened.closed_at.is_none());
    assert!(matches!(
        store.update_action_item(9_999, fields("x", None, None), None, &actor()).await,
        Err(StoreError::NotFound(_))
    ));

    // The hook's events wait in the outbox, signed with its secret.
    let claimed =
        ok(store.claim_stakeholder_messages(firebreak_domain::time::now(), chrono::TimeDelta::seconds(60), 10).await);
    let events: Vec<(&str, &str, &str)> =
        claimed.iter().map(|m| (m.kind.as_str(), m.channel.as_str(), m.subject.as_str())).collect();
    assert_eq!(
        events,
        vec![("action_item", "webhook", "action_item.created"), ("action_item", "webhook", "action_item.updated")]
    );
    assert_eq!(claimed[0].secret.as_deref(), Some("whsec_AAAA"));
    let body: serde_json::Value = ok(serde_json::from_str(&claimed[1].body));
    assert_eq!(body["action_item"]["status"], "done");
    assert_eq!(body["action_item"]["number"], one.number);

    let kinds: Vec<String> = ok(store.timeline(a.id).await)
        .into_iter()
        .filter_map(|e| match e.event {
            TimelineEvent::ActionItemChanged { change, .. } => Some(change),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, ["added", "updated", "updated"]);
}

pub async fn late_postmortems_and_overdue_action_items_are_reminded_once(store: DynStore) {
    let commander = user(&store, "ic@example.com", UserRole::Responder).await;
    let i = ok(store.create_incident(new_incident("Late", Severity::Critical, IncidentType::Outage), &actor()).await);
    ok(store
        .change_incident(
            IncidentRef::Id(i.id),
            IncidentChange::AssignRole { role: IncidentRole::Commander.into(), user: Some(commander.id) },
            &actor(),
        )
        .await);
    step(&store, i.id, IncidentAction::Resolve).await;
    let resolved =
        ok(store.get_incident(IncidentRef::Id(i.id)).await).resolved_at.unwrap_or_else(|| panic!("resolved"));
    let due = [(Severity::Critical, 60)];
    let today = resolved.date_naive();
    let early = ok(store.process_review_reminders(resolved + chrono::TimeDelta::minutes(59), &due, today).await);
    assert_eq!(early.postmortems, 0);
    let late = ok(store.process_review_reminders(resolved + chrono::TimeDelta::minutes(61), &due, today).await);
    assert_eq!(late.postmortems, 1);
    let again = ok(store.process_review_reminders(resolved + chrono::TimeDelta::minutes(120), &due, today).await);
    assert_eq!(again.postmortems, 0, "once per incident");
    let late_entries = ok(store.timeline(i.id).await)
        .into_iter()
        .filter(|e| matches!(&e.event, TimelineEvent::PostmortemChanged { change, .. } if change == "late"))
        .count();
    assert_eq!(late_entries, 1);

    let yesterday = today.pred_opt().unwrap_or(today);
    let item = ok(store
        .create_action_item(i.id, false, fields("Fix it", Some(commander.id), Some(yesterday)), None, &actor())
        .await);
    let now = firebreak_domain::time::now();
    assert_eq!(ok(store.process_review_reminders(now, &[], today).await).action_items, 1);
    assert_eq!(ok(store.process_review_reminders(now, &[], today).await).action_items, 0, "once a day");
    let tomorrow = today.succ_opt().unwrap_or(today);
    assert_eq!(ok(store.process_review_reminders(now, &[], tomorrow).await).action_items, 1);
    let done =
        ActionItemFields { status: ActionStatus::WontDo, ..fields("Fix it", Some(commander.id), Some(yesterday)) };
    ok(store.update_action_item(item.number, done, None, &actor()).await);
    let later = tomorrow.succ_opt().unwrap_or(tomorrow);
    assert_eq!(
        ok(store.process_review_reminders(now, &[], later).await).action_items,
        0,
        "closed items are left alone"
    );
}

/// Analytics over everything from an hour before `start` to an hour from now, unfiltered.
fn everything_since(start: firebreak_domain::Timestamp) -> AnalyticsScope {
    AnalyticsScope {
        from: start - chrono::TimeDelta::hours(1),
        to: firebreak_domain::time::now() + chrono::TimeDelta::hours(1),
        service: None,
        team: None,
        severities: vec![],
        kinds: vec![],
        top: 10,
        viewer: None,
    }
}

pub async fn analytics_facts_keep_the_first_response_cycle(store: DynStore) {
    let i = ok(store.create_incident(new_incident("Flappy", Severity::High, IncidentType::Outage), &actor()).await);
    step(&store, i.id, IncidentAction::Acknowledge).await;
    step(&store, i.id, IncidentAction::Resolve).await;
    let first = ok(store.get_incident(IncidentRef::Id(i.id)).await);
    step(&store, i.id, IncidentAction::Reopen).await;
    step(&store, i.id, IncidentAction::Acknowledge).await;
    step(&store, i.id, IncidentAction::Resolve).await;
    let last = ok(store.get_incident(IncidentRef::Id(i.id)).await);
    let mut drill = new_incident("Game day", Severity::High, IncidentType::Outage);
    drill.drill = true;
    ok(store.create_incident(drill, &actor()).await);
    let scope = everything_since(i.detected_at);
    let facts = ok(store.analytics_facts(&scope).await);
    assert_eq!(facts.incidents.len(), 2);
    let f = facts.incidents.iter().find(|f| f.number == i.number).unwrap_or_else(|| panic!("missing"));
    // Analytics read instants to the millisecond (as integers the database computes, rounded).
    let near = |a: Option<firebreak_domain::Timestamp>, b: Option<firebreak_domain::Timestamp>| match (a, b) {
        (Some(a), Some(b)) => (a - b).num_microseconds().is_some_and(|d| d.abs() <= 1_000),
        _ => false,
    };
    assert!(near(f.first_acknowledged_at, first.acknowledged_at), "{f:?} {first:?}");
    assert!(near(f.first_resolved_at, first.resolved_at), "{f:?} {first:?}");
    assert!(near(f.resolved_at, last.resolved_at), "{f:?} {last:?}");
    assert!(f.first_resolved_at < f.resolved_at, "the first resolution is kept");
    assert_eq!(f.reopened, 1);
    assert!(!f.drill && !f.has_postmortem);
    assert!(facts.incidents.iter().any(|f| f.drill));
    let low = ok(store.analytics_facts(&AnalyticsScope { severities: vec![Severity::Low], ..scope.clone() }).await);
    assert!(low.incidents.is_empty());
    let before = ok(store.analytics_facts(&AnalyticsScope { to: i.detected_at, ..scope }).await);
    assert!(before.incidents.is_empty(), "the period's end is exclusive");
}

/// The first alert of each incident follows its alerts — opened on it, joining it, moved away
/// and merged in — and the noisiest keys count the period's alerts with their repeats, leaving
/// out those of drills.
pub async fn analytics_facts_follow_alerts_as_they_join_move_and_merge(store: DynStore) {
    use firebreak_domain::alert::AlertAction::Trigger;
    let service = super::service_with_key(&store, "payments", "hash-facts", false).await;
    let started = firebreak_domain::time::now();
    ok(store.ingest(&[super::item("hash-facts", Trigger, "cpu", "CPU high")], None).await);
    ok(store.ingest(&[super::item("hash-facts", Trigger, "cpu", "CPU high")], None).await);
    let cpu = super::alerts_of(&store, &service).await.remove(0);
    let a = cpu.incident_id.unwrap_or_else(|| panic!("the alert opened an incident"));
    let b =
        ok(store.create_incident(new_incident("Payments slow", Severity::High, IncidentType::Outage), &actor()).await);
    let scope = everything_since(started);
    let (na, nb) = (ok(store.get_incident(IncidentRef::Id(a)).await).number, b.number);
    let first_alert = |facts: &firebreak_domain::analytics::AnalyticsInput, n: i64| {
        facts.incidents.iter().find(|f| f.number == n).map(|f| f.first_alert_at)
    };
    // Analytics read instants to the millisecond.
    let near = |got: Option<Option<firebreak_domain::Timestamp>>, want: firebreak_domain::Timestamp| match got {
        Some(Some(g)) => (g - want).num_microseconds().is_some_and(|d| d.abs() <= 1_000),
        _ => false,
    };
    let facts = ok(store.analytics_facts(&scope).await);
    assert!(near(first_alert(&facts, na), cpu.first_seen_at), "opened on it: {:?}", first_alert(&facts, na));
    assert_eq!(first_alert(&facts, nb), Some(None), "declared by hand, no alert yet");

    ok(store.move_alert(cpu.id, Some(b.id), &actor()).await);
    let facts = ok(store.analytics_facts(&scope).await);
    assert_eq!(first_alert(&facts, na), Some(None), "its only alert moved away");
    assert!(near(first_alert(&facts, nb), cpu.first_seen_at), "moved in");

    // A new key joins the service's open incident A (B has no service).
    ok(store.ingest(&[super::item("hash-facts", Trigger, "mem", "Memory high")], None).await);
    let mem =
        super::alerts_of(&store, &service).await.into_iter().find(|x| x.id != cpu.id).unwrap_or_else(|| panic!("mem"));
    assert_eq!(mem.incident_id, Some(a), "the new alert joins the open incident");
    let facts = ok(store.analytics_facts(&scope).await);
    assert!(near(first_alert(&facts, na), mem.first_seen_at), "joined");

    ok(store.merge_incidents(a, b.id, &actor()).await);
    let facts = ok(store.analytics_facts(&scope).await);
    assert!(near(first_alert(&facts, nb), cpu.first_seen_at.min(mem.first_seen_at)), "the earliest of both");
    assert_eq!(first_alert(&facts, na), None, "a merged incident is left out");

    // Noise: cpu twice (one alert, two events), mem once; then mem's incident becomes a drill's.
    let key = |facts: &firebreak_domain::analytics::AnalyticsInput, k: &str| {
        facts.noisy_fingerprints.iter().find(|n| n.name == k).map(|n| (n.alerts, n.events))
    };
    assert_eq!(key(&facts, "cpu"), Some((1, 2)));
    assert_eq!(key(&facts, "mem"), Some((1, 1)));
    assert!(facts.noisy_sources.iter().any(|n| n.alerts == 2 && n.events == 3), "{:?}", facts.noisy_sources);
    let mut game = new_incident("Game day", Severity::Low, IncidentType::Other);
    game.drill = true;
    let game = ok(store.create_incident(game, &actor()).await);
    ok(store.move_alert(mem.id, Some(game.id), &actor()).await);
    let facts = ok(store.analytics_facts(&scope).await);
    assert_eq!(key(&facts, "mem"), None, "a drill's alerts are left out");
    assert_eq!(key(&facts, "cpu"), Some((1, 2)));
    assert!(facts.noisy_sources.iter().any(|n| n.alerts == 1 && n.events == 2), "{:?}", facts.noisy_sources);
    let later = ok(store
        .analytics_facts(&AnalyticsScope {
            from: firebreak_domain::time::now() + chrono::TimeDelta::minutes(1),
            ..scope
        })
        .await);
    assert!(later.noisy_fingerprints.is_empty(), "alerts count in the period they were first seen in");
}
