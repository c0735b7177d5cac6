//! A realistic event log for the replay benchmarks: xiaoqu in several
//! districts, residents, grievances with a category mix and varied lives
//! (resolved and rated, rejected, withdrawn, merged duplicates, missed
//! deadlines escalated, reopened), mediation cases and joint meetings.
//!
//! Every event comes from the domain aggregates themselves: each command is
//! decided by the aggregate (`decide`), its events applied to it, and stored
//! as the service stores them (canonical JSON payload and metadata, event
//! id, recording instant, chain hash). Grievances follow their cases and
//! meetings through the domain's own `case_steps` / `meeting_steps`, as the
//! follow-up worker does, with the system actor.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use cqrs_es::{Aggregate, DomainEvent};
use lianxi_domain::following::{case_steps, meeting_steps};
use lianxi_domain::grievance::{DuplicateToLink, FileGrievance, GrievanceState, PrimaryOfMerge};
use lianxi_domain::mediation::{
    CaseParty, FailureOutcome, MediationAction, MediationCase, MediationCommand, MediationServices,
    ObligationDraft, OpenCase, PartyStatement,
};
use lianxi_domain::meeting::{
    ActionItemDraft, AgendaItemDraft, AgendaSubject, ConveneMeeting, Invitee, InviteeCapacity,
    JointMeeting, MeetingAction, MeetingCommand, MeetingPolicy, MeetingServices, PartyPosition,
};
use lianxi_domain::registry::{Placement, RegistryAction, RegistryCommand, XiaoquRegistry};
use lianxi_domain::values::{
    AccountId, ActionItemId, AgendaItemId, Attachment, CaseId, Category, Channel, Comment,
    Description, EscalationReason, GrievanceId, Label, Location, MatterClass, MediaType, MeetingId,
    MeetingKind, ObligationId, OrganizationId, PartyRole, PlaceName, Rating, Reason, Respondent,
    Sha256Hex, Stance, Statement, Tier, Title, Urgency, XiaoquId,
};
use lianxi_domain::{
    Actor, FixedClock, Grievance, GrievanceAction, GrievanceCommand, GrievancePolicy,
    GrievanceServices, Role, Status,
};
use lianxi_gateway::app::SYSTEM_ACCOUNT;
use lianxi_gateway::db::chain::{self, canonical_json, EventFields, Hash, GENESIS};
use lianxi_gateway::db::Database;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

/// One stored event, ready for the INSERT.
pub struct Row {
    pub aggregate_type: &'static str,
    pub aggregate_id: Arc<str>,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub payload: String,
    pub metadata: String,
    pub event_id: Uuid,
    pub recorded_at: DateTime<Utc>,
    pub hash: Hash,
}

/// One command's append: the events stored in one transaction.
type Step = Vec<Row>;

/// An aggregate's stream as the generator builds it.
struct Stream<A> {
    agg: A,
    id: Arc<str>,
    seq: i64,
    prev: Hash,
}

impl<A> Stream<A>
where
    A: Aggregate + Default,
    A::Event: Serialize + Clone,
{
    fn new(id: Uuid) -> Self {
        Self {
            agg: A::default(),
            id: Arc::from(id.to_string()),
            seq: 0,
            prev: GENESIS,
        }
    }

    /// Stores `events` as one append, applying each to the aggregate;
    /// `after` sees the aggregate right after each event and its sequence.
    fn append(
        &mut self,
        events: Vec<A::Event>,
        metadata: &str,
        at: DateTime<Utc>,
        mut after: impl FnMut(&A, &A::Event, i64),
    ) -> Step {
        let mut rows = Vec::with_capacity(events.len());
        for event in events {
            self.seq += 1;
            let payload = canonical_json(&serde_json::to_value(&event).expect("payload"));
            let event_type = event.event_type();
            let event_version = event.event_version();
            let event_id = Uuid::new_v4();
            let hash = chain::event_hash(
                &self.prev,
                &EventFields {
                    aggregate_type: A::TYPE,
                    aggregate_id: &self.id,
                    sequence: self.seq,
                    event_type: &event_type,
                    event_version: &event_version,
                    event_id,
                    recorded_at: at,
                    payload: &payload,
                    metadata,
                },
            );
            self.prev = hash;
            self.agg.apply(event.clone());
            after(&self.agg, &event, self.seq);
            rows.push(Row {
                aggregate_type: A::TYPE,
                aggregate_id: self.id.clone(),
                sequence: self.seq,
                event_type,
                event_version,
                payload,
                metadata: metadata.to_owned(),
                event_id,
                recorded_at: at,
                hash,
            });
        }
        rows
    }
}

/// The metadata the service stores with a command's events (see
/// `event_log::metadata_map`), in canonical form.
fn metadata(
    actor: Actor,
    command: &str,
    request_id: &str,
    at: DateTime<Utc>,
    reason: Option<&str>,
) -> String {
    let mut map = serde_json::Map::new();
    map.insert("actor".into(), Value::String(actor.account.to_string()));
    map.insert("role".into(), Value::String(actor.role.as_str().to_owned()));
    map.insert("command".into(), Value::String(command.to_owned()));
    map.insert("request_id".into(), Value::String(request_id.to_owned()));
    map.insert("occurred_at".into(), Value::String(at.to_rfc3339()));
    if let Some(reason) = reason {
        map.insert("reason".into(), Value::String(reason.to_owned()));
    }
    canonical_json(&Value::Object(map))
}

/// The instant at the precision both stores keep.
fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// A xiaoqu and the accounts acting in it.
#[derive(Clone, Debug)]
struct Place {
    xiaoqu: XiaoquId,
    residents: Vec<AccountId>,
    accounts: HashMap<Role, AccountId>,
}

impl Place {
    fn actor(&self, role: Role) -> Actor {
        Actor::new(self.accounts[&role], role)
    }
}

fn role_of(party: PartyRole) -> Role {
    match party {
        PartyRole::PartyBranch => Role::PartyBranch,
        PartyRole::PropertyCompany => Role::PropertyCompany,
        PartyRole::OwnersCommittee => Role::OwnersCommittee,
        PartyRole::SupervisoryCommittee => Role::SupervisoryCommittee,
        PartyRole::MicroOrganization => Role::MicroOrganization,
        PartyRole::Community => Role::Community,
        PartyRole::Street => Role::Street,
        PartyRole::District => Role::District,
    }
}

fn text<T>(parse: fn(&str) -> Result<T, lianxi_domain::values::ValueError>, s: &str) -> T {
    parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

/// Weighted categories (repairs and property service dominate, as in the
/// field study's accounts of xiaoqu disputes).
const CATEGORIES: [(Category, u32); 13] = [
    (Category::Repairs, 22),
    (Category::PropertyService, 14),
    (Category::Parking, 12),
    (Category::Sanitation, 10),
    (Category::Fees, 8),
    (Category::Noise, 8),
    (Category::Neighbour, 6),
    (Category::Renovation, 5),
    (Category::Safety, 5),
    (Category::MaintenanceFund, 4),
    (Category::PublicRevenue, 3),
    (Category::OwnersCommittee, 2),
    (Category::Other, 1),
];

fn title_of(category: Category) -> &'static [&'static str] {
    match category {
        Category::Repairs => &[
            "3栋电梯停运",
            "地下车库漏水",
            "单元门禁损坏",
            "楼道灯不亮",
            "二次供水水压不足",
        ],
        Category::PropertyService => &["保安夜间脱岗", "物业电话无人接听", "绿化长期无人修剪"],
        Category::Parking => &["消防通道被占用停车", "地面车位乱收费", "充电桩安装受阻"],
        Category::Sanitation => &["垃圾清运不及时", "楼道堆放杂物", "化粪池异味"],
        Category::Fees => &["物业费上涨未公示", "公摊电费计算不清"],
        Category::Noise => &["楼上夜间噪音", "广场舞音响扰民", "空调外机噪音"],
        Category::Neighbour => &["邻居占用公共走廊", "楼上漏水影响楼下", "宠物扰邻"],
        Category::Renovation => &["装修时间违规", "装修拆改承重墙"],
        Category::Safety => &["电动车楼道充电", "外墙瓷砖脱落", "消防设施失效"],
        Category::MaintenanceFund => &["维修资金使用未表决", "屋面防水维修申请维修资金"],
        Category::PublicRevenue => &["公共收益去向不明", "电梯广告收入未公示"],
        Category::OwnersCommittee => &["业委会换届拖延", "业委会决议未公示"],
        Category::Other => &["其他事项"],
    }
}

const DESCRIPTIONS: [&str; 4] = [
    "问题已持续一周,多次向物业反映未果,请尽快处理。",
    "影响全楼住户正常生活,老人和孩子出行不便,希望社区协调解决。",
    "已拍照留存,附件为现场照片。恳请相关方面给予答复。",
    "希望在下次联席会议上讨论,并公开处理结果。",
];

/// Builds lives one at a time; each life is generated whole (its own
/// clock), then its steps are interleaved with other lives' steps.
struct Sim {
    rng: StdRng,
    clock: FixedClock,
    grievances: GrievanceServices,
    cases: MediationServices,
    meetings: MeetingServices,
    steps: Vec<Step>,
}

fn request_id() -> String {
    Uuid::new_v4().to_string()
}

impl Sim {
    fn now(&self) -> DateTime<Utc> {
        use lianxi_domain::Clock;
        self.clock.now()
    }

    fn set(&mut self, at: DateTime<Utc>) {
        let now = self.now();
        self.clock.advance(at - now);
    }

    fn wait_minutes(&mut self, from: i64, to: i64) {
        let minutes = self.rng.random_range(from..to.max(from + 1));
        self.clock.advance(TimeDelta::minutes(minutes));
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.random_range(0..items.len())]
    }

    /// Runs a grievance command; a refusal is returned (for follow-ups that
    /// may find the grievance moved on), not stored.
    fn try_g(
        &mut self,
        g: &mut Stream<Grievance>,
        actor: Actor,
        action: GrievanceAction,
        request: &str,
        reason: Option<&str>,
    ) -> Result<(), String> {
        let name = action.name();
        let events = g
            .agg
            .decide(GrievanceCommand::new(actor, action), &self.grievances)
            .map_err(|e| format!("{name}: {e}"))?;
        if events.is_empty() {
            return Ok(());
        }
        let now = self.now();
        let meta = metadata(actor, name, request, now, reason);
        let step = g.append(events, &meta, micros(now), |_, _, _| {});
        self.steps.push(step);
        Ok(())
    }

    fn g(&mut self, g: &mut Stream<Grievance>, actor: Actor, action: GrievanceAction) {
        let reason = match &action {
            GrievanceAction::RejectGrievance { reason }
            | GrievanceAction::ReopenGrievance { reason }
            | GrievanceAction::PauseDeadline { reason } => Some(reason.as_str().to_owned()),
            GrievanceAction::WithdrawGrievance { reason } => {
                reason.as_ref().map(|r| r.as_str().to_owned())
            }
            _ => None,
        };
        let name = action.name();
        if let Err(e) = self.try_g(g, actor, action, &request_id(), reason.as_deref()) {
            panic!("generator bug: grievance {name} refused: {e}");
        }
    }

    fn state(g: &Stream<Grievance>) -> &GrievanceState {
        g.agg.state().expect("filed")
    }

    fn handler(place: &Place, g: &Stream<Grievance>) -> Actor {
        place.actor(Role::handler_of(Self::state(g).tier))
    }

    /// Files a grievance of `category` by `filer`.
    fn file(
        &mut self,
        place: &Place,
        filer: AccountId,
        category: Category,
        urgency: Urgency,
    ) -> Stream<Grievance> {
        let id = Uuid::new_v4();
        let mut g = Stream::new(id);
        let respondent = match category {
            Category::Neighbour | Category::Noise | Category::Renovation => Respondent::Neighbour,
            Category::OwnersCommittee | Category::MaintenanceFund | Category::PublicRevenue => {
                Respondent::OwnersCommittee
            }
            _ if self.chance(0.03) => Respondent::Unknown,
            _ => Respondent::PropertyCompany,
        };
        let channel = *self.pick(&[
            Channel::Wechat,
            Channel::Wechat,
            Channel::Wechat,
            Channel::Web,
            Channel::Web,
            Channel::Phone,
            Channel::Phone,
            Channel::InPerson,
        ]);
        let building = format!("{}栋", self.rng.random_range(1..=30));
        let location = if self.chance(0.3) {
            Location::new(None, None, Some(text(Label::parse, "地下车库")))
        } else {
            Location::new(
                Some(text(Label::parse, &building)),
                Some(text(
                    Label::parse,
                    &format!("{}单元", self.rng.random_range(1..=4)),
                )),
                None,
            )
        }
        .expect("location");
        let attachments = if self.chance(0.4) {
            vec![Attachment::new(
                text(Sha256Hex::parse, &hex_of(self.rng.random::<[u8; 32]>())),
                text(MediaType::parse, "image/jpeg"),
                self.rng.random_range(20_000..3_000_000),
            )
            .expect("attachment")]
        } else {
            Vec::new()
        };
        let title = *self.pick(title_of(category));
        let description = *self.pick(&DESCRIPTIONS);
        let file = FileGrievance {
            grievance_id: GrievanceId(id),
            xiaoqu: place.xiaoqu,
            category,
            title: text(Title::parse, title),
            description: text(Description::parse, description),
            location,
            respondent,
            urgency,
            channel,
            attachments,
        };
        self.g(
            &mut g,
            Actor::new(filer, Role::Resident),
            GrievanceAction::FileGrievance(file),
        );
        g
    }

    fn category(&mut self) -> Category {
        let total: u32 = CATEGORIES.iter().map(|(_, w)| w).sum();
        let mut x = self.rng.random_range(0..total);
        for (c, w) in CATEGORIES {
            if x < w {
                return c;
            }
            x -= w;
        }
        Category::Other
    }

    fn urgency(&mut self, category: Category) -> Urgency {
        let p = if category == Category::Safety {
            0.6
        } else {
            0.1
        };
        if self.chance(p) {
            Urgency::Urgent
        } else {
            Urgency::Normal
        }
    }

    /// The party a handler makes responsible for a minor or private matter.
    fn party_for(g: &Stream<Grievance>) -> PartyRole {
        match Self::state(g).respondent {
            Respondent::OwnersCommittee => PartyRole::OwnersCommittee,
            Respondent::Neighbour => PartyRole::PartyBranch,
            _ => PartyRole::PropertyCompany,
        }
    }

    fn accept(&mut self, place: &Place, g: &mut Stream<Grievance>) {
        let urgent = Self::state(g).urgency == Urgency::Urgent;
        if urgent {
            self.wait_minutes(5, 90);
        } else {
            self.wait_minutes(20, 20 * 60);
        }
        let h = Self::handler(place, g);
        self.g(g, h, GrievanceAction::AcceptGrievance);
    }

    fn triage(&mut self, place: &Place, g: &mut Stream<Grievance>, class: MatterClass) {
        self.wait_minutes(10, 240);
        let h = Self::handler(place, g);
        let party = Self::party_for(g);
        self.g(
            g,
            h,
            GrievanceAction::TriageGrievance {
                matter_class: class,
                tier: None,
                party,
            },
        );
    }

    fn assign(&mut self, place: &Place, g: &mut Stream<Grievance>, party: PartyRole) {
        self.wait_minutes(5, 180);
        let h = Self::handler(place, g);
        let note = self
            .chance(0.3)
            .then(|| text(Reason::parse, "请三日内到现场查看并答复"));
        self.g(
            g,
            h,
            GrievanceAction::AssignGrievance {
                party: Some(party),
                note,
            },
        );
    }

    /// Respond, resolve, and (mostly) rate; sometimes reopened once.
    fn finish(&mut self, place: &Place, g: &mut Stream<Grievance>, filer: AccountId) {
        loop {
            self.wait_minutes(60, 60 * 48);
            let party = Self::state(g).assigned_party.expect("assigned");
            let responder = place.actor(role_of(party));
            self.g(
                g,
                responder,
                GrievanceAction::RespondToGrievance {
                    response: text(Statement::parse, "已安排维修人员到场处理,预计三日内完成。"),
                },
            );
            self.wait_minutes(60, 60 * 24 * 5);
            let h = Self::handler(place, g);
            self.g(
                g,
                h,
                GrievanceAction::ResolveGrievance {
                    summary: text(Statement::parse, "经现场核实,问题已处理完毕。"),
                },
            );
            if self.chance(0.1) {
                return; // resolved, never rated
            }
            self.wait_minutes(30, 60 * 24 * 3);
            let x: f64 = self.rng.random();
            let rating = if x < 0.68 {
                Rating::Satisfied
            } else if x < 0.88 {
                Rating::MostlySatisfied
            } else {
                Rating::Unsatisfied
            };
            let comment =
                (rating != Rating::Satisfied).then(|| text(Comment::parse, "处理速度还需加快"));
            let resident = Actor::new(filer, Role::Resident);
            self.g(
                g,
                resident,
                GrievanceAction::RateOutcome { rating, comment },
            );
            let reopen = rating != Rating::Satisfied
                && Self::state(g).reopenings == 0
                && self.chance(if rating == Rating::Unsatisfied {
                    0.6
                } else {
                    0.1
                });
            if !reopen {
                return;
            }
            self.wait_minutes(60, 60 * 24 * 7);
            self.g(
                g,
                resident,
                GrievanceAction::ReopenGrievance {
                    reason: text(Reason::parse, "问题再次出现,要求重新处理"),
                },
            );
        }
    }

    /// The most common life: filed, handled in the xiaoqu (or escalated on
    /// a missed deadline), answered, resolved, rated.
    fn standard(&mut self, place: &Place) {
        let filer = *self.pick(&place.residents);
        let mut category = self.category();
        if matches!(category, Category::Safety) && self.chance(0.5) {
            category = Category::Repairs;
        }
        let urgency = self.urgency(category);
        let mut g = self.file(place, filer, category, urgency);
        let resident = Actor::new(filer, Role::Resident);
        let x: f64 = self.rng.random();
        if x < 0.04 {
            self.wait_minutes(30, 600);
            let h = Self::handler(place, &g);
            self.g(
                &mut g,
                h,
                GrievanceAction::RejectGrievance {
                    reason: text(Reason::parse, "不属于本平台受理范围,请向市场监管部门反映"),
                },
            );
            return;
        }
        if x < 0.07 {
            self.wait_minutes(10, 600);
            self.g(
                &mut g,
                resident,
                GrievanceAction::WithdrawGrievance {
                    reason: Some(text(Reason::parse, "已自行解决")),
                },
            );
            return;
        }
        if x < 0.10 {
            // Nobody accepted in time: the community takes it over.
            let deadline = Self::state(&g).deadline.expect("accept deadline");
            let late = TimeDelta::minutes(self.rng.random_range(1..10));
            self.set(deadline.due_at + late);
            self.g(
                &mut g,
                Actor::new(SYSTEM_ACCOUNT, Role::System),
                GrievanceAction::EscalateOnMissedDeadline { deadline },
            );
        }
        self.accept(place, &mut g);
        if self.chance(0.08) {
            self.wait_minutes(10, 120);
            let h = Self::handler(place, &g);
            self.g(
                &mut g,
                h,
                GrievanceAction::PauseDeadline {
                    reason: text(Reason::parse, "等待业主补充材料"),
                },
            );
            self.wait_minutes(60, 60 * 72);
            self.g(&mut g, h, GrievanceAction::ResumeDeadline);
        }
        let class = if Self::party_for(&g) == PartyRole::PartyBranch {
            MatterClass::Private
        } else {
            MatterClass::Minor
        };
        self.triage(place, &mut g, class);
        let party = Self::state(&g).responsible_party.expect("triaged");
        self.assign(place, &mut g, party);
        let y: f64 = self.rng.random();
        if y < 0.03 {
            self.wait_minutes(60, 60 * 48);
            self.g(
                &mut g,
                resident,
                GrievanceAction::WithdrawGrievance { reason: None },
            );
            return;
        }
        if y < 0.09 {
            // The respondent let the deadline pass: escalated, and the
            // community hands it to its own staff.
            let deadline = Self::state(&g).deadline.expect("respond deadline");
            let late = TimeDelta::minutes(self.rng.random_range(1..10));
            self.set(deadline.due_at + late);
            self.g(
                &mut g,
                Actor::new(SYSTEM_ACCOUNT, Role::System),
                GrievanceAction::EscalateOnMissedDeadline { deadline },
            );
            if self.chance(0.5) {
                let tier_party = match Self::state(&g).tier {
                    Tier::Community => PartyRole::Community,
                    Tier::Street => PartyRole::Street,
                    Tier::District => PartyRole::District,
                    Tier::Xiaoqu => PartyRole::PartyBranch,
                };
                self.assign(place, &mut g, tier_party);
            }
        } else if y < 0.11 {
            self.wait_minutes(60, 60 * 24);
            self.g(
                &mut g,
                resident,
                GrievanceAction::EscalateGrievance {
                    reason: EscalationReason::FilerRequest,
                    note: Some(text(Reason::parse, "小区内多次协调无果")),
                },
            );
        }
        self.finish(place, &mut g, filer);
    }

    /// Two residents file the same matter; the second is merged into the first.
    fn duplicates(&mut self, place: &Place) {
        let first = *self.pick(&place.residents);
        let second = *self.pick(&place.residents);
        let category = Category::Repairs;
        let mut primary = self.file(place, first, category, Urgency::Normal);
        self.wait_minutes(5, 300);
        let mut duplicate = self.file(place, second, category, Urgency::Normal);
        self.accept(place, &mut primary);
        self.wait_minutes(5, 60);
        let h = Self::handler(place, &duplicate);
        let (primary_id, xiaoqu, status) = {
            let p = Self::state(&primary);
            (p.id, p.xiaoqu, p.status)
        };
        self.g(
            &mut duplicate,
            h,
            GrievanceAction::MergeIntoPrimary {
                primary: PrimaryOfMerge {
                    id: primary_id,
                    xiaoqu,
                    status,
                },
            },
        );
        let duplicate_id = Self::state(&duplicate).id;
        self.g(
            &mut primary,
            h,
            GrievanceAction::LinkDuplicates {
                duplicates: vec![DuplicateToLink {
                    duplicate: duplicate_id,
                    xiaoqu,
                    filer: second,
                }],
            },
        );
        self.triage(place, &mut primary, MatterClass::Minor);
        self.assign(place, &mut primary, PartyRole::PropertyCompany);
        self.finish(place, &mut primary, first);
    }

    /// Runs a mediation command and the grievance follow-ups it causes.
    fn case(
        &mut self,
        case: &mut Stream<MediationCase>,
        grievances: &mut [Stream<Grievance>],
        actor: Actor,
        action: MediationAction,
    ) {
        let name = action.name();
        let events = case
            .agg
            .decide(MediationCommand::new(actor, action), &self.cases)
            .unwrap_or_else(|e| panic!("generator bug: case {name} refused: {e}"));
        if events.is_empty() {
            return;
        }
        let now = self.now();
        let meta = metadata(actor, name, &request_id(), now, None);
        let mut follow = Vec::new();
        let step = case.append(events, &meta, micros(now), |agg, event, seq| {
            if let Some(state) = agg.state() {
                for (g, step) in case_steps(state, event) {
                    follow.push((g, step, seq, event.event_type()));
                }
            }
        });
        self.steps.push(step);
        for (gid, step, seq, event_type) in follow {
            self.wait_minutes(0, 2);
            let Some(g) = grievances
                .iter_mut()
                .find(|g| g.agg.state().is_some_and(|s| s.id == gid))
            else {
                continue;
            };
            let action = GrievanceAction::FollowCase {
                case: lianxi_domain::values::CaseId(Uuid::parse_str(&case.id).expect("case id")),
                sequence: seq as u64,
                step,
            };
            let request = format!("follow-mediation_case-{}-{seq}", case.id);
            let reason = format!("{event_type} {seq} of mediation_case {}", case.id);
            // A grievance that moved on does not follow; the worker logs it.
            let _ = self.try_g(
                g,
                Actor::new(SYSTEM_ACCOUNT, Role::System),
                action,
                &request,
                Some(&reason),
            );
        }
    }

    /// Runs a meeting command and the grievance follow-ups it causes.
    fn meeting(
        &mut self,
        meeting: &mut Stream<JointMeeting>,
        grievances: &mut [Stream<Grievance>],
        actor: Actor,
        action: MeetingAction,
    ) {
        let name = action.name();
        let events = meeting
            .agg
            .decide(MeetingCommand::new(actor, action), &self.meetings)
            .unwrap_or_else(|e| panic!("generator bug: meeting {name} refused: {e}"));
        let now = self.now();
        let meta = metadata(actor, name, &request_id(), now, None);
        let mut follow = Vec::new();
        let step = meeting.append(events, &meta, micros(now), |agg, event, seq| {
            if let Some(state) = agg.state() {
                for (g, step) in meeting_steps(state, event) {
                    follow.push((g, step, seq, event.event_type()));
                }
            }
        });
        self.steps.push(step);
        for (gid, step, seq, event_type) in follow {
            self.wait_minutes(0, 2);
            let Some(g) = grievances
                .iter_mut()
                .find(|g| g.agg.state().is_some_and(|s| s.id == gid))
            else {
                continue;
            };
            let action = GrievanceAction::FollowMeeting {
                meeting: MeetingId(Uuid::parse_str(&meeting.id).expect("meeting id")),
                sequence: seq as u64,
                step,
            };
            let request = format!("follow-joint_meeting-{}-{seq}", meeting.id);
            let reason = format!("{event_type} {seq} of joint_meeting {}", meeting.id);
            let _ = self.try_g(
                g,
                Actor::new(SYSTEM_ACCOUNT, Role::System),
                action,
                &request,
                Some(&reason),
            );
        }
    }

    /// A dispute mediated by the party branch: between neighbours, or
    /// several owners against the property company.
    fn mediation(&mut self, place: &Place, collective: bool) {
        let branch = place.actor(Role::PartyBranch);
        let filers: Vec<AccountId> = (0..if collective {
            self.rng.random_range(2..=4)
        } else {
            1
        })
            .map(|_| *self.pick(&place.residents))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let category = if collective {
            *self.pick(&[Category::Fees, Category::PropertyService, Category::Parking])
        } else {
            *self.pick(&[Category::Neighbour, Category::Noise, Category::Renovation])
        };
        let mut grievances: Vec<Stream<Grievance>> = Vec::new();
        for filer in &filers {
            let mut g = self.file(place, *filer, category, Urgency::Normal);
            self.accept(place, &mut g);
            let class = if collective {
                MatterClass::Minor
            } else {
                MatterClass::Private
            };
            self.triage(place, &mut g, class);
            if collective {
                self.assign(place, &mut g, PartyRole::PropertyCompany);
            }
            grievances.push(g);
        }
        let applicants: Vec<CaseParty> = filers.iter().map(|f| CaseParty::Person(*f)).collect();
        let respondent = if collective {
            CaseParty::Party(PartyRole::PropertyCompany)
        } else {
            let neighbour = loop {
                let n = *self.pick(&place.residents);
                if !filers.contains(&n) {
                    break n;
                }
            };
            CaseParty::Person(neighbour)
        };
        let case_id = Uuid::new_v4();
        let mut case = Stream::<MediationCase>::new(case_id);
        self.wait_minutes(60, 60 * 24);
        let open = OpenCase {
            case_id: CaseId(case_id),
            xiaoqu: place.xiaoqu,
            matter: text(
                Title::parse,
                if collective {
                    "业主与物业公司收费争议调解"
                } else {
                    "邻里纠纷调解"
                },
            ),
            grievances: grievances.iter().map(|g| Self::state(g).id).collect(),
            applicants: applicants.clone(),
            respondents: vec![respondent],
        };
        self.case(
            &mut case,
            &mut grievances,
            branch,
            MediationAction::OpenCase(open),
        );
        let sessions = self.rng.random_range(1..=2);
        for _ in 0..sessions {
            self.wait_minutes(60, 60 * 24);
            let scheduled_for = self.now() + TimeDelta::days(self.rng.random_range(1..5));
            self.case(
                &mut case,
                &mut grievances,
                branch,
                MediationAction::ScheduleSession {
                    scheduled_for,
                    place: Some(text(Label::parse, "社区调解室")),
                    meeting: None,
                },
            );
            self.set(scheduled_for + TimeDelta::hours(2));
            let session = case
                .agg
                .state()
                .and_then(|s| s.sessions.last())
                .map(|s| s.number)
                .expect("a session");
            let mut attendance = applicants.clone();
            attendance.push(respondent);
            let statements = attendance
                .iter()
                .map(|p| PartyStatement {
                    party: *p,
                    statement: text(Statement::parse, "陈述了事实经过和诉求。"),
                })
                .collect();
            self.case(
                &mut case,
                &mut grievances,
                branch,
                MediationAction::RecordSession {
                    session,
                    attendance,
                    statements,
                },
            );
        }
        let x: f64 = self.rng.random();
        if x < 0.15 {
            let outcome = *self.pick(&[
                FailureOutcome::Escalate,
                FailureOutcome::Escalate,
                FailureOutcome::PeoplesMediationCommittee,
                FailureOutcome::Litigation,
            ]);
            self.case(
                &mut case,
                &mut grievances,
                branch,
                MediationAction::FailMediation {
                    outcome,
                    reason: text(Reason::parse, "双方分歧较大,未能达成一致"),
                },
            );
            if outcome == FailureOutcome::Escalate {
                // The community takes the matter on.
                for (g, filer) in grievances.iter_mut().zip(&filers) {
                    if Self::state(g).status == Status::Triaged {
                        self.assign(place, g, PartyRole::Community);
                        self.finish(place, g, *filer);
                    }
                }
            }
            return;
        }
        let mut rounds = if self.chance(0.25) { 2 } else { 1 };
        let mut missed_once = false;
        loop {
            // Propose; the first round is sometimes declined.
            loop {
                self.wait_minutes(60, 60 * 24 * 3);
                let due = self.now() + TimeDelta::days(self.rng.random_range(7..30));
                let mut obligations = vec![ObligationDraft {
                    obligation_id: ObligationId(Uuid::new_v4()),
                    party: respondent,
                    description: text(Statement::parse, "十五日内完成维修并承担费用"),
                    due_at: due,
                }];
                if self.chance(0.3) {
                    obligations.push(ObligationDraft {
                        obligation_id: ObligationId(Uuid::new_v4()),
                        party: applicants[0],
                        description: text(Statement::parse, "配合入户查看"),
                        due_at: due,
                    });
                }
                self.case(
                    &mut case,
                    &mut grievances,
                    branch,
                    MediationAction::ProposeAgreement {
                        terms: text(Statement::parse, "双方同意按以下条款履行,互不追究。"),
                        obligations,
                    },
                );
                rounds -= 1;
                if rounds == 0 {
                    break;
                }
                self.wait_minutes(60, 60 * 48);
                self.case(
                    &mut case,
                    &mut grievances,
                    branch,
                    MediationAction::DeclineProposal {
                        party: respondent,
                        reason: text(Reason::parse, "费用分担比例不合理"),
                    },
                );
            }
            // Every party signs: the company itself, people through the mediator.
            let mut parties = applicants.clone();
            parties.push(respondent);
            for party in parties {
                self.wait_minutes(30, 60 * 24);
                let actor = match party {
                    CaseParty::Party(p) => place.actor(role_of(p)),
                    CaseParty::Person(_) => branch,
                };
                self.case(
                    &mut case,
                    &mut grievances,
                    actor,
                    MediationAction::AcceptProposal { party },
                );
            }
            let open: Vec<(ObligationId, CaseParty, DateTime<Utc>)> = case
                .agg
                .state()
                .map(|s| {
                    s.open_obligations()
                        .map(|o| (o.id, o.party, o.due_at))
                        .collect()
                })
                .unwrap_or_default();
            if !missed_once && self.chance(0.1) {
                missed_once = true;
                let (obligation, _, due) = open[0];
                self.set(due + TimeDelta::hours(1));
                self.case(
                    &mut case,
                    &mut grievances,
                    branch,
                    MediationAction::MarkObligationMissed {
                        obligation,
                        note: Some(text(Reason::parse, "逾期未履行")),
                    },
                );
                rounds = 1;
                continue;
            }
            for (obligation, party, _) in open {
                self.wait_minutes(60, 60 * 24 * 6);
                let actor = match party {
                    CaseParty::Party(p) => place.actor(role_of(p)),
                    CaseParty::Person(_) => branch,
                };
                self.case(
                    &mut case,
                    &mut grievances,
                    actor,
                    MediationAction::FulfilObligation {
                        obligation,
                        note: None,
                    },
                );
            }
            break;
        }
        for (g, filer) in grievances.iter_mut().zip(&filers) {
            if Self::state(g).status == Status::Resolved && self.chance(0.8) {
                self.wait_minutes(60, 60 * 48);
                let rating = *self.pick(&[
                    Rating::Satisfied,
                    Rating::Satisfied,
                    Rating::MostlySatisfied,
                    Rating::Unsatisfied,
                ]);
                self.g(
                    g,
                    Actor::new(*filer, Role::Resident),
                    GrievanceAction::RateOutcome {
                        rating,
                        comment: None,
                    },
                );
            }
        }
    }

    /// Who of the four other parties came (the branch always does).
    fn present(&mut self) -> Vec<PartyRole> {
        let mut present = vec![PartyRole::PartyBranch];
        let mut others = vec![
            PartyRole::OwnersCommittee,
            PartyRole::SupervisoryCommittee,
            PartyRole::PropertyCompany,
            PartyRole::MicroOrganization,
        ];
        if self.chance(0.5) {
            let i = self.rng.random_range(0..others.len());
            others.remove(i);
        }
        present.extend(others);
        present
    }

    /// A joint meeting: a regular one with minor matters referred to it, or
    /// an urgent one for a major matter (大事紧急议、小事定期议).
    fn joint_meeting(&mut self, place: &Place, urgent: bool) {
        let branch = place.actor(Role::PartyBranch);
        let count = if urgent {
            1
        } else {
            self.rng.random_range(2..=4)
        };
        let mut grievances = Vec::new();
        let mut filers = Vec::new();
        for _ in 0..count {
            let filer = *self.pick(&place.residents);
            let category = if urgent {
                *self.pick(&[
                    Category::Safety,
                    Category::MaintenanceFund,
                    Category::Repairs,
                ])
            } else {
                *self.pick(&[
                    Category::Parking,
                    Category::Sanitation,
                    Category::PropertyService,
                    Category::PublicRevenue,
                ])
            };
            let urgency = if urgent {
                Urgency::Urgent
            } else {
                Urgency::Normal
            };
            let mut g = self.file(place, filer, category, urgency);
            self.accept(place, &mut g);
            if urgent {
                self.triage(place, &mut g, MatterClass::Major);
            } else {
                self.triage(place, &mut g, MatterClass::Minor);
                self.wait_minutes(10, 600);
                self.g(
                    &mut g,
                    branch,
                    GrievanceAction::ReferToMeeting {
                        note: Some(text(Reason::parse, "涉及多户业主,需联席会议集体讨论")),
                    },
                );
            }
            grievances.push(g);
            filers.push(filer);
        }
        self.wait_minutes(30, 60 * 6);
        let meeting_id = Uuid::new_v4();
        let mut meeting = Stream::<JointMeeting>::new(meeting_id);
        let scheduled_for = self.now()
            + if urgent {
                TimeDelta::hours(self.rng.random_range(4..24))
            } else {
                TimeDelta::days(self.rng.random_range(2..10))
            };
        let mut agenda: Vec<AgendaItemDraft> = grievances
            .iter()
            .map(|g| AgendaItemDraft {
                item_id: AgendaItemId(Uuid::new_v4()),
                subject: AgendaSubject::Grievance(Self::state(g).id),
                title: Self::state(g).title.clone(),
            })
            .collect();
        if !urgent {
            agenda.push(AgendaItemDraft {
                item_id: AgendaItemId(Uuid::new_v4()),
                subject: AgendaSubject::Other,
                title: text(Title::parse, "通报上月督办事项完成情况"),
            });
        }
        let invited_people: Vec<Invitee> = filers
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|f| Invitee {
                account: *f,
                capacity: InviteeCapacity::Filer,
            })
            .collect();
        self.meeting(
            &mut meeting,
            &mut grievances,
            branch,
            MeetingAction::ConveneMeeting(ConveneMeeting {
                meeting_id: MeetingId(meeting_id),
                xiaoqu: place.xiaoqu,
                kind: if urgent {
                    MeetingKind::Urgent
                } else {
                    MeetingKind::Regular
                },
                scheduled_for,
                place: text(Label::parse, "党群服务中心会议室"),
                invited_people: invited_people.clone(),
                agenda: agenda.clone(),
            }),
        );
        if !urgent && self.chance(0.05) {
            self.wait_minutes(60, 60 * 24);
            self.meeting(
                &mut meeting,
                &mut grievances,
                branch,
                MeetingAction::CancelMeeting {
                    reason: text(Reason::parse, "主要参会方无法出席,改期召开"),
                },
            );
            return;
        }
        self.set(scheduled_for);
        let present = self.present();
        let present_people = invited_people
            .iter()
            .filter(|_| self.rng.random_bool(0.7))
            .map(|i| i.account)
            .collect();
        self.meeting(
            &mut meeting,
            &mut grievances,
            branch,
            MeetingAction::OpenMeeting {
                present_parties: present.clone(),
                present_people,
            },
        );
        let mut action_items = Vec::new();
        let mut decided = Vec::new();
        for item in &agenda {
            self.wait_minutes(5, 40);
            if !urgent && self.chance(0.1) {
                self.meeting(
                    &mut meeting,
                    &mut grievances,
                    branch,
                    MeetingAction::DeferItem {
                        item: item.item_id,
                        reason: text(Reason::parse, "需补充材料,下次会议再议"),
                    },
                );
                continue;
            }
            let positions = present
                .iter()
                .map(|p| PartyPosition {
                    party: *p,
                    stance: if self.rng.random_bool(0.85) {
                        Stance::Agree
                    } else if self.rng.random_bool(0.5) {
                        Stance::Abstain
                    } else {
                        Stance::Object
                    },
                })
                .collect();
            let n = self.rng.random_range(if urgent { 1 } else { 0 }..=2);
            let drafts: Vec<ActionItemDraft> = (0..n)
                .map(|_| ActionItemDraft {
                    action_item_id: ActionItemId(Uuid::new_v4()),
                    owner: *self.pick(&[
                        PartyRole::PropertyCompany,
                        PartyRole::PropertyCompany,
                        PartyRole::OwnersCommittee,
                        PartyRole::SupervisoryCommittee,
                        PartyRole::MicroOrganization,
                    ]),
                    description: text(Statement::parse, "限期整改并在下次会议上报告"),
                    due_at: self.now() + TimeDelta::days(self.rng.random_range(7..30)),
                })
                .collect();
            action_items.extend(drafts.iter().map(|d| (d.action_item_id, d.owner)));
            self.meeting(
                &mut meeting,
                &mut grievances,
                branch,
                MeetingAction::DecideItem {
                    item: item.item_id,
                    summary: text(Statement::parse, "各方充分发表意见。"),
                    decision: text(Statement::parse, "由物业公司牵头整改,业委会监督。"),
                    positions,
                    action_items: drafts,
                    cited_vote: None,
                },
            );
            if let AgendaSubject::Grievance(g) = item.subject {
                decided.push(g);
            }
        }
        self.wait_minutes(5, 30);
        self.meeting(
            &mut meeting,
            &mut grievances,
            branch,
            MeetingAction::CloseMeeting {
                public_summary: Some(text(Statement::parse, "会议议定事项已公示。")),
            },
        );
        // The decided matters go on to be handled; the deferred ones wait.
        for (g, filer) in grievances.iter_mut().zip(&filers) {
            if !decided.contains(&Self::state(g).id) {
                continue;
            }
            let party = Self::state(g).responsible_party.expect("triaged");
            self.assign(place, g, party);
            self.finish(place, g, *filer);
        }
        let mut meeting_only: Vec<Stream<Grievance>> = Vec::new();
        for (action_item, owner) in action_items {
            if self.chance(0.8) {
                self.wait_minutes(60, 60 * 24 * 14);
                let actor = if self.chance(0.7) {
                    place.actor(role_of(owner))
                } else {
                    branch
                };
                self.meeting(
                    &mut meeting,
                    &mut meeting_only,
                    actor,
                    MeetingAction::CompleteActionItem {
                        action_item,
                        note: Some(text(Statement::parse, "已按期完成")),
                    },
                );
            }
        }
    }

    /// A xiaoqu's registration and its five parties' organizations.
    fn register(&mut self, place: &Place, name: &str, placement: &Placement) {
        let admin = Actor::new(AccountId(Uuid::new_v4()), Role::Admin);
        let mut x = Stream::<XiaoquRegistry>::new(place.xiaoqu.0);
        let mut run = |sim: &mut Sim, action: RegistryAction| {
            let name = action.name();
            let now = sim.now();
            let events = x
                .agg
                .decide(RegistryCommand::new(admin, action), now)
                .unwrap_or_else(|e| panic!("generator bug: registry {name} refused: {e}"));
            let meta = metadata(admin, name, &request_id(), now, None);
            let step = x.append(events, &meta, micros(now), |_, _, _| {});
            sim.steps.push(step);
        };
        run(
            self,
            RegistryAction::RegisterXiaoqu {
                xiaoqu: place.xiaoqu,
                name: text(PlaceName::parse, name),
                placement: placement.clone(),
            },
        );
        for (party, org) in [
            (PartyRole::PartyBranch, format!("{name}党支部")),
            (PartyRole::OwnersCommittee, format!("{name}业主委员会")),
            (
                PartyRole::SupervisoryCommittee,
                format!("{name}业主监督委员会"),
            ),
            (
                PartyRole::PropertyCompany,
                "安居物业服务有限公司".to_owned(),
            ),
            (PartyRole::MicroOrganization, format!("{name}志愿者服务队")),
        ] {
            run(
                self,
                RegistryAction::RegisterParty {
                    party,
                    organization: OrganizationId(Uuid::new_v4()),
                    name: text(PlaceName::parse, &org),
                },
            );
        }
    }
}

fn hex_of(bytes: [u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What was generated: events and streams by aggregate type, lives by kind.
#[derive(Debug, Default)]
pub struct Mix {
    pub events_by_type: HashMap<&'static str, u64>,
    pub streams_by_type: HashMap<&'static str, u64>,
    pub event_types: HashMap<String, u64>,
    pub lives: HashMap<&'static str, u64>,
    pub xiaoqu: usize,
    pub residents: usize,
    pub seconds: f64,
}

/// Generates and stores exactly `events` events across `xiaoqu` xiaoqu.
pub async fn generate(db: &Database, events: usize, xiaoqu: usize, seed: u64) -> Mix {
    let started = Instant::now();
    let start = DateTime::parse_from_rfc3339("2025-01-06T08:00:00+08:00")
        .expect("start")
        .with_timezone(&Utc);
    let clock = FixedClock::at(start);
    let mut sim = Sim {
        rng: StdRng::seed_from_u64(seed),
        clock: clock.clone(),
        grievances: GrievanceServices::new(Arc::new(clock.clone()), GrievancePolicy::default()),
        cases: MediationServices::new(Arc::new(clock.clone())),
        meetings: MeetingServices::new(Arc::new(clock), MeetingPolicy::default()),
        steps: Vec::new(),
    };
    let mut mix = Mix {
        xiaoqu,
        ..Mix::default()
    };
    // Two districts, each with streets, communities and their xiaoqu.
    let districts = ["涪城区", "游仙区"];
    let mut places = Vec::with_capacity(xiaoqu);
    let mut lives: VecDeque<VecDeque<Step>> = VecDeque::new();
    for i in 0..xiaoqu {
        let district = districts[i % districts.len()];
        let street = format!("{}第{}街道", district, (i / 2) % 3 + 1);
        let community = format!("{}第{}社区", street, (i / 6) % 4 + 1);
        let placement = Placement {
            community: text(PlaceName::parse, &community),
            street: text(PlaceName::parse, &street),
            district: text(PlaceName::parse, district),
        };
        let residents = sim.rng.random_range(200..800);
        let mut accounts = HashMap::new();
        for role in [
            Role::PartyBranch,
            Role::PropertyCompany,
            Role::OwnersCommittee,
            Role::SupervisoryCommittee,
            Role::MicroOrganization,
            Role::Community,
            Role::Street,
            Role::District,
        ] {
            accounts.insert(role, AccountId(Uuid::new_v4()));
        }
        let place = Place {
            xiaoqu: XiaoquId(Uuid::new_v4()),
            residents: (0..residents).map(|_| AccountId(Uuid::new_v4())).collect(),
            accounts,
        };
        mix.residents += residents;
        sim.register(&place, &format!("小区{:03}", i + 1), &placement);
        lives.push_back(std::mem::take(&mut sim.steps).into());
        places.push(place);
    }
    // Busy xiaoqu file more: weight each by its residents.
    let weights: Vec<usize> = places.iter().map(|p| p.residents.len()).collect();
    let total_weight: usize = weights.iter().sum();
    const ACTIVE: usize = 1000;
    let mut heads: HashMap<Arc<str>, (&'static str, i64, Hash)> = HashMap::new();
    let mut batch: Vec<Row> = Vec::with_capacity(BATCH);
    let mut emitted = 0usize;
    let mut day = start;
    while emitted < events {
        while lives.len() < ACTIVE {
            // Lives start through the year, a few minutes apart.
            day += TimeDelta::seconds(sim.rng.random_range(0..300));
            sim.set(day);
            let mut pick = sim.rng.random_range(0..total_weight);
            let place = places
                .iter()
                .zip(&weights)
                .find(|(_, w)| {
                    if pick < **w {
                        true
                    } else {
                        pick -= **w;
                        false
                    }
                })
                .map(|(p, _)| p.clone())
                .expect("a place");
            let x: f64 = sim.rng.random();
            let kind = if x < 0.80 {
                sim.standard(&place);
                "standard"
            } else if x < 0.83 {
                sim.duplicates(&place);
                "duplicates merged"
            } else if x < 0.89 {
                sim.mediation(&place, false);
                "mediation (neighbours)"
            } else if x < 0.91 {
                sim.mediation(&place, true);
                "mediation (owners v. company)"
            } else if x < 0.97 {
                sim.joint_meeting(&place, false);
                "regular joint meeting"
            } else {
                sim.joint_meeting(&place, true);
                "urgent joint meeting"
            };
            *mix.lives.entry(kind).or_default() += 1;
            lives.push_back(std::mem::take(&mut sim.steps).into());
        }
        // One step of each active life in turn, as a busy log interleaves them.
        let Some(mut life) = lives.pop_front() else {
            break;
        };
        if let Some(step) = life.pop_front() {
            for row in step {
                if emitted == events {
                    break;
                }
                emitted += 1;
                *mix.events_by_type.entry(row.aggregate_type).or_default() += 1;
                match mix.event_types.get_mut(row.event_type.as_str()) {
                    Some(n) => *n += 1,
                    None => {
                        mix.event_types.insert(row.event_type.clone(), 1);
                    }
                }
                match heads.get_mut(&row.aggregate_id) {
                    Some(head) => {
                        head.1 = row.sequence;
                        head.2 = row.hash;
                    }
                    None => {
                        *mix.streams_by_type.entry(row.aggregate_type).or_default() += 1;
                        heads.insert(
                            row.aggregate_id.clone(),
                            (row.aggregate_type, row.sequence, row.hash),
                        );
                    }
                }
                batch.push(row);
                if batch.len() == BATCH {
                    insert(db, &batch).await;
                    batch.clear();
                }
            }
        }
        if !life.is_empty() {
            lives.push_back(life);
        }
    }
    insert(db, &batch).await;
    insert_heads(db, &heads).await;
    mix.seconds = started.elapsed().as_secs_f64();
    mix
}

const BATCH: usize = 5000;

async fn insert(db: &Database, rows: &[Row]) {
    if rows.is_empty() {
        return;
    }
    match db {
        Database::Postgres(pool) => {
            let types: Vec<&str> = rows.iter().map(|r| r.aggregate_type).collect();
            let ids: Vec<&str> = rows.iter().map(|r| &*r.aggregate_id).collect();
            let seqs: Vec<i64> = rows.iter().map(|r| r.sequence).collect();
            let event_types: Vec<&str> = rows.iter().map(|r| r.event_type.as_str()).collect();
            let versions: Vec<&str> = rows.iter().map(|r| r.event_version.as_str()).collect();
            let payloads: Vec<&str> = rows.iter().map(|r| r.payload.as_str()).collect();
            let metadata: Vec<&str> = rows.iter().map(|r| r.metadata.as_str()).collect();
            let event_ids: Vec<Uuid> = rows.iter().map(|r| r.event_id).collect();
            let recorded: Vec<DateTime<Utc>> = rows.iter().map(|r| r.recorded_at).collect();
            let hashes: Vec<&[u8]> = rows.iter().map(|r| &r.hash[..]).collect();
            sqlx::query(
                "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                                     payload, metadata, event_id, recorded_at, hash)
                 SELECT ty, id, seq, et, ver, p::json, m::json, eid, at, h
                   FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[],
                               $6::text[], $7::text[], $8::uuid[], $9::timestamptz[], $10::bytea[])
                        AS u(ty, id, seq, et, ver, p, m, eid, at, h)",
            )
            .bind(&types)
            .bind(&ids)
            .bind(&seqs)
            .bind(&event_types)
            .bind(&versions)
            .bind(&payloads)
            .bind(&metadata)
            .bind(&event_ids)
            .bind(&recorded)
            .bind(&hashes)
            .execute(pool)
            .await
            .expect("insert events");
        }
        Database::Sqlite(pool) => {
            let mut tx = pool.begin().await.expect("begin");
            for r in rows {
                sqlx::query(
                    "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                                         payload, metadata, event_id, recorded_at, hash)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(r.aggregate_type)
                .bind(&*r.aggregate_id)
                .bind(r.sequence)
                .bind(&r.event_type)
                .bind(&r.event_version)
                .bind(&r.payload)
                .bind(&r.metadata)
                .bind(r.event_id.to_string())
                .bind(r.recorded_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
                .bind(&r.hash[..])
                .execute(&mut *tx)
                .await
                .expect("insert event");
            }
            tx.commit().await.expect("commit");
        }
    }
}

async fn insert_heads(db: &Database, heads: &HashMap<Arc<str>, (&'static str, i64, Hash)>) {
    let all: Vec<(&str, &str, i64, &Hash)> = heads
        .iter()
        .map(|(id, (ty, seq, hash))| (*ty, &**id, *seq, hash))
        .collect();
    for chunk in all.chunks(10_000) {
        match db {
            Database::Postgres(pool) => {
                let types: Vec<&str> = chunk.iter().map(|h| h.0).collect();
                let ids: Vec<&str> = chunk.iter().map(|h| h.1).collect();
                let seqs: Vec<i64> = chunk.iter().map(|h| h.2).collect();
                let hashes: Vec<&[u8]> = chunk.iter().map(|h| &h.3[..]).collect();
                sqlx::query(
                    "INSERT INTO event_streams (aggregate_type, aggregate_id, last_sequence, last_hash)
                     SELECT ty, id, seq, h FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bytea[])
                         AS u(ty, id, seq, h)",
                )
                .bind(&types)
                .bind(&ids)
                .bind(&seqs)
                .bind(&hashes)
                .execute(pool)
                .await
                .expect("insert heads");
            }
            Database::Sqlite(pool) => {
                let mut tx = pool.begin().await.expect("begin");
                for (ty, id, seq, hash) in chunk {
                    sqlx::query(
                        "INSERT INTO event_streams (aggregate_type, aggregate_id, last_sequence, last_hash)
                         VALUES (?, ?, ?, ?)",
                    )
                    .bind(*ty)
                    .bind(*id)
                    .bind(*seq)
                    .bind(&hash[..])
                    .execute(&mut *tx)
                    .await
                    .expect("insert head");
                }
                tx.commit().await.expect("commit");
            }
        }
    }
}
