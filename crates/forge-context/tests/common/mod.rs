//! Histories shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use forge_types::{CallId, Message, MessageRole, MessageType, ToolCallInfo};
use serde_json::json;

/// Big enough that a 0.0 trigger always fires and a 1.0 trigger never does.
pub const BIG: u64 = 999_999;

pub fn sys() -> Message {
    Message::system(
        "You are a helpful assistant.",
        MessageType::SystemPrompt.meta(),
    )
}

pub fn user_input() -> Message {
    Message::user(
        "Generate a quote for part X.",
        MessageType::UserInput.meta(),
    )
}

fn with_role(
    role: MessageRole,
    content: impl Into<String>,
    kind: MessageType,
    step: Option<u32>,
) -> Message {
    let meta = match step {
        Some(step) => kind.at_step(step),
        None => kind.meta(),
    };
    Message::new(role, content, meta)
}

/// Options of [`build_history`], named after the reference test fixture's flags.
#[derive(Default, Clone, Copy)]
pub struct Flags {
    pub nudges: bool,
    pub reasoning: bool,
    pub text_response: bool,
    pub long_results: bool,
}

/// The reference's `_build_history`: tool calls as assistant text, results as user messages,
/// no call ids, and step nudges without a step index.
pub fn build_history(pairs: u32, flags: Flags) -> Vec<Message> {
    let mut messages = vec![sys(), user_input()];
    for i in 0..pairs {
        if flags.reasoning {
            messages.push(with_role(
                MessageRole::Assistant,
                format!("Analysis of result {i}: looks good."),
                MessageType::Reasoning,
                Some(i),
            ));
        }
        if flags.text_response {
            messages.push(with_role(
                MessageRole::Assistant,
                format!("Based on my analysis of step {i}, proceeding."),
                MessageType::TextResponse,
                Some(i),
            ));
        }
        messages.push(with_role(
            MessageRole::Assistant,
            format!("tool_{i}({{\"arg\": \"{i}\"}})"),
            MessageType::ToolCall,
            Some(i),
        ));
        let mut result = format!("Result {i}");
        if flags.long_results {
            result.push('\n');
            result.push_str(&format!("Detailed data line {i}\n").repeat(10));
        }
        messages.push(with_role(
            MessageRole::User,
            result,
            MessageType::ToolResult,
            Some(i),
        ));
        if flags.nudges && i % 2 == 0 {
            messages.push(with_role(
                MessageRole::User,
                format!("Nudge at step {i}"),
                MessageType::StepNudge,
                None,
            ));
        }
    }
    messages
}

pub fn plain(pairs: u32) -> Vec<Message> {
    build_history(pairs, Flags::default())
}

/// The reference's manager fixture: `count` messages of `total_chars / count` `x`s: system
/// prompt, user input, then tool calls at steps 0, 1, 2, ….
pub fn build_messages(total_chars: usize, count: usize) -> Vec<Message> {
    let content = "x".repeat(total_chars / count);
    (0..count)
        .map(|i| match i {
            0 => Message::system(content.clone(), MessageType::SystemPrompt.meta()),
            1 => Message::user(content.clone(), MessageType::UserInput.meta()),
            _ => Message::assistant(content.clone(), MessageType::ToolCall.at_step(i as u32 - 2)),
        })
        .collect()
}

/// A history whose usage estimate is `trunc(budget × fraction) + 1` tokens.
pub fn messages_at(budget: u64, fraction: f64) -> Vec<Message> {
    let tokens = (budget as f64 * fraction) as usize;
    vec![
        Message::system("system", MessageType::SystemPrompt.meta()),
        Message::user("x".repeat(tokens * 4), MessageType::UserInput.meta()),
    ]
}

pub fn call(name: &str, id: u64, args: serde_json::Value) -> ToolCallInfo {
    let args = forge_types::json_object(args).expect("test args are objects");
    ToolCallInfo::new(name, args, CallId::from_counter(id))
}

/// A history shaped the way the runner writes one: a quoting workflow over five iterations with
/// reasoning, parallel calls, a bare-text retry, an unknown tool, a premature terminal call, a
/// prerequisite violation and long tool results. Every reply carries its tool name and call id.
pub fn realistic_history() -> Vec<Message> {
    use MessageType as T;
    let long_table = |part: &str| {
        let mut text = format!("Price history for {part} (EUR, last 24 months)\n");
        for year in [2024, 2025] {
            for month in 1..=12 {
                let cents = (month * 7 + year) % 100;
                text.push_str(&format!(
                    "{year}-{month:02}: {}.{cents:02}\n",
                    9 + month % 3
                ));
            }
        }
        text
    };
    vec![
        Message::system(
            "You are a procurement assistant. Use the tools; finish with submit_quote.",
            T::SystemPrompt.meta(),
        ),
        Message::user("Quote 500 units of part X-100 for Zürich.", T::UserInput.meta()),
        // Iteration 0: a bare-text failure, the retry nudge, then the first call.
        Message::assistant("I think the price is about 10 EUR.", T::TextResponse.at_step(0)),
        Message::user(
            "Your response was plain text. Call one of the tools.",
            T::RetryNudge.at_step(0),
        ),
        Message::assistant("Need the catalogue entry first.", T::Reasoning.at_step(1)),
        Message::tool_calls(vec![call("lookup_part", 1, json!({"part": "X-100"}))], T::ToolCall.at_step(1)),
        Message::tool_result(
            "lookup_part",
            CallId::from_counter(1),
            "X-100: hex bolt M8, stainless, MOQ 100, lead time 2 weeks",
            T::ToolResult.at_step(1),
        ),
        // Iteration 2: two parallel calls with long results.
        Message::assistant("Fetch prices and stock together.", T::Reasoning.at_step(2)),
        Message::tool_calls(
            vec![
                call("get_prices", 2, json!({"part": "X-100", "months": 12})),
                call("get_stock", 3, json!({"part": "X-100", "site": "Zürich"})),
            ],
            T::ToolCall.at_step(2),
        ),
        Message::tool_result("get_prices", CallId::from_counter(2), long_table("X-100"), T::ToolResult.at_step(2)),
        Message::tool_result(
            "get_stock",
            CallId::from_counter(3),
            format!("Zürich warehouse: 320 units\n{}", "bin A-17: 40 units\n".repeat(8)),
            T::ToolResult.at_step(2),
        ),
        // Iteration 3: an unknown tool, answered on the tool channel.
        Message::tool_calls(vec![call("get_discount", 4, json!({"units": 500}))], T::ToolCall.at_step(3)),
        Message::tool_result(
            "get_discount",
            CallId::from_counter(4),
            "[UnknownTool] Unknown tool 'get_discount'. Available tools: lookup_part, get_prices, get_stock, check_supplier, submit_quote.",
            T::RetryNudge.at_step(3),
        ),
        // Iteration 4: a premature terminal call next to a prerequisite violation.
        Message::assistant("Submit now; the supplier check can wait.", T::Reasoning.at_step(4)),
        Message::tool_calls(
            vec![
                call("submit_quote", 5, json!({"unit_price": 10.5})),
                call("reserve_stock", 6, json!({"units": 500})),
            ],
            T::ToolCall.at_step(4),
        ),
        Message::tool_result(
            "submit_quote",
            CallId::from_counter(5),
            "[StepEnforcementError] Cannot call submit_quote yet. Complete these steps first: check_supplier.",
            T::StepNudge.at_step(4),
        ),
        Message::tool_result(
            "reserve_stock",
            CallId::from_counter(6),
            "[PrerequisiteError] reserve_stock requires check_supplier to be called first.",
            T::PrerequisiteNudge.at_step(4),
        ),
        // Iteration 5: the supplier check (protected with keep_recent = 2).
        Message::assistant("Check the supplier as required.", T::Reasoning.at_step(5)),
        Message::tool_calls(vec![call("check_supplier", 7, json!({"part": "X-100"}))], T::ToolCall.at_step(5)),
        Message::tool_result(
            "check_supplier",
            CallId::from_counter(7),
            format!("Supplier ACME AG: approved\n{}", "audit 2025: passed\n".repeat(12)),
            T::ToolResult.at_step(5),
        ),
        // Iteration 6: the quote, with its reply (protected).
        Message::tool_calls(vec![call("submit_quote", 8, json!({"unit_price": 10.42}))], T::ToolCall.at_step(6)),
        Message::tool_result("submit_quote", CallId::from_counter(8), "Quote Q-2291 submitted.", T::ToolResult.at_step(6)),
    ]
}

/// Every assistant tool call has a reply and every reply has its call.
pub fn assert_pairing_intact(messages: &[Message]) {
    use std::collections::HashSet;
    let calls: HashSet<&CallId> = messages
        .iter()
        .flat_map(|m| m.tool_calls.iter().flatten().map(|c| &c.call_id))
        .collect();
    let replies: HashSet<&CallId> = messages
        .iter()
        .filter_map(|m| m.tool_call_id.as_ref())
        .collect();
    assert_eq!(calls, replies, "every call answered, every reply called");
    for reply in messages.iter().filter(|m| m.tool_call_id.is_some()) {
        assert!(
            reply.tool_name.is_some(),
            "reply keeps its tool name: {reply:?}"
        );
    }
}

pub fn estimate(messages: &[Message]) -> u64 {
    forge_context::estimate_tokens(messages)
}
