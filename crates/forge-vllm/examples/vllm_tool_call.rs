//! Sends one tool-calling request to a vLLM server and prints what came back.
//!
//! ```text
//! cargo run -p forge-vllm --example vllm_tool_call -- --url http://127.0.0.1:8000/v1 --stream
//! ```

use clap::Parser;
use forge_client::{InferenceRequest, LlmClient};
use forge_types::{StreamChunk, ToolSpec};
use forge_vllm::{VllmClient, VllmConfig};
use futures_util::StreamExt;
use serde_json::json;

/// Ask a vLLM server (started with --enable-auto-tool-choice) for a weather tool call.
#[derive(Debug, Parser)]
struct Args {
    /// The API root, including /v1.
    #[arg(long, default_value = forge_vllm::DEFAULT_BASE_URL)]
    url: String,
    /// The served model name; omitted, the first model in /v1/models is used.
    #[arg(long)]
    model: Option<String>,
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
    let mut config = VllmConfig::new(args.url);
    if let Some(model) = args.model {
        config = config.model(model);
    }
    let client = VllmClient::new(config)?;
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
