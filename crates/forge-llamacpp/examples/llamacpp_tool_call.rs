//! Sends one tool-calling request to llama-server (or llamafile) and prints what came back.
//!
//! ```text
//! cargo run -p forge-llamacpp --example llamacpp_tool_call -- --base-url http://127.0.0.1:8080/v1 --mode prompt
//! ```

use clap::Parser;
use forge_client::{InferenceRequest, LlmClient};
use forge_llamacpp::{LlamaServerClient, LlamaServerConfig, ServerFlavor, ToolMode};
use forge_types::{LlmResponse, StreamChunk, ToolSpec};
use futures_util::StreamExt;
use serde_json::json;

/// Send one tool-calling request to llama-server or llamafile.
#[derive(Debug, Parser)]
struct Args {
    /// OpenAI-compatible root of the server.
    #[arg(long, default_value = LlamaServerConfig::DEFAULT_BASE_URL)]
    base_url: String,
    /// Path (or name) of the model file; the model name is derived from it.
    #[arg(long, default_value = "model.gguf")]
    model_path: String,
    /// Tool calling: `native` (server started with --jinja) or `prompt`.
    #[arg(long, default_value = "native")]
    mode: ToolMode,
    /// The server is llamafile (slot field `slot_id` instead of `id_slot`).
    #[arg(long)]
    llamafile: bool,
    /// The user message.
    #[arg(long, default_value = "What's the weather in Paris?")]
    prompt: String,
    /// Stream the response and print deltas as they arrive.
    #[arg(long)]
    stream: bool,
    /// Also print the server's context window (GET /props).
    #[arg(long)]
    context_length: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let flavor = if args.llamafile {
        ServerFlavor::Llamafile
    } else {
        ServerFlavor::LlamaServer
    };
    let config = LlamaServerConfig::new(args.model_path)
        .base_url(args.base_url)
        .mode(args.mode)
        .flavor(flavor);
    let client = LlamaServerClient::new(config)?;
    if args.context_length {
        println!("context length: {:?}", client.context_length().await?);
    }
    let request = InferenceRequest {
        messages: vec![json!({"role": "user", "content": args.prompt})],
        tools: vec![ToolSpec::new(
            "get_weather",
            "Get the current weather for a city.",
            json!({"type": "object", "properties": {"city": {"type": "string", "description": "City name"}}, "required": ["city"]}),
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
