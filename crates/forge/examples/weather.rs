//! A two-step workflow run by `WorkflowRunner`: look the weather up, then respond.
//!
//! Needs an OpenAI-compatible llama-server (started with `--jinja` for native tool calls):
//!
//! ```text
//! llama-server --jinja -c 4096 -m model.gguf --port 8080
//! cargo run -p forge --example weather -- --base-url http://127.0.0.1:8080 --city Lima
//! ```
//!
//! `get_weather` answers from a small built-in table (no network). A city it does not know is
//! a resolution error: the model is told so and may try another city without spending its
//! tool-error budget.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use forge::backends::llamacpp::{LlamaServerClient, LlamaServerConfig, ToolMode};
use forge::{
    json_object, respond_tool, ContextManager, FnSink, Message, RunRequest, StreamChunk,
    TieredCompact, ToolDef, ToolFailure, Workflow, WorkflowRunner, RESPOND_TOOL_NAME,
};
use serde_json::json;

/// Ask a local model about the weather through forge's workflow runner.
#[derive(Debug, Parser)]
struct Args {
    /// Root URL of the OpenAI-compatible server (`/v1` is added when missing).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base_url: String,
    /// The model name sent to the server (llama-server serves whatever it loaded).
    #[arg(long, default_value = "model.gguf")]
    model: String,
    /// The city to ask about.
    #[arg(long, default_value = "Paris")]
    city: String,
    /// Tool calling: `native` (server started with --jinja) or `prompt`.
    #[arg(long, default_value = "native")]
    mode: ToolMode,
    /// Stream model output and print text deltas as they arrive.
    #[arg(long)]
    stream: bool,
    /// Model calls allowed, retries included.
    #[arg(long, default_value_t = 10)]
    max_iterations: u32,
    /// Consecutive unusable answers allowed before giving up.
    #[arg(long, default_value_t = 3)]
    max_retries: u32,
    /// Most tokens one model answer may have.
    #[arg(long, default_value_t = 512)]
    max_tokens: u64,
    /// The context window the runner budgets for, in tokens.
    #[arg(long, default_value_t = 4096)]
    context_tokens: u64,
}

/// Arguments of `get_weather`.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct WeatherArgs {
    /// The city, e.g. "Paris".
    city: String,
}

fn weather_workflow() -> Result<Workflow, forge::WorkflowError> {
    let get_weather = ToolDef::typed(
        "get_weather",
        "Get the current weather for a city.",
        |args: WeatherArgs| async move {
            let (sky, celsius) = match args.city.trim().to_lowercase().as_str() {
                "paris" => ("light rain", 14),
                "tokyo" => ("clear", 22),
                "lima" => ("overcast", 19),
                "oslo" => ("snow", -3),
                _ => {
                    return Err(ToolFailure::resolution(format!(
                        "No weather station for '{}'. Known cities: Paris, Tokyo, Lima, Oslo.",
                        args.city
                    )))
                }
            };
            Ok(json!({"city": args.city, "sky": sky, "celsius": celsius}))
        },
    );
    Workflow::builder("weather")
        .description("Look the weather up, then tell the user.")
        .tool(get_weather)
        .tool(respond_tool())
        .required_steps(["get_weather"])
        .terminal_tool(RESPOND_TOOL_NAME)
        .system_prompt(
            "You are a {role}. First call get_weather for the city the user asks about, \
             then call respond with a one-sentence answer.",
        )
        .build()
}

fn print_message(message: &Message) {
    let kind = message.metadata.kind().as_str();
    match &message.tool_calls {
        Some(calls) => {
            for call in calls {
                let args = serde_json::Value::Object(call.args.clone());
                println!("[{kind}] {}({args}) id={}", call.name, call.call_id);
            }
        }
        None => println!("[{kind}] {}: {}", message.role.as_str(), message.content),
    }
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
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let workflow = match weather_workflow() {
        Ok(workflow) => workflow,
        Err(err) => {
            eprintln!("invalid workflow: {err}");
            return ExitCode::FAILURE;
        }
    };
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
    let context = ContextManager::new(TieredCompact::default(), args.context_tokens);
    let mut runner = WorkflowRunner::new(Arc::new(client), context)
        .with_max_iterations(args.max_iterations)
        .with_max_retries_per_step(args.max_retries)
        .with_passthrough(
            json_object(json!({"max_tokens": args.max_tokens})).expect("an object literal"),
        )
        .with_on_message(print_message)
        .with_stream(args.stream)
        .with_on_chunk(FnSink(|chunk: StreamChunk| match chunk {
            StreamChunk::TextDelta { content } => print!("{content}"),
            StreamChunk::Retry { attempt } => println!("\n[attempt {attempt} discarded]"),
            _ => {}
        }));
    let request = RunRequest::new(format!("What's the weather in {}?", args.city))
        .with_prompt_var("role", "weather assistant");
    match runner.run(&workflow, request).await {
        Ok(outcome) => {
            println!(
                "\nanswer after {} model calls: {}",
                outcome.iterations,
                outcome.output.to_content()
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("\nthe workflow did not finish: {err}");
            ExitCode::FAILURE
        }
    }
}
