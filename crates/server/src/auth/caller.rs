//! Who is calling: one value made by the authenticator from the request's credential (the HTTP
//! extractor, the gRPC hook and the Langfuse Basic-auth path all end here). Handlers receive a
//! [`Caller`] and never see credentials; authorization is a check on it.

use sightline_core::ProjectId;

use crate::error::{ApiError, ErrorCode};

/// What a caller may do, weakest first: each role may do everything the ones before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Reads, with payloads redacted once masking rules exist.
    Viewer,
    /// Reads and writes telemetry and project settings (prices, budgets, ...).
    Member,
    /// Everything, keys and project administration included.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Member, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Member => "member",
            Role::Admin => "admin",
        }
    }

    /// The role called `name` (`viewer`, `member`, `admin`).
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

/// An authenticated caller: the project its credential belongs to, which key it used (`None`
/// for anonymous loopback access to the default project before any key exists), and its role.
/// Only [`crate::auth`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    project: ProjectId,
    key_id: Option<String>,
    role: Role,
}

impl Caller {
    pub(super) fn new(project: ProjectId, key_id: Option<String>, role: Role) -> Caller {
        Caller {
            project,
            key_id,
            role,
        }
    }

    /// The project every read and write of this request is scoped to.
    pub fn project(&self) -> ProjectId {
        self.project
    }

    /// The public half of the key used, when there was one.
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// The project this caller may send telemetry to: writing needs the member role.
    pub fn write_project(&self) -> Result<ProjectId, ApiError> {
        self.require(Role::Member)?;
        Ok(self.project)
    }

    /// `Ok` when the caller's role is at least `needed`, else a `forbidden` error that names
    /// both roles.
    pub fn require(&self, needed: Role) -> Result<(), ApiError> {
        if self.role >= needed {
            return Ok(());
        }
        Err(ApiError::new(
            ErrorCode::Forbidden,
            format!(
                "this needs the {} role; the key used has the {} role: use a key with more rights",
                needed.as_str(),
                self.role.as_str()
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_may_do_what_the_weaker_ones_may() {
        let cases = [
            (Role::Viewer, Role::Viewer, true),
            (Role::Viewer, Role::Member, false),
            (Role::Viewer, Role::Admin, false),
            (Role::Member, Role::Viewer, true),
            (Role::Member, Role::Member, true),
            (Role::Member, Role::Admin, false),
            (Role::Admin, Role::Admin, true),
        ];
        for (has, needed, allowed) in cases {
            let caller = Caller::new(ProjectId(1), Some("pk".into()), has);
            let got = caller.require(needed);
            assert_eq!(got.is_ok(), allowed, "{has:?} doing what needs {needed:?}");
            if let Err(e) = got {
                assert_eq!(e.code, ErrorCode::Forbidden);
                assert_eq!(e.code.http_status(), 403);
                assert!(e.message.contains(needed.as_str()), "{}", e.message);
            }
        }
    }

    #[test]
    fn roles_read_back_from_their_names_and_viewers_cannot_write() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("owner"), None);
        let viewer = Caller::new(ProjectId(1), Some("pk".into()), Role::Viewer);
        assert_eq!(
            viewer.write_project().unwrap_err().code,
            ErrorCode::Forbidden
        );
        let member = Caller::new(ProjectId(1), Some("pk".into()), Role::Member);
        assert_eq!(member.write_project().unwrap(), ProjectId(1));
    }
}
