//! Attaching files and erasing them with their uploader, as given/when/then.

use uuid::Uuid;

use super::tests::*;
use super::*;
use crate::actor::{Actor, Role};
use crate::values::*;

fn photo(n: u8) -> Attachment {
    let digest = Sha256Hex::parse(&format!("{n:02x}").repeat(32)).expect("a digest");
    Attachment::new(
        digest,
        MediaType::parse("image/jpeg").expect("a type"),
        2048,
    )
    .expect("an attachment")
}

fn attach(files: Vec<Attachment>) -> GrievanceAction {
    GrievanceAction::AddAttachments { attachments: files }
}

fn added(files: Vec<Attachment>, by: Actor) -> GrievanceEvent {
    GrievanceEvent::AttachmentsAdded {
        attachments: files,
        by: by.account,
        at: t0(),
    }
}

fn filed_with(files: Vec<Attachment>) -> GrievanceEvent {
    let mut event = filed();
    if let GrievanceEvent::GrievanceFiled { attachments, .. } = &mut event {
        *attachments = files;
    }
    event
}

#[test]
fn the_filer_attaches_photos_to_an_open_grievance() {
    framework()
        .given(vec![filed()])
        .when(cmd(filer(), attach(vec![photo(1), photo(2)])))
        .then_expect_events(vec![added(vec![photo(1), photo(2)], filer())]);
}

#[test]
fn the_responsible_party_and_the_handler_attach_too_but_a_neighbour_does_not() {
    framework()
        .given(vec![filed(), accepted(), triaged()])
        .when(cmd(company(), attach(vec![photo(3)])))
        .then_expect_events(vec![added(vec![photo(3)], company())]);
    framework()
        .given(vec![filed()])
        .when(cmd(branch(), attach(vec![photo(3)])))
        .then_expect_events(vec![added(vec![photo(3)], branch())]);
    framework()
        .given(vec![filed()])
        .when(cmd(neighbour(), attach(vec![photo(3)])))
        .then_expect_error(GrievanceError::RoleNotAllowed {
            action: "attach",
            role: Role::Resident,
        });
    // The owners' committee is not the party made responsible here.
    framework()
        .given(vec![filed(), accepted(), triaged()])
        .when(cmd(committee(), attach(vec![photo(3)])))
        .then_expect_error(GrievanceError::RoleNotAllowed {
            action: "attach",
            role: Role::OwnersCommittee,
        });
}

#[test]
fn a_household_merged_in_attaches_as_itself() {
    let linked = GrievanceEvent::DuplicateLinked {
        duplicate: OTHER,
        filer: neighbour().account,
        at: t0(),
    };
    framework()
        .given(vec![filed(), linked])
        .when(cmd(neighbour(), attach(vec![photo(4)])))
        .then_expect_events(vec![added(vec![photo(4)], neighbour())]);
}

#[test]
fn a_file_is_attached_once_and_at_most_ten_stay_attached() {
    framework()
        .given(vec![filed_with(vec![photo(1)])])
        .when(cmd(filer(), attach(vec![photo(1)])))
        .then_expect_error(GrievanceError::AlreadyAttached {
            sha256: photo(1).sha256.as_str().to_owned(),
        });
    framework()
        .given(vec![filed()])
        .when(cmd(filer(), attach(vec![photo(5), photo(5)])))
        .then_expect_error(GrievanceError::AlreadyAttached {
            sha256: photo(5).sha256.as_str().to_owned(),
        });
    let nine: Vec<_> = (1..=9).map(photo).collect();
    framework()
        .given(vec![filed_with(nine.clone())])
        .when(cmd(filer(), attach(vec![photo(10)])))
        .then_expect_events(vec![added(vec![photo(10)], filer())]);
    framework()
        .given(vec![filed_with(nine)])
        .when(cmd(filer(), attach(vec![photo(10), photo(11)])))
        .then_expect_error(GrievanceError::TooManyAttachments { max: 10 });
    framework()
        .given(vec![filed()])
        .when(cmd(filer(), attach(vec![])))
        .then_expect_error(GrievanceError::NothingToAttach);
}

#[test]
fn nothing_is_attached_to_a_withdrawn_grievance() {
    framework()
        .given(vec![
            filed(),
            GrievanceEvent::GrievanceWithdrawn {
                reason: None,
                at: t0(),
            },
        ])
        .when(cmd(filer(), attach(vec![photo(1)])))
        .then_expect_error(GrievanceError::InvalidTransition {
            action: "attach",
            status: Status::Withdrawn,
        });
}

#[test]
fn erasing_an_uploader_erases_their_files_only_and_once() {
    let erase = GrievanceAction::EraseAttachmentsOf {
        uploader: filer().account,
    };
    let given = vec![filed_with(vec![photo(1)]), added(vec![photo(2)], branch())];
    framework()
        .given(given.clone())
        .when(cmd(system(), erase.clone()))
        .then_expect_events(vec![GrievanceEvent::AttachmentsErased {
            uploader: filer().account,
            sha256: vec![photo(1).sha256],
            at: t0(),
        }]);
    let mut erased = given.clone();
    erased.push(GrievanceEvent::AttachmentsErased {
        uploader: filer().account,
        sha256: vec![photo(1).sha256],
        at: t0(),
    });
    framework()
        .given(erased.clone())
        .when(cmd(system(), erase.clone()))
        .then_expect_events(vec![]);
    framework()
        .given(given)
        .when(cmd(filer(), erase))
        .then_expect_error(GrievanceError::RoleNotAllowed {
            action: "erase_attachments",
            role: Role::Resident,
        });
    // An erased file no longer counts, and may be attached again.
    let mut grievance = Grievance::default();
    for event in erased {
        cqrs_es::Aggregate::apply(&mut grievance, event);
    }
    let state = grievance.state().expect("filed");
    assert_eq!(state.live_attachments().count(), 1);
    assert_eq!(state.attachments[0].uploader(state), filer().account);
    assert!(state.attachments[0].erased_at.is_some());
    assert_eq!(
        state.attachments[1].by,
        Some(AccountId(Uuid::from_u128(200)))
    );
}
