//! Managed model-server backends for forge.
//!
//! In managed mode the proxy owns its model server: this crate spawns `llama-server`, a
//! llamafile runtime or `vllm serve` with the reference command lines (or attaches to a running
//! Ollama daemon), waits until the server is ready, resolves the context budget for the chosen
//! [`BudgetMode`], and stops exactly what it started.
//!
//! ```no_run
//! use forge_managed::{BackendKind, BudgetMode, BudgetRequest, ManagedBackend, ManagedConfig, ModelIdentity};
//!
//! # async fn run() -> Result<(), forge_managed::ManagedError> {
//! let model = ModelIdentity::Gguf("/models/SmolLM2-135M-Instruct.Q4_1.gguf".into());
//! let mut config = ManagedConfig::new(BackendKind::LlamaServer, model);
//! config.extra_flags = forge_managed::split_extra_flags("-ngl 0 --threads 2")?;
//! let backend = ManagedBackend::new(config)?; // validation only, no I/O
//!
//! let running = backend
//!     .start(BudgetRequest::new(BudgetMode::Manual, Some(2048))?)
//!     .await?;
//! assert_eq!(running.budget_tokens(), 2048);
//! println!("serving at {}", running.openai_base_url());
//! running.stop().await?; // SIGTERM, then SIGKILL after the grace period
//! # Ok(())
//! # }
//! ```
//!
//! Startup failures come back as soon as they are known, as a typed [`ManagedError`]: a child
//! that exits reports its exit status and the last lines it printed, a taken port or a missing
//! model file fails before anything is spawned, and a server that never gets ready fails at the
//! configured deadline. Whatever was spawned for a failed start is stopped before the error is
//! returned, and a [`RunningBackend`] dropped without [`RunningBackend::stop`] kills its server.
//!
//! Logging (`tracing`): the effective configuration, the spawned command line and pid, the
//! resolved budget, and each line the server prints (at debug level, target
//! `forge_managed::server_output`).

mod argv;
mod backend;
mod budget;
mod config;
mod discovery;
mod error;
mod flags;
mod health;
mod identity;
mod kind;
mod output;
mod process;

pub use argv::{find_llamafile_runtime, resolve_program, server_args};
pub use backend::{ManagedBackend, RunningBackend};
pub use budget::BudgetRequest;
pub use config::{LlamaTuning, ManagedConfig, Timing};
pub use error::ManagedError;
pub use flags::{check_extra_flags, split_extra_flags};
pub use forge_context::BudgetMode;
pub use identity::ModelIdentity;
pub use kind::BackendKind;
