//! Correct-call rate of a llama-server model on a fixed set of 10 tool prompts, under each
//! constraint policy side by side (temperature 0, seed 42, the engine's default 3 retries).
//!
//! ```text
//! cargo run -p forge-tests --example constrained_rate -- http://127.0.0.1:8080 [--prompt-mode] [--validate-arguments]
//! ```
//!
//! `--prompt-mode` puts the tool catalogue in the system prompt (llama-server's prompt mode):
//! needed for a model whose chat template does not render tools, such as SmolLM2's built-in one,
//! which otherwise never sees the tools' names or descriptions.
//!
//! A prompt counts as correct when the engine's final answer is one call of the expected tool
//! with schema-valid arguments carrying the expected values.
#![allow(clippy::unwrap_used)]

#[path = "../tests/constrained_support/mod.rs"]
mod constrained_support;

use constrained_support::{cases, measure, tools, Recording, MAX_RETRIES, SEED};
use forge_guardrails::ConstraintPolicy;
use forge_llamacpp::{LlamaServerClient, LlamaServerConfig, ToolMode};

const USAGE: &str =
    "usage: constrained_rate <llama-server base URL> [--prompt-mode] [--validate-arguments]";

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return;
    }
    let base_url = args[0].trim_end_matches('/').to_owned();
    let validate = args.iter().any(|a| a == "--validate-arguments");
    let mode = if args.iter().any(|a| a == "--prompt-mode") {
        ToolMode::Prompt
    } else {
        ToolMode::Native
    };
    let config = LlamaServerConfig::new("model.gguf")
        .base_url(format!("{base_url}/v1"))
        .mode(mode);
    let client = Recording::new(LlamaServerClient::new(config).expect("a valid configuration"));
    let tools = tools();
    let cases = cases();
    println!(
        "{} prompts, {mode} mode, temperature 0, seed {SEED}, max {MAX_RETRIES} retries, argument validation {}",
        cases.len(),
        if validate { "on" } else { "off" }
    );
    println!("policy  correct  first-attempt  attempts  well-formed constrained attempts");
    // The slowest policy last: unconstrained prose answers run to the token limit.
    for policy in [
        ConstraintPolicy::Always,
        ConstraintPolicy::Retry,
        ConstraintPolicy::Never,
    ] {
        let (mut correct, mut first, mut attempts, mut constrained, mut well_formed) =
            (0, 0, 0, 0, 0);
        for case in &cases {
            let measured = measure(&client, case, policy, validate).await;
            correct += usize::from(measured.correct);
            first += usize::from(measured.correct_first_attempt);
            attempts += measured.attempts.len();
            for attempt in measured.attempts.iter().filter(|a| a.constrained) {
                constrained += 1;
                well_formed += usize::from(attempt.is_well_formed(&tools));
            }
            eprintln!(
                "{policy:<6} {:<5} {:?}: {:?}",
                if measured.correct { "ok" } else { "MISS" },
                case.prompt,
                measured.attempts.last().map(|a| &a.response)
            );
        }
        println!(
            "{:<7} {correct:>2}/{:<5} {first:>2}/{:<11} {attempts:>8}  {well_formed}/{constrained}",
            policy.as_str(),
            cases.len(),
            cases.len()
        );
    }
}
