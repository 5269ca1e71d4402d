//! Sends one tool-calling request to the Anthropic Messages API (or a compatible gateway) and
//! prints what came back.
//!
//! ```text
//! ANTHROPIC_API_KEY=sk-ant-… cargo run -p forge-anthropic --example anthropic_tool_call -- \
//!     --url https://api.anthropic.com --model claude-sonnet-4-6 --stream
//! ```

use clap::Parser;
use forge_anthropic::{AnthropicClient, AnthropicConfig};
use forge_client::{InferenceRequest, LlmClient};
use forge_types::{StreamChunk, ToolSpec};
use futures_util::StreamExt;
use serde_json::json;

/// Ask a Claude model for a weather tool call.
#[derive(Debug, Parser)]
struct Args {
    /// The API root, without /v1.
    #[arg(long, default_value = forge_anthropic::DEFAULT_BASE_URL)]
    url: String,
    /// The model.
    #[arg(long)]
    model: String,
    /// The key, sent as x-api-key.
    #[arg(long, env = "ANTHROPIC_API_KEY", hide_env_values = true)]
    api_key: String,
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
    let client = AnthropicClient::new(
        AnthropicConfig::new(args.api_key)
            .base_url(args.url)
            .model(args.model),
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
