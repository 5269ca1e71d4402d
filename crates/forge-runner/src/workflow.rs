//! A workflow: the tools, which must run before the terminal one, and the system prompt.

use std::collections::HashMap;

use forge_types::{ForgeError, Prerequisite, ToolSpec};
use indexmap::{IndexMap, IndexSet};
use thiserror::Error;

use crate::template::{PromptTemplate, TemplateError};
use crate::tool::ToolDef;

/// Why a workflow could not be built. Checked in this order; the first failure wins.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WorkflowError {
    /// Two tools share a name.
    #[error("Tool '{name}' is defined twice")]
    DuplicateTool {
        /// The name.
        name: String,
    },
    /// A required step names no tool.
    #[error("Required step '{step}' not in tools: {}", py_list(tools))]
    UnknownRequiredStep {
        /// The step.
        step: String,
        /// The workflow's tools.
        tools: Vec<String>,
    },
    /// A terminal tool names no tool.
    #[error("Terminal tool '{tool}' not in tools: {}", py_list(tools))]
    UnknownTerminalTool {
        /// The terminal tool.
        tool: String,
        /// The workflow's tools.
        tools: Vec<String>,
    },
    /// A terminal tool is also a required step (it could never run: it would always be premature).
    #[error("Terminal tool '{tool}' cannot also be a required step")]
    TerminalIsRequired {
        /// The tool.
        tool: String,
    },
    /// A prerequisite names no tool.
    #[error(
        "Prerequisite '{prerequisite}' for tool '{tool}' not in tools: {}",
        py_list(tools)
    )]
    UnknownPrerequisite {
        /// The tool named by the prerequisite.
        prerequisite: String,
        /// The tool that declares it.
        tool: String,
        /// The workflow's tools.
        tools: Vec<String>,
    },
    /// The system prompt template does not parse.
    #[error("invalid system prompt template: {0}")]
    Template(#[from] TemplateError),
}

impl From<WorkflowError> for ForgeError {
    fn from(err: WorkflowError) -> Self {
        ForgeError::InvalidInput {
            what: "workflow",
            message: err.to_string(),
        }
    }
}

/// `['a', 'b']`, the way the reference's messages render a list of names.
pub(crate) fn py_list<S: AsRef<str>>(names: &[S]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("'{}'", n.as_ref())).collect();
    format!("[{}]", quoted.join(", "))
}

/// A validated workflow: ordered tools, required steps, terminal tool(s), system prompt.
///
/// The run ends when a terminal tool executes successfully; a terminal tool called while
/// required steps are pending is blocked with an escalating nudge. Tool order is the order the
/// model sees the tools in.
///
/// ```
/// use forge_runner::{ToolDef, Workflow};
/// use forge_types::ToolSpec;
/// use serde_json::json;
///
/// let tool = |name: &str| {
///     let spec = ToolSpec::new(name, "", json!({"type": "object", "properties": {}}));
///     let result = format!("{name}_result");
///     ToolDef::new_sync(spec, move |_| Ok(result.clone()))
/// };
/// let workflow = Workflow::builder("demo")
///     .tool(tool("fetch"))
///     .tool(tool("submit"))
///     .required_steps(["fetch"])
///     .terminal_tool("submit")
///     .system_prompt("You are a {role}.")
///     .build()?;
/// assert_eq!(workflow.tool_names().collect::<Vec<_>>(), ["fetch", "submit"]);
///
/// let err = Workflow::builder("broken").tool(tool("submit")).terminal_tool("finish").build();
/// assert_eq!(err.unwrap_err().to_string(), "Terminal tool 'finish' not in tools: ['submit']");
/// # Ok::<(), forge_runner::WorkflowError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Workflow {
    name: String,
    description: String,
    tools: IndexMap<String, ToolDef>,
    required_steps: Vec<String>,
    terminal_tools: IndexSet<String>,
    template: PromptTemplate,
}

impl Workflow {
    /// Starts a workflow named `name` (informational).
    pub fn builder(name: impl Into<String>) -> WorkflowBuilder {
        WorkflowBuilder {
            name: name.into(),
            description: String::new(),
            tools: Vec::new(),
            required_steps: Vec::new(),
            terminal_tools: Vec::new(),
            system_prompt: String::new(),
        }
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The tools, in order.
    pub fn tools(&self) -> impl Iterator<Item = &ToolDef> {
        self.tools.values()
    }

    /// The tool names, in order.
    pub fn tool_names(&self) -> impl Iterator<Item = &str> {
        self.tools.keys().map(String::as_str)
    }

    /// The tool called `name`.
    pub fn tool(&self, name: &str) -> Option<&ToolDef> {
        self.tools.get(name)
    }

    /// The specs the model sees, in tool order.
    pub fn tool_specs(&self) -> Vec<ToolSpec> {
        self.tools
            .values()
            .map(|tool| tool.spec().clone())
            .collect()
    }

    /// Steps that must each succeed before a terminal tool may run (duplicates allowed).
    pub fn required_steps(&self) -> &[String] {
        &self.required_steps
    }

    /// The tools whose successful execution ends the run (possibly none: such a workflow can
    /// only end by running out of iterations).
    pub fn terminal_tools(&self) -> &IndexSet<String> {
        &self.terminal_tools
    }

    /// `(tool, prerequisites)` for every tool that declares any, in tool order.
    pub fn prerequisites(&self) -> Vec<(String, Vec<Prerequisite>)> {
        self.tools
            .iter()
            .filter(|(_, tool)| !tool.prerequisites().is_empty())
            .map(|(name, tool)| (name.clone(), tool.prerequisites().to_vec()))
            .collect()
    }

    /// The system prompt template.
    pub fn system_prompt_template(&self) -> &PromptTemplate {
        &self.template
    }

    /// The system prompt rendered with `vars` (extra variables are ignored).
    pub fn build_system_prompt(
        &self,
        vars: &HashMap<String, String>,
    ) -> Result<String, TemplateError> {
        self.template.render(vars)
    }
}

/// Builds a [`Workflow`]; [`WorkflowBuilder::build`] validates it.
#[derive(Debug, Clone)]
pub struct WorkflowBuilder {
    name: String,
    description: String,
    tools: Vec<ToolDef>,
    required_steps: Vec<String>,
    terminal_tools: Vec<String>,
    system_prompt: String,
}

impl WorkflowBuilder {
    /// Sets the description (informational).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Adds a tool (after the ones already added).
    pub fn tool(mut self, tool: ToolDef) -> Self {
        self.tools.push(tool);
        self
    }

    /// Adds tools, in order.
    pub fn tools(mut self, tools: impl IntoIterator<Item = ToolDef>) -> Self {
        self.tools.extend(tools);
        self
    }

    /// Adds required steps, in order.
    pub fn required_steps(mut self, steps: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.required_steps
            .extend(steps.into_iter().map(Into::into));
        self
    }

    /// Adds one terminal tool.
    pub fn terminal_tool(mut self, tool: impl Into<String>) -> Self {
        self.terminal_tools.push(tool.into());
        self
    }

    /// Adds terminal tools.
    pub fn terminal_tools(mut self, tools: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.terminal_tools
            .extend(tools.into_iter().map(Into::into));
        self
    }

    /// Sets the system prompt template (`{name}` placeholders, `{{` / `}}` for braces).
    pub fn system_prompt(mut self, template: impl Into<String>) -> Self {
        self.system_prompt = template.into();
        self
    }

    /// Validates and builds the workflow.
    pub fn build(self) -> Result<Workflow, WorkflowError> {
        let terminal_tools: IndexSet<String> = self.terminal_tools.into_iter().collect();
        let mut tools = IndexMap::with_capacity(self.tools.len());
        for tool in self.tools {
            let name = tool.name().to_owned();
            if tools.insert(name.clone(), tool).is_some() {
                return Err(WorkflowError::DuplicateTool { name });
            }
        }
        let names = || tools.keys().cloned().collect::<Vec<_>>();
        if let Some(step) = self.required_steps.iter().find(|s| !tools.contains_key(*s)) {
            return Err(WorkflowError::UnknownRequiredStep {
                step: step.clone(),
                tools: names(),
            });
        }
        for tool in &terminal_tools {
            if !tools.contains_key(tool) {
                return Err(WorkflowError::UnknownTerminalTool {
                    tool: tool.clone(),
                    tools: names(),
                });
            }
            if self.required_steps.contains(tool) {
                return Err(WorkflowError::TerminalIsRequired { tool: tool.clone() });
            }
        }
        for (name, tool) in &tools {
            if let Some(missing) = tool
                .prerequisites()
                .iter()
                .find(|p| !tools.contains_key(p.tool()))
            {
                return Err(WorkflowError::UnknownPrerequisite {
                    prerequisite: missing.tool().to_owned(),
                    tool: name.clone(),
                    tools: names(),
                });
            }
        }
        let template = PromptTemplate::parse(&self.system_prompt)?;
        Ok(Workflow {
            name: self.name,
            description: self.description,
            tools,
            required_steps: self.required_steps,
            terminal_tools,
            template,
        })
    }
}
