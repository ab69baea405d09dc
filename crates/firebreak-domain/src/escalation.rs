//! Escalation policies: who is paged for an incident, in what order, and when.
//!
//! A policy is a list of **levels**. Each level names targets — users and on-call schedules —
//! paged all at once or, with `round_robin`, one at a time in turn; then it waits its
//! `delay_minutes` before the next level. After the last level the whole policy runs again
//! `repeat` more times. Acknowledging or resolving the incident stops it.
//!
//! The timing is decided here, from the policy and what has fired so far, never from a
//! running timer: the engine stores the last step fired and its due time, asks
//! [`EscalationPolicy::decide`] when that step's wait is over, and so carries on correctly
//! after a restart. After downtime an incident pages its *current* step once — the steps it
//! missed are skipped, not replayed — and later steps keep their original times.

use crate::{DomainError, Fault, ScheduleId, Timestamp, UserId};
use chrono::Duration;
use serde::{Deserialize, Serialize};

/// Levels of one policy at most.
pub const MAX_LEVELS: usize = 20;
/// Targets of one level at most.
pub const MAX_TARGETS: usize = 50;
/// Longest wait between levels, in minutes (one day).
pub const MAX_DELAY_MINUTES: u32 = 24 * 60;
/// Most repeats of the whole policy.
pub const MAX_REPEAT: u32 = 9;

/// Someone (or some rota) a level pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum EscalationTarget {
    #[schema(value_type = String, format = Uuid)]
    User(UserId),
    /// Whoever the schedule has on call when the level fires.
    #[schema(value_type = String, format = Uuid)]
    Schedule(ScheduleId),
}

/// One level: its targets, whether they are paged in turn, and the wait before the next level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationLevel {
    pub targets: Vec<EscalationTarget>,
    /// Page one target per firing, in turn, instead of all of them.
    #[serde(default)]
    pub round_robin: bool,
    /// Minutes to wait for an acknowledgement before the next level.
    pub delay_minutes: u32,
}

/// A policy as written (and stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationPolicyDefinition {
    pub levels: Vec<EscalationLevel>,
    /// How many more times the whole policy runs after its last level (0: once in all).
    #[serde(default)]
    pub repeat: u32,
}

/// One firing of one level: step `number` counts from 0 across repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct EscalationStep {
    pub number: u32,
    /// Which pass through the levels (0 is the first).
    pub cycle: u32,
    pub level: usize,
    #[schema(value_type = String, format = DateTime)]
    pub due_at: Timestamp,
}

/// What has fired so far for one incident. `last` is `None` before the first step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationProgress {
    /// When the escalation started (the first step is due then).
    pub started_at: Timestamp,
    /// The last step fired, and the time it was due (not when it ran: a late run keeps the
    /// later steps on their times).
    pub last: Option<(u32, Timestamp)>,
}

/// What to do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EscalationDecision {
    /// Fire this step; `skipped` steps were due before it and are not paged (downtime).
    Fire { step: EscalationStep, skipped: u32 },
    /// Nothing is due before this instant.
    WaitUntil(Timestamp),
    /// Every step has fired: the policy is exhausted.
    Finished,
}

/// A checked policy: 1 to 20 levels, each with 1 to 50 distinct targets and a delay of 1 to
/// 1,440 minutes; at most 9 repeats. Only [`EscalationPolicy::parse`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationPolicy {
    definition: EscalationPolicyDefinition,
}

impl EscalationPolicy {
    pub fn parse(definition: EscalationPolicyDefinition) -> Result<Self, DomainError> {
        Self::check(definition).map_err(|f| f.error)
    }

    /// [`EscalationPolicy::parse`], saying where the problem is: in one level it is that level
    /// and its part (`levels[1].targets` or `levels[1].delay_minutes`), so that a form can show
    /// it there.
    pub fn check(definition: EscalationPolicyDefinition) -> Result<Self, Fault> {
        if definition.levels.is_empty() || definition.levels.len() > MAX_LEVELS {
            return Err(DomainError::invalid("levels", format!("a policy has 1 to {MAX_LEVELS} levels")).into());
        }
        for (i, level) in definition.levels.iter().enumerate() {
            let n = i + 1;
            let fault =
                |part, message: String| Fault::in_entry("levels", i, part, DomainError::invalid("levels", message));
            if level.targets.is_empty() || level.targets.len() > MAX_TARGETS {
                return Err(fault("targets", format!("level {n} needs 1 to {MAX_TARGETS} targets")));
            }
            let mut seen = std::collections::HashSet::new();
            if !level.targets.iter().all(|t| seen.insert(*t)) {
                return Err(fault("targets", format!("level {n} names a target twice")));
            }
            if level.delay_minutes == 0 || level.delay_minutes > MAX_DELAY_MINUTES {
                return Err(fault(
                    "delay_minutes",
                    format!("level {n}: the delay must be 1 to {MAX_DELAY_MINUTES} minutes"),
                ));
            }
        }
        if definition.repeat > MAX_REPEAT {
            return Err(DomainError::invalid("repeat", format!("at most {MAX_REPEAT} repeats")).into());
        }
        Ok(EscalationPolicy { definition })
    }

    pub fn definition(&self) -> &EscalationPolicyDefinition {
        &self.definition
    }

    /// Steps in all: every level, once per pass.
    pub fn step_count(&self) -> u32 {
        self.definition.levels.len() as u32 * (self.definition.repeat + 1)
    }

    fn level_of(&self, number: u32) -> usize {
        number as usize % self.definition.levels.len()
    }

    fn delay_after(&self, number: u32) -> Duration {
        Duration::minutes(i64::from(self.definition.levels[self.level_of(number)].delay_minutes))
    }

    fn step(&self, number: u32, due_at: Timestamp) -> EscalationStep {
        let levels = self.definition.levels.len() as u32;
        EscalationStep { number, cycle: number / levels, level: self.level_of(number), due_at }
    }

    /// Every step with its due time, for an escalation that starts at `started_at` and is
    /// never acknowledged (the timeline a policy page shows).
    pub fn plan(&self, started_at: Timestamp) -> Vec<EscalationStep> {
        let mut due = started_at;
        (0..self.step_count())
            .map(|n| {
                let step = self.step(n, due);
                due += self.delay_after(n);
                step
            })
            .collect()
    }

    /// What is due at `now`, given what has fired. Among several steps due (after downtime),
    /// only the latest fires; the others count as skipped.
    pub fn decide(&self, progress: &EscalationProgress, now: Timestamp) -> EscalationDecision {
        let (mut number, mut due) = match progress.last {
            None => (0, progress.started_at),
            Some((last, at)) => (last + 1, at + self.delay_after(last)),
        };
        if number >= self.step_count() {
            return EscalationDecision::Finished;
        }
        if due > now {
            return EscalationDecision::WaitUntil(due);
        }
        let mut skipped = 0;
        while number + 1 < self.step_count() {
            let next_due = due + self.delay_after(number);
            if next_due > now {
                break;
            }
            (number, due, skipped) = (number + 1, next_due, skipped + 1);
        }
        EscalationDecision::Fire { step: self.step(number, due), skipped }
    }

    /// "Escalate now": the step after the last fired, due at `now` (the following steps count
    /// from it). `None` when the policy is exhausted.
    pub fn escalate_now(&self, progress: &EscalationProgress, now: Timestamp) -> Option<EscalationStep> {
        let number = progress.last.map_or(0, |(last, _)| last + 1);
        (number < self.step_count()).then(|| self.step(number, now))
    }

    /// Whom `step` pages: all of its level's targets, or — round robin — the one whose turn it
    /// is, given how many times this level has paged before (`turns`, kept by the caller so
    /// that the turn passes on across incidents).
    pub fn targets(&self, step: &EscalationStep, turns: u64) -> Vec<EscalationTarget> {
        let level = &self.definition.levels[step.level];
        if level.round_robin {
            let n = level.targets.len() as u64;
            vec![level.targets[(turns % n) as usize]]
        } else {
            level.targets.clone()
        }
    }
}

#[cfg(test)]
mod tests;
