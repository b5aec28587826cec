//! The error a step ended with: span status, `error.type` and the `exception` event.

use crate::model::{ErrorInfo, StatusCode};
use crate::value::AttrValue;

use super::Ctx;

/// `Some` when the status is ERROR, `error.type` is set, or an `exception` event was recorded
/// (even with status unset: the step recorded an exception, so it counts as an error).
///
/// The last `exception` event is the one used, and consumed; earlier ones (say, retried
/// attempts) stay in `events`. `error.type` wins over `exception.type`; `exception.message`
/// wins over the status message.
pub(super) fn error(
    ctx: &mut Ctx,
    status: StatusCode,
    status_message: Option<&str>,
) -> Option<ErrorInfo> {
    let error_type = ctx.attrs.take_text(&["error.type"]);
    let exception = ctx.events_named("exception").last().copied();
    if status != StatusCode::Error && error_type.is_none() && exception.is_none() {
        return None;
    }
    let mut info = ErrorInfo {
        error_type,
        message: None,
        stacktrace: None,
    };
    if let Some(i) = exception {
        ctx.consumed[i] = true;
        let text = |key: &str| {
            ctx.events[i]
                .attributes
                .iter()
                .find(|(k, _)| k == key)
                .and_then(|(_, v)| AttrValue::to_text(v))
                .filter(|s| !s.is_empty())
        };
        info.error_type = info.error_type.or_else(|| text("exception.type"));
        info.message = text("exception.message");
        info.stacktrace = text("exception.stacktrace");
    }
    info.message = info.message.or_else(|| status_message.map(str::to_string));
    Some(info)
}
