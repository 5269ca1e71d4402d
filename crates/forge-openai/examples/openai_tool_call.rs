//! Sends one tool-calling request to an OpenAI-compatible endpoint and prints what came back.
//!
//! ```text
//! cargo run -p forge-openai --example openai_tool_call -- --base-url http://127.0.0.1:8080/v1 --model my-model
//! ```

use clap::Parser;
use forge_client::{InferenceRequest, LlmClient};
use forge_openai::{OpenAiCompatClient, OpenAiCompatConfig};
use forge_types::{LlmResponse, StreamChunk, ToolSpec};
use futures_util::StreamExt;
use serde_json::json;

/// Send one tool-calling request to an OpenAI-compatible /chat/completions endpoint.
#[derive(Debug, Parser)]
struct Args {
    /// API root including its prefix, e.g. http://127.0.0.1:8080/v1
    #[arg(long)]
    base_url: String,
    /// Wire model name.
    #[arg(long, default_value = "default")]
    model: String,
    /// Bearer key (also read from FORGE_API_KEY).
    #[arg(long, env = "FORGE_API_KEY", default_value = "")]
    api_key: String,
    /// The user message.
    #[arg(long, default_value = "What's the weather in Paris?")]
    prompt: String,
    /// Stream the response and print deltas as they arrive.
    #[arg(long)]
    stream: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let client = OpenAiCompatClient::new(
        OpenAiCompatConfig::new(args.model, args.base_url).api_key(args.api_key),
    )?;
    let request = InferenceRequest {
        messages: vec![json!({"role": "user", "content": args.prompt})],
        tools: vec![ToolSpec::new(
            "get_weather",
            "Get the current weather for a city.",
            json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        )],
        ..Default::default()
    };
    let completion = if args.stream {
        let mut stream = client.send_stream(&request).await?;
        let mut last = None;
        while let Some(chunk) = stream.next().await {
            match chunk? {
                StreamChunk::Final(completion) => last = Some(completion),
                delta => println!("delta: {delta:?}"),
            }
        }
        last.ok_or("the stream ended without a final response")?
    } else {
        client.send(&request).await?
    };
    match &completion.response {
        LlmResponse::ToolCalls(calls) => {
            for call in calls {
                println!(
                    "tool call: {}({})",
                    call.tool,
                    serde_json::Value::Object(call.args.clone())
                );
            }
        }
        LlmResponse::Text(text) => println!("text: {}", text.content),
    }
    println!("usage: {:?}", completion.usage);
    Ok(())
}
