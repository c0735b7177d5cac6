//! The OpenAPI 3 document: the operations come from the router itself
//! (`api::documented`), the schemas from the DTOs.

use std::sync::OnceLock;

use axum::Json;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{Modify, OpenApi};

use super::dto::*;
use super::error::{FieldProblem, Problem, PROBLEM};
use super::idempotency::IdempotencyHeader;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Lianxi",
        description = "Public grievances and mediation for residential compounds (小区): filing, triage, response, escalation, resolution and rating; mediation cases and joint meetings of the five parties.",
        license(name = "Apache-2.0")
    ),
    components(schemas(Problem, FieldProblem, StatusDto)),
    modifiers(&BearerAuth),
    tags(
        (name = "grievances", description = "诉求: the grievance lifecycle"),
        (name = "registry", description = "The xiaoqu registry: hierarchy and the organizations acting as each xiaoqu's parties"),
        (name = "meetings", description = "联席会议: joint meetings of the five parties, agendas, minutes, action items"),
        (name = "mediation", description = "调解: mediation cases, sessions, agreements, obligations"),
        (name = "files", description = "Photos and documents: uploaded, attached to grievances, read by who may read the grievance"),
        (name = "micro", description = "五微工作法: micro-funds of a xiaoqu or a community and the micro-projects they pay for, from proposal to closing"),
        (name = "votes", description = "业主共同决定: the owners' register and owners' votes under Civil Code art. 278, counted by area and by owners"),
        (name = "ledgers", description = "台账: a place's grievance, joint-meeting and mediation ledgers and the three rates over a period, as XLSX or CSV; every export recorded"),
        (name = "figures", description = "三率: public figures without personal data"),
        (name = "audit", description = "Tamper evidence: hash chains, signed checkpoints, consistency proofs"),
        (name = "accounts", description = "Signing in, the caller's account, erasure of personal data"),
        (name = "notifications", description = "Changes to the grievances an account may see, as server-sent events"),
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

/// Every `If-Match` header parameter: a version, as [`super::grievances::if_match`]
/// reads it.
struct IfMatchHeader;

impl Modify for IfMatchHeader {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                for parameter in operation.parameters.iter_mut().flatten() {
                    if parameter.name == "If-Match"
                        && matches!(parameter.parameter_in, ParameterIn::Header)
                    {
                        parameter.schema = Some(RefOr::T(
                            ObjectBuilder::new()
                                .schema_type(Type::String)
                                .pattern(Some(super::grievances::IF_MATCH_PATTERN))
                                .into(),
                        ));
                    }
                }
            }
        }
    }
}

/// The refusals every operation of a kind shares, documented wherever they
/// can happen: a request body that is not JSON (415), too large (413) or
/// does not parse (400); an `Idempotency-Key` that is malformed (400), still
/// in use (409) or reused for another request (422). Runs after
/// [`IdempotencyHeader`], which adds the header.
struct CommonRefusals;

impl CommonRefusals {
    fn add(operation: &mut Operation, status: u16, description: &str) {
        operation
            .responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| {
                RefOr::T(
                    ResponseBuilder::new()
                        .description(description)
                        .content(
                            PROBLEM,
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("Problem")))
                                .build(),
                        )
                        .build(),
                )
            });
    }
}

impl Modify for CommonRefusals {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                if operation.request_body.is_some() {
                    Self::add(operation, 400, "Malformed body");
                    Self::add(operation, 413, "Body too large");
                    Self::add(operation, 415, "The body is not JSON");
                }
                let keyed = operation.parameters.iter().flatten().any(|p| {
                    p.name == "Idempotency-Key" && matches!(p.parameter_in, ParameterIn::Header)
                });
                if keyed {
                    Self::add(operation, 400, "Malformed Idempotency-Key");
                    Self::add(
                        operation,
                        409,
                        "A request with this Idempotency-Key is still running (see Retry-After)",
                    );
                    Self::add(
                        operation,
                        422,
                        "This Idempotency-Key was used for a different request",
                    );
                }
            }
        }
    }
}

/// The document: the operations the router serves (`super::documented`),
/// with what every operation of a kind shares.
pub fn document() -> &'static utoipa::openapi::OpenApi {
    static DOCUMENT: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let (_, mut document) = super::documented().split_for_parts();
        // In this order: the idempotency header first, which the common
        // refusals look for.
        let shared: [&dyn Modify; 4] = [
            &IdempotencyHeader,
            &IfMatchHeader,
            &CommonRefusals,
            &super::rules::RequestRules,
        ];
        for modifier in shared {
            modifier.modify(&mut document);
        }
        document
    })
}

/// `GET /api/v1/openapi.json`
pub async fn openapi_json() -> Json<&'static utoipa::openapi::OpenApi> {
    Json(document())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    /// A link, a generated client and the fuzzer's stateful sequences name
    /// an operation by its id: no two operations may share one.
    #[test]
    fn every_operation_has_an_id_of_its_own() {
        let document = serde_json::to_value(super::document()).expect("JSON");
        let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (path, item) in document["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("path item") {
                if let Some(id) = operation.get("operationId").and_then(|v| v.as_str()) {
                    seen.entry(id.to_owned())
                        .or_default()
                        .push(format!("{} {path}", method.to_uppercase()));
                }
            }
        }
        let shared: Vec<_> = seen.iter().filter(|(_, ops)| ops.len() > 1).collect();
        assert!(shared.is_empty(), "operation ids used twice: {shared:?}");
        assert!(seen.len() > 100, "{} operations", seen.len());
    }
}
