//! Is a model response a usable tool-call batch? If not, what do we tell the model?

use std::fmt;
use std::sync::Arc;

use forge_types::{LlmResponse, ToolCall, ToolSpec};
use serde_json::Value;

use crate::nudge::{invalid_arguments_nudge, retry_nudge, unknown_tool_nudge, Nudge, NudgeKind};

/// Whether [`ResponseValidator::new`] checks arguments against the tools' schemas.
pub const DEFAULT_ARGUMENT_VALIDATION: bool = false;

/// At most this many schema violations are named in one nudge (the first ones found).
const MAX_PROBLEMS_NAMED: usize = 3;

/// One compiled parameters schema per tool, in declaration order (`None`: not checkable).
type ArgumentSchemas = Arc<Vec<Option<jsonschema::Validator>>>;

/// Builds the retry text from the model's raw text (the default ignores it).
pub type RetryNudgeFn = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// The verdict on one response.
#[derive(Debug, Clone, PartialEq)]
pub enum Validation {
    /// A non-empty batch whose every tool exists (possibly rescued from text).
    Valid(Vec<ToolCall>),
    /// Unusable: deliver the nudge and ask again.
    Retry(Nudge),
}

/// Turns model responses into validated batches or retry nudges. Stateless; reusable across
/// turns and conversations.
///
/// Decision order:
/// 1. text from which rescue (if enabled) recovers at least one call of a known tool → valid,
///    the rescued calls (without reasoning);
/// 2. other text → [`NudgeKind::Retry`] with the retry text;
/// 3. an empty batch → [`NudgeKind::Retry`] (the reference let it through and then crashed;
///    an empty batch answers nothing, so it is treated like a response with no tool call);
/// 4. a batch naming an unknown tool → [`NudgeKind::UnknownTool`] naming the **first** unknown
///    name and listing every tool in declaration order;
/// 5. with argument validation on, a call (native or rescued) whose arguments break its tool's
///    parameters schema → [`NudgeKind::InvalidArguments`] for the **first** such call, naming
///    each failing field (a JSON pointer) and the rule it breaks;
/// 6. otherwise → valid, the batch unchanged.
///
/// Rescue only returns calls of known tools, so text naming an unknown tool falls to row 2.
///
/// Argument validation is off by default ([`DEFAULT_ARGUMENT_VALIDATION`]), as in the reference,
/// whose tools receive the model's arguments unchecked; switch it on with
/// [`with_argument_validation`](Self::with_argument_validation).
#[derive(Clone)]
pub struct ResponseValidator {
    tools: Vec<ToolSpec>,
    tool_names: Vec<String>,
    rescue_enabled: bool,
    retry_nudge: RetryNudgeFn,
    argument_schemas: Option<ArgumentSchemas>,
}

impl fmt::Debug for ResponseValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseValidator")
            .field("tool_names", &self.tool_names)
            .field("rescue_enabled", &self.rescue_enabled)
            .field("argument_validation", &self.argument_schemas.is_some())
            .finish_non_exhaustive()
    }
}

impl ResponseValidator {
    /// A validator for `tools` with rescue on and the default retry text.
    pub fn new(tools: Vec<ToolSpec>) -> Self {
        let tool_names = tools.iter().map(|tool| tool.name.clone()).collect();
        Self {
            tools,
            tool_names,
            rescue_enabled: true,
            retry_nudge: Arc::new(retry_nudge),
            argument_schemas: None,
        }
        .with_argument_validation(DEFAULT_ARGUMENT_VALIDATION)
    }

    /// The same validator checking (or not) every call's arguments against its tool's
    /// parameters schema.
    ///
    /// A tool whose schema does not compile (not valid JSON Schema, or a remote `$ref`, which is
    /// never fetched) is logged as a warning and its calls go unchecked.
    pub fn with_argument_validation(mut self, enabled: bool) -> Self {
        self.argument_schemas = enabled.then(|| Arc::new(self.tools.iter().map(compile).collect()));
        self
    }

    /// True when arguments are checked against the tools' schemas.
    pub fn argument_validation(&self) -> bool {
        self.argument_schemas.is_some()
    }

    /// The same validator with rescue of calls written as text switched on or off.
    pub fn with_rescue(mut self, enabled: bool) -> Self {
        self.rescue_enabled = enabled;
        self
    }

    /// The same validator with a custom retry text built from the model's raw text.
    pub fn with_retry_nudge(mut self, build: RetryNudgeFn) -> Self {
        self.retry_nudge = build;
        self
    }

    /// The same validator with a fixed retry text.
    pub fn with_retry_text(self, text: impl Into<String>) -> Self {
        let text = text.into();
        self.with_retry_nudge(Arc::new(move |_| text.clone()))
    }

    /// The known tool names, in declaration order.
    pub fn tool_names(&self) -> &[String] {
        &self.tool_names
    }

    /// The known tools.
    pub fn tools(&self) -> &[ToolSpec] {
        &self.tools
    }

    /// True when rescue is on.
    pub fn rescue_enabled(&self) -> bool {
        self.rescue_enabled
    }

    /// Judges one response (see the type docs for the decision order).
    pub fn validate(&self, response: &LlmResponse) -> Validation {
        match response {
            LlmResponse::Text(text) => self.validate_text(&text.content),
            LlmResponse::ToolCalls(calls) => self.validate_batch(calls),
        }
    }

    fn validate_text(&self, text: &str) -> Validation {
        if self.rescue_enabled {
            if let Some(rescued) = forge_toolparse::rescue_tool_calls(text, &self.tools) {
                if !rescued.calls.is_empty() {
                    tracing::info!(
                        format = rescued.format.as_str(),
                        calls = rescued.calls.len(),
                        "rescued tool calls written as text"
                    );
                    let calls = rescued
                        .calls
                        .into_iter()
                        .map(|call| ToolCall {
                            reasoning: None,
                            ..call
                        })
                        .collect::<Vec<_>>();
                    if let Some(nudge) = self.check_arguments(&calls) {
                        return Validation::Retry(nudge.with_rescued_calls(calls));
                    }
                    return Validation::Valid(calls);
                }
            }
        }
        tracing::debug!("text response is not a tool call; asking again");
        Validation::Retry(Nudge::new(NudgeKind::Retry, (self.retry_nudge)(text)))
    }

    fn validate_batch(&self, calls: &[ToolCall]) -> Validation {
        if calls.is_empty() {
            tracing::info!("empty tool-call batch; asking again");
            return Validation::Retry(Nudge::new(NudgeKind::Retry, (self.retry_nudge)("")));
        }
        if let Some(unknown) = calls
            .iter()
            .find(|call| !self.tool_names.contains(&call.tool))
        {
            tracing::info!(tool = %unknown.tool, "unknown tool called; asking again");
            return Validation::Retry(Nudge::new(
                NudgeKind::UnknownTool,
                unknown_tool_nudge(&unknown.tool, &self.tool_names),
            ));
        }
        if let Some(nudge) = self.check_arguments(calls) {
            return Validation::Retry(nudge);
        }
        Validation::Valid(calls.to_vec())
    }

    /// The nudge for the first call whose arguments break its tool's schema, if any.
    fn check_arguments(&self, calls: &[ToolCall]) -> Option<Nudge> {
        let schemas = self.argument_schemas.as_ref()?;
        calls.iter().find_map(|call| {
            let index = self.tool_names.iter().position(|name| *name == call.tool)?;
            let schema = schemas.get(index)?.as_ref()?;
            let args = Value::Object(call.args.clone());
            let problems: Vec<String> = schema
                .iter_errors(&args)
                .take(MAX_PROBLEMS_NAMED)
                .map(|error| describe_violation(&error))
                .collect();
            if problems.is_empty() {
                return None;
            }
            tracing::info!(tool = %call.tool, ?problems, "arguments break the tool's schema; asking again");
            Some(Nudge::new(
                NudgeKind::InvalidArguments,
                invalid_arguments_nudge(&call.tool, &problems),
            ))
        })
    }
}

/// `field '/city' breaks rule 'type': 3 is not of type "string"`; for `required`, the missing
/// property is the field.
fn describe_violation(error: &jsonschema::ValidationError<'_>) -> String {
    let pointer = error.instance_path().as_str();
    let field = match error.kind() {
        jsonschema::error::ValidationErrorKind::Required { property } => match property.as_str() {
            Some(name) => format!("{pointer}/{name}"),
            None => pointer.to_owned(),
        },
        _ if pointer.is_empty() => "/".to_owned(),
        _ => pointer.to_owned(),
    };
    format!(
        "field '{field}' breaks rule '{}': {error}",
        error.kind().keyword()
    )
}

fn compile(tool: &ToolSpec) -> Option<jsonschema::Validator> {
    let schema = match &tool.parameters {
        Value::Null => return None,
        schema => schema,
    };
    match jsonschema::options()
        .with_retriever(NoRemoteSchemas)
        .build(schema)
    {
        Ok(validator) => Some(validator),
        Err(error) => {
            tracing::warn!(
                tool = %tool.name,
                %error,
                "the tool's parameters schema does not compile; its arguments go unchecked"
            );
            None
        }
    }
}

/// Refuses every remote `$ref`: validation never touches the network or the file system.
struct NoRemoteSchemas;

impl jsonschema::Retrieve for NoRemoteSchemas {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        Err(format!("remote schema {uri} is not fetched").into())
    }
}
