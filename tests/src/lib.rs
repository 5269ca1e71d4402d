//! Shared helpers for forge-rs's workspace-level integration tests.
//!
//! The tests in this crate's `tests/` folder exercise the published crates together. Those whose names
//! start with `real_` talk to a real llama-server: they are `#[ignore]`d so a plain `cargo test` skips
//! them, and `cargo xtask test` runs them after starting the servers and exporting where they are:
//!
//! | variable | meaning |
//! | --- | --- |
//! | `FORGE_REAL_LLAMA_URL` | base URL of a llama-server started with `--jinja -c 4096 -np 1` and the model's own template |
//! | `FORGE_REAL_LLAMA_TOOLS_URL` | base URL of a second llama-server using `assets/templates/smollm2-tools.jinja` |
//! | `FORGE_REAL_MODEL_PATH` | the GGUF model both servers load |
//! | `FORGE_REAL_LLAMA_SERVER` | the llama-server binary, for tests that spawn their own (managed mode) |
//! | `FORGE_REAL_TEMPLATES_DIR` | the folder holding the chat templates (`assets/templates`) |
//!
//! Convention for a real-tier test: name it `real_…`, mark it
//! `#[ignore = "needs a real llama-server; run by cargo xtask test"]`, and get its settings through
//! [`RealEnv::from_env`], which fails loudly when a variable is missing instead of skipping.
//!
//! ```
//! use forge_tests::RealEnv;
//!
//! // Outside `cargo xtask test` nothing is exported, so there is no real environment.
//! if std::env::var_os(forge_tests::LLAMA_URL_VAR).is_none() {
//!     assert!(RealEnv::try_from_env().is_err());
//! }
//! ```

use std::env;
use std::fmt;
use std::path::PathBuf;

/// Base URL (`http://127.0.0.1:PORT`) of the llama-server using the model's built-in chat template.
pub const LLAMA_URL_VAR: &str = "FORGE_REAL_LLAMA_URL";
/// Base URL of the llama-server started with the tools chat template.
pub const LLAMA_TOOLS_URL_VAR: &str = "FORGE_REAL_LLAMA_TOOLS_URL";
/// Path of the GGUF model the real servers load.
pub const MODEL_PATH_VAR: &str = "FORGE_REAL_MODEL_PATH";
/// Path of the llama-server binary, for tests that start their own server.
pub const LLAMA_SERVER_VAR: &str = "FORGE_REAL_LLAMA_SERVER";
/// Folder holding the chat templates (`assets/templates` in the repository).
pub const TEMPLATES_DIR_VAR: &str = "FORGE_REAL_TEMPLATES_DIR";

/// The `#[ignore]` reason every real-tier test carries (checked by the `tidy_real_tier` test).
pub const IGNORE_REASON: &str = "needs a real llama-server; run by cargo xtask test";

/// The context length (`-c`) the xtask starts the real servers with.
pub const REAL_SERVER_CONTEXT_LENGTH: u64 = 4096;

/// Where the real backend is, as exported by `cargo xtask test`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealEnv {
    /// Base URL of the llama-server with the model's own chat template, without a trailing slash.
    pub llama_url: String,
    /// Base URL of the llama-server with the tools chat template, without a trailing slash.
    pub llama_tools_url: String,
    /// The GGUF model both servers load.
    pub model_path: PathBuf,
    /// The llama-server binary.
    pub llama_server: PathBuf,
    /// The folder holding the chat templates.
    pub templates_dir: PathBuf,
}

/// One or more real-tier variables are not set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingRealEnv {
    /// The names of the variables that are missing or empty.
    pub missing: Vec<&'static str>,
}

impl fmt::Display for MissingRealEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "real-backend environment incomplete: {} not set; these tests are run by `cargo xtask test`",
            self.missing.join(", ")
        )
    }
}

impl std::error::Error for MissingRealEnv {}

impl RealEnv {
    /// Reads every real-tier variable, reporting all the missing ones at once.
    pub fn try_from_env() -> Result<Self, MissingRealEnv> {
        let mut missing = Vec::new();
        let mut read = |name: &'static str| match env::var(name) {
            Ok(value) if !value.is_empty() => value,
            _ => {
                missing.push(name);
                String::new()
            }
        };
        let llama_url = read(LLAMA_URL_VAR);
        let llama_tools_url = read(LLAMA_TOOLS_URL_VAR);
        let model_path = read(MODEL_PATH_VAR);
        let llama_server = read(LLAMA_SERVER_VAR);
        let templates_dir = read(TEMPLATES_DIR_VAR);
        if !missing.is_empty() {
            return Err(MissingRealEnv { missing });
        }
        Ok(Self {
            llama_url: llama_url.trim_end_matches('/').to_owned(),
            llama_tools_url: llama_tools_url.trim_end_matches('/').to_owned(),
            model_path: PathBuf::from(model_path),
            llama_server: PathBuf::from(llama_server),
            templates_dir: PathBuf::from(templates_dir),
        })
    }

    /// Reads every real-tier variable and panics, naming the missing ones, if any is absent.
    ///
    /// Real-tier tests call this: a test that was asked to run against a real server but cannot find
    /// one must fail, not pass quietly.
    #[track_caller]
    pub fn from_env() -> Self {
        match Self::try_from_env() {
            Ok(real) => real,
            Err(missing) => panic!("{missing}"),
        }
    }

    /// The URL of `path` (which starts with `/`) on the server with the model's own template.
    pub fn llama_endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.llama_url)
    }

    /// The URL of `path` (which starts with `/`) on the server with the tools template.
    pub fn llama_tools_endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.llama_tools_url)
    }
}

/// The base URL of the real llama-server, if `cargo xtask test` exported one.
pub fn real_llama_url() -> Option<String> {
    env::var(LLAMA_URL_VAR)
        .ok()
        .filter(|url| !url.is_empty())
        .map(|url| url.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_variables_are_all_named_in_the_message() {
        let error = MissingRealEnv {
            missing: vec![LLAMA_URL_VAR, MODEL_PATH_VAR],
        };
        assert_eq!(
            error.to_string(),
            "real-backend environment incomplete: FORGE_REAL_LLAMA_URL, FORGE_REAL_MODEL_PATH not set; \
             these tests are run by `cargo xtask test`"
        );
    }

    #[test]
    fn endpoints_join_the_base_url_and_the_path() {
        let real = RealEnv {
            llama_url: "http://127.0.0.1:1".to_owned(),
            llama_tools_url: "http://127.0.0.1:2".to_owned(),
            model_path: PathBuf::from("m.gguf"),
            llama_server: PathBuf::from("llama-server"),
            templates_dir: PathBuf::from("assets/templates"),
        };
        assert_eq!(real.llama_endpoint("/health"), "http://127.0.0.1:1/health");
        assert_eq!(
            real.llama_tools_endpoint("/v1/chat/completions"),
            "http://127.0.0.1:2/v1/chat/completions"
        );
    }
}
