use super::*;

fn file(path: &str, text: &str) -> SourceFile {
    SourceFile { path: path.into(), text: text.into() }
}

fn good() -> Vec<SourceFile> {
    vec![
        file("README.md", "# Our procedures\n"),
        file(
            "config.yaml",
            "severities:\n  critical:\n    update_every: 20m\n    stakeholder_groups: [executives]\ntypes:\n  security:\n    stakeholder_groups: [security-team]\n",
        ),
        file(
            "trees/severity.yaml",
            "start: q\nquestions:\n  q:\n    text: Bad?\n    answers:\n      - answer: Very\n        outcome: big\n      - answer: No\n        outcome: small\noutcomes:\n  big: { severity: critical, type: outage, playbook: major-outage }\n  small: { severity: low, type: other }\n",
        ),
        file(
            "playbooks/major-outage.md",
            "---\nname: major-outage\nmatch: { types: [outage] }\nsteps:\n  communication:\n    - update: customer-initial\n    - notify: executives\n---\nBody\n",
        ),
        file(
            "contacts/executives.yaml",
            "members:\n  - user: cto@example.com\n  - email: board@example.com\nescalate_to: security-team\nescalate_after: 30m\n",
        ),
        file("contacts/security-team.yaml", "name: security-team\nmembers:\n  - user: ciso@example.com\n"),
        file("templates/customer-initial.md.j2", "We are investigating {{ incident.title }}."),
        file(".git/config", "not ours"),
    ]
}

#[test]
fn a_directory_loads_with_its_cross_references() {
    let p = Procedures::load(&good()).unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(p.trees.keys().collect::<Vec<_>>(), ["severity"]);
    assert_eq!(p.playbooks.len(), 1);
    assert_eq!(
        p.contact_lists["executives"].members,
        [ListMember::User("cto@example.com".into()), ListMember::Email("board@example.com".into())]
    );
    assert_eq!(p.contact_lists["executives"].escalate_after_minutes, Some(30));
    assert!(p.templates.contains_key("customer-initial"));
    assert_eq!(p.severities[&Severity::Critical].update_every_minutes, Some(20), "config overrides the default");
    assert_eq!(p.severities[&Severity::Critical].acknowledge_within_minutes, Some(5), "and keeps the rest");
    assert!(p.types[&IncidentType::Security].restricted, "security incidents are restricted by default");
    assert_eq!(p.triage_tree, "severity");
}

#[test]
fn missing_names_are_reported_where_they_are_given() {
    let mut files = good();
    files.retain(|f| !f.path.starts_with("templates/") && f.path != "contacts/security-team.yaml");
    files.push(file("contacts/dup.yaml", "name: executives\nmembers:\n  - user: a@example.com\n"));
    files.push(file("trees/other.yaml", "start: q\nquestions:\n  q:\n    text: X?\n    answers:\n      - answer: y\n        outcome: o\noutcomes:\n  o: { severity: low, type: other, playbook: nope }\n"));
    let e: Vec<String> = Procedures::load(&files).expect_err("problems").iter().map(ToString::to_string).collect();
    let want = [
        "config.yaml:7: security: unknown stakeholder group \"security-team\" (add contacts/security-team.yaml)",
        "contacts/dup.yaml:1: another contact list is named \"executives\"",
        "contacts/executives.yaml:4: `escalate_to` names \"security-team\", which is not another contact list",
        "playbooks/major-outage.md:6: unknown template \"customer-initial\"",
        "trees/other.yaml:9: unknown playbook \"nope\"",
    ];
    for w in want {
        assert!(e.contains(&w.to_owned()), "missing {w:?} in {e:#?}");
    }
}

#[test]
fn bad_members_and_durations_are_reported() {
    let files = [
        file("contacts/x.yaml", "members:\n  - email: not-an-address\n  - {}\nescalate_after: later\n"),
        file("config.yaml", "severities:\n  severe: {}\n  high:\n    acknowledge_within: soon\n"),
    ];
    let e: Vec<String> = Procedures::load(&files).expect_err("problems").iter().map(ToString::to_string).collect();
    let want = [
        "config.yaml:2: unknown severity \"severe\"; expected one of: critical, high, medium, low",
        "config.yaml:4: `acknowledge_within` \"soon\": use minutes, hours or days, e.g. 15m, 4h, 1d",
        "contacts/x.yaml:2: \"not-an-address\" is not an email address",
        "contacts/x.yaml:3: a member is either `user: EMAIL` (a Firebreak user) or `email: ADDRESS` (someone outside)",
        "contacts/x.yaml:4: `escalate_after` \"later\": use minutes, hours or days, e.g. 15m, 4h, 1d",
    ];
    for w in want {
        assert!(e.contains(&w.to_owned()), "missing {w:?} in {e:#?}");
    }
}

#[test]
fn an_empty_directory_uses_the_built_in_tree() {
    let p = Procedures::load(&[]).expect("empty is fine");
    assert!(p.trees.contains_key("severity"));
    assert_eq!(p.severities.len(), 4);
    assert_eq!(Procedures::builtin().triage_tree, "severity");
}

#[test]
fn custom_roles_are_declared_in_config_and_checked_in_playbooks() {
    let mut files = good();
    files[1] = file("config.yaml", "roles:\n  customer-liaison:\n    description: Talks to the affected customers.\n");
    files.push(file(
        "playbooks/liaison.md",
        "---\nname: liaison\nroles:\n  customer-liaison:\n    - Call the top accounts\nsteps:\n  containment:\n    - task: Stop the bleeding\n      role: operations_lead\n---\n",
    ));
    let p = Procedures::load(&files).unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(p.roles["customer-liaison"], "Talks to the affected customers.");
    assert!(p.roles.contains_key("operations_lead"), "built-in roles stay");
    let liaison = p.playbooks.iter().find(|p| p.name == "liaison").unwrap_or_else(|| panic!("no playbook"));
    let items = liaison.checklist(crate::time::now());
    assert_eq!(items.last().and_then(|i| i.role.as_deref()), Some("customer-liaison"));

    // Unknown roles, in steps and role checklists, and bad role names say where they are.
    let mut bad = good();
    bad[1] = file("config.yaml", "roles:\n  Bad Role: {}\n");
    bad.push(file(
        "playbooks/liaison.md",
        "---\nname: liaison\nroles:\n  ghost:\n    - Haunt\nsteps:\n  containment:\n    - task: Do it\n      role: nobody\n---\n",
    ));
    let errors: Vec<String> = Procedures::load(&bad).err().unwrap_or_default().iter().map(|e| e.to_string()).collect();
    assert!(errors.iter().any(|e| e.starts_with("config.yaml:2: ") && e.contains("not a role name")), "{errors:#?}");
    assert!(
        errors.iter().any(|e| e.starts_with("playbooks/liaison.md:4: ") && e.contains("unknown role")),
        "{errors:#?}"
    );
    assert!(
        errors.iter().any(|e| e.starts_with("playbooks/liaison.md:9: ") && e.contains("\"nobody\"")),
        "{errors:#?}"
    );
}

#[test]
fn severities_say_what_they_show_on_status_pages() {
    use crate::status_page::ComponentStatus;
    let ok = [file("config.yaml", "severities:\n  high:\n    component_status: major_outage\n")];
    let p = Procedures::load(&ok).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(p.severities[&Severity::High].component_status, Some(ComponentStatus::MajorOutage));
    assert_eq!(p.severities[&Severity::Low].component_status, None, "the shipped default applies");
    let bad = [file("config.yaml", "severities:\n  critical:\n    component_status: on-fire\n")];
    let e: Vec<String> = Procedures::load(&bad).expect_err("problems").iter().map(ToString::to_string).collect();
    assert!(
        e.iter().any(|m| m.starts_with("config.yaml:3: critical: component_status: unknown component status")),
        "{e:?}"
    );
}

#[test]
fn postmortem_templates_load_and_are_chosen_per_severity_or_type() {
    let ok = [
        file("postmortems/security.md", "---\ndescription: For security incidents.\n---\n# {{ incident.title }}\n"),
        file(
            "config.yaml",
            "types:\n  security:\n    postmortem: security\nseverities:\n  critical:\n    postmortem: blameless\n",
        ),
    ];
    let p = Procedures::load(&ok).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(p.postmortems.keys().collect::<Vec<_>>(), ["blameless", "security"], "the built-in one stays");
    assert_eq!(p.postmortems["security"].description, "For security incidents.");
    assert_eq!(p.types[&IncidentType::Security].postmortem.as_deref(), Some("security"));
    assert_eq!(p.severities[&Severity::Critical].postmortem.as_deref(), Some("blameless"));
    assert_eq!(p.severities[&Severity::Low].postmortem, None);
    assert!(Procedures::builtin().postmortems.contains_key("blameless"));
    let bad = [
        file("postmortems/empty.md", "---\ntitle: x\n---\n\n"),
        file("config.yaml", "severities:\n  high:\n    postmortem: nowhere\n"),
    ];
    let e: Vec<String> = Procedures::load(&bad).expect_err("problems").iter().map(ToString::to_string).collect();
    assert!(e.iter().any(|m| m.starts_with("postmortems/empty.md:4: the postmortem template has no body")), "{e:?}");
    assert!(
        e.iter().any(|m| m
            .starts_with("config.yaml:3: high: unknown postmortem template \"nowhere\" (add postmortems/nowhere.md)")),
        "{e:?}"
    );
}

#[test]
fn the_review_policy_and_the_tracker_webhook_are_read_and_checked() {
    let config = "severities:\n  critical:\n    postmortem_required: true\n    postmortem_due: 2d\n  low:\n    postmortem_due: 12h\n\
                  review:\n  action_webhook: https://hooks.example.com/fb\n  action_webhook_secret: TRACKER\n";
    let p = Procedures::load(&[file("config.yaml", config)]).unwrap_or_else(|e| panic!("{e:#?}"));
    let critical = &p.severities[&Severity::Critical];
    assert!(critical.postmortem_required);
    assert_eq!(critical.postmortem_due_minutes, Some(2 * 24 * 60));
    assert_eq!(p.severities[&Severity::Low].postmortem_due_minutes, Some(12 * 60));
    assert!(!p.severities[&Severity::High].postmortem_required, "not required unless said");
    assert_eq!(p.severities[&Severity::High].postmortem_due_minutes, Some(5 * 24 * 60), "the default due time");
    assert_eq!(p.severities[&Severity::Medium].postmortem_due_minutes, None);
    assert_eq!(p.review.action_webhook.as_deref(), Some("https://hooks.example.com/fb"));
    assert_eq!(p.review.action_webhook_secret.as_deref(), Some("TRACKER"));

    for (bad, want) in [
        ("severities:\n  high:\n    postmortem_due: soon\n", "config.yaml:3: `postmortem_due` \"soon\""),
        ("review:\n  action_webhook: ftp://x\n  action_webhook_secret: T\n", "config.yaml:2: review: `action_webhook`"),
        ("review:\n  action_webhook: https://x.example\n", "config.yaml:2: review: `action_webhook` needs"),
        (
            "review:\n  action_webhook: https://x.example\n  action_webhook_secret: whsec_abc/=\n",
            "config.yaml:3: review: `action_webhook_secret`",
        ),
        ("review:\n  action_webhook_secret: T\n", "review: `action_webhook_secret` without"),
        ("review:\n  webhook: https://x.example\n", "config.yaml:2: review.webhook: Unknown field `webhook`"),
    ] {
        let errors = Procedures::load(&[file("config.yaml", bad)]).err().unwrap_or_else(|| panic!("{bad} loaded"));
        let text = errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n");
        assert!(text.contains(want), "{bad}: want {want:?} in {text}");
    }
}
