//! Corrective messages fed back to the model, and the [`Nudge`] value that carries one.
//!
//! The texts are wire content: they enter the conversation the model sees, so they are kept
//! byte-identical to the reference (`prompts/nudges.py` at v0.7.3).

use forge_types::{Message, MessageMeta, MessageRole, MessageType, ToolCall, ToolCallInfo};

/// The fixed retry text sent after a response that was not a valid tool call.
pub const RETRY_NUDGE_TEXT: &str = "Your previous response was not a valid tool call. You must respond with a tool call, not free text. Please try again with a valid tool call.";

/// The retry text for a response that was not a valid tool call.
///
/// The raw response is deliberately ignored and never echoed back: repeating the model's own
/// prose tends to reinforce it.
pub fn retry_nudge(_raw_response: &str) -> String {
    RETRY_NUDGE_TEXT.to_owned()
}

/// `Tool '{tool}' does not exist. Available tools: {names}. Call one of them.`
pub fn unknown_tool_nudge<S: AsRef<str>>(tool: &str, available: &[S]) -> String {
    format!(
        "Tool '{tool}' does not exist. Available tools: {}. Call one of them.",
        join(available)
    )
}

/// The escalating text for a terminal tool called before the required steps.
///
/// `tier` is clamped into `1..=3`: tier 0 (or less) renders tier 1, anything above 3 renders
/// tier 3.
pub fn step_nudge<S: AsRef<str>>(terminal: &str, pending: &[S], tier: i64) -> String {
    let pending = join(pending);
    match tier.clamp(1, 3) {
        1 => format!(
            "You cannot call {terminal} yet. You must first complete these required steps: {pending}. Call one of them now."
        ),
        2 => format!("You must call one of these tools now: {pending}. Pick one."),
        _ => format!(
            "STOP. You MUST call one of: {pending}. Do NOT call {terminal}. Your next response MUST be a tool call to one of: {pending}."
        ),
    }
}

/// `You cannot call {tool} yet. You must first call: {missing}. Call the prerequisite tool now.`
pub fn prerequisite_nudge<S: AsRef<str>>(tool: &str, missing: &[S]) -> String {
    format!(
        "You cannot call {tool} yet. You must first call: {}. Call the prerequisite tool now.",
        join(missing)
    )
}

/// `Arguments of {tool} are invalid: {problems}. Fix the arguments and call {tool} again.`
///
/// Each problem names the field (a JSON pointer into the arguments, `/` for the object itself)
/// and the schema rule it breaks.
pub fn invalid_arguments_nudge<S: AsRef<str>>(tool: &str, problems: &[S]) -> String {
    let problems = problems
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join("; ");
    format!("Arguments of {tool} are invalid: {problems}. Fix the arguments and call {tool} again.")
}

fn join<S: AsRef<str>>(names: &[S]) -> String {
    names
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a nudge was produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NudgeKind {
    /// The response was not a usable tool call (bare text, or an empty batch).
    Retry,
    /// The batch named a tool that does not exist.
    UnknownTool,
    /// A terminal tool was called before the required steps were done.
    Step,
    /// A tool was called before its prerequisites were met.
    Prerequisite,
    /// A call's arguments do not satisfy its tool's parameters schema.
    InvalidArguments,
}

impl NudgeKind {
    /// The reference's string for this kind (`"retry"`, `"unknown_tool"`, `"step"`,
    /// `"prerequisite"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Retry => "retry",
            Self::UnknownTool => "unknown_tool",
            Self::Step => "step",
            Self::Prerequisite => "prerequisite",
            Self::InvalidArguments => "invalid_arguments",
        }
    }

    /// The history tag of the message(s) that carry this nudge.
    pub fn message_type(self) -> MessageType {
        match self {
            Self::Retry | Self::UnknownTool | Self::InvalidArguments => MessageType::RetryNudge,
            Self::Step => MessageType::StepNudge,
            Self::Prerequisite => MessageType::PrerequisiteNudge,
        }
    }

    /// The channel the nudge is delivered on.
    ///
    /// A retry has no tool call to answer, so it goes on the user channel. The other kinds answer
    /// the offending tool calls: one `role: "tool"` reply per call, so no assistant tool call is
    /// ever left without a reply. (The reference's `Nudge` records said `"user"` for every kind
    /// and let the runner re-route; here the value says where it really goes.)
    pub fn role(self) -> MessageRole {
        match self {
            Self::Retry => MessageRole::User,
            Self::UnknownTool | Self::Step | Self::Prerequisite | Self::InvalidArguments => {
                MessageRole::Tool
            }
        }
    }

    /// The prefix of each tool-channel reply (`""` for the user channel).
    pub fn wire_prefix(self) -> &'static str {
        match self {
            Self::Retry => "",
            Self::UnknownTool => "[UnknownTool] ",
            Self::Step => "[StepEnforcementError] ",
            Self::Prerequisite => "[PrerequisiteError] ",
            Self::InvalidArguments => "[InvalidArguments] ",
        }
    }
}

/// A corrective message for the model. Immutable: fields are read through accessors.
///
/// ```compile_fail
/// use forge_guardrails::{Nudge, NudgeKind};
/// let mut nudge = Nudge::new(NudgeKind::Retry, "x");
/// nudge.content = String::from("changed"); // private: a nudge cannot be edited after the fact
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Nudge {
    kind: NudgeKind,
    content: String,
    tier: u8,
    rescued_calls: Vec<ToolCall>,
}

// Every field compares totally: tool-call arguments are JSON values, which are `Eq`.
impl Eq for Nudge {}

impl Nudge {
    /// A nudge of `kind` with tier 0.
    pub fn new(kind: NudgeKind, content: impl Into<String>) -> Self {
        Self {
            kind,
            content: content.into(),
            tier: 0,
            rescued_calls: Vec::new(),
        }
    }

    /// The same nudge answering calls rescued from a text response (a tool-channel nudge about
    /// a text response has no native calls to answer: these are recorded as the model's calls).
    pub fn with_rescued_calls(mut self, calls: Vec<ToolCall>) -> Self {
        self.rescued_calls = calls;
        self
    }

    /// The calls rescued from text that this nudge answers (empty unless the response was text).
    pub fn rescued_calls(&self) -> &[ToolCall] {
        &self.rescued_calls
    }

    /// The same nudge with an escalation tier (meaningful for [`NudgeKind::Step`] only).
    pub fn with_tier(mut self, tier: u8) -> Self {
        self.tier = tier;
        self
    }

    /// Why it was produced.
    pub fn kind(&self) -> NudgeKind {
        self.kind
    }

    /// The nudge text, without any wire prefix.
    pub fn content(&self) -> &str {
        &self.content
    }

    /// The escalation tier: 1..=3 for step nudges, 0 otherwise.
    pub fn tier(&self) -> u8 {
        self.tier
    }

    /// The channel it is delivered on (see [`NudgeKind::role`]).
    pub fn role(&self) -> MessageRole {
        self.kind.role()
    }

    /// The text of one delivered message: the kind's wire prefix followed by the content.
    pub fn wire_content(&self) -> String {
        format!("{}{}", self.kind.wire_prefix(), self.content)
    }

    /// The history messages that deliver this nudge in answer to `calls`, tagged at `step`.
    ///
    /// For a user-channel nudge: one user message. For a tool-channel nudge: one `role: "tool"`
    /// reply per call, bound by `tool_call_id`, every reply carrying the same text (calls that
    /// were not at fault are answered too, so the batch is complete on the wire).
    pub fn delivery(&self, calls: &[ToolCallInfo], step: Option<u32>) -> Vec<Message> {
        let meta = meta_at(self.kind.message_type(), step);
        match self.role() {
            MessageRole::Tool => calls
                .iter()
                .map(|call| {
                    Message::tool_result(
                        call.name.clone(),
                        call.call_id.clone(),
                        self.wire_content(),
                        meta,
                    )
                })
                .collect(),
            _ => vec![Message::user(self.content.clone(), meta)],
        }
    }
}

/// Metadata of `kind`, tagged with `step` when there is one.
pub(crate) fn meta_at(kind: MessageType, step: Option<u32>) -> MessageMeta {
    match step {
        Some(step) => kind.at_step(step),
        None => kind.meta(),
    }
}
