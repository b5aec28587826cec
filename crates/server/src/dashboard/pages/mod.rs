//! One file per page; each handler reads through [`Reader`](super::read::Reader) and renders.

pub mod costs;
pub mod login;
pub mod logs;
pub mod overview;
pub mod sessions;
pub mod trace;
pub mod traces;
