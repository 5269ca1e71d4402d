//! Tool definitions: what the model sees (a [`ToolSpec`]) and the async function that runs.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use forge_types::py_json::py_json_dumps;
use forge_types::{JsonObject, Prerequisite, ToolResolutionError, ToolSpec};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use schemars::gen::SchemaSettings;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use thiserror::Error;

/// What a tool returned.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolOutput {
    /// Text, fed back to the model as-is.
    Text(String),
    /// A JSON value, fed back to the model as JSON text (`null` included).
    Json(Value),
}

impl ToolOutput {
    /// The output of serializing `value`; a value that cannot be serialized becomes a tool
    /// error (so the model gets a `[ToolError]` reply instead of the run failing).
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Self, ToolFailure> {
        serde_json::to_value(value)
            .map(Self::Json)
            .map_err(|err| ToolFailure::error("SerializationError", err.to_string()))
    }

    /// The text of the tool-result message: text unchanged, JSON written as the reference
    /// writes it (`", "` / `": "` separators, non-ASCII escaped).
    pub fn to_content(&self) -> String {
        match self {
            Self::Text(text) => text.clone(),
            Self::Json(value) => py_json_dumps(value),
        }
    }

    /// The text, for [`ToolOutput::Text`].
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text),
            Self::Json(_) => None,
        }
    }

    /// The value, for [`ToolOutput::Json`].
    pub fn as_json(&self) -> Option<&Value> {
        match self {
            Self::Json(value) => Some(value),
            Self::Text(_) => None,
        }
    }
}

impl From<String> for ToolOutput {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<&str> for ToolOutput {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<Value> for ToolOutput {
    fn from(value: Value) -> Self {
        Self::Json(value)
    }
}

impl From<()> for ToolOutput {
    fn from((): ()) -> Self {
        Self::Json(Value::Null)
    }
}

/// Why a tool call failed.
///
/// The two kinds are fed back to the model differently and count differently: a resolution
/// failure says "this input names nothing I know" (`[ToolResolutionError] …`, not counted against
/// the tool-error budget, the model is expected to try another input); any other failure is
/// `[ToolError] {kind}: {message}` and counts.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ToolFailure {
    /// The tool could not resolve its input.
    #[error(transparent)]
    Resolution(#[from] ToolResolutionError),
    /// The tool failed.
    #[error("{kind}: {message}")]
    Error {
        /// A short name for the kind of failure (an error type name, `InvalidArguments`, …).
        kind: String,
        /// What went wrong.
        message: String,
    },
}

impl ToolFailure {
    /// A resolution failure with `message`.
    pub fn resolution(message: impl Into<String>) -> Self {
        Self::Resolution(ToolResolutionError::new(message))
    }

    /// A counted failure of `kind` with `message`.
    pub fn error(kind: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Error {
            kind: kind.into(),
            message: message.into(),
        }
    }

    /// A counted failure from any error, its kind being the error's type name without the path
    /// (`ParseIntError`).
    pub fn from_error<E: std::error::Error>(err: E) -> Self {
        let full = std::any::type_name::<E>();
        let base = full.split('<').next().unwrap_or(full);
        let kind = base.rsplit("::").next().unwrap_or(base);
        Self::error(kind, err.to_string())
    }

    /// True for [`ToolFailure::Resolution`].
    pub fn is_resolution(&self) -> bool {
        matches!(self, Self::Resolution(_))
    }

    /// The failure's message without kind or prefix.
    pub fn message(&self) -> &str {
        match self {
            Self::Resolution(err) => &err.message,
            Self::Error { message, .. } => message,
        }
    }

    /// The tool-result text the model receives.
    pub fn to_content(&self) -> String {
        match self {
            Self::Resolution(err) => format!("[ToolResolutionError] {}", err.message),
            Self::Error { kind, message } => format!("[ToolError] {kind}: {message}"),
        }
    }
}

/// The future a tool function returns.
pub type ToolFuture = BoxFuture<'static, Result<ToolOutput, ToolFailure>>;

/// A tool implementation: called with the model's arguments.
pub type ToolFn = Arc<dyn Fn(JsonObject) -> ToolFuture + Send + Sync>;

/// A tool: its spec, its implementation, and the prerequisites that must hold before it runs.
///
/// ```
/// use forge_runner::{ToolDef, ToolFailure};
/// use schemars::JsonSchema;
/// use serde::Deserialize;
///
/// /// Arguments of `get_weather`.
/// #[derive(Deserialize, JsonSchema)]
/// struct WeatherArgs {
///     /// The city to look up.
///     city: String,
/// }
///
/// let tool = ToolDef::typed("get_weather", "Current weather for a city.", |args: WeatherArgs| async move {
///     if args.city.is_empty() {
///         return Err(ToolFailure::resolution("Name a city."));
///     }
///     Ok(format!("Sunny in {}", args.city))
/// });
/// assert_eq!(tool.spec().parameters["required"], serde_json::json!(["city"]));
/// ```
#[derive(Clone)]
pub struct ToolDef {
    spec: ToolSpec,
    function: ToolFn,
    prerequisites: Vec<Prerequisite>,
}

impl fmt::Debug for ToolDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolDef")
            .field("spec", &self.spec)
            .field("prerequisites", &self.prerequisites)
            .finish_non_exhaustive()
    }
}

impl ToolDef {
    /// A tool from a spec (raw JSON Schema) and an async function of the raw arguments.
    pub fn new<F, Fut, O>(spec: ToolSpec, function: F) -> Self
    where
        F: Fn(JsonObject) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, ToolFailure>> + Send + 'static,
        O: Into<ToolOutput>,
    {
        Self::from_fn(
            spec,
            Arc::new(move |args| function(args).map(|r| r.map(Into::into)).boxed()),
        )
    }

    /// A tool from a spec and a synchronous function of the raw arguments (it must not block).
    pub fn new_sync<F, O>(spec: ToolSpec, function: F) -> Self
    where
        F: Fn(JsonObject) -> Result<O, ToolFailure> + Send + Sync + 'static,
        O: Into<ToolOutput>,
    {
        Self::from_fn(
            spec,
            Arc::new(move |args| {
                let result = function(args).map(Into::into);
                async move { result }.boxed()
            }),
        )
    }

    /// A tool whose arguments are the struct `A`: the schema the model sees is derived from `A`
    /// (doc comments become descriptions), and the arguments are deserialized into it before
    /// `function` runs. Arguments that do not deserialize are a counted
    /// `[ToolError] InvalidArguments: …`, so the model sees what was wrong.
    pub fn typed<A, F, Fut, O>(
        name: impl Into<String>,
        description: impl Into<String>,
        function: F,
    ) -> Self
    where
        A: JsonSchema + DeserializeOwned + Send + 'static,
        F: Fn(A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, ToolFailure>> + Send + 'static,
        O: Into<ToolOutput>,
    {
        let spec = ToolSpec::new(name, description, schema_for::<A>());
        let function = Arc::new(function);
        Self::from_fn(
            spec,
            Arc::new(move |args| {
                let parsed = serde_json::from_value::<A>(Value::Object(args));
                let function = Arc::clone(&function);
                async move {
                    let args = parsed
                        .map_err(|err| ToolFailure::error("InvalidArguments", err.to_string()))?;
                    function(args).await.map(Into::into)
                }
                .boxed()
            }),
        )
    }

    /// A tool from a spec and an already boxed function.
    pub fn from_fn(spec: ToolSpec, function: ToolFn) -> Self {
        Self {
            spec,
            function,
            prerequisites: Vec::new(),
        }
    }

    /// The same tool, runnable only after `prerequisites` hold.
    pub fn with_prerequisites(
        mut self,
        prerequisites: impl IntoIterator<Item = Prerequisite>,
    ) -> Self {
        self.prerequisites.extend(prerequisites);
        self
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// What the model sees.
    pub fn spec(&self) -> &ToolSpec {
        &self.spec
    }

    /// The prerequisites, in declaration order.
    pub fn prerequisites(&self) -> &[Prerequisite] {
        &self.prerequisites
    }

    /// Runs the tool with `args`.
    pub fn call(&self, args: JsonObject) -> ToolFuture {
        (self.function)(args)
    }
}

/// The JSON Schema of `A` as a tool's `parameters` (draft 7: nested types under `definitions`,
/// properties in declaration order, no `$schema` key).
pub fn schema_for<A: JsonSchema>() -> Value {
    let generator = SchemaSettings::draft07()
        .with(|settings| settings.meta_schema = None)
        .into_generator();
    serde_json::to_value(generator.into_root_schema_for::<A>())
        .expect("a generated JSON Schema is plain JSON data")
}
