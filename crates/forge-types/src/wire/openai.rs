//! OpenAI chat-completions shapes: the request, the response, the streamed
//! `chat.completion.chunk`, and the error body.
//!
//! llama-server, vLLM, Ollama's `/v1` shim and hosted providers all speak this dialect; the
//! fields some of them add (`reasoning_content`, `reasoning`, `timings`, …) are either modelled
//! here or ignored on input.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{JsonObject, TokenUsage};

/// `POST /v1/chat/completions` request body.
///
/// `messages` stay raw JSON: inbound callers send multi-part content, `null` content and
/// provider-specific keys that must survive a verbatim first attempt. Fields forge does not
/// model are kept in [`ChatCompletionRequest::extra`] and written back after the known ones.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatCompletionRequest {
    /// The model name (llama-server ignores it; vLLM validates it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The conversation, as the caller wrote it.
    #[serde(default)]
    pub messages: Vec<Value>,
    /// Tool definitions (`{"type": "function", "function": {...}}`), kept verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Value>>,
    /// `"auto"`, `"none"`, `"required"` or `{"type": "function", "function": {"name": …}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    /// Whether to stream the answer as server-sent events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Streaming options (`include_usage`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    /// Output token cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    /// Stop sequences (a string or a list of strings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Value>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Top-k sampling (llama-server, vLLM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<i64>,
    /// Min-p sampling (llama-server, vLLM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_p: Option<f64>,
    /// Repetition penalty (llama-server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_penalty: Option<f64>,
    /// Presence penalty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// Sampling seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// Variables for the server's chat template (`enable_thinking`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_template_kwargs: Option<JsonObject>,
    /// Every other field, verbatim (`response_format`, `cache_prompt`, `id_slot`, …).
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// `stream_options` of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StreamOptions {
    /// Ask for a final usage-only chunk.
    #[serde(default)]
    pub include_usage: bool,
}

/// A non-streaming `chat.completion` response.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatCompletion {
    /// Response id (`chatcmpl-…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `"chat.completion"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<u64>,
    /// The model that answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The answers (forge reads only the first).
    #[serde(default)]
    pub choices: Vec<Choice>,
    /// Token counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

/// One choice of a non-streaming response.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Choice {
    /// Position of the choice.
    #[serde(default)]
    pub index: u32,
    /// The assistant message.
    #[serde(default)]
    pub message: ResponseMessage,
    /// Why generation stopped (`stop`, `tool_calls`, `length`); written as `null` when unset.
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// The assistant message of a non-streaming choice.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ResponseMessage {
    /// `"assistant"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The text; `null` next to tool calls (written as `null` when unset).
    #[serde(default)]
    pub content: Option<String>,
    /// Reasoning split out by llama-server (`--reasoning-format`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    /// Reasoning split out by vLLM (`--reasoning-parser`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// The tool calls, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
}

/// A complete tool call in a non-streaming message.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's call id (forge discards inbound ids and writes its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `"function"`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The function and its arguments.
    #[serde(default)]
    pub function: FunctionCall,
}

/// The function part of a tool call.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FunctionCall {
    /// The tool name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The arguments: a JSON string per the protocol, but some servers send an object. Decode
    /// with `forge_toolparse::decode_arguments`, never by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Value>,
}

/// Token counts of a response or of a stream's usage chunk.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Input tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens: Option<u64>,
    /// Generated tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_tokens: Option<u64>,
    /// Their sum, as the server reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_tokens: Option<u64>,
}

impl Usage {
    /// Our usage type; a missing count is 0 and a missing total is the sum of the two counts.
    pub fn to_token_usage(&self) -> TokenUsage {
        let prompt = self.prompt_tokens.unwrap_or(0);
        let completion = self.completion_tokens.unwrap_or(0);
        TokenUsage {
            total_tokens: self
                .total_tokens
                .unwrap_or_else(|| prompt.saturating_add(completion)),
            ..TokenUsage::new(prompt, completion)
        }
    }
}

impl From<&TokenUsage> for Usage {
    fn from(usage: &TokenUsage) -> Self {
        Self {
            prompt_tokens: Some(usage.prompt_tokens),
            completion_tokens: Some(usage.completion_tokens),
            total_tokens: Some(usage.total_tokens),
        }
    }
}

/// One streamed `chat.completion.chunk` (the JSON after `data: `).
///
/// Also carries a top-level `error` member, which llama-server sends instead of a chunk when
/// generation fails after the stream started; a chunk with `error` set is a backend error,
/// never content.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatCompletionChunk {
    /// Stream id, shared by every chunk of one response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `"chat.completion.chunk"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<u64>,
    /// The model that answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Usually one choice; empty on the usage-only last chunk.
    #[serde(default)]
    pub choices: Vec<ChunkChoice>,
    /// Token counts (on the last chunk when `include_usage` was asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// An in-stream error (`{"message", "type", "code"}` or a bare string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
}

/// One choice of a stream chunk.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChunkChoice {
    /// Position of the choice.
    #[serde(default)]
    pub index: u32,
    /// What this chunk adds.
    #[serde(default)]
    pub delta: Delta,
    /// Set on the chunk that ends the choice; written as `null` before that.
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// The increment a stream chunk carries.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Delta {
    /// `"assistant"` on the first chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// A piece of text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// A piece of reasoning (llama-server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    /// A piece of reasoning (vLLM, OpenRouter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// Tool-call fragments, each addressed by `index`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ChunkToolCall>>,
}

/// A fragment of one tool call in a stream chunk.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChunkToolCall {
    /// Which call of the batch this fragment belongs to (absent means 0).
    #[serde(default)]
    pub index: u32,
    /// The provider's call id (first fragment only; discarded by forge on input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `"function"`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name and argument fragments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionCall>,
}

/// The error body OpenAI-shaped servers send (`{"error": {...}}`), as a status body or in-stream.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The inside of an [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Human-readable message.
    #[serde(default)]
    pub message: String,
    /// Error class (`server_error`, `invalid_request_error`, `proxy_error`, …).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Numeric or string code, when the server gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // llama-server (SmolLM2) captures; long `timings` members trimmed.
    const TOOL_RESPONSE: &str = r#"{"choices":[{"finish_reason":"length","index":0,"message":{"role":"assistant","content":"","tool_calls":[{"type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris"},"id":"tEalJUjWQ6Px1O9fNnmxDQxlnevLd3Wf"}]}}],"created":1795480993,"model":"models/SmolLM2-135M-Instruct.Q4_1.gguf","system_fingerprint":"b0-unknown","object":"chat.completion","usage":{"completion_tokens":1,"prompt_tokens":225,"total_tokens":226,"prompt_tokens_details":{"cached_tokens":224}},"id":"chatcmpl-EQSKqbxNsSl8ap82DdMk1d1UY5XupI4a","timings":{"cache_n":224,"prompt_n":1,"prompt_ms":10.788,"prompt_per_token_ms":10.788,"prompt_per_second":92.69558769002596,"predicted_n":1,"predicted_ms":0.001,"predicted_per_token_ms":0.0,"predicted_per_second":0.0}}"#;
    const FIRST_CHUNK: &str = r#"{"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],"created":1795480704,"id":"chatcmpl-jVxWZ6YnMK2Q6Px0ZEizUW8Ih5yJiz87","model":"models/SmolLM2-135M-Instruct.Q4_1.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}"#;
    const TOOL_CHUNK: &str = r#"{"choices":[{"finish_reason":null,"index":0,"delta":{"tool_calls":[{"index":0,"id":"Dr2uEND6FVDXiCt805PD6kuuqoWxFxJI","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris"}}]}}],"created":1795480993,"id":"chatcmpl-opUTNf7KUT7ZVghJc53OXIN4qBkydZP9","model":"models/SmolLM2-135M-Instruct.Q4_1.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk"}"#;
    const USAGE_CHUNK: &str = r#"{"choices":[],"created":1795480710,"id":"chatcmpl-tGUSwORx1uWMg6daAizL4E9YnuoULjYw","model":"models/SmolLM2-135M-Instruct.Q4_1.gguf","system_fingerprint":"b0-unknown","object":"chat.completion.chunk","usage":{"completion_tokens":254,"prompt_tokens":37,"total_tokens":291,"prompt_tokens_details":{"cached_tokens":36}},"timings":{"cache_n":36}}"#;
    const ERROR_FRAME: &str = r#"{"error":{"code":500,"message":"The model produced output that does not match the expected peg-native format","type":"server_error"}}"#;

    #[test]
    fn llama_server_tool_response_deserializes() {
        let response: ChatCompletion = serde_json::from_str(TOOL_RESPONSE).unwrap();
        let message = &response.choices[0].message;
        assert_eq!(message.content.as_deref(), Some(""));
        let call = &message.tool_calls.as_ref().unwrap()[0];
        assert_eq!(call.function.name.as_deref(), Some("get_weather"));
        // Truncated by max_tokens: the arguments string is cut, and stays as the server sent it.
        assert_eq!(call.function.arguments, Some(json!("{\"city\": \"Paris")));
        let usage = response.usage.unwrap().to_token_usage();
        assert_eq!(usage, TokenUsage::new(225, 1));
    }

    #[test]
    fn llama_server_stream_chunks_deserialize() {
        let first: ChatCompletionChunk = serde_json::from_str(FIRST_CHUNK).unwrap();
        assert_eq!(first.choices[0].delta.role.as_deref(), Some("assistant"));
        assert_eq!(first.choices[0].delta.content, None);

        let tool: ChatCompletionChunk = serde_json::from_str(TOOL_CHUNK).unwrap();
        let fragment = &tool.choices[0].delta.tool_calls.as_ref().unwrap()[0];
        assert_eq!(fragment.index, 0);
        assert_eq!(
            fragment.function.as_ref().unwrap().arguments,
            Some(json!("{\"city\": \"Paris"))
        );

        let usage: ChatCompletionChunk = serde_json::from_str(USAGE_CHUNK).unwrap();
        assert!(usage.choices.is_empty());
        assert_eq!(usage.usage.unwrap().total_tokens, Some(291));

        let error: ChatCompletionChunk = serde_json::from_str(ERROR_FRAME).unwrap();
        assert_eq!(error.error.unwrap()["type"], "server_error");
        let body: ErrorBody = serde_json::from_str(ERROR_FRAME).unwrap();
        assert_eq!(body.error.kind.as_deref(), Some("server_error"));
        assert_eq!(body.error.code, Some(json!(500)));
    }

    #[test]
    fn missing_total_is_the_sum() {
        let usage = Usage {
            prompt_tokens: Some(3),
            completion_tokens: Some(4),
            total_tokens: None,
        };
        assert_eq!(usage.to_token_usage().total_tokens, 7);
    }

    #[test]
    fn request_keeps_unknown_fields_and_serializes_in_field_order() {
        let body = json!({
            "messages": [{"role": "user", "content": null}],
            "cache_prompt": true,
            "model": "m",
            "tools": null,
            "stream": true,
            "stream_options": {"include_usage": true},
            "temperature": 0.2,
        });
        let request: ChatCompletionRequest = serde_json::from_value(body).unwrap();
        assert_eq!(request.tools, None);
        assert_eq!(request.extra["cache_prompt"], json!(true));
        assert_eq!(
            serde_json::to_string(&request).unwrap(),
            r#"{"model":"m","messages":[{"role":"user","content":null}],"stream":true,"stream_options":{"include_usage":true},"temperature":0.2,"cache_prompt":true}"#
        );
    }

    #[test]
    fn chunk_serializes_null_finish_reason_and_skips_unset_fields() {
        let chunk = ChatCompletionChunk {
            id: Some("chatcmpl-1".into()),
            object: Some("chat.completion.chunk".into()),
            model: Some("m".into()),
            choices: vec![ChunkChoice {
                delta: Delta {
                    content: Some("Hi".into()),
                    ..Delta::default()
                },
                ..ChunkChoice::default()
            }],
            ..ChatCompletionChunk::default()
        };
        assert_eq!(
            serde_json::to_string(&chunk).unwrap(),
            r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}"#
        );
    }
}
