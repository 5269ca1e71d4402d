//! The `respond` tool as a runnable definition: a workflow that lists it among its terminal
//! tools ends with the model's message to the user.

use forge_guardrails::respond_spec;

use crate::tool::{ToolDef, ToolFailure};

/// The `respond` tool ([`forge_guardrails::respond_spec`]); running it returns its `message`
/// argument unchanged (empty allowed). A call without a string `message` is a counted
/// `[ToolError] InvalidArguments: …`, never an empty reply.
///
/// ```
/// use forge_runner::respond_tool;
/// use serde_json::json;
///
/// let tool = respond_tool();
/// assert_eq!(tool.name(), "respond");
/// # tokio::runtime::Builder::new_current_thread().build().expect("a runtime").block_on(async {
/// let args = forge_types::json_object(json!({"message": "hello world"})).expect("an object");
/// assert_eq!(tool.call(args).await.expect("a message").as_text(), Some("hello world"));
/// # });
/// ```
pub fn respond_tool() -> ToolDef {
    ToolDef::new_sync(respond_spec(), |args| {
        match args.get("message").and_then(|m| m.as_str()) {
            Some(message) => Ok(message.to_owned()),
            None => Err(ToolFailure::error(
                "InvalidArguments",
                "respond needs a string argument 'message'",
            )),
        }
    })
}
