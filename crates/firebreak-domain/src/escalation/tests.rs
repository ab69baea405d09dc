use super::*;
use chrono::TimeZone;

fn user(n: u128) -> EscalationTarget {
    EscalationTarget::User(UserId(uuid::Uuid::from_u128(n)))
}

fn schedule(n: u128) -> EscalationTarget {
    EscalationTarget::Schedule(ScheduleId(uuid::Uuid::from_u128(n)))
}

fn t0() -> Timestamp {
    chrono::Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single().unwrap_or_default()
}

/// Minutes after t0.
fn at(minutes: i64) -> Timestamp {
    t0() + Duration::minutes(minutes)
}

fn level(targets: &[EscalationTarget], delay_minutes: u32) -> EscalationLevel {
    EscalationLevel { targets: targets.to_vec(), round_robin: false, delay_minutes }
}

/// Primary (the on-call schedule) now, its secondary after 5 minutes, the manager after 15
/// more; then once more from the top.
fn policy() -> EscalationPolicy {
    EscalationPolicy::parse(EscalationPolicyDefinition {
        levels: vec![level(&[schedule(1)], 5), level(&[schedule(2), user(9)], 10), level(&[user(7)], 15)],
        repeat: 1,
    })
    .expect("a valid policy")
}

/// Runs the engine's loop from t0 to `until` (minutes), firing whatever is due whenever it
/// runs at one of `runs`, and returns (minute it ran, step number, level, due minute, skipped).
fn drive(p: &EscalationPolicy, runs: &[i64]) -> Vec<(i64, u32, usize, i64, u32)> {
    let mut progress = EscalationProgress { started_at: t0(), last: None };
    let mut fired = Vec::new();
    for &minute in runs {
        if let EscalationDecision::Fire { step, skipped } = p.decide(&progress, at(minute)) {
            fired.push((minute, step.number, step.level, (step.due_at - t0()).num_minutes(), skipped));
            progress.last = Some((step.number, step.due_at));
        }
    }
    fired
}

#[test]
fn the_plan_lists_every_level_of_every_pass_with_its_time() {
    let plan: Vec<(u32, u32, usize, i64)> =
        policy().plan(t0()).iter().map(|s| (s.number, s.cycle, s.level, (s.due_at - t0()).num_minutes())).collect();
    assert_eq!(plan, [(0, 0, 0, 0), (1, 0, 1, 5), (2, 0, 2, 15), (3, 1, 0, 30), (4, 1, 1, 35), (5, 1, 2, 45)]);
    assert_eq!(policy().step_count(), 6);
}

#[test]
fn levels_fire_on_time_when_nobody_acknowledges() {
    let p = policy();
    // The engine wakes every minute for an hour.
    let runs: Vec<i64> = (0..60).collect();
    assert_eq!(
        drive(&p, &runs),
        [(0, 0, 0, 0, 0), (5, 1, 1, 5, 0), (15, 2, 2, 15, 0), (30, 3, 0, 30, 0), (35, 4, 1, 35, 0), (45, 5, 2, 45, 0)]
    );
    let progress = EscalationProgress { started_at: t0(), last: Some((5, at(45))) };
    assert_eq!(p.decide(&progress, at(600)), EscalationDecision::Finished, "the policy is exhausted");
}

#[test]
fn between_steps_the_engine_is_told_when_to_come_back() {
    let p = policy();
    let progress = EscalationProgress { started_at: t0(), last: Some((0, t0())) };
    assert_eq!(p.decide(&progress, at(3)), EscalationDecision::WaitUntil(at(5)));
    let before_start = EscalationProgress { started_at: at(10), last: None };
    assert_eq!(p.decide(&before_start, at(9)), EscalationDecision::WaitUntil(at(10)));
}

#[test]
fn after_downtime_only_the_current_step_pages_and_later_steps_keep_their_times() {
    let p = policy();
    // Fired the first step, then the engine was down from minute 1 to minute 40.
    assert_eq!(
        drive(&p, &[0, 40, 41, 44, 45, 46]),
        [(0, 0, 0, 0, 0), (40, 4, 1, 35, 3), (45, 5, 2, 45, 0)],
        "steps 1-3 are skipped, step 4 (due at 35) fires once, step 5 still at 45"
    );
    // Down for the whole escalation: the last step fires once.
    assert_eq!(drive(&p, &[500, 501]), [(500, 5, 2, 45, 5)]);
}

#[test]
fn a_late_run_does_not_delay_the_following_steps() {
    let p = policy();
    // The engine ran 2 minutes late for step 1: step 2 is still due at 15, not 17.
    assert_eq!(drive(&p, &[0, 7, 14, 15]), [(0, 0, 0, 0, 0), (7, 1, 1, 5, 0), (15, 2, 2, 15, 0)]);
}

#[test]
fn acknowledging_mid_way_stops_paging() {
    // The engine stops asking once the incident is acknowledged: what fired is what was paged.
    let p = policy();
    let fired = drive(&p, &[0, 5, 9]); // acknowledged at minute 9
    assert_eq!(fired.len(), 2);
    assert_eq!(fired.last().map(|f| f.1), Some(1), "the secondary was the last paged");
}

#[test]
fn escalate_now_fires_the_next_level_at_once_and_counts_on_from_it() {
    let p = policy();
    let progress = EscalationProgress { started_at: t0(), last: Some((0, t0())) };
    let step = p.escalate_now(&progress, at(2)).expect("a next level");
    assert_eq!((step.number, step.level, step.due_at), (1, 1, at(2)));
    let progress = EscalationProgress { started_at: t0(), last: Some((step.number, step.due_at)) };
    assert_eq!(
        p.decide(&progress, at(3)),
        EscalationDecision::WaitUntil(at(12)),
        "level 2's 10 minutes count from now"
    );
    let exhausted = EscalationProgress { started_at: t0(), last: Some((5, at(45))) };
    assert_eq!(p.escalate_now(&exhausted, at(50)), None);
}

#[test]
fn round_robin_levels_page_one_target_in_turn() {
    let p = EscalationPolicy::parse(EscalationPolicyDefinition {
        levels: vec![
            EscalationLevel { targets: vec![user(1), user(2), user(3)], round_robin: true, delay_minutes: 5 },
            level(&[user(8), schedule(4)], 5),
        ],
        repeat: 2,
    })
    .expect("a valid policy");
    let plan = p.plan(t0());
    let first = |turns| p.targets(&plan[0], turns);
    assert_eq!((first(0), first(1), first(2), first(3)), (vec![user(1)], vec![user(2)], vec![user(3)], vec![user(1)]));
    assert_eq!(p.targets(&plan[1], 7), [user(8), schedule(4)], "other levels page everyone");
    assert_eq!(plan.len(), 6);
}

#[test]
fn policies_that_cannot_work_are_refused_with_the_reason() {
    let refused = |levels: Vec<EscalationLevel>, repeat: u32| {
        EscalationPolicy::parse(EscalationPolicyDefinition { levels, repeat }).expect_err("refused").to_string()
    };
    assert!(refused(vec![], 0).contains("1 to 20 levels"));
    assert!(refused(vec![level(&[], 5)], 0).contains("level 1 needs 1 to 50 targets"));
    assert!(refused(vec![level(&[user(1)], 5), level(&[user(1)], 0)], 0).contains("level 2: the delay"));
    assert!(refused(vec![level(&[user(1)], 1441)], 0).contains("1 to 1440 minutes"));
    assert!(refused(vec![level(&[user(1), user(1)], 5)], 0).contains("twice"));
    assert!(refused(vec![level(&[user(1)], 5)], 10).contains("at most 9 repeats"));
    assert!(refused((0..21).map(|i| level(&[user(i)], 5)).collect(), 0).contains("1 to 20 levels"));
}

#[test]
fn definitions_read_as_json() {
    let def: EscalationPolicyDefinition = serde_json::from_value(serde_json::json!({
        "levels": [
            {"targets": [{"type": "schedule", "id": uuid::Uuid::from_u128(1)}], "delay_minutes": 5},
            {"targets": [{"type": "user", "id": uuid::Uuid::from_u128(2)}], "round_robin": true, "delay_minutes": 10}
        ],
        "repeat": 1
    }))
    .expect("a definition");
    let p = EscalationPolicy::parse(def.clone()).expect("valid");
    assert_eq!(p.definition().levels[0].targets, [schedule(1)]);
    assert!(p.definition().levels[1].round_robin);
    let back: EscalationPolicyDefinition =
        serde_json::from_value(serde_json::to_value(&def).expect("serializes")).expect("reads back");
    assert_eq!(back, def);
    let bad = serde_json::json!({"levels": [{"targets": [], "delay_minutes": 5, "wait": 1}]});
    assert!(serde_json::from_value::<EscalationPolicyDefinition>(bad).is_err(), "unknown fields are refused");
}

#[test]
fn a_fault_in_a_level_says_which_level_and_part() {
    let path = |levels: Vec<EscalationLevel>, repeat: u32| {
        EscalationPolicy::check(EscalationPolicyDefinition { levels, repeat }).expect_err("refused").path
    };
    assert_eq!(path(vec![level(&[user(1)], 5), level(&[], 5)], 0), "levels[1].targets");
    assert_eq!(path(vec![level(&[user(1), user(1)], 5)], 0), "levels[0].targets");
    assert_eq!(path(vec![level(&[user(1)], 5), level(&[user(2)], 0)], 0), "levels[1].delay_minutes");
    assert_eq!(path(vec![], 0), "levels");
    assert_eq!(path(vec![level(&[user(1)], 5)], 10), "repeat");
}
