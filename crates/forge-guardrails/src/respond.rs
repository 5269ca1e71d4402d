//! The synthetic `respond` tool: lets a model talk to the user without leaving tool-calling mode.
//!
//! Small models choose badly between "write text" and "call a tool"; offering `respond` makes
//! every answer a tool call. A workflow lists it among its terminal tools; a foreign loop treats
//! an executed `respond` call's `message` as the reply; the proxy may inject it and turns
//! `respond` calls back into text for its client.

use forge_types::{ToolCall, ToolSpec};
use serde_json::json;

/// The tool's name.
pub const RESPOND_TOOL_NAME: &str = "respond";

/// The one parameter of `respond`: the reply text.
pub const RESPOND_MESSAGE_FIELD: &str = "message";

/// The tool's description (wire text).
pub const RESPOND_DESCRIPTION: &str = "Respond to the user with a message. Use this when the user is chatting, asking a question, when you need to ask a clarifying question before proceeding, or when no other tool action is needed. Also use this after completing the user's request to report the result.";

/// The spec of `respond`: one required string parameter, `message`.
pub fn respond_spec() -> ToolSpec {
    ToolSpec::new(
        RESPOND_TOOL_NAME,
        RESPOND_DESCRIPTION,
        json!({
            "properties": {
                "message": {
                    "description": "The message to send to the user.",
                    "title": "Message",
                    "type": "string"
                }
            },
            "required": ["message"],
            "title": "RespondParams",
            "type": "object"
        }),
    )
}

/// The reply text of a `respond` call: its `message` argument, if that is a string.
///
/// `None` for other tools and for a `respond` call without a string `message` (a call error the
/// caller must report, not an empty reply).
pub fn respond_message(call: &ToolCall) -> Option<&str> {
    if call.tool != RESPOND_TOOL_NAME {
        return None;
    }
    call.args.get(RESPOND_MESSAGE_FIELD)?.as_str()
}

/// Splits a batch into its `respond` calls and the other calls, each in batch order.
pub fn partition_respond_calls(calls: Vec<ToolCall>) -> (Vec<ToolCall>, Vec<ToolCall>) {
    calls
        .into_iter()
        .partition(|call| call.tool == RESPOND_TOOL_NAME)
}
