//! Sends one tool-calling request to an Ollama daemon and prints what came back.
//!
//! ```text
//! cargo run -p forge-ollama --example ollama_tool_call -- --url http://127.0.0.1:11434 --model qwen3:8b --stream
//! ```

use clap::{Parser, ValueEnum};
use forge_client::{InferenceRequest, LlmClient};
use forge_ollama::{OllamaClient, OllamaConfig, ThinkMode};
use forge_types::{StreamChunk, ToolSpec};
use futures_util::StreamExt;
use serde_json::json;

/// How to negotiate thinking.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Think {
    Auto,
    On,
    Off,
}

/// Ask an Ollama model for a weather tool call through the native /api/chat endpoint.
#[derive(Debug, Parser)]
struct Args {
    /// The daemon root (no /v1).
    #[arg(long, default_value = forge_ollama::DEFAULT_BASE_URL)]
    url: String,
    /// The model tag.
    #[arg(long)]
    model: String,
    /// Context size sent as options.num_ctx.
    #[arg(long)]
    num_ctx: Option<u64>,
    /// Thinking mode.
    #[arg(long, value_enum, default_value = "auto")]
    think: Think,
    /// The question.
    #[arg(long, default_value = "What is the weather in Paris?")]
    prompt: String,
    /// Stream the answer.
    #[arg(long)]
    stream: bool,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let think = match args.think {
        Think::Auto => ThinkMode::Auto,
        Think::On => ThinkMode::On,
        Think::Off => ThinkMode::Off,
    };
    let client = OllamaClient::new(
        OllamaConfig::new(args.model)
            .base_url(args.url)
            .think(think)
            .num_ctx(args.num_ctx),
    )?;
    let request = InferenceRequest {
        messages: vec![json!({"role": "user", "content": args.prompt})],
        tools: vec![ToolSpec::new(
            "get_weather",
            "Get the current weather for a city",
            json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        )],
        ..Default::default()
    };
    if args.stream {
        let mut stream = client.send_stream(&request).await?;
        while let Some(chunk) = stream.next().await {
            match chunk? {
                StreamChunk::Final(completion) => {
                    println!("\nfinal: {}", serde_json::to_string_pretty(&completion)?)
                }
                delta => println!("{}", serde_json::to_string(&delta)?),
            }
        }
    } else {
        let completion = client.send(&request).await?;
        println!("{}", serde_json::to_string_pretty(&completion)?);
    }
    Ok(())
}
