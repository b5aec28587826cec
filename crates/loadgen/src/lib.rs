//! Load generation for `sightline demo` and `sightline bench`: realistic agent traffic as OTLP
//! and the small OTLP/HTTP sender that delivers it.

pub mod send;
pub mod traffic;
