//! The workflow runner against the real llama-server: a two-step workflow under tight budgets.
//!
//! The small test model may or may not finish the workflow; what must hold for any model is that
//! the run ends with the result or one of the runner's typed errors (never a panic, never a
//! transport failure), that every assistant tool call in the history has exactly one reply, and
//! that call ids are unique.

use std::sync::{Arc, Mutex};

use forge::backends::llamacpp::{LlamaServerClient, LlamaServerConfig, ToolMode};
use forge::{
    json_object, respond_tool, ContextManager, ForgeError, Message, RunRequest, SamplingParams,
    TieredCompact, ToolDef, ToolFailure, Workflow, WorkflowRunner, RESPOND_TOOL_NAME,
};
use forge_tests::{RealEnv, REAL_SERVER_CONTEXT_LENGTH};
use serde_json::json;

/// Arguments of `get_weather`.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct WeatherArgs {
    /// The city.
    city: String,
}

fn weather_workflow() -> Workflow {
    Workflow::builder("weather")
        .tool(ToolDef::typed(
            "get_weather",
            "Get the current weather for a city.",
            |args: WeatherArgs| async move {
                Ok::<_, ToolFailure>(json!({"city": args.city, "sky": "clear", "celsius": 21}))
            },
        ))
        .tool(respond_tool())
        .required_steps(["get_weather"])
        .terminal_tool(RESPOND_TOOL_NAME)
        .system_prompt(
            "You are a weather assistant. Call get_weather for the city, then call respond with \
             a one-sentence answer.",
        )
        .build()
        .expect("the workflow is valid")
}

/// Every assistant tool call has exactly one reply, and no id repeats.
fn assert_every_call_answered_once(history: &[Message]) {
    let mut seen = Vec::new();
    for (at, message) in history.iter().enumerate() {
        for call in message.tool_calls.iter().flatten() {
            assert!(
                !seen.contains(&call.call_id),
                "call id {} repeats",
                call.call_id
            );
            seen.push(call.call_id.clone());
            let replies = history[at + 1..]
                .iter()
                .filter(|reply| reply.tool_call_id.as_ref() == Some(&call.call_id))
                .count();
            assert_eq!(replies, 1, "call {} has {replies} replies", call.call_id);
        }
    }
}

#[tokio::test]
#[ignore = "needs a real llama-server; run by cargo xtask test"]
async fn real_runner_two_step_workflow_respects_budgets() {
    let real = RealEnv::from_env();
    for mode in [ToolMode::Native, ToolMode::Prompt] {
        let config = LlamaServerConfig::new(real.model_path.to_string_lossy())
            .base_url(real.llama_endpoint("/v1"))
            .mode(mode);
        let client = LlamaServerClient::new(config).expect("a valid client configuration");
        let reported = Arc::new(Mutex::new(Vec::<Message>::new()));
        let sink = Arc::clone(&reported);
        let mut runner = WorkflowRunner::new(
            Arc::new(client),
            ContextManager::new(TieredCompact::default(), REAL_SERVER_CONTEXT_LENGTH),
        )
        .with_max_retries_per_step(2)
        .with_max_iterations(6)
        .with_sampling(SamplingParams {
            temperature: Some(0.0),
            seed: Some(42),
            ..Default::default()
        })
        .with_passthrough(json_object(json!({"max_tokens": 128})).expect("an object"))
        .with_on_message(move |m| sink.lock().expect("not poisoned").push(m.clone()));

        let result = runner
            .run(
                &weather_workflow(),
                RunRequest::new("What's the weather in Paris?"),
            )
            .await;
        let history = reported.lock().expect("not poisoned").clone();
        match &result {
            Ok(outcome) => {
                assert_eq!(outcome.terminal_tool, RESPOND_TOOL_NAME);
                assert!(
                    outcome.iterations <= 6,
                    "{} model calls",
                    outcome.iterations
                );
                assert_eq!(outcome.history, history, "on_message saw the whole history");
            }
            Err(
                ForgeError::RetriesExhausted { .. }
                | ForgeError::MaxIterations { iterations: 6, .. }
                | ForgeError::StepEnforcement { .. }
                | ForgeError::Prerequisite { .. }
                | ForgeError::ToolExecution { .. },
            ) => {}
            Err(other) => panic!("{mode:?}: the run failed outside the typed outcomes: {other}"),
        }
        eprintln!(
            "{mode:?}: {} after {} messages",
            match &result {
                Ok(outcome) => format!("finished with {:?}", outcome.output),
                Err(err) => format!("stopped: {err}"),
            },
            history.len()
        );
        assert!(
            history.len() >= 2,
            "the system prompt and user input were reported"
        );
        assert_every_call_answered_once(&history);
    }
}
