//! Micro-governance (五微工作法): micro-funds (微基金) paying for
//! micro-projects (微项目). One `MicroProject` stream per project and one
//! `MicroFund` stream per fund; a fund pays only for its own projects once
//! they are approved and under way, as their streams say when it pays.

pub mod fund;
pub mod project;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

pub use fund::{
    FundAction, FundEntry, FundError, FundEvent, FundKind, FundPlace, FundState, MicroFund,
    PaidProject, Source, MOST_AMOUNT,
};
pub use project::{
    Evaluation, Evaluator, MicroProject, ProgressReport, ProjectAction, ProjectError, ProjectEvent,
    ProjectState, ProjectStatus, PublicComment, Stars,
};

use crate::actor::Actor;
use crate::services::Clock;
use crate::values::{FundId, ProjectId};

#[derive(Clone, Debug)]
pub struct MicroServices {
    pub clock: Arc<dyn Clock>,
}

impl MicroServices {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self { clock }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectCommand {
    pub actor: Actor,
    pub project: ProjectId,
    pub action: ProjectAction,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundCommand {
    pub actor: Actor,
    pub fund: FundId,
    pub action: FundAction,
}

impl DomainEvent for ProjectEvent {
    fn event_type(&self) -> String {
        self.name().to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

impl DomainEvent for FundEvent {
    fn event_type(&self) -> String {
        self.name().to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

impl Aggregate for MicroProject {
    /// Never changes once data exists: it is stored with every event.
    const TYPE: &'static str = "micro_project";
    type Command = ProjectCommand;
    type Event = ProjectEvent;
    type Error = ProjectError;
    type Services = MicroServices;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let ProjectCommand {
            actor,
            project,
            action,
        } = command;
        for event in self.decide(actor, project, action, services.clock.now())? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        self.evolve(event);
    }
}

impl Aggregate for MicroFund {
    /// Never changes once data exists: it is stored with every event.
    const TYPE: &'static str = "micro_fund";
    type Command = FundCommand;
    type Event = FundEvent;
    type Error = FundError;
    type Services = MicroServices;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let FundCommand {
            actor,
            fund,
            action,
        } = command;
        for event in self.decide(actor, fund, action, services.clock.now())? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        self.evolve(event);
    }
}
