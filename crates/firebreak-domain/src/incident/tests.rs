use super::*;
use IncidentAction::*;
use IncidentStatus::*;
use chrono::{TimeZone, Utc};

fn at(s: i64) -> Timestamp {
    Utc.timestamp_opt(1_800_000_000 + s, 0).single().unwrap_or_default()
}

fn declared() -> Incident {
    let new = NewIncident::parse("Checkout down", Some("500s"), Severity::High, IncidentType::Outage, &[], &[])
        .unwrap_or_else(|e| panic!("{e}"));
    Incident::declare(IncidentId::new(), 7, new, None, at(0)).incident
}

fn in_status(status: IncidentStatus) -> Incident {
    let mut i = declared();
    i.status = status;
    i
}

/// The full table: every action from every status, allowed or refused.
#[test]
fn every_transition_from_every_status() {
    let expected: &[(IncidentStatus, IncidentAction, Option<IncidentStatus>)] = &[
        (Triggered, Acknowledge, Some(Acknowledged)),
        (Triggered, Contain, Some(Contained)),
        (Triggered, Resolve, Some(Resolved)),
        (Triggered, Close, Some(Closed)),
        (Triggered, Reopen, None),
        (Acknowledged, Acknowledge, None),
        (Acknowledged, Contain, Some(Contained)),
        (Acknowledged, Resolve, Some(Resolved)),
        (Acknowledged, Close, Some(Closed)),
        (Acknowledged, Reopen, None),
        (Contained, Acknowledge, None),
        (Contained, Contain, None),
        (Contained, Resolve, Some(Resolved)),
        (Contained, Close, Some(Closed)),
        (Contained, Reopen, None),
        (Resolved, Acknowledge, None),
        (Resolved, Contain, None),
        (Resolved, Resolve, None),
        (Resolved, Close, Some(Closed)),
        (Resolved, Reopen, Some(Triggered)),
        (Closed, Acknowledge, None),
        (Closed, Contain, None),
        (Closed, Resolve, None),
        (Closed, Close, None),
        (Closed, Reopen, None),
    ];
    assert_eq!(expected.len(), IncidentStatus::ALL.len() * IncidentAction::ALL.len());
    for (from, action, to) in expected {
        let incident = in_status(*from);
        let result = incident.apply(&IncidentChange::Transition(*action), at(60));
        match to {
            Some(to) => {
                let outcome = result.unwrap_or_else(|e| panic!("{from} --{action}--> should work: {e}"));
                assert_eq!(outcome.incident.status, *to, "{from} --{action}");
                assert_eq!(outcome.events, vec![TimelineEvent::StatusChanged { from: *from, to: *to }]);
                assert_eq!(outcome.incident.updated_at, at(60));
            }
            None => {
                assert_eq!(
                    result,
                    Err(DomainError::InvalidTransition { action: *action, from: *from }),
                    "{from} --{action}--> must be refused"
                );
            }
        }
    }
}

#[test]
fn allowed_actions_match_the_table() {
    assert_eq!(Triggered.allowed_actions(), vec![Acknowledge, Contain, Resolve, Close]);
    assert_eq!(Resolved.allowed_actions(), vec![Close, Reopen]);
    assert!(Closed.allowed_actions().is_empty());
}

#[test]
fn phase_timestamps_are_kept() {
    let i = declared();
    let i = i.apply(&IncidentChange::Transition(Acknowledge), at(10)).unwrap_or_else(|e| panic!("{e}")).incident;
    assert_eq!(i.acknowledged_at, Some(at(10)));
    let i = i.apply(&IncidentChange::Transition(Contain), at(20)).unwrap_or_else(|e| panic!("{e}")).incident;
    assert_eq!(i.contained_at, Some(at(20)));
    let i = i.apply(&IncidentChange::Transition(Resolve), at(30)).unwrap_or_else(|e| panic!("{e}")).incident;
    assert_eq!(i.resolved_at, Some(at(30)));
    let i = i.apply(&IncidentChange::Transition(Close), at(40)).unwrap_or_else(|e| panic!("{e}")).incident;
    assert_eq!((i.detected_at, i.resolved_at, i.closed_at), (at(0), Some(at(30)), Some(at(40))));
}

#[test]
fn skipping_forward_sets_only_reached_phases() {
    let i = declared().apply(&IncidentChange::Transition(Resolve), at(5)).unwrap_or_else(|e| panic!("{e}")).incident;
    assert_eq!(i.acknowledged_at, None);
    assert_eq!(i.contained_at, None);
    assert_eq!(i.resolved_at, Some(at(5)));
}

#[test]
fn closing_unresolved_incident_resolves_it_too() {
    let i = declared().apply(&IncidentChange::Transition(Close), at(9)).unwrap_or_else(|e| panic!("{e}")).incident;
    assert_eq!(i.resolved_at, Some(at(9)));
    assert_eq!(i.closed_at, Some(at(9)));
}

#[test]
fn reopen_starts_a_new_cycle() {
    let i = declared();
    let i = i.apply(&IncidentChange::Transition(Acknowledge), at(1)).unwrap_or_else(|e| panic!("{e}")).incident;
    let i = i.apply(&IncidentChange::Transition(Resolve), at(2)).unwrap_or_else(|e| panic!("{e}")).incident;
    let i = i.apply(&IncidentChange::Transition(Reopen), at(3)).unwrap_or_else(|e| panic!("{e}")).incident;
    assert_eq!(i.status, Triggered);
    assert_eq!((i.acknowledged_at, i.resolved_at), (None, None));
    assert_eq!(i.detected_at, at(0));
}

#[test]
fn edits_record_only_real_changes() {
    let i = declared();
    let edit = IncidentEdit {
        title: Some("  Checkout down  ".into()),
        severity: Some(Severity::Critical),
        kind: Some(IncidentType::Outage),
        tags: Some(vec!["payments".into(), "payments".into()]),
        ..Default::default()
    };
    let out = i.apply(&IncidentChange::Edit(edit), at(4)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        out.events,
        vec![
            TimelineEvent::SeverityChanged { from: Severity::High, to: Severity::Critical },
            TimelineEvent::TagsChanged { from: vec![], to: vec!["payments".into()] },
        ]
    );
    let same =
        out.incident.apply(&IncidentChange::Edit(IncidentEdit::default()), at(5)).unwrap_or_else(|e| panic!("{e}"));
    assert!(same.events.is_empty());
    assert_eq!(same.incident.updated_at, at(4));
}

#[test]
fn edits_validate_their_values() {
    let i = declared();
    for edit in [
        IncidentEdit { title: Some("   ".into()), ..Default::default() },
        IncidentEdit { title: Some("a\nb".into()), ..Default::default() },
        IncidentEdit { title: Some("x".repeat(TITLE_MAX + 1)), ..Default::default() },
        IncidentEdit { summary: Some("bell\u{7}".into()), ..Default::default() },
        IncidentEdit { services: Some(vec!["".into()]), ..Default::default() },
        IncidentEdit { tags: Some(vec!["t".into(); LIST_MAX + 1]), ..Default::default() },
    ] {
        assert!(
            matches!(i.apply(&IncidentChange::Edit(edit.clone()), at(1)), Err(DomainError::Invalid { .. })),
            "{edit:?}"
        );
    }
}

#[test]
fn closed_incidents_are_final() {
    let i = in_status(Closed);
    assert!(
        i.apply(&IncidentChange::Edit(IncidentEdit { severity: Some(Severity::Low), ..Default::default() }), at(1))
            .is_err()
    );
    assert!(
        i.apply(&IncidentChange::AssignRole { role: IncidentRole::Scribe.into(), user: Some(UserId::new()) }, at(1))
            .is_err()
    );
    // Notes stay possible: follow-ups are written after closing.
    assert!(i.apply(&IncidentChange::Note { body: "late finding".into() }, at(1)).is_ok());
}

#[test]
fn role_handover_is_recorded() {
    let (alice, bob) = (UserId::new(), UserId::new());
    let i = declared();
    let i = i
        .apply(&IncidentChange::AssignRole { role: IncidentRole::Commander.into(), user: Some(alice) }, at(1))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        i.events,
        vec![TimelineEvent::RoleAssigned { role: IncidentRole::Commander.into(), from: None, to: Some(alice) }]
    );
    let i = i
        .incident
        .apply(&IncidentChange::AssignRole { role: IncidentRole::Commander.into(), user: Some(bob) }, at(2))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        i.events,
        vec![TimelineEvent::RoleAssigned { role: IncidentRole::Commander.into(), from: Some(alice), to: Some(bob) }]
    );
    assert_eq!(i.incident.commander, Some(bob));
    let again = i
        .incident
        .apply(&IncidentChange::AssignRole { role: IncidentRole::Commander.into(), user: Some(bob) }, at(3))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(again.events.is_empty());
}

#[test]
fn notes_are_validated() {
    let i = declared();
    assert!(i.apply(&IncidentChange::Note { body: "  ".into() }, at(1)).is_err());
    assert!(i.apply(&IncidentChange::Note { body: "x".repeat(NOTE_MAX + 1) }, at(1)).is_err());
    let ok = i
        .apply(&IncidentChange::Note { body: " <script>alert(1)</script> ".into() }, at(1))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ok.events, vec![TimelineEvent::NoteAdded { body: "<script>alert(1)</script>".into() }]);
}

#[test]
fn incident_refs_parse() {
    assert_eq!("42".parse::<IncidentRef>(), Ok(IncidentRef::Number(42)));
    assert_eq!("INC-42".parse::<IncidentRef>(), Ok(IncidentRef::Number(42)));
    assert_eq!("inc-7".parse::<IncidentRef>(), Ok(IncidentRef::Number(7)));
    let id = IncidentId::new();
    assert_eq!(id.to_string().parse::<IncidentRef>(), Ok(IncidentRef::Id(id)));
    for bad in ["", "INC-", "INC-x", "99999999999999999999", "-1", "1.5", "../etc"] {
        assert!(bad.parse::<IncidentRef>().is_err(), "{bad:?}");
    }
}

#[test]
fn words_round_trip() {
    for s in Severity::ALL {
        assert_eq!(s.as_str().parse::<Severity>(), Ok(*s));
    }
    for t in IncidentType::ALL {
        assert_eq!(t.as_str().parse::<IncidentType>(), Ok(*t));
    }
    for s in IncidentStatus::ALL {
        assert_eq!(s.as_str().parse::<IncidentStatus>(), Ok(*s));
    }
    let err = "urgent".parse::<Severity>().err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("critical, high, medium, low"), "{err}");
}

#[test]
fn timeline_json_shape() {
    let e = TimelineEvent::StatusChanged { from: Triggered, to: Acknowledged };
    assert_eq!(
        serde_json::to_value(&e).unwrap_or_default(),
        serde_json::json!({"kind":"status_changed","from":"triggered","to":"acknowledged"})
    );
    let c = TimelineEvent::Created { title: "t".into(), severity: Severity::Low, kind: IncidentType::Other };
    assert_eq!(serde_json::to_value(&c).unwrap_or_default()["type"], "other");
}

#[test]
fn custom_roles_and_operations_lead_are_held_and_handed_over() {
    let (alice, bob) = (UserId::new(), UserId::new());
    let lead = RoleName::from(IncidentRole::OperationsLead);
    let liaison = RoleName::parse("customer-liaison").unwrap_or_else(|e| panic!("{e}"));
    let i = declared()
        .apply(&IncidentChange::AssignRole { role: lead.clone(), user: Some(alice) }, at(1))
        .unwrap_or_else(|e| panic!("{e}"))
        .incident;
    let out = i
        .apply(&IncidentChange::AssignRole { role: liaison.clone(), user: Some(bob) }, at(2))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.incident.role_holder("operations_lead"), Some(alice));
    assert_eq!(out.incident.role_holder("customer-liaison"), Some(bob));
    assert_eq!(out.incident.roles(), vec![(lead.clone(), alice), (liaison.clone(), bob)]);
    let handed = out
        .incident
        .apply(&IncidentChange::AssignRole { role: liaison.clone(), user: Some(alice) }, at(3))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        handed.events,
        vec![TimelineEvent::RoleAssigned { role: liaison.clone(), from: Some(bob), to: Some(alice) }]
    );
    let cleared = handed
        .incident
        .apply(&IncidentChange::AssignRole { role: liaison, user: None }, at(4))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cleared.incident.role_holder("customer-liaison"), None);
    assert_eq!(cleared.incident.other_roles.len(), 1);
}

#[test]
fn role_names_are_checked() {
    for bad in ["", "Commander", "1st", "a b", "x".repeat(41).as_str(), "<script>", "ops/lead"] {
        assert!(RoleName::parse(bad).is_err(), "{bad:?} accepted");
    }
    let name = RoleName::parse(" operations_lead ").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(name.builtin(), Some(IncidentRole::OperationsLead));
    assert_eq!(name.label(), "operations lead");
    assert!(serde_json::from_str::<RoleName>("\"Bad Name\"").is_err());
}

#[test]
fn restriction_follows_the_mark_or_the_type() {
    let i = declared();
    let security = |k: IncidentType| k == IncidentType::Security;
    assert!(!i.is_restricted(security));
    let marked = i.apply(&IncidentChange::SetRestricted(true), at(1)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(marked.events, vec![TimelineEvent::RestrictionChanged { restricted: true }]);
    assert!(marked.incident.is_restricted(security));
    let same = marked.incident.apply(&IncidentChange::SetRestricted(true), at(2)).unwrap_or_else(|e| panic!("{e}"));
    assert!(same.events.is_empty(), "marking twice records nothing");
    let mut sec = declared();
    sec.kind = IncidentType::Security;
    assert!(sec.is_restricted(security));
    assert!(!sec.is_restricted(|_| false), "a configuration may lift the type's restriction");
}

#[test]
fn evidence_links_must_be_web_addresses() {
    let i = declared();
    for bad in ["javascript:alert(1)", "ftp://x", "https://", "http:///path", "https://a b", "data:text/html,x"] {
        assert!(i.apply(&IncidentChange::AddEvidence { url: bad.into(), title: "x".into() }, at(1)).is_err(), "{bad}");
    }
    let ok = i
        .apply(
            &IncidentChange::AddEvidence {
                url: " https://grafana.example/d/abc?x=1 ".into(),
                title: "Error rate".into(),
            },
            at(1),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        ok.events,
        vec![TimelineEvent::EvidenceAdded {
            url: "https://grafana.example/d/abc?x=1".into(),
            title: "Error rate".into()
        }]
    );
}
