//! The JSON API under `/api/v1`, authenticated with bearer tokens, and its OpenAPI document
//! (generated from the handlers' annotations).

pub mod alerts;
pub mod audit;
pub mod calendar;
pub mod checks;
pub mod escalation;
pub mod incidents;
pub mod investigation;
pub mod paging;
pub mod procedure_files;
pub mod procedures;
pub mod review;
pub mod schedules;
pub mod services;
pub mod status_pages;
pub mod status_subscribers;
pub mod triage;
pub mod updates;
pub mod users;

use crate::AppState;
use crate::auth::{ApiPrincipal, Principal};
use crate::error::{ApiError, ErrorBody};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Firebreak API", description = "Incident response: declare, work and review incidents."),
    paths(
        incidents::create_incident,
        incidents::list_incidents,
        incidents::get_incident,
        incidents::update_incident,
        incidents::act_on_incident,
        incidents::add_note,
        incidents::assign_role,
        incidents::merge_incident,
        incidents::get_timeline,
        users::get_me,
        users::change_my_password,
        users::list_users,
        users::create_user,
        users::update_user,
        users::list_tokens,
        users::create_token,
        users::revoke_token,
        audit::list_audit,
        services::create_service,
        services::list_services,
        services::get_service,
        services::update_service,
        services::create_integration,
        services::list_integrations,
        services::rotate_integration_key,
        services::get_heartbeat,
        services::configure_heartbeat,
        services::get_mapping,
        services::set_mapping,
        services::test_mapping,
        alerts::list_alerts,
        alerts::get_alert,
        alerts::attach_alert,
        alerts::detach_alert,
        alerts::act_on_alert,
        alerts::list_changes,
        status_pages::create_status_page,
        status_pages::list_status_pages,
        status_pages::get_status_page,
        status_pages::create_status_component,
        status_pages::set_component_status,
        status_pages::update_status_page,
        status_pages::list_status_notices,
        status_pages::post_status_incident,
        status_pages::add_status_update,
        status_pages::publish_status_update,
        status_pages::schedule_status_maintenance,
        status_pages::preview_public_update,
        status_pages::draft_public_update,
        status_subscribers::list_status_subscribers,
        status_subscribers::export_status_subscribers,
        status_subscribers::create_status_subscriber,
        status_subscribers::delete_status_subscriber,
        checks::create_check,
        checks::list_checks,
        checks::check_history,
        triage::create_rule,
        triage::list_rules,
        triage::delete_rule,
        triage::create_window,
        triage::list_windows,
        triage::delete_window,
        schedules::create_schedule,
        schedules::list_schedules,
        schedules::get_schedule,
        schedules::update_schedule,
        schedules::delete_schedule,
        schedules::get_on_call,
        schedules::list_shifts,
        schedules::create_override,
        schedules::list_on_call,
        schedules::list_unreachable,
        escalation::create_policy,
        escalation::list_policies,
        escalation::get_policy,
        escalation::update_policy,
        escalation::delete_policy,
        escalation::plan_policy,
        paging::list_contact_methods,
        paging::create_contact_method,
        paging::delete_contact_method,
        paging::verify_contact_method,
        paging::resend_code,
        paging::send_test,
        paging::list_notification_rules,
        paging::create_notification_rule,
        paging::delete_notification_rule,
        paging::set_handoff,
        paging::list_my_notifications,
        paging::get_escalation,
        paging::escalate_incident,
        paging::reassign_incident,
        paging::list_incident_notifications,
        incidents::export_timeline,
        investigation::list_participants,
        investigation::add_participant,
        investigation::set_restricted,
        investigation::add_evidence,
        investigation::recent_changes,
        investigation::incident_alerts,
        updates::get_updates,
        updates::preview_update,
        updates::send_update,
        procedures::get_procedures,
        procedures::get_tree,
        procedures::start_triage,
        procedures::triage_incident,
        procedures::get_checklist,
        procedures::attach_playbook,
        procedures::set_checklist_item,
        procedures::run_action,
        procedure_files::list_files,
        procedure_files::get_file,
        procedure_files::put_file,
        calendar::create_schedule_feed,
        calendar::create_my_feed,
        calendar::list_my_feeds,
        calendar::delete_feed,
        review::get_postmortem,
        review::create_postmortem,
        review::draft_postmortem,
        review::save_postmortem,
        review::preview_postmortem,
        review::list_revisions,
        review::diff_revisions,
        review::request_review,
        review::sign_off,
        review::publish,
        review::export_postmortem,
        review::star_entry,
        review::unstar_entry,
        review::list_incident_actions,
        review::create_action_item,
        review::list_action_items,
        review::get_action_item,
        review::update_action_item,
        review::get_analytics,
        review::get_analytics_csv,
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags((name = "incidents"), (name = "users"), (name = "tokens"), (name = "audit"), (name = "services"), (name = "alerts"), (name = "triage"), (name = "on-call"), (name = "paging"), (name = "procedures"), (name = "review"))
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .merge(incidents::router())
        .merge(investigation::router())
        .merge(updates::router())
        .merge(users::router())
        .merge(audit::router())
        .merge(services::router())
        .merge(alerts::router())
        .merge(triage::router())
        .merge(checks::router())
        .merge(schedules::router())
        .merge(status_pages::router())
        .merge(status_subscribers::router())
        .merge(escalation::router())
        .merge(paging::router())
        .merge(procedures::router())
        .merge(procedure_files::router())
        .merge(calendar::router())
        .merge(review::router())
        .fallback(route_not_found)
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method",
            )
        })
}

/// The answer for a path under `/api/v1` that no route serves.
pub async fn route_not_found() -> ApiError {
    ApiError::not_found("route")
}

async fn openapi() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}

pub use crate::views::{ItemsBody, ListBody};

/// What nearly every handler starts from: the application's state and the caller, signed in
/// with a bearer token (401 otherwise).
pub struct Ctx {
    pub state: AppState,
    pub p: Principal,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let ApiPrincipal(p) = ApiPrincipal::from_request_parts(parts, state).await?;
        Ok(Ctx { state: state.clone(), p })
    }
}
