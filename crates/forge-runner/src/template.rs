//! System prompt templates: `{name}` placeholders and `{{` / `}}` escapes.
//!
//! The reference renders its templates with Python's `str.format` and keyword arguments. We keep
//! the part of that language a prompt needs (named placeholders, doubled braces for literal
//! braces) and reject the rest (positional fields, format specs, conversions, attribute access)
//! when the template is parsed, so a broken template fails when the workflow is built instead of
//! on the first run.

use std::collections::HashMap;

use thiserror::Error;

/// Why a template could not be parsed or rendered.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TemplateError {
    /// A `{` that starts no placeholder (write `{{` for a literal brace).
    #[error("unclosed '{{' at byte {position} (write '{{{{' for a literal brace)")]
    UnclosedBrace {
        /// Byte offset of the brace in the template.
        position: usize,
    },
    /// A `}` that closes nothing (write `}}` for a literal brace).
    #[error("single '}}' at byte {position} (write '}}}}' for a literal brace)")]
    UnmatchedCloseBrace {
        /// Byte offset of the brace in the template.
        position: usize,
    },
    /// `{}` or `{0}`: placeholders must be named.
    #[error("positional placeholder '{{{field}}}' at byte {position}: placeholders must be named")]
    PositionalField {
        /// The text between the braces.
        field: String,
        /// Byte offset of the opening brace.
        position: usize,
    },
    /// A format spec, conversion or attribute access (`{x:>5}`, `{x!r}`, `{a.b}`).
    #[error("placeholder '{{{field}}}' at byte {position} is not supported: only plain names like '{{role}}' are")]
    UnsupportedField {
        /// The text between the braces.
        field: String,
        /// Byte offset of the opening brace.
        position: usize,
    },
    /// Rendering found no value for a placeholder.
    #[error("no value for placeholder '{{{name}}}'")]
    MissingVariable {
        /// The placeholder's name.
        name: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Placeholder(String),
}

/// A parsed system prompt template.
///
/// ```
/// use std::collections::HashMap;
/// use forge_runner::PromptTemplate;
///
/// let template = PromptTemplate::parse("You are a {role}. Reply as JSON: {{\"ok\": true}}")?;
/// let vars = HashMap::from([("role".to_owned(), "planner".to_owned())]);
/// assert_eq!(template.render(&vars)?, "You are a planner. Reply as JSON: {\"ok\": true}");
/// # Ok::<(), forge_runner::TemplateError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptTemplate {
    source: String,
    segments: Vec<Segment>,
}

impl PromptTemplate {
    /// Parses `source`; fails on a stray brace or an unsupported placeholder.
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        let mut segments = Vec::new();
        let mut literal = String::new();
        let mut chars = source.char_indices().peekable();
        while let Some((position, c)) = chars.next() {
            match c {
                '{' if chars.peek().is_some_and(|(_, next)| *next == '{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek().is_some_and(|(_, next)| *next == '}') => {
                    chars.next();
                    literal.push('}');
                }
                '}' => return Err(TemplateError::UnmatchedCloseBrace { position }),
                '{' => {
                    let mut field = String::new();
                    let closed = loop {
                        match chars.next() {
                            Some((_, '}')) => break true,
                            Some((_, '{')) | None => break false,
                            Some((_, c)) => field.push(c),
                        }
                    };
                    if !closed {
                        return Err(TemplateError::UnclosedBrace { position });
                    }
                    check_field(&field, position)?;
                    if !literal.is_empty() {
                        segments.push(Segment::Literal(std::mem::take(&mut literal)));
                    }
                    segments.push(Segment::Placeholder(field));
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            segments.push(Segment::Literal(literal));
        }
        Ok(Self {
            source: source.to_owned(),
            segments,
        })
    }

    /// The template text as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The placeholder names, in order of appearance (repeats included).
    pub fn placeholders(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|segment| match segment {
            Segment::Placeholder(name) => Some(name.as_str()),
            Segment::Literal(_) => None,
        })
    }

    /// The template with every placeholder replaced by its value in `vars`.
    ///
    /// Extra variables are ignored; a placeholder without a value is an error.
    pub fn render(&self, vars: &HashMap<String, String>) -> Result<String, TemplateError> {
        let mut out = String::with_capacity(self.source.len());
        for segment in &self.segments {
            match segment {
                Segment::Literal(text) => out.push_str(text),
                Segment::Placeholder(name) => match vars.get(name) {
                    Some(value) => out.push_str(value),
                    None => return Err(TemplateError::MissingVariable { name: name.clone() }),
                },
            }
        }
        Ok(out)
    }
}

fn check_field(field: &str, position: usize) -> Result<(), TemplateError> {
    if field.is_empty() || field.chars().all(|c| c.is_ascii_digit()) {
        return Err(TemplateError::PositionalField {
            field: field.to_owned(),
            position,
        });
    }
    let mut chars = field.chars();
    let starts_well = chars.next().is_some_and(|c| c.is_alphabetic() || c == '_');
    if !starts_well || !chars.all(|c| c.is_alphanumeric() || c == '_') {
        return Err(TemplateError::UnsupportedField {
            field: field.to_owned(),
            position,
        });
    }
    Ok(())
}
