//! Guardrails as middleware in a loop you own: you call the model, run the tools and keep the
//! history; forge only judges each response (`check`) and each executed batch (`record`).
//!
//! Needs an OpenAI-compatible llama-server (started with `--jinja` for native tool calls):
//!
//! ```text
//! llama-server --jinja -c 4096 -m model.gguf --port 8080
//! cargo run -p forge --example foreign_loop -- --base-url http://127.0.0.1:8080
//! ```

use std::process::ExitCode;

use clap::Parser;
use forge::backends::llamacpp::{LlamaServerClient, LlamaServerConfig, ToolMode};
use forge::{
    fold_and_serialize, json_object, respond_spec, CallIdGenerator, CheckResult, Executed,
    Guardrails, InferenceRequest, LlmClient, LlmResponse, Message, MessageType, Progress,
    ReasoningReplay, ToolCall, ToolCallInfo, ToolSpec, RESPOND_TOOL_NAME,
};
use serde_json::json;

/// Drive a model with forge's guardrails in a caller-owned loop.
#[derive(Debug, Parser)]
struct Args {
    /// Root URL of the OpenAI-compatible server (`/v1` is added when missing).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base_url: String,
    /// The model name sent to the server.
    #[arg(long, default_value = "model.gguf")]
    model: String,
    /// Tool calling: `native` (server started with --jinja) or `prompt`.
    #[arg(long, default_value = "native")]
    mode: ToolMode,
    /// The user's question.
    #[arg(long, default_value = "What's the weather in Tokyo?")]
    prompt: String,
    /// Most tokens one model answer may have.
    #[arg(long, default_value_t = 512)]
    max_tokens: u64,
    /// Model calls before the loop gives up.
    #[arg(long, default_value_t = 8)]
    max_turns: u32,
}

fn tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec::new(
            "get_weather",
            "Get the current weather for a city.",
            json!({
                "type": "object",
                "properties": {"city": {"type": "string", "description": "The city"}},
                "required": ["city"]
            }),
        ),
        respond_spec(),
    ]
}

/// Our own tool execution: whatever the caller's application does.
fn execute(call: &ToolCall) -> Result<String, String> {
    match call.tool.as_str() {
        "get_weather" => match call.args.get("city").and_then(|c| c.as_str()) {
            Some(city) => Ok(json!({"city": city, "sky": "clear", "celsius": 22}).to_string()),
            None => Err("get_weather needs a string 'city'".to_owned()),
        },
        RESPOND_TOOL_NAME => match call.args.get("message").and_then(|m| m.as_str()) {
            Some(message) => Ok(message.to_owned()),
            None => Err("respond needs a string 'message'".to_owned()),
        },
        other => Err(format!("no tool named {other}")),
    }
}

/// Appends the assistant's tool calls (with fresh ids) and returns their records.
fn record_calls(
    history: &mut Vec<Message>,
    calls: &[ToolCall],
    ids: &CallIdGenerator,
) -> Vec<ToolCallInfo> {
    let infos: Vec<ToolCallInfo> = calls
        .iter()
        .map(|c| ToolCallInfo::new(c.tool.clone(), c.args.clone(), ids.next_id()))
        .collect();
    history.push(Message::tool_calls(
        infos.clone(),
        MessageType::ToolCall.meta(),
    ));
    infos
}

fn api_root(base_url: &str) -> String {
    let root = base_url.trim_end_matches('/');
    if root.ends_with("/v1") {
        root.to_owned()
    } else {
        format!("{root}/v1")
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let config = LlamaServerConfig::new(args.model)
        .base_url(api_root(&args.base_url))
        .mode(args.mode);
    let client = match LlamaServerClient::new(config) {
        Ok(client) => client,
        Err(err) => {
            eprintln!("cannot build the client: {err}");
            return ExitCode::FAILURE;
        }
    };
    let mut guardrails = Guardrails::new(tools(), [RESPOND_TOOL_NAME])
        .with_required_steps(vec!["get_weather".into()])
        .with_max_retries(3);
    let ids = CallIdGenerator::new();
    let mut history = vec![
        Message::system(
            "You are a weather assistant. Call get_weather, then call respond with the answer.",
            MessageType::SystemPrompt.meta(),
        ),
        Message::user(args.prompt, MessageType::UserInput.meta()),
    ];

    for turn in 1..=args.max_turns {
        let request = InferenceRequest {
            messages: fold_and_serialize(&history, client.api_format(), ReasoningReplay::None),
            tools: tools(),
            passthrough: json_object(json!({"max_tokens": args.max_tokens}))
                .expect("an object literal"),
            ..Default::default()
        };
        let response = match client.send(&request).await {
            Ok(completion) => completion.response,
            Err(err) => {
                eprintln!("backend error: {err}");
                return ExitCode::FAILURE;
            }
        };
        match guardrails.check(&response) {
            CheckResult::Execute(calls) => {
                let infos = record_calls(&mut history, &calls, &ids);
                let mut executed = Vec::new();
                let mut reply = None;
                for (call, info) in calls.iter().zip(&infos) {
                    let (content, outcome) = match execute(call) {
                        Ok(result) => {
                            if call.tool == RESPOND_TOOL_NAME {
                                reply = Some(result.clone());
                            }
                            (result, Executed::succeeded(&call.tool, call.args.clone()))
                        }
                        Err(problem) => (
                            format!("[ToolError] {problem}"),
                            Executed::failed(&call.tool, call.args.clone()),
                        ),
                    };
                    println!(
                        "turn {turn}: {}({}) -> {content}",
                        call.tool,
                        json!(call.args)
                    );
                    history.push(Message::tool_result(
                        &call.tool,
                        info.call_id.clone(),
                        content,
                        MessageType::ToolResult.meta(),
                    ));
                    executed.push(outcome);
                }
                match guardrails.record(&executed) {
                    Progress::Done => {
                        println!("answer: {}", reply.unwrap_or_default());
                        return ExitCode::SUCCESS;
                    }
                    Progress::Continue => {}
                    Progress::Fatal(reason) => {
                        eprintln!("giving up: {reason}");
                        return ExitCode::FAILURE;
                    }
                }
            }
            CheckResult::Retry(nudge) | CheckResult::StepBlocked(nudge) => {
                println!(
                    "turn {turn}: corrected ({}): {}",
                    nudge.kind().as_str(),
                    nudge.content()
                );
                // Keep what the model said, then answer it with the nudge on the right channel.
                let infos = match &response {
                    LlmResponse::ToolCalls(calls) => record_calls(&mut history, calls, &ids),
                    LlmResponse::Text(text) => {
                        history.push(Message::assistant(
                            &text.content,
                            MessageType::TextResponse.meta(),
                        ));
                        Vec::new()
                    }
                };
                history.extend(nudge.delivery(&infos, None));
            }
            CheckResult::Fatal(reason) => {
                eprintln!("giving up: {reason}");
                return ExitCode::FAILURE;
            }
        }
    }
    eprintln!("no answer after {} turns", args.max_turns);
    ExitCode::FAILURE
}
