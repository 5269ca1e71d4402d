use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::py_json::py_json_dumps;
use crate::{CallId, JsonObject};

/// Who speaks a message. The serde value is what goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageRole {
    /// `"system"`
    System,
    /// `"user"`
    User,
    /// `"assistant"`
    Assistant,
    /// `"tool"`
    Tool,
}

impl MessageRole {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::User => "user",
            Self::Assistant => "assistant",
            Self::Tool => "tool",
        }
    }
}

/// What a message is for. Compaction and observers act on this tag; it never goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageType {
    /// The rendered system prompt (index 0 of a run).
    SystemPrompt,
    /// The user's input.
    UserInput,
    /// An assistant message carrying tool calls.
    ToolCall,
    /// A tool's output, including `[ToolResolutionError]` / `[ToolError]` results.
    ToolResult,
    /// The reasoning that preceded a tool call, kept as its own assistant message.
    Reasoning,
    /// Assistant plain text: a reply, or a failed attempt before a retry nudge.
    TextResponse,
    /// `[StepEnforcementError]` correction on the tool channel.
    StepNudge,
    /// `[PrerequisiteError]` correction on the tool channel.
    PrerequisiteNudge,
    /// A retry nudge: user-channel after bare text, tool-channel `[UnknownTool]` per call.
    RetryNudge,
    /// A context-usage warning; transient (shown to the model once, never kept in history).
    ContextWarning,
    /// Reserved for strategies that summarize; nothing built in creates it.
    Summary,
}

impl MessageType {
    /// Every variant, in declaration order.
    pub const ALL: [MessageType; 11] = [
        Self::SystemPrompt,
        Self::UserInput,
        Self::ToolCall,
        Self::ToolResult,
        Self::Reasoning,
        Self::TextResponse,
        Self::StepNudge,
        Self::PrerequisiteNudge,
        Self::RetryNudge,
        Self::ContextWarning,
        Self::Summary,
    ];

    /// The tag's string value (`"system_prompt"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SystemPrompt => "system_prompt",
            Self::UserInput => "user_input",
            Self::ToolCall => "tool_call",
            Self::ToolResult => "tool_result",
            Self::Reasoning => "reasoning",
            Self::TextResponse => "text_response",
            Self::StepNudge => "step_nudge",
            Self::PrerequisiteNudge => "prerequisite_nudge",
            Self::RetryNudge => "retry_nudge",
            Self::ContextWarning => "context_warning",
            Self::Summary => "summary",
        }
    }

    /// True for messages that exist only for the attempt that produced them.
    ///
    /// Only context warnings are structurally transient inside a run. Nudges are *not*: they
    /// answer assistant tool calls, and dropping them would leave a call without a reply.
    pub fn is_transient(self) -> bool {
        matches!(self, Self::ContextWarning)
    }

    /// Metadata of this type with no step index.
    pub fn meta(self) -> MessageMeta {
        MessageMeta::new(self)
    }

    /// Metadata of this type produced at loop iteration `step`.
    pub fn at_step(self, step: u32) -> MessageMeta {
        MessageMeta::new(self).with_step(step)
    }
}

/// Metadata carried by every [`Message`]; never serialized to a backend.
///
/// Immutable once built: fields are private and only readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MessageMeta {
    #[serde(rename = "type")]
    kind: MessageType,
    step_index: Option<u32>,
    original_type: Option<MessageType>,
    token_estimate: Option<u64>,
}

impl MessageMeta {
    /// Metadata of `kind`, everything else unset.
    pub const fn new(kind: MessageType) -> Self {
        Self {
            kind,
            step_index: None,
            original_type: None,
            token_estimate: None,
        }
    }

    /// The same metadata with a step index.
    pub const fn with_step(mut self, step: u32) -> Self {
        self.step_index = Some(step);
        self
    }

    /// The same metadata recording the type this message replaced (for custom strategies).
    pub const fn with_original_type(mut self, original: MessageType) -> Self {
        self.original_type = Some(original);
        self
    }

    /// The same metadata with a cached token estimate.
    pub const fn with_token_estimate(mut self, tokens: u64) -> Self {
        self.token_estimate = Some(tokens);
        self
    }

    /// The compaction tag.
    pub const fn kind(&self) -> MessageType {
        self.kind
    }

    /// The loop iteration that produced the message, if any.
    pub const fn step_index(&self) -> Option<u32> {
        self.step_index
    }

    /// The type this message replaced, if a strategy set one.
    pub const fn original_type(&self) -> Option<MessageType> {
        self.original_type
    }

    /// A cached token estimate, if set.
    pub const fn token_estimate(&self) -> Option<u64> {
        self.token_estimate
    }
}

/// Which chat-message dialect a backend expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiFormat {
    /// Ollama `/api/chat`: arguments are objects, results carry `tool_name`.
    #[default]
    Ollama,
    /// OpenAI chat completions: arguments are JSON strings, results carry `tool_call_id`.
    #[serde(rename = "openai")]
    OpenAi,
}

/// One tool call inside an assistant message of the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCallInfo {
    /// The tool's name.
    pub name: String,
    /// The call's arguments.
    pub args: JsonObject,
    /// The id the tool's reply refers to.
    pub call_id: CallId,
}

impl ToolCallInfo {
    /// Builds a call.
    pub fn new(name: impl Into<String>, args: JsonObject, call_id: CallId) -> Self {
        Self {
            name: name.into(),
            args,
            call_id,
        }
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Who speaks.
    pub role: MessageRole,
    /// The text; `""` for tool-call messages, never null.
    pub content: String,
    /// Compaction/observer metadata; never serialized to a backend.
    pub metadata: MessageMeta,
    /// On tool results: the tool that produced it.
    pub tool_name: Option<String>,
    /// On tool results: the call this answers.
    pub tool_call_id: Option<CallId>,
    /// On assistant tool-call messages: the calls.
    pub tool_calls: Option<Vec<ToolCallInfo>>,
}

impl Message {
    /// A message with only role, content and metadata.
    pub fn new(role: MessageRole, content: impl Into<String>, metadata: MessageMeta) -> Self {
        Self {
            role,
            content: content.into(),
            metadata,
            tool_name: None,
            tool_call_id: None,
            tool_calls: None,
        }
    }

    /// A system message.
    pub fn system(content: impl Into<String>, metadata: MessageMeta) -> Self {
        Self::new(MessageRole::System, content, metadata)
    }

    /// A user message.
    pub fn user(content: impl Into<String>, metadata: MessageMeta) -> Self {
        Self::new(MessageRole::User, content, metadata)
    }

    /// An assistant text message.
    pub fn assistant(content: impl Into<String>, metadata: MessageMeta) -> Self {
        Self::new(MessageRole::Assistant, content, metadata)
    }

    /// An assistant message carrying tool calls (content `""`).
    pub fn tool_calls(calls: Vec<ToolCallInfo>, metadata: MessageMeta) -> Self {
        Self {
            tool_calls: Some(calls),
            ..Self::new(MessageRole::Assistant, "", metadata)
        }
    }

    /// A `role: "tool"` reply to `call_id`.
    pub fn tool_result(
        tool_name: impl Into<String>,
        call_id: CallId,
        content: impl Into<String>,
        metadata: MessageMeta,
    ) -> Self {
        Self {
            tool_name: Some(tool_name.into()),
            tool_call_id: Some(call_id),
            ..Self::new(MessageRole::Tool, content, metadata)
        }
    }

    /// The message in the backend's chat-message shape. Metadata never appears.
    ///
    /// OpenAI-format `arguments` are written by [`py_json_dumps`] (see that module for why).
    pub fn to_api_value(&self, format: ApiFormat) -> Value {
        let mut out = serde_json::Map::new();
        out.insert("role".into(), json!(self.role.as_str()));
        out.insert("content".into(), json!(self.content));
        if let Some(calls) = &self.tool_calls {
            let calls = calls
                .iter()
                .map(|call| match format {
                    ApiFormat::Ollama => json!({
                        "function": {"name": call.name, "arguments": Value::Object(call.args.clone())}
                    }),
                    ApiFormat::OpenAi => json!({
                        "function": {
                            "name": call.name,
                            "arguments": py_json_dumps(&Value::Object(call.args.clone())),
                        },
                        "type": "function",
                        "id": call.call_id.as_str(),
                    }),
                })
                .collect();
            out.insert("tool_calls".into(), Value::Array(calls));
            return Value::Object(out);
        }
        if let Some(tool_name) = &self.tool_name {
            match format {
                ApiFormat::OpenAi => {
                    out.insert("name".into(), json!(tool_name));
                    if let Some(id) = &self.tool_call_id {
                        out.insert("tool_call_id".into(), json!(id.as_str()));
                    }
                }
                ApiFormat::Ollama => {
                    out.insert("tool_name".into(), json!(tool_name));
                }
            }
        }
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json_object;

    fn object(value: Value) -> JsonObject {
        json_object(value).unwrap()
    }

    fn fetch_call(n: u64) -> ToolCallInfo {
        ToolCallInfo::new(
            "fetch",
            object(json!({"key": "val"})),
            CallId::from_counter(n),
        )
    }

    #[test]
    fn role_and_type_wire_values() {
        let roles: Vec<_> = [
            MessageRole::System,
            MessageRole::User,
            MessageRole::Assistant,
            MessageRole::Tool,
        ]
        .iter()
        .map(|r| serde_json::to_value(r).unwrap())
        .collect();
        assert_eq!(
            roles,
            vec![
                json!("system"),
                json!("user"),
                json!("assistant"),
                json!("tool")
            ]
        );
        let types: Vec<_> = MessageType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(
            types,
            [
                "system_prompt",
                "user_input",
                "tool_call",
                "tool_result",
                "reasoning",
                "text_response",
                "step_nudge",
                "prerequisite_nudge",
                "retry_nudge",
                "context_warning",
                "summary"
            ]
        );
        for t in MessageType::ALL {
            assert_eq!(serde_json::to_value(t).unwrap(), json!(t.as_str()));
        }
    }

    #[test]
    fn meta_defaults_and_builders() {
        let meta = MessageType::UserInput.meta();
        assert_eq!(
            (
                meta.step_index(),
                meta.original_type(),
                meta.token_estimate()
            ),
            (None, None, None)
        );
        let meta = MessageMeta::new(MessageType::Summary)
            .with_step(3)
            .with_original_type(MessageType::ToolResult)
            .with_token_estimate(120);
        assert_eq!(meta.kind(), MessageType::Summary);
        assert_eq!(meta.step_index(), Some(3));
        assert_eq!(meta.original_type(), Some(MessageType::ToolResult));
        assert_eq!(meta.token_estimate(), Some(120));
    }

    #[test]
    fn plain_message_serializes_role_and_content_only() {
        let m = Message::assistant("Hello", MessageType::Reasoning.meta());
        assert_eq!(
            m.to_api_value(ApiFormat::Ollama),
            json!({"role": "assistant", "content": "Hello"})
        );
        let m = Message::user(
            "hi",
            MessageMeta::new(MessageType::UserInput)
                .with_step(0)
                .with_token_estimate(50),
        );
        assert_eq!(
            m.to_api_value(ApiFormat::OpenAi),
            json!({"role": "user", "content": "hi"})
        );
    }

    #[test]
    fn tool_calls_in_both_formats() {
        let m = Message::tool_calls(vec![fetch_call(1)], MessageType::ToolCall.meta());
        assert_eq!(
            m.to_api_value(ApiFormat::Ollama)["tool_calls"],
            json!([{"function": {"name": "fetch", "arguments": {"key": "val"}}}])
        );
        assert_eq!(
            m.to_api_value(ApiFormat::OpenAi)["tool_calls"],
            json!([{"id": "call_000000001", "type": "function",
                    "function": {"name": "fetch", "arguments": "{\"key\": \"val\"}"}}])
        );
        assert_eq!(m.to_api_value(ApiFormat::OpenAi)["content"], json!(""));
    }

    #[test]
    fn two_tool_calls_keep_order() {
        let mut second = fetch_call(2);
        second.name = "analyze".into();
        let m = Message::tool_calls(vec![fetch_call(1), second], MessageType::ToolCall.meta());
        let wire = m.to_api_value(ApiFormat::OpenAi);
        assert_eq!(wire["tool_calls"][0]["id"], "call_000000001");
        assert_eq!(wire["tool_calls"][1]["id"], "call_000000002");
        assert_eq!(wire["tool_calls"][1]["function"]["name"], "analyze");
    }

    #[test]
    fn empty_args_serialize_as_empty_object() {
        let call = ToolCallInfo::new("noop", JsonObject::new(), CallId::from_counter(0));
        let m = Message::tool_calls(vec![call], MessageType::ToolCall.meta());
        assert_eq!(
            m.to_api_value(ApiFormat::OpenAi)["tool_calls"][0]["function"]["arguments"],
            "{}"
        );
        assert_eq!(
            m.to_api_value(ApiFormat::Ollama)["tool_calls"][0]["function"]["arguments"],
            json!({})
        );
    }

    #[test]
    fn tool_results_in_both_formats() {
        let m = Message::tool_result(
            "fetch",
            CallId::from_counter(1),
            "result data",
            MessageType::ToolResult.meta(),
        );
        assert_eq!(
            m.to_api_value(ApiFormat::Ollama),
            json!({"role": "tool", "content": "result data", "tool_name": "fetch"})
        );
        assert_eq!(
            m.to_api_value(ApiFormat::OpenAi),
            json!({"role": "tool", "content": "result data", "name": "fetch", "tool_call_id": "call_000000001"})
        );
        let mut without_id = m.clone();
        without_id.tool_call_id = None;
        assert_eq!(
            without_id.to_api_value(ApiFormat::OpenAi),
            json!({"role": "tool", "content": "result data", "name": "fetch"})
        );
    }

    #[test]
    fn only_context_warnings_are_transient() {
        let transient: Vec<_> = MessageType::ALL
            .into_iter()
            .filter(|t| t.is_transient())
            .collect();
        assert_eq!(transient, vec![MessageType::ContextWarning]);
    }
}
