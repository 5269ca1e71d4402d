//! Two guardrails of issue #8 at the engine level: arguments checked against each tool's schema
//! (the nudge names the field and the rule, on the tool channel), and the constraint policy
//! deciding which attempts ask the backend to constrain.
#![allow(clippy::unwrap_used)]

mod support;

use async_trait::async_trait;
use forge_client::{ChunkStream, ConstraintDialect, InferenceRequest, LlmClient};
use forge_context::ContextManager;
use forge_guardrails::{
    run_inference, ConstraintPolicy, ErrorTracker, InferenceCall, InferenceOptions,
    InferenceOutcome, NudgeKind, ResponseValidator, Validation,
};
use forge_types::{
    ApiFormat, BackendError, CallIdGenerator, Completion, LlmResponse, MessageRole, ToolSpec,
};
use serde_json::{json, Value};
use support::{args, batch, call, fresh_history, text, ScriptedClient};

fn sales_tool() -> ToolSpec {
    ToolSpec::new(
        "fetch_sales_data",
        "Sales figures for a quarter",
        json!({"type": "object",
               "properties": {"quarter": {"type": "integer", "minimum": 1, "maximum": 4},
                              "year": {"type": "integer"},
                              "region": {"type": "string", "enum": ["EU", "US"]}},
               "required": ["quarter", "year"],
               "additionalProperties": false}),
    )
}

fn validating() -> ResponseValidator {
    ResponseValidator::new(vec![sales_tool()]).with_argument_validation(true)
}

/// `Ok(())` = valid; `Err(words)` = an `InvalidArguments` nudge containing every one of `words`.
fn check(validator: &ResponseValidator, response: &LlmResponse, expected: Result<(), &[&str]>) {
    match (validator.validate(response), expected) {
        (Validation::Valid(_), Ok(())) => {}
        (Validation::Retry(nudge), Err(words)) => {
            assert_eq!(nudge.kind(), NudgeKind::InvalidArguments, "{response:?}");
            assert_eq!(nudge.role(), MessageRole::Tool);
            for word in words {
                assert!(
                    nudge.content().contains(word),
                    "{response:?}: {:?} lacks {word:?}",
                    nudge.content()
                );
            }
        }
        (got, expected) => panic!("{response:?}: got {got:?}, expected {expected:?}"),
    }
}

#[test]
fn invalid_arguments_name_the_field_and_the_rule() {
    let validator = validating();
    let cases: Vec<(Value, Result<(), &[&str]>)> = vec![
        (json!({"quarter": 4, "year": 2024}), Ok(())),
        (json!({"quarter": 1, "year": 2024, "region": "EU"}), Ok(())),
        (
            json!({"quarter": "4", "year": 2024}),
            Err(&[
                "Arguments of fetch_sales_data are invalid",
                "field '/quarter' breaks rule 'type'",
            ]),
        ),
        (
            json!({"quarter": 4}),
            Err(&["field '/year' breaks rule 'required'"]),
        ),
        (
            json!({"quarter": 5, "year": 2024}),
            Err(&["field '/quarter' breaks rule 'maximum'"]),
        ),
        (
            json!({"quarter": 4, "year": 2024, "region": "ASIA"}),
            Err(&["field '/region' breaks rule 'enum'"]),
        ),
        (
            json!({"quarter": 4, "year": 2024, "note": "x"}),
            Err(&["field '/' breaks rule 'additionalProperties'"]),
        ),
        (
            json!({}),
            Err(&[
                "field '/quarter' breaks rule 'required'",
                "field '/year' breaks rule 'required'",
                "Fix the arguments and call fetch_sales_data again.",
            ]),
        ),
    ];
    for (arguments, expected) in cases {
        check(
            &validator,
            &batch(vec![call("fetch_sales_data", arguments)]),
            expected,
        );
    }
}

#[test]
fn argument_validation_is_off_by_default_and_switchable() {
    let wrong = batch(vec![call("fetch_sales_data", json!({"quarter": "4"}))]);
    let default = ResponseValidator::new(vec![sales_tool()]);
    assert!(!default.argument_validation());
    check(&default, &wrong, Ok(()));
    let on = default.with_argument_validation(true);
    assert!(on.argument_validation());
    check(&on, &wrong, Err(&["'/quarter'"]));
    check(&on.with_argument_validation(false), &wrong, Ok(()));
}

#[test]
fn unknown_tools_are_reported_before_arguments() {
    let response = batch(vec![
        call("fetch_sales_data", json!({"quarter": "x"})),
        call("nope", json!({})),
    ]);
    let Validation::Retry(nudge) = validating().validate(&response) else {
        panic!("expected a retry");
    };
    assert_eq!(nudge.kind(), NudgeKind::UnknownTool);
}

#[test]
fn rescued_calls_are_checked_too_and_carried_by_the_nudge() {
    let response =
        text(r#"{"name": "fetch_sales_data", "arguments": {"quarter": "four", "year": 2024}}"#);
    let Validation::Retry(nudge) = validating().validate(&response) else {
        panic!("expected a retry");
    };
    assert_eq!(nudge.kind(), NudgeKind::InvalidArguments);
    assert_eq!(nudge.rescued_calls().len(), 1);
    assert_eq!(
        nudge.rescued_calls()[0].args,
        args(json!({"quarter": "four", "year": 2024}))
    );
}

#[test]
fn a_schema_that_does_not_compile_leaves_its_tool_unchecked() {
    let broken = ToolSpec::new("odd", "", json!({"type": 17}));
    let validator = ResponseValidator::new(vec![broken]).with_argument_validation(true);
    check(
        &validator,
        &batch(vec![call("odd", json!({"a": 1}))]),
        Ok(()),
    );
}

async fn run(
    client: &dyn LlmClient,
    validator: &ResponseValidator,
    policy: ConstraintPolicy,
) -> (InferenceOutcome, Vec<forge_types::Message>) {
    let mut context = ContextManager::without_budget();
    let mut errors = ErrorTracker::new(3, 2);
    let ids = CallIdGenerator::new();
    let mut history = fresh_history("You are an analyst.", "Q4 2024 sales?");
    let options = InferenceOptions {
        constraint_policy: policy,
        ..InferenceOptions::default()
    };
    let call = InferenceCall::new(client, &mut context, validator, &mut errors, &ids)
        .with_options(options);
    let outcome = run_inference(call, &mut history).await.unwrap();
    (outcome, history)
}

#[tokio::test]
async fn invalid_arguments_go_to_the_retry_path_on_the_tool_channel() {
    let client = ScriptedClient::replies(
        ApiFormat::OpenAi,
        vec![
            batch(vec![call(
                "fetch_sales_data",
                json!({"quarter": "4", "year": 2024}),
            )]),
            batch(vec![call(
                "fetch_sales_data",
                json!({"quarter": 4, "year": 2024}),
            )]),
        ],
    );
    let (outcome, history) = run(&client, &validating(), ConstraintPolicy::Never).await;
    let InferenceOutcome::Response(result) = outcome else {
        panic!("expected a response");
    };
    assert_eq!(result.calls[0].args["quarter"], 4);
    let tail: Vec<(&str, MessageRole)> = history[2..]
        .iter()
        .map(|m| (m.metadata.kind().as_str(), m.role))
        .collect();
    assert_eq!(
        tail,
        [
            ("tool_call", MessageRole::Assistant),
            ("retry_nudge", MessageRole::Tool)
        ]
    );
    let reply = &history[3];
    assert!(reply.content.starts_with(
        "[InvalidArguments] Arguments of fetch_sales_data are invalid: field '/quarter' breaks rule 'type'"
    ), "{}", reply.content);
    let asked = history[2].tool_calls.as_ref().unwrap();
    assert_eq!(reply.tool_call_id.as_ref(), Some(&asked[0].call_id));
}

#[tokio::test]
async fn invalid_rescued_arguments_are_answered_as_the_rescued_calls() {
    let client = ScriptedClient::replies(
        ApiFormat::OpenAi,
        vec![
            text(r#"{"name": "fetch_sales_data", "arguments": {"quarter": "four", "year": 2024}}"#),
            batch(vec![call(
                "fetch_sales_data",
                json!({"quarter": 4, "year": 2024}),
            )]),
        ],
    );
    let (_, history) = run(&client, &validating(), ConstraintPolicy::Never).await;
    let kinds: Vec<&str> = history[2..]
        .iter()
        .map(|m| m.metadata.kind().as_str())
        .collect();
    assert_eq!(kinds, ["tool_call", "retry_nudge"]);
    let recorded = &history[2].tool_calls.as_ref().unwrap()[0];
    assert_eq!(recorded.name, "fetch_sales_data");
    assert!(history[3].content.starts_with("[InvalidArguments] "));
}

/// A scripted client that says it can constrain (llama.cpp dialect).
#[derive(Debug)]
struct ConstrainingClient(ScriptedClient);

#[async_trait]
impl LlmClient for ConstrainingClient {
    fn api_format(&self) -> ApiFormat {
        self.0.api_format()
    }
    fn backend_name(&self) -> &'static str {
        "constraining"
    }
    async fn send(&self, request: &InferenceRequest) -> Result<Completion, BackendError> {
        self.0.send(request).await
    }
    async fn send_stream(&self, request: &InferenceRequest) -> Result<ChunkStream, BackendError> {
        self.0.send_stream(request).await
    }
    async fn context_length(&self) -> Result<Option<u64>, BackendError> {
        Ok(None)
    }
    fn constraint_dialect(&self) -> Option<ConstraintDialect> {
        Some(ConstraintDialect::LlamaCppGrammar)
    }
}

fn three_attempts() -> Vec<LlmResponse> {
    vec![
        text("Let me think."),
        text("Still thinking."),
        batch(vec![call(
            "fetch_sales_data",
            json!({"quarter": 4, "year": 2024}),
        )]),
    ]
}

#[tokio::test]
async fn the_policy_decides_which_attempts_are_constrained() {
    let cases = [
        (ConstraintPolicy::Never, [false, false, false]),
        (ConstraintPolicy::Retry, [false, true, true]),
        (ConstraintPolicy::Always, [true, true, true]),
    ];
    for (policy, expected) in cases {
        let client =
            ConstrainingClient(ScriptedClient::replies(ApiFormat::OpenAi, three_attempts()));
        let validator = ResponseValidator::new(vec![sales_tool()]);
        run(&client, &validator, policy).await;
        let constrained: Vec<bool> = client
            .0
            .requests()
            .iter()
            .map(|request| request.constraint.is_some())
            .collect();
        assert_eq!(constrained, expected, "{policy}");
        for request in client
            .0
            .requests()
            .iter()
            .filter_map(|r| r.constraint.as_ref())
        {
            assert_eq!(request.dialect(), ConstraintDialect::LlamaCppGrammar);
            assert_eq!(request.synthetic_text_tool().unwrap().name, "respond");
        }
    }
}

#[tokio::test]
async fn without_backend_support_or_with_an_unsupported_schema_the_request_goes_unconstrained() {
    // The scripted client declares no dialect.
    let plain = ScriptedClient::replies(ApiFormat::OpenAi, three_attempts());
    run(
        &plain,
        &ResponseValidator::new(vec![sales_tool()]),
        ConstraintPolicy::Always,
    )
    .await;
    assert!(plain.requests().iter().all(|r| r.constraint.is_none()));

    let odd = ToolSpec::new(
        "fetch_sales_data",
        "",
        json!({"type": "object", "patternProperties": {"^q": {"type": "integer"}}}),
    );
    let client = ConstrainingClient(ScriptedClient::replies(ApiFormat::OpenAi, three_attempts()));
    run(
        &client,
        &ResponseValidator::new(vec![odd]),
        ConstraintPolicy::Always,
    )
    .await;
    assert!(client.0.requests().iter().all(|r| r.constraint.is_none()));
}

#[test]
fn policy_names_round_trip_and_bad_names_are_refused() {
    for policy in [
        ConstraintPolicy::Never,
        ConstraintPolicy::Retry,
        ConstraintPolicy::Always,
    ] {
        assert_eq!(policy.as_str().parse::<ConstraintPolicy>().unwrap(), policy);
    }
    assert_eq!(ConstraintPolicy::default(), ConstraintPolicy::Never);
    let err = "sometimes".parse::<ConstraintPolicy>().unwrap_err();
    assert!(
        err.to_string().contains("'never', 'retry' or 'always'"),
        "{err}"
    );
}
