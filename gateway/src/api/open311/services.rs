//! Services: one per grievance category, with the extra fields as
//! attributes.

use super::*;

/// A grievance category as an Open311 service.
#[derive(Clone, Copy, Debug)]
pub(super) struct Service {
    pub(super) category: Category,
    pub(super) code: &'static str,
    pub(super) name: &'static str,
    pub(super) description: &'static str,
    pub(super) keywords: &'static str,
    pub(super) group: &'static str,
}

/// Every category, in DOMAIN.md's order: the service list.
pub(super) const CATEGORIES: [Category; 13] = [
    Category::PropertyService,
    Category::Fees,
    Category::Repairs,
    Category::MaintenanceFund,
    Category::PublicRevenue,
    Category::Parking,
    Category::Sanitation,
    Category::Safety,
    Category::Noise,
    Category::Renovation,
    Category::Neighbour,
    Category::OwnersCommittee,
    Category::Other,
];

/// The service of a category. An exhaustive match, so that a new category
/// cannot be left without one.
pub(super) fn service(category: Category) -> Service {
    let (code, name, description, keywords, group) = match category {
        Category::PropertyService => (
            "property_service",
            "物业服务",
            "物业服务质量:保洁、绿化、秩序维护、客服响应 (quality of the property company's service)",
            "物业,服务,保洁,绿化,客服,property service",
            "物业管理",
        ),
        Category::Fees => (
            "fees",
            "物业费",
            "物业费的收取、标准与公示 (property management fees)",
            "物业费,收费,公示,fees",
            "物业管理",
        ),
        Category::Repairs => (
            "repairs",
            "维修",
            "共用设施设备维修:电梯、供水、供电等 (repairs: lifts, water, power)",
            "维修,电梯,供水,供电,repairs,lift,water,power",
            "物业管理",
        ),
        Category::MaintenanceFund => (
            "maintenance_fund",
            "维修资金",
            "专项维修资金的申请、使用与公示 (the maintenance fund)",
            "维修资金,专项维修资金,maintenance fund",
            "资金与收益",
        ),
        Category::PublicRevenue => (
            "public_revenue",
            "公共收益",
            "小区公共收益(广告、停车等)的收支与公示 (revenue from common property)",
            "公共收益,广告,收支,public revenue",
            "资金与收益",
        ),
        Category::Parking => (
            "parking",
            "停车",
            "停车位、车库与车辆秩序 (parking)",
            "停车,车位,车库,parking",
            "公共秩序",
        ),
        Category::Sanitation => (
            "sanitation",
            "环境卫生",
            "垃圾清运、公共区域卫生 (sanitation)",
            "环境卫生,垃圾,清洁,sanitation",
            "公共秩序",
        ),
        Category::Safety => (
            "safety",
            "安全",
            "消防通道、门禁、安全隐患 (safety)",
            "安全,消防,门禁,隐患,safety",
            "公共秩序",
        ),
        Category::Noise => (
            "noise",
            "噪音",
            "噪音扰民 (noise)",
            "噪音,扰民,noise",
            "邻里与装修",
        ),
        Category::Renovation => (
            "renovation",
            "装修",
            "装修施工、违规改建 (renovation works)",
            "装修,施工,改建,renovation",
            "邻里与装修",
        ),
        Category::Neighbour => (
            "neighbour",
            "邻里纠纷",
            "邻里之间的纠纷 (disputes between neighbours)",
            "邻里,纠纷,neighbour",
            "邻里与装修",
        ),
        Category::OwnersCommittee => (
            "owners_committee",
            "业委会履职",
            "业主委员会履行职责的情况 (the owners' committee's conduct)",
            "业委会,业主委员会,owners committee",
            "业主自治",
        ),
        Category::Other => (
            "other",
            "其他",
            "其他小区事务 (anything else)",
            "其他,other",
            "其他",
        ),
    };
    Service {
        category,
        code,
        name,
        description,
        keywords,
        group,
    }
}

pub(super) fn service_by_code(code: &str) -> Option<Service> {
    CATEGORIES.into_iter().map(service).find(|s| s.code == code)
}

/// One entry of the service list, with the spec's fields.
#[derive(Debug, Serialize)]
pub(super) struct ServiceDto {
    service_code: &'static str,
    service_name: &'static str,
    description: &'static str,
    /// Every service takes attributes (see its definition).
    metadata: bool,
    #[serde(rename = "type")]
    kind: &'static str,
    keywords: &'static str,
    group: &'static str,
}

/// Query of the service endpoints: the spec's optional parameters, unused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ServicesQuery {
    #[serde(rename = "jurisdiction_id")]
    _jurisdiction_id: Option<String>,
    #[serde(rename = "api_key")]
    _api_key: Option<ApiKey>,
}

/// The service list. No token needed.
pub(super) async fn services(
    query: Result<ApiQuery<ServicesQuery>, ApiError>,
) -> Result<Json<Vec<ServiceDto>>, Open311Error> {
    query?;
    Ok(Json(
        CATEGORIES
            .into_iter()
            .map(service)
            .map(|s| ServiceDto {
                service_code: s.code,
                service_name: s.name,
                description: s.description,
                metadata: true,
                kind: "realtime",
                keywords: s.keywords,
                group: s.group,
            })
            .collect(),
    ))
}

/// The choices of a list attribute: key, name shown, domain value.
pub(super) const RESPONDENTS: [(&str, &str, Respondent); 4] = [
    (
        "property_company",
        "物业服务企业 (property company)",
        Respondent::PropertyCompany,
    ),
    (
        "owners_committee",
        "业主委员会 (owners' committee)",
        Respondent::OwnersCommittee,
    ),
    ("neighbour", "邻居 (a neighbour)", Respondent::Neighbour),
    ("unknown", "不确定 (unknown)", Respondent::Unknown),
];

pub(super) const URGENCIES: [(&str, &str, Urgency); 2] = [
    ("normal", "一般 (normal)", Urgency::Normal),
    ("urgent", "紧急 (urgent)", Urgency::Urgent),
];

/// A service definition: the attributes every service takes.
#[derive(Debug, Serialize)]
pub(super) struct Definition {
    service_code: &'static str,
    attributes: Vec<Attribute>,
}

#[derive(Debug, Serialize)]
struct Attribute {
    variable: bool,
    code: &'static str,
    datatype: &'static str,
    required: bool,
    datatype_description: Option<&'static str>,
    order: u32,
    description: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    values: Option<Vec<AttributeValue>>,
}

#[derive(Debug, Serialize)]
struct AttributeValue {
    key: &'static str,
    name: &'static str,
}

fn list_values<T>(options: &[(&'static str, &'static str, T)]) -> Option<Vec<AttributeValue>> {
    Some(
        options
            .iter()
            .map(|(key, name, _)| AttributeValue { key, name })
            .collect(),
    )
}

fn attributes() -> Vec<Attribute> {
    const LABEL: Option<&str> = Some("1–64 characters, one line");
    vec![
        Attribute {
            variable: true,
            code: "respondent",
            datatype: "singlevaluelist",
            required: false,
            datatype_description: None,
            order: 1,
            description: "被投诉方 Whom the grievance is against (default: unknown)",
            values: list_values(&RESPONDENTS),
        },
        Attribute {
            variable: true,
            code: "urgency",
            datatype: "singlevaluelist",
            required: false,
            datatype_description: None,
            order: 2,
            description: "紧急程度 Urgency; urgent shortens every deadline (default: normal)",
            values: list_values(&URGENCIES),
        },
        Attribute {
            variable: true,
            code: "building",
            datatype: "string",
            required: false,
            datatype_description: LABEL,
            order: 3,
            description: "楼栋 Building, e.g. 3栋 (no room numbers)",
            values: None,
        },
        Attribute {
            variable: true,
            code: "unit",
            datatype: "string",
            required: false,
            datatype_description: Some("1–64 characters, one line; needs a building"),
            order: 4,
            description: "单元 Unit of the building, e.g. 2单元",
            values: None,
        },
        Attribute {
            variable: true,
            code: "common_area",
            datatype: "string",
            required: false,
            datatype_description: LABEL,
            order: 5,
            description: "公共区域 Common area, e.g. 地下车库B2; without a building, \
                          address_string stands for it",
            values: None,
        },
    ]
}

/// The definition of one service.
pub(super) async fn definition(
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
    query: Result<ApiQuery<ServicesQuery>, ApiError>,
) -> Result<Json<Definition>, Open311Error> {
    query?;
    let Path(code) = path.map_err(|_| no_service())?;
    let service = service_by_code(without_format(&code)).ok_or_else(no_service)?;
    Ok(Json(Definition {
        service_code: service.code,
        attributes: attributes(),
    }))
}

pub(super) fn no_service() -> Open311Error {
    Open311Error::new(StatusCode::NOT_FOUND, "service_code: no such service")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire<T: Serialize>(value: &T) -> String {
        match serde_json::to_value(value) {
            Ok(Value::String(s)) => s,
            other => panic!("not a string: {other:?}"),
        }
    }

    #[test]
    fn every_category_is_a_service_coded_by_its_wire_name() {
        let codes: Vec<&str> = CATEGORIES.into_iter().map(|c| service(c).code).collect();
        for category in CATEGORIES {
            assert_eq!(service(category).code, wire(&category));
            assert_eq!(
                service_by_code(&wire(&category)).map(|s| s.category),
                Some(category)
            );
        }
        let mut unique = codes.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), codes.len(), "codes are unique");
        assert_eq!(service(Category::Repairs).name, "维修");
        assert!(service_by_code("potholes").is_none());
    }

    #[test]
    fn list_attributes_offer_exactly_the_domain_values() {
        for (key, _, value) in RESPONDENTS {
            assert_eq!(key, wire(&value));
        }
        for (key, _, value) in URGENCIES {
            assert_eq!(key, wire(&value));
        }
    }
}
