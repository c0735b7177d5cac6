//! The OpenAPI 3 document, generated from the handlers and DTOs.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::dto::*;
use super::error::{FieldProblem, Problem};
use super::idempotency::IdempotencyHeader;
use super::{audit, grievances, health, identity, mediation, meetings, registry, story};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Lianxi",
        description = "Public grievances and mediation for residential compounds (小区): filing, triage, response, escalation, resolution and rating; mediation cases and joint meetings of the five parties.",
        license(name = "Apache-2.0")
    ),
    paths(
        health::healthz,
        health::readyz,
        grievances::file,
        grievances::list,
        grievances::get,
        grievances::events,
        grievances::accept,
        grievances::reject,
        grievances::triage,
        grievances::assign,
        grievances::respond,
        grievances::escalate,
        grievances::withdraw,
        grievances::identity_consent,
        grievances::resolve,
        grievances::rate,
        grievances::reopen,
        grievances::refer_to_meeting,
        meetings::convene,
        meetings::list,
        meetings::get,
        meetings::minutes,
        meetings::add_agenda_item,
        meetings::open,
        meetings::decide_item,
        meetings::defer_item,
        meetings::close,
        meetings::cancel,
        meetings::complete_action_item,
        meetings::agenda,
        mediation::open,
        mediation::list,
        mediation::get,
        mediation::schedule,
        mediation::record,
        mediation::propose,
        mediation::accept,
        mediation::decline,
        mediation::fail,
        mediation::fulfil,
        mediation::missed,
        grievances::merge,
        grievances::pause,
        grievances::resume,
        grievances::queue,
        grievances::figures,
        audit::verify,
        audit::take_checkpoint,
        audit::list_checkpoints,
        audit::get_checkpoint,
        audit::consistency,
        story::story,
        story::dossier,
        identity::login,
        identity::logout,
        identity::me,
        identity::erase,
        identity::add_xiaoqu,
        registry::rename,
        registry::move_to,
        registry::add_party,
        registry::retire_party,
        registry::hierarchy,
        registry::get,
        registry::history,
        registry::organization,
        identity::add_account,
        identity::revoke_tokens,
        identity::grant_role,
        identity::withdraw_role,
    ),
    components(schemas(Problem, FieldProblem, StatusDto)),
    modifiers(&BearerAuth, &IdempotencyHeader),
    tags(
        (name = "grievances", description = "诉求: the grievance lifecycle"),
        (name = "registry", description = "The xiaoqu registry: hierarchy and the organizations acting as each xiaoqu's parties"),
        (name = "meetings", description = "联席会议: joint meetings of the five parties, agendas, minutes, action items"),
        (name = "mediation", description = "调解: mediation cases, sessions, agreements, obligations"),
        (name = "figures", description = "三率: public figures without personal data"),
        (name = "audit", description = "Tamper evidence: hash chains, signed checkpoints, consistency proofs"),
        (name = "accounts", description = "Signing in, the caller's account, erasure of personal data"),
        (name = "operations", description = "Health and readiness"),
    )
)]
#[derive(Debug)]
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

/// `GET /api/v1/openapi.json`
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
