//! The storage contract of post-incident review: postmortems (their revisions, reviewers and
//! sign-offs), timeline entries starred as key events, action items (with the tracker webhook
//! queued in the same transaction), the reminders when either is late, and the facts that
//! response analytics are computed from.

use crate::StoreResult;
use async_trait::async_trait;
use chrono::NaiveDate;
use firebreak_domain::review::{ActionKind, ActionPriority, ActionStatus, PostmortemState};
use firebreak_domain::{Actor, IncidentId, IncidentType, ServiceId, Severity, Timestamp, UserId};
use serde::Serialize;

/// One incident's postmortem: its current revision and review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Postmortem {
    pub id: uuid::Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub incident_id: IncidentId,
    /// The template it was drafted from.
    pub template: String,
    pub title: String,
    /// Markdown.
    pub body: String,
    pub state: PostmortemState,
    /// The current revision's number, from 1.
    pub revision: i64,
    /// [`firebreak_domain::review::revision_hash`] of the current revision.
    pub revision_hash: String,
    /// When the impact began, as the review found (analytics' MTTD uses it).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub impact_started_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub created_by: Option<UserId>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub published_at: Option<Timestamp>,
    pub reviewers: Vec<Reviewer>,
}

/// A named reviewer and their sign-off (of the revision they signed, which may be older
/// than the current one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Reviewer {
    #[schema(value_type = String, format = Uuid)]
    pub user_id: UserId,
    pub name: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub signed_off_at: Option<Timestamp>,
    pub signed_revision: Option<i64>,
    pub signed_hash: Option<String>,
}

/// A saved revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PostmortemRevision {
    pub number: i64,
    pub hash: String,
    pub title: String,
    pub body: String,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub author_id: Option<UserId>,
    pub author_name: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// A new revision, based on revision `base` (409 when the postmortem has moved on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostmortemEdit {
    pub base: i64,
    pub title: String,
    pub body: String,
    pub impact_started_at: Option<Timestamp>,
}

/// Where trackers hear about action items: the URL and the `whsec_` secret that signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerHook {
    pub url: String,
    pub secret: Option<String>,
}

/// An action item, with what lists show of its incident and owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ActionItem {
    pub id: uuid::Uuid,
    /// Installation-wide number (`AI-<number>`).
    pub number: i64,
    #[schema(value_type = String, format = Uuid)]
    pub incident_id: IncidentId,
    pub incident_number: i64,
    pub incident_title: String,
    /// Added from the postmortem (else from the incident).
    pub from_postmortem: bool,
    pub title: String,
    pub kind: ActionKind,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub owner_id: Option<UserId>,
    pub owner_name: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    pub due_on: Option<NaiveDate>,
    pub priority: ActionPriority,
    pub status: ActionStatus,
    /// The item in an external tracker.
    pub link: Option<String>,
    /// Of a procedure change: the procedures file it changes.
    pub procedure_file: Option<String>,
    /// The incident's catalog service.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub service_id: Option<ServiceId>,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub created_by: Option<UserId>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// When it became done or won't do.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<Timestamp>,
}

/// An action item's fields, checked by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionItemFields {
    pub title: String,
    pub kind: ActionKind,
    pub owner_id: Option<UserId>,
    pub due_on: Option<NaiveDate>,
    pub priority: ActionPriority,
    pub status: ActionStatus,
    pub link: Option<String>,
    pub procedure_file: Option<String>,
}

/// Which action items to list (newest first).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionFilter {
    pub incident: Option<IncidentId>,
    pub owner: Option<UserId>,
    pub service: Option<ServiceId>,
    pub statuses: Vec<ActionStatus>,
    /// Only open or in-progress items due before this day.
    pub overdue_on: Option<NaiveDate>,
    pub before_number: Option<i64>,
    pub limit: u32,
    /// Items of restricted incidents this viewer does not take part in are left out.
    pub viewer: Option<crate::Viewer>,
}

/// What analytics look at: incidents detected in `[from, to)` matching the filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyticsScope {
    pub from: Timestamp,
    pub to: Timestamp,
    pub service: Option<ServiceId>,
    /// The owner team of the incidents' services.
    pub team: Option<String>,
    pub severities: Vec<Severity>,
    pub kinds: Vec<IncidentType>,
    /// How many of the noisiest alert sources and fingerprints to return.
    pub top: u32,
    /// Alerts of restricted incidents this viewer does not take part in are left out of the
    /// noisiest fingerprints and sources (their dedup keys can say what happened).
    pub viewer: Option<crate::Viewer>,
}

/// What a reminder round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reminded {
    pub postmortems: usize,
    pub action_items: usize,
}

/// Post-incident review. Every change is audited; postmortem changes also go on the
/// incident's timeline.
#[async_trait]
pub trait ReviewStore: Send + Sync {
    /// Starts the incident's postmortem at revision 1 (a draft); 409 when it has one.
    async fn create_postmortem(
        &self,
        incident: IncidentId,
        template: &str,
        title: &str,
        body: &str,
        actor: &Actor,
    ) -> StoreResult<Postmortem>;
    async fn postmortem(&self, incident: IncidentId) -> StoreResult<Postmortem>;
    /// The postmortems of these incidents (those that have one).
    async fn postmortems_of(&self, incidents: &[IncidentId]) -> StoreResult<Vec<Postmortem>>;
    /// Saves a new revision. A postmortem in review or published goes (back) to review and
    /// its sign-offs no longer match; 409 when `edit.base` is not the current revision.
    async fn save_postmortem(
        &self,
        incident: IncidentId,
        edit: PostmortemEdit,
        actor: &Actor,
    ) -> StoreResult<Postmortem>;
    /// Every revision, oldest first.
    async fn postmortem_revisions(&self, incident: IncidentId) -> StoreResult<Vec<PostmortemRevision>>;
    /// Sends the postmortem to review by these reviewers (replacing the named ones; those
    /// kept keep their sign-offs).
    async fn request_postmortem_review(
        &self,
        incident: IncidentId,
        reviewers: &[UserId],
        actor: &Actor,
    ) -> StoreResult<Postmortem>;
    /// Records `reviewer`'s sign-off of the revision with `hash`; 409 when that is not the
    /// current revision, 400 when they are not a named reviewer.
    async fn sign_off_postmortem(
        &self,
        incident: IncidentId,
        reviewer: UserId,
        hash: &str,
        actor: &Actor,
    ) -> StoreResult<Postmortem>;
    /// Publishes it when every reviewer signed off the current revision.
    async fn publish_postmortem(&self, incident: IncidentId, actor: &Actor) -> StoreResult<Postmortem>;
    /// Stars (or unstars) a timeline entry of the incident as a key event.
    async fn star_timeline_entry(
        &self,
        incident: IncidentId,
        seq: i64,
        starred: bool,
        actor: &Actor,
    ) -> StoreResult<()>;
    /// The sequence numbers of the incident's key events.
    async fn key_events(&self, incident: IncidentId) -> StoreResult<Vec<i64>>;
    /// Adds an action item; with a tracker hook, its `action_item.created` event is queued
    /// in the same transaction.
    async fn create_action_item(
        &self,
        incident: IncidentId,
        from_postmortem: bool,
        fields: ActionItemFields,
        hook: Option<&TrackerHook>,
        actor: &Actor,
    ) -> StoreResult<ActionItem>;
    /// Changes an action item (by number); `action_item.updated` as for create.
    async fn update_action_item(
        &self,
        number: i64,
        fields: ActionItemFields,
        hook: Option<&TrackerHook>,
        actor: &Actor,
    ) -> StoreResult<ActionItem>;
    async fn action_item(&self, number: i64) -> StoreResult<ActionItem>;
    async fn list_action_items(&self, filter: &ActionFilter) -> StoreResult<crate::Page<ActionItem>>;
    /// Reminds, through their notification rules, the commander (or the declarer) of each
    /// incident resolved longer ago than its severity's postmortem due time without a
    /// published postmortem (once per incident), and the owner of each open action item
    /// past its due day (once a day, `today`).
    async fn process_review_reminders(
        &self,
        now: Timestamp,
        due: &[(Severity, u32)],
        today: NaiveDate,
    ) -> StoreResult<Reminded>;
    /// The facts analytics are computed from (drills included, flagged).
    async fn analytics_facts(&self, scope: &AnalyticsScope)
    -> StoreResult<firebreak_domain::analytics::AnalyticsInput>;
}
