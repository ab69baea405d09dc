use super::*;

const OUTAGE: &str = "---
name: major-outage
title: Major outage
match:
  types: [outage]
  severities: [critical, high]
roles:
  scribe:
    - Start the timeline notes
steps:
  containment:
    - task: Freeze deploys
      role: operations_lead
      due: 10m
    - action: Fail over the primary database
      role: operations_lead
      request:
        method: post
        url: https://ops.example.com/failover
        headers:
          Authorization: Bearer ${secret:OPS_TOKEN}
          Content-Type: application/json
        body: '{\"cluster\": \"main\"}'
  communication:
    - update: customer-initial
      due: 15m
    - notify: executives
  review:
    - task: Schedule the postmortem
      due: 2d
---
# Major outage

Stay calm.
";

fn errors(file: &str, text: &str) -> Vec<String> {
    match Playbook::parse(file, text) {
        Ok(p) => panic!("expected problems, got {p:?}"),
        Err(e) => e.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn a_playbook_parses_into_steps_by_phase() {
    let p = Playbook::parse("playbooks/major-outage.md", OUTAGE).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!((p.name.as_str(), p.title.as_str()), ("major-outage", "Major outage"));
    assert_eq!(p.body, "# Major outage\n\nStay calm.");
    assert_eq!(p.content_hash.len(), 64);
    let titles: Vec<(&str, &str)> = p.steps.iter().map(|s| (s.phase.as_str(), s.title.as_str())).collect();
    assert_eq!(
        titles,
        [
            ("containment", "Freeze deploys"),
            ("containment", "Fail over the primary database"),
            ("communication", "Send the customer-initial update"),
            ("communication", "Notify executives"),
            ("review", "Schedule the postmortem"),
        ]
    );
    let StepKind::Action { request } = &p.steps[1].kind else { panic!("an action") };
    assert_eq!(request.method, "POST");
    assert_eq!(request.headers["Authorization"], "Bearer ${secret:OPS_TOKEN}");
    assert_eq!(p.steps[4].due_minutes, Some(2 * 24 * 60));
    assert_eq!(p.role_checklists["scribe"], ["Start the timeline notes"]);
    let refs: Vec<(ReferenceKind, &str)> = p.references().iter().map(|r| (r.kind, r.name.as_str())).collect();
    assert!(refs.contains(&(ReferenceKind::Secret, "OPS_TOKEN")));
    assert!(refs.contains(&(ReferenceKind::Template, "customer-initial")));
    assert!(refs.contains(&(ReferenceKind::ContactList, "executives")));
    let exec = p.references().iter().find(|r| r.name == "executives").expect("reference");
    assert_eq!(exec.line, 27, "lines count in the whole file, front matter fence included");
}

#[test]
fn matching_prefers_the_most_specific_playbook() {
    let general =
        Playbook::parse("p/any.yaml", "name: any\nsteps:\n  containment:\n    - task: Look\n").expect("valid");
    let outage = Playbook::parse("p/major-outage.md", OUTAGE).expect("valid");
    let security = Playbook::parse(
        "p/sec.yaml",
        "name: security\nmatch: { types: [security], tags: [pci] }\nsteps:\n  containment:\n    - task: Isolate the host\n",
    )
    .expect("valid");
    let all = [general, outage, security];
    let pick = |kind, sev, tags: &[&str]| {
        let tags: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
        best_match(&all, kind, sev, &[], &tags).map(|p| p.name.clone())
    };
    assert_eq!(pick(IncidentType::Outage, Severity::Critical, &[]).as_deref(), Some("major-outage"));
    assert_eq!(pick(IncidentType::Outage, Severity::Low, &[]).as_deref(), Some("any"), "severity does not fit");
    assert_eq!(pick(IncidentType::Security, Severity::Low, &["PCI"]).as_deref(), Some("security"));
    assert_eq!(pick(IncidentType::Security, Severity::Low, &[]).as_deref(), Some("any"), "the tag is required");
}

#[test]
fn checklists_count_due_times_from_the_declaration() {
    let p = Playbook::parse("p/major-outage.md", OUTAGE).expect("valid");
    let at: Timestamp = "2026-03-01T10:00:00Z".parse().expect("time");
    let items = p.checklist(at);
    assert_eq!(items.len(), 6, "five steps and the scribe's checklist");
    assert_eq!(items[0].due_at, Some("2026-03-01T10:10:00Z".parse().expect("time")));
    assert_eq!(items[1].due_at, None);
    assert_eq!(items[0].role.as_deref(), Some("operations_lead"));
    assert_eq!(items.iter().map(|i| i.position).collect::<Vec<_>>(), [0, 1, 2, 3, 4, 5]);
    let role_item = &items[5];
    assert_eq!(
        (role_item.phase.as_str(), role_item.title.as_str(), role_item.role.as_deref()),
        (ROLE_PHASE, "Start the timeline notes", Some("scribe"))
    );
    assert_eq!(role_item.kind, StepKind::Task);
}

#[test]
fn bad_playbooks_say_where() {
    assert_eq!(
        errors("p/x.md", "no front matter"),
        ["p/x.md:1: a playbook starts with YAML front matter between `---` lines"]
    );
    let e = errors(
        "p/x.md",
        "---
name: bad name
match: { types: [outage, fire] }
steps:
  cleanup:
    - task: Sweep
  containment:
    - task: Both
      notify: everyone
    - action: Call home
    - action: Leak
      request:
        url: ftp://x
        headers: { Authorization: Bearer abc123 }
    - task: Late
      due: soon
---
",
    );
    let want = [
        "p/x.md:2: `name` is 1 to 64 letters, digits, `-` or `_`",
        "p/x.md:3: match: unknown type \"fire\"; expected one of: outage, degradation, security, other",
        "p/x.md:5: unknown phase \"cleanup\"; expected one of: containment, investigation, resolution, communication, review",
        "p/x.md:8: a step is one of `task`, `notify`, `action` or `update` (found task and notify)",
        "p/x.md:10: an action step needs a `request` (method, url, headers, body)",
        "p/x.md:13: request url: an http(s) URL",
        "p/x.md:14: header Authorization: write secrets as ${secret:NAME} references, never inline",
        "p/x.md:16: `due` \"soon\": use minutes, hours or days after the declaration, e.g. 10m, 2h, 1d",
    ];
    for w in want {
        assert!(e.contains(&w.to_owned()), "missing {w:?} in {e:#?}");
    }
    let e = errors("p/x.yaml", "name: x\nsteps: {}\n");
    assert_eq!(e, ["p/x.yaml:1: a playbook needs at least one step"]);
    let e = errors("p/x.yaml", "name: x\nstepz: {}\n");
    assert!(e[0].starts_with("p/x.yaml:2:") && e[0].contains("stepz"), "{e:?}");
}

#[test]
fn due_times_and_secret_references_parse() {
    assert_eq!(parse_due("10m"), Some(10));
    assert_eq!(parse_due("90"), Some(90));
    assert_eq!(parse_due("2h"), Some(120));
    assert_eq!(parse_due("1d"), Some(1440));
    assert_eq!(parse_due("31d"), None);
    assert_eq!(parse_due("m"), None);
    assert_eq!(parse_due("5w"), None);
    assert_eq!(secret_references("a ${secret:A} b ${secret:B_2} ${secret:"), ["A", "B_2"]);
}
