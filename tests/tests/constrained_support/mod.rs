//! The fixed prompt set for measuring constrained decoding, and one measured run per prompt:
//! shared by `real_constrained.rs` and the `constrained_rate` example.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Mutex;

use async_trait::async_trait;
use forge_client::{ChunkStream, ConstraintDialect, InferenceRequest, LlmClient};
use forge_context::ContextManager;
use forge_guardrails::{
    run_inference, ConstraintPolicy, ErrorTracker, InferenceCall, InferenceOptions,
    InferenceOutcome, ResponseValidator,
};
use forge_types::{
    json_object, ApiFormat, BackendError, CallIdGenerator, Completion, LlmResponse, Message,
    MessageType, SamplingParams, ToolCall, ToolSpec,
};
use serde_json::{json, Value};

/// The seed sent with every request.
pub const SEED: i64 = 42;
/// Retries per prompt (the engine's default budget).
pub const MAX_RETRIES: u32 = 3;
/// Enough for any call in the set; a cut generation would count against the model.
pub const MAX_TOKENS: u64 = 96;

fn tool(name: &str, description: &str, fields: &[(&str, &str, &str)]) -> ToolSpec {
    let properties: serde_json::Map<String, Value> = fields
        .iter()
        .map(|(field, kind, about)| {
            (
                (*field).to_owned(),
                json!({"type": kind, "description": about}),
            )
        })
        .collect();
    let required: Vec<&str> = fields.iter().map(|(field, _, _)| *field).collect();
    ToolSpec::new(
        name,
        description,
        json!({"type": "object", "properties": properties, "required": required}),
    )
}

/// The tools every prompt is offered (the shapes the eval scenarios use: required string,
/// integer and number parameters).
pub fn tools() -> Vec<ToolSpec> {
    vec![
        tool(
            "get_weather",
            "Get the current weather for a city",
            &[("city", "string", "City name")],
        ),
        tool(
            "get_country_info",
            "Get facts about a country: capital, population, currency",
            &[("country", "string", "Country name")],
        ),
        tool(
            "fetch_sales_data",
            "Fetch sales figures for a quarter of a year",
            &[
                ("quarter", "integer", "Quarter number (1-4)"),
                ("year", "integer", "Four-digit year"),
            ],
        ),
        tool(
            "currency_convert",
            "Convert an amount of money between currencies",
            &[
                ("amount", "number", "Amount to convert"),
                (
                    "from_currency",
                    "string",
                    "Source currency code, e.g. 'EUR'",
                ),
                ("to_currency", "string", "Target currency code, e.g. 'USD'"),
            ],
        ),
        tool(
            "send_email",
            "Send an email",
            &[
                ("to", "string", "Recipient address"),
                ("subject", "string", "Subject line"),
            ],
        ),
    ]
}

/// One prompt and the call that answers it: the tool and the argument values that must appear
/// (strings compared case-insensitively, numbers numerically).
pub struct Case {
    /// The user message.
    pub prompt: &'static str,
    /// The tool that answers it.
    pub tool: &'static str,
    /// Argument values the call must carry.
    pub args: Value,
}

/// The fixed set of 10 tool prompts.
pub fn cases() -> Vec<Case> {
    let case = |prompt, tool, args| Case { prompt, tool, args };
    vec![
        case(
            "What is the weather in Paris right now?",
            "get_weather",
            json!({"city": "Paris"}),
        ),
        case(
            "Is it raining in London today?",
            "get_weather",
            json!({"city": "London"}),
        ),
        case(
            "Tell me about Japan.",
            "get_country_info",
            json!({"country": "Japan"}),
        ),
        case(
            "What currency does Brazil use?",
            "get_country_info",
            json!({"country": "Brazil"}),
        ),
        case(
            "Get the sales data for Q3 2023.",
            "fetch_sales_data",
            json!({"quarter": 3, "year": 2023}),
        ),
        case(
            "How did we sell in the first quarter of 2024?",
            "fetch_sales_data",
            json!({"quarter": 1, "year": 2024}),
        ),
        case(
            "Convert 100 EUR to USD.",
            "currency_convert",
            json!({"amount": 100, "from_currency": "EUR", "to_currency": "USD"}),
        ),
        case(
            "How many yen is 50 dollars? Convert 50 USD to JPY.",
            "currency_convert",
            json!({"amount": 50, "from_currency": "USD", "to_currency": "JPY"}),
        ),
        case(
            "Send an email to bob@example.com with the subject 'Lunch'.",
            "send_email",
            json!({"to": "bob@example.com", "subject": "Lunch"}),
        ),
        case(
            "Weather forecast for Berlin please.",
            "get_weather",
            json!({"city": "Berlin"}),
        ),
    ]
}

fn same(expected: &Value, got: Option<&Value>) -> bool {
    match (expected, got) {
        (Value::String(want), Some(Value::String(have))) => want.eq_ignore_ascii_case(have.trim()),
        (Value::Number(want), Some(Value::Number(have))) => want.as_f64() == have.as_f64(),
        _ => false,
    }
}

impl Case {
    /// Right tool, every expected argument value present, and arguments valid for the schema.
    pub fn is_correct(&self, call: &ToolCall) -> bool {
        if call.tool != self.tool {
            return false;
        }
        let spec = tools().into_iter().find(|t| t.name == self.tool).unwrap();
        let schema_ok = jsonschema::is_valid(&spec.parameters, &Value::Object(call.args.clone()));
        let values_ok = self
            .args
            .as_object()
            .unwrap()
            .iter()
            .all(|(key, want)| same(want, call.args.get(key)));
        schema_ok && values_ok
    }
}

/// What one model call of a run looked like.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// Whether the request carried a constraint.
    pub constrained: bool,
    /// What the client returned.
    pub response: LlmResponse,
}

impl Attempt {
    /// A call of an offered tool with schema-valid arguments, or a `respond` answer (text that is
    /// not a leftover of the JSON envelope).
    pub fn is_well_formed(&self, tools: &[ToolSpec]) -> bool {
        match &self.response {
            LlmResponse::ToolCalls(calls) => {
                calls.len() == 1
                    && tools.iter().any(|tool| {
                        tool.name == calls[0].tool
                            && jsonschema::is_valid(
                                &tool.parameters,
                                &Value::Object(calls[0].args.clone()),
                            )
                    })
            }
            LlmResponse::Text(text) => {
                !text.content.trim().is_empty() && !text.content.trim_start().starts_with('{')
            }
        }
    }

    /// A constrained answer the token budget cut mid-envelope: JSON that is valid as far as it
    /// goes and ends early. The grammar fixes the form of what the model writes, not its length,
    /// so a model stuck repeating itself inside a string runs into `max_tokens`; the engine
    /// then treats the cut answer as text (the retry path).
    pub fn is_cut_off_by_token_budget(&self) -> bool {
        match &self.response {
            LlmResponse::Text(text) => {
                let content = text.content.trim_start();
                content.starts_with('{')
                    && serde_json::from_str::<Value>(content).is_err_and(|error| error.is_eof())
            }
            LlmResponse::ToolCalls(_) => false,
        }
    }
}

/// Wraps a client and records every attempt.
#[derive(Debug)]
pub struct Recording<C> {
    inner: C,
    attempts: Mutex<Vec<Attempt>>,
}

impl<C> Recording<C> {
    /// Records the calls made through `inner`.
    pub fn new(inner: C) -> Self {
        Self {
            inner,
            attempts: Mutex::new(Vec::new()),
        }
    }

    /// Every attempt so far, then forgets them.
    pub fn take(&self) -> Vec<Attempt> {
        std::mem::take(&mut self.attempts.lock().unwrap())
    }
}

#[async_trait]
impl<C: LlmClient> LlmClient for Recording<C> {
    fn api_format(&self) -> ApiFormat {
        self.inner.api_format()
    }
    fn backend_name(&self) -> &'static str {
        self.inner.backend_name()
    }
    async fn send(&self, request: &InferenceRequest) -> Result<Completion, BackendError> {
        let completion = self.inner.send(request).await?;
        self.attempts.lock().unwrap().push(Attempt {
            constrained: request.constraint.is_some(),
            response: completion.response.clone(),
        });
        Ok(completion)
    }
    async fn send_stream(&self, request: &InferenceRequest) -> Result<ChunkStream, BackendError> {
        self.inner.send_stream(request).await
    }
    async fn context_length(&self) -> Result<Option<u64>, BackendError> {
        self.inner.context_length().await
    }
    fn constraint_dialect(&self) -> Option<ConstraintDialect> {
        self.inner.constraint_dialect()
    }
}

/// How one prompt went.
#[derive(Debug)]
pub struct Measured {
    /// The final call was the right one.
    pub correct: bool,
    /// The first attempt alone was the right call.
    pub correct_first_attempt: bool,
    /// Every attempt, in order.
    pub attempts: Vec<Attempt>,
}

/// Runs `case` once through the engine under `policy` (temperature 0, fixed seed).
pub async fn measure<C: LlmClient>(
    client: &Recording<C>,
    case: &Case,
    policy: ConstraintPolicy,
    validate_arguments: bool,
) -> Measured {
    let validator = ResponseValidator::new(tools()).with_argument_validation(validate_arguments);
    let mut context = ContextManager::without_budget();
    let mut errors = ErrorTracker::new(MAX_RETRIES, 2);
    let ids = CallIdGenerator::new();
    let mut history = vec![
        Message::system(
            "You are a helpful assistant. Use the tools to answer.",
            MessageType::SystemPrompt.meta(),
        ),
        Message::user(case.prompt, MessageType::UserInput.meta()),
    ];
    let options = InferenceOptions {
        constraint_policy: policy,
        sampling: SamplingParams {
            temperature: Some(0.0),
            seed: Some(SEED),
            ..SamplingParams::default()
        },
        passthrough: json_object(json!({"max_tokens": MAX_TOKENS})).unwrap(),
        ..InferenceOptions::default()
    };
    let call = InferenceCall::new(client, &mut context, &validator, &mut errors, &ids)
        .with_options(options);
    let outcome = run_inference(call, &mut history).await;
    let attempts = client.take();
    let correct = match &outcome {
        Ok(InferenceOutcome::Response(result)) => {
            result.calls.len() == 1 && case.is_correct(&result.calls[0])
        }
        _ => false,
    };
    let correct_first_attempt = match attempts.first().map(|a| &a.response) {
        Some(LlmResponse::ToolCalls(calls)) => calls.len() == 1 && case.is_correct(&calls[0]),
        // A text first attempt the engine rescued into the right call counts too.
        Some(LlmResponse::Text(_)) => correct && attempts.len() == 1,
        None => false,
    };
    Measured {
        correct,
        correct_first_attempt,
        attempts,
    }
}
