use super::*;

const GOOD: &str = "\
title: Checkout database failover
description: The primary stops answering during the lunch peak.
services: [checkout, payments]
mode: live
restricted: true
every: 90d
injects:
  - at: 10m
    note: The database primary stops answering
  - at: 0m
    alert:
      summary: Checkout p99 latency above 2 s
      severity: critical
      key: checkout-latency
  - at: 90s
    customer_report:
      from: Acme support
      text: Customers cannot pay
  - at: 12m
    call: The VP of engineering calls the commander for an ETA
expect:
  acknowledged_within: 5m
  commander_within: 10m
  severity: critical
  steps_done: [Page the database on-call]
  first_update_within: 15m
  status_page_draft: true
  contained_within: 1h
";

fn problems(text: &str) -> Vec<String> {
    match DrillScenario::parse("drills/x.yaml", "x", text) {
        Ok(s) => panic!("accepted: {s:?}"),
        Err(e) => e.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn a_scenario_reads_every_inject_in_time_order_and_every_expectation() {
    let s = DrillScenario::parse("drills/failover.yaml", "failover", GOOD).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!((s.name.as_str(), s.title.as_str()), ("failover", "Checkout database failover"));
    assert_eq!(s.services, ["checkout", "payments"]);
    assert_eq!((s.mode, s.restricted, s.every_days), (DrillMode::Live, true, Some(90)));
    let at: Vec<u32> = s.injects.iter().map(|i| i.at_seconds).collect();
    assert_eq!(at, [0, 90, 600, 720], "sorted by offset");
    assert!(matches!(
        &s.injects[0].kind,
        InjectKind::Alert { summary, severity: AlertSeverity::Critical, key: Some(k), integration: None }
            if summary == "Checkout p99 latency above 2 s" && k == "checkout-latency"
    ));
    assert!(matches!(&s.injects[1].kind, InjectKind::CustomerReport { from, .. } if from == "Acme support"));
    assert!(matches!(&s.injects[3].kind, InjectKind::Call { .. }));
    assert_eq!(
        s.expectations,
        vec![
            Expectation::AcknowledgedWithin { seconds: 300 },
            Expectation::CommanderWithin { seconds: 600 },
            Expectation::SeverityIs { severity: Severity::Critical },
            Expectation::StepsDone { steps: vec!["Page the database on-call".into()] },
            Expectation::FirstUpdateWithin { seconds: 900 },
            Expectation::StatusPageDraft,
            Expectation::ContainedWithin { seconds: 3600 },
        ]
    );
    assert_eq!(s.content_hash.len(), 64);
    assert_eq!(Expectation::ContainedWithin { seconds: 5400 }.describe(), "contained within 1h 30m");
}

#[test]
fn defaults_are_a_live_unrestricted_drill_without_schedule() {
    let s = DrillScenario::parse(
        "drills/d.yaml",
        "d",
        "title: T\nservices: [api]\ninjects:\n  - at: 0\n    alert:\n      summary: down\n",
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!((s.mode, s.restricted, s.every_days), (DrillMode::Live, false, None));
    assert!(matches!(&s.injects[0].kind, InjectKind::Alert { severity: AlertSeverity::Error, key: None, .. }));
    assert!(s.expectations.is_empty());
}

#[test]
fn each_problem_is_located() {
    let text = "\
title: T
services: [api]
mode: rehearsal
every: quarterly
injects:
  - at: soon
    note: x
  - at: 1m
    note: a
    call: b
  - at: 2m
    alert:
      summary: s
      severity: loud
      key: k
  - at: 3m
    alert:
      summary: s2
      key: k
  - at: 25h
    note: late
expect:
  acknowledged_within: 5 minutes
  severity: sev1
";
    let p = problems(text);
    let has = |needle: &str| assert!(p.iter().any(|m| m.contains(needle)), "{needle:?} not in {p:#?}");
    has("drills/x.yaml:3: unknown drill mode \"rehearsal\"");
    has("drills/x.yaml:4: `every` \"quarterly\"");
    has("drills/x.yaml:6: `at` \"soon\"");
    has("drills/x.yaml:8: an inject is exactly one of");
    has("drills/x.yaml:14: unknown severity \"loud\"");
    has("drills/x.yaml:19: another inject sends the key \"k\"");
    has("drills/x.yaml:20: `at` \"25h\"");
    has("drills/x.yaml:23: `acknowledged_within` \"5 minutes\"");
    has("drills/x.yaml:24: unknown severity \"sev1\"");
}

#[test]
fn shape_errors_and_missing_parts_are_refused() {
    assert!(
        problems("title: T\nservices: []\ninjects: [{at: 0m, note: x}]\n")
            .iter()
            .any(|m| m.contains("names at least one service"))
    );
    assert!(problems("title: T\nservices: [api]\n").iter().any(|m| m.contains("at least one inject")));
    assert!(
        problems("title: T\nservices: [api]\ninjects: [{at: 0m, note: x}]\nexpect: {}\n")
            .iter()
            .any(|m| m.contains("names nothing to score"))
    );
    let unknown = problems("title: T\nservices: [api]\nwhen: now\ninjects: [{at: 0m, note: x}]\n");
    assert!(unknown.iter().any(|m| m.starts_with("drills/x.yaml:") && m.contains("when")), "{unknown:?}");
    assert!(
        problems("title: ''\nservices: [api]\ninjects: [{at: 0m, note: x}]\n").iter().any(|m| m.contains("`title`"))
    );
    assert!(
        problems("title: T\nservices: [api]\ninjects: [{at: 0m, note: '  '}]\n").iter().any(|m| m.contains("`note`"))
    );
}

#[test]
fn offsets_read_seconds_minutes_and_hours() {
    assert_eq!(parse_offset("30s"), Some(30));
    assert_eq!(parse_offset("15"), Some(900));
    assert_eq!(parse_offset("2h"), Some(7200));
    assert_eq!(parse_offset("24h"), Some(86_400));
    assert_eq!(parse_offset("25h"), None);
    assert_eq!(parse_offset("1d"), None);
    assert_eq!(parse_offset("-5m"), None);
    assert_eq!(parse_offset("99999999999m"), None);
}

#[test]
fn a_drill_is_scored_against_its_targets_from_the_start() {
    let s = DrillScenario::parse("drills/failover.yaml", "failover", GOOD).unwrap_or_else(|e| panic!("{e:?}"));
    let start = chrono::DateTime::parse_from_rfc3339("2026-03-29T00:30:00Z")
        .map(|t| t.to_utc())
        .unwrap_or_else(|e| panic!("{e}"));
    let at = |m: i64, sec: i64| Some(start + chrono::TimeDelta::minutes(m) + chrono::TimeDelta::seconds(sec));
    let record = DrillRecord {
        started_at: Some(start),
        acknowledged_at: at(5, 0), // exactly on the target: met
        commander_at: at(10, 1),   // a second late: missed
        severity: Some(Severity::High),
        steps_done: vec!["page the database on-call".into()],
        first_update_at: None,
        status_page_draft_at: at(20, 0),
        contained_at: at(59, 59),
    };
    let scores = score(&s, &record);
    let by = |i: usize| (&scores[i].met, scores[i].measured_seconds, scores[i].missed_because.as_deref());
    assert_eq!(by(0), (&true, Some(300), None));
    assert_eq!(by(1), (&false, Some(601), Some("assigned a commander after 10m 1s, target 10m")));
    assert_eq!(by(2), (&false, None, Some("triaged as high, expected critical")));
    assert_eq!(by(3), (&true, None, None), "step titles match without regard to case");
    assert_eq!(by(4), (&false, None, Some("never sent the first update")));
    assert_eq!(by(5), (&true, Some(1200), None));
    assert_eq!(by(6), (&true, Some(3599), None));
    assert_eq!(scores.iter().filter(|s| s.met).count(), 4);
    // Nothing happened: every expectation missed, none measured.
    let none = score(&s, &DrillRecord { started_at: Some(start), ..DrillRecord::default() });
    assert!(none.iter().all(|s| !s.met && s.measured_seconds.is_none() && s.missed_because.is_some()));
}
