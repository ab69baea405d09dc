use super::*;

fn errors(text: &str) -> Vec<String> {
    match DecisionTree::parse("trees/t.yaml", text, "t") {
        Ok(t) => panic!("expected problems, got a tree {t:?}"),
        Err(e) => e.iter().map(ToString::to_string).collect(),
    }
}

fn tree(text: &str) -> DecisionTree {
    DecisionTree::parse("trees/t.yaml", text, "t").unwrap_or_else(|e| panic!("{e:?}"))
}

const SMALL: &str = "\
start: impact
questions:
  impact:
    text: Customers affected?
    answers:
      - answer: Yes
        next: scope
      - answer: No
        outcome: low
  scope:
    text: How many?
    answers:
      - answer: All
        outcome: critical
      - answer: Some
        outcome: high
outcomes:
  low: { severity: low, type: other }
  high: { severity: high, type: outage }
  critical: { severity: critical, type: outage, playbook: major-outage }
";

#[test]
fn a_good_tree_parses_and_walks() {
    let t = tree(SMALL);
    assert_eq!(t.name, "t", "the file stem names a tree without a name");
    let Walk::Ask { path, question } = t.walk(&[]).expect("walk") else { panic!("asks first") };
    assert!(path.is_empty());
    assert_eq!(question.text, "Customers affected?");
    let Walk::Ask { path, question } = t.walk(&[0]).expect("walk") else { panic!("asks again") };
    assert_eq!(path, [Step { question: "Customers affected?".into(), answer: "Yes".into() }]);
    assert_eq!(question.id, "scope");
    let Walk::Done { path, outcome } = t.walk(&[0, 0]).expect("walk") else { panic!("done") };
    assert_eq!(path.len(), 2);
    assert_eq!((outcome.severity, outcome.kind), (Severity::Critical, IncidentType::Outage));
    assert_eq!(outcome.playbook.as_deref(), Some("major-outage"));
    let Walk::Done { outcome, .. } = t.walk(&[1]).expect("walk") else { panic!("done") };
    assert_eq!(outcome.id, "low");
    // "Back" is the same walk with one answer fewer.
    assert!(matches!(t.walk(&[0, 1][..1]), Ok(Walk::Ask { .. })));
}

#[test]
fn walks_refuse_answers_that_do_not_exist() {
    let t = tree(SMALL);
    assert!(t.walk(&[2]).is_err(), "only two answers");
    assert!(t.walk(&[1, 0]).is_err(), "the walk ended at an outcome");
    let by_text = t.walk_by_text(&[" yes ".into(), "SOME".into()]).expect("by text");
    assert!(matches!(by_text, Walk::Done { outcome, .. } if outcome.id == "high"));
    let e = t.walk_by_text(&["maybe".into()]).expect_err("not an answer");
    assert!(e.to_string().contains("expected one of: Yes, No"), "{e}");
}

#[test]
fn playbook_references_are_checked_against_the_playbooks() {
    let t = tree(SMALL);
    assert!(t.unknown_playbooks("trees/t.yaml", &["major-outage"]).is_empty());
    let e = t.unknown_playbooks("trees/t.yaml", &[]);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].to_string(), "trees/t.yaml:20: unknown playbook \"major-outage\"");
}

#[test]
fn cycles_are_found_with_their_path() {
    let e = errors(
        "start: a
questions:
  a:
    text: A?
    answers:
      - answer: x
        next: b
      - answer: y
        outcome: o
  b:
    text: B?
    answers:
      - answer: back
        next: a
outcomes:
  o: { severity: low, type: other }
",
    );
    assert_eq!(e, ["trees/t.yaml:10: cycle: a → b → a"]);
}

#[test]
fn dead_ends_are_found() {
    let e = errors(
        "start: a
questions:
  a:
    text: A?
    answers:
      - answer: nowhere
      - answer: fine
        next: b
  b:
    text: B?
outcomes:
  o: { severity: low, type: other }
",
    );
    assert!(e.contains(&"trees/t.yaml:6: question \"a\", answer 1 (\"nowhere\") is a dead end: give `next` (a question) or `outcome`".to_owned()), "{e:?}");
    assert!(
        e.iter().any(|m| m.starts_with("trees/t.yaml:10: question \"b\" is a dead end: it has no answers")),
        "{e:?}"
    );
}

#[test]
fn unreachable_questions_and_outcomes_are_found() {
    let e = errors(
        "start: a
questions:
  a:
    text: A?
    answers:
      - answer: done
        outcome: o
  lonely:
    text: Never asked?
    answers:
      - answer: x
        outcome: unused
outcomes:
  o: { severity: low, type: other }
  unused: { severity: high, type: outage }
",
    );
    assert_eq!(
        e,
        [
            "trees/t.yaml:8: question \"lonely\" cannot be reached from the start",
            "trees/t.yaml:15: outcome \"unused\" is never reached",
        ]
    );
}

#[test]
fn unknown_names_are_found() {
    let e = errors(
        "start: nope
questions:
  a:
    text: A?
    answers:
      - answer: x
        next: missing
      - answer: y
        outcome: absent
      - answer: z
        next: a
        outcome: o
outcomes:
  o: { severity: severe, type: outage }
",
    );
    let want = [
        "trees/t.yaml:1: `start` names an unknown question \"nope\"",
        "trees/t.yaml:7: question \"a\", answer 1 (\"x\"): `next` names an unknown question \"missing\"",
        "trees/t.yaml:9: question \"a\", answer 2 (\"y\"): unknown outcome \"absent\"",
        "trees/t.yaml:10: question \"a\", answer 3 (\"z\"): give either `next` or `outcome`, not both",
        "trees/t.yaml:14: outcome \"o\": unknown severity \"severe\"; expected one of: critical, high, medium, low",
    ];
    for w in want {
        assert!(e.contains(&w.to_owned()), "missing {w:?} in {e:?}");
    }
}

#[test]
fn yaml_and_shape_errors_have_a_line() {
    let e = errors("start: a\nquestions: [\n");
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("trees/t.yaml:"), "{e:?}");
    let e = errors("start: a\nquestions: {}\noutcomes: {}\ncolour: blue\n");
    assert!(e[0].starts_with("trees/t.yaml:4:") && e[0].contains("colour"), "{e:?}");
}

#[test]
fn the_default_tree_is_valid_and_answers_sensibly() {
    let t = DecisionTree::parse("severity.yaml", DEFAULT_TREE, "severity").unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(t.name, "severity");
    let done = |answers: &[&str]| match t.walk_by_text(&answers.iter().map(|s| s.to_string()).collect::<Vec<_>>()) {
        Ok(Walk::Done { outcome, .. }) => (outcome.severity, outcome.kind),
        other => panic!("{answers:?}: {other:?}"),
    };
    assert_eq!(done(&["Yes", "Yes, or we do not know yet"]), (Severity::Critical, IncidentType::Security));
    assert_eq!(
        done(&["No", "Yes, they cannot use a core feature", "All or most"]),
        (Severity::Critical, IncidentType::Outage)
    );
    assert_eq!(
        done(&["No", "Yes, they cannot use a core feature", "Some", "Yes"]),
        (Severity::Medium, IncidentType::Outage)
    );
    assert_eq!(done(&["No", "No, only internal users or systems", "Yes"]), (Severity::Low, IncidentType::Other));
}
