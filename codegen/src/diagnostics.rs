//! Schema diagnostics: errors and warnings that point at the offending text of a schema file.
//!
//! Loading (`parse`) and validation (`validate`) report problems as [`Diagnostic`]s: a code such
//! as `schema::unknown_type`, a message, labelled byte spans in one source file, a help line
//! saying how to fix it, and related diagnostics for other places ("previous definition here").
//! They implement [`miette::Diagnostic`], so the CLI renders them the way rustc renders errors,
//! and [`Diagnostics::render`] renders them as plain fixed-width text for snapshot tests. Each
//! rendering names `file:line:column`.

use crate::parse::{FileId, Origin, SourceMap};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode};
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The schema is wrong; nothing is generated from it.
    Error,
    /// Suspicious but usable.
    Warning,
    /// A note attached to another diagnostic.
    Advice,
}

/// One labelled span in the diagnostic's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// Byte range in the file.
    pub span: Range<usize>,
    /// The label's text.
    pub text: Option<String>,
    /// The primary label (the offending text itself).
    pub primary: bool,
}

/// A problem in the schema files, pointing at file:line:column.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// Stable code, `schema::<kind>` (`schema::unknown_type`).
    pub code: &'static str,
    /// Error, warning or advice.
    pub severity: Severity,
    /// What is wrong, in one sentence.
    pub message: String,
    /// The file the labels point into.
    pub file: Option<FileId>,
    /// Labelled spans in `file`; the first primary label is the main location.
    pub labels: Vec<Label>,
    /// How to fix it.
    pub help: Option<String>,
    /// Notes at other places, possibly in other files.
    pub related: Vec<Diagnostic>,
    source: Option<NamedSource<Arc<str>>>,
    location: Option<Location>,
}

/// A 1-based position in a named file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file's name as it was loaded.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

impl Diagnostic {
    /// A new error.
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            file: None,
            labels: Vec::new(),
            help: None,
            related: Vec::new(),
            source: None,
            location: None,
        }
    }

    /// A new warning.
    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    /// Adds the primary label at `origin`. A label in another file than the first becomes a
    /// related note instead.
    pub fn at(self, origin: &Origin, text: impl Into<String>) -> Self {
        self.label_at(origin, Some(text.into()), true)
    }

    /// Adds the primary label at `origin`, without text.
    pub fn at_plain(self, origin: &Origin) -> Self {
        self.label_at(origin, None, true)
    }

    /// Adds a secondary label (`previous definition here`).
    pub fn also(self, origin: &Origin, text: impl Into<String>) -> Self {
        self.label_at(origin, Some(text.into()), false)
    }

    fn label_at(mut self, origin: &Origin, text: Option<String>, primary: bool) -> Self {
        match self.file {
            None => self.file = Some(origin.file),
            Some(f) if f != origin.file => {
                let mut note = Diagnostic::error(self.code, text.clone().unwrap_or_default());
                note.severity = Severity::Advice;
                note.file = Some(origin.file);
                note.labels.push(Label {
                    span: origin.span.clone(),
                    text,
                    primary: true,
                });
                self.related.push(note);
                return self;
            }
            Some(_) => {}
        }
        self.labels.push(Label {
            span: origin.span.clone(),
            text,
            primary,
        });
        self
    }

    /// Sets the help line.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Sets the help line when there is one.
    pub fn maybe_help(mut self, help: Option<String>) -> Self {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    /// Where the diagnostic points (file:line:column of its primary label), once attached.
    pub fn location(&self) -> Option<&Location> {
        self.location.as_ref()
    }

    /// Attaches the source text so the diagnostic can render, and computes its location.
    pub fn attach(&mut self, sources: &SourceMap) {
        if let Some(file) = self.file.and_then(|f| sources.get(f)) {
            self.source = Some(NamedSource::new(file.name.clone(), file.text.clone()));
            let primary = self
                .labels
                .iter()
                .find(|l| l.primary)
                .or_else(|| self.labels.first());
            if let Some(label) = primary {
                let (line, column) = file.line_col(label.span.start);
                self.location = Some(Location {
                    file: file.name.clone(),
                    line,
                    column,
                });
            }
        }
        for r in &mut self.related {
            r.attach(sources);
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(loc) = &self.location {
            write!(f, "{loc}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Advice => miette::Severity::Advice,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display + 'a>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() || self.source.is_none() {
            return None;
        }
        Some(Box::new(self.labels.iter().map(|l| {
            let span = (l.span.start, l.span.end.saturating_sub(l.span.start));
            if l.primary {
                LabeledSpan::new_primary_with_span(l.text.clone(), span)
            } else {
                LabeledSpan::new_with_span(l.text.clone(), span)
            }
        })))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(
            self.related.iter().map(|d| d as &dyn miette::Diagnostic),
        ))
    }
}

/// Every diagnostic of a load, in file and position order.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    /// The diagnostics.
    pub items: Vec<Diagnostic>,
}

/// How [`Diagnostics::render`] draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenderStyle {
    /// Unicode box drawing with ANSI colours, for terminals.
    Color,
    /// Unicode box drawing, no colour: for logs and snapshot tests.
    Plain,
}

impl Diagnostics {
    /// True when at least one item is an error.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.items
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    /// Attaches sources to every item and sorts them by file and position.
    pub fn finish(&mut self, sources: &SourceMap) {
        for d in &mut self.items {
            d.attach(sources);
        }
        self.items.sort_by_key(|d| {
            (
                d.file.map_or(usize::MAX, |f| f.0),
                d.labels
                    .iter()
                    .find(|l| l.primary)
                    .map_or(0, |l| l.span.start),
            )
        });
    }

    /// Renders every diagnostic, separated by blank lines, `width` columns wide.
    pub fn render(&self, style: RenderStyle, width: usize) -> String {
        let theme = match style {
            RenderStyle::Color => GraphicalTheme::unicode(),
            RenderStyle::Plain => GraphicalTheme::unicode_nocolor(),
        };
        let handler = GraphicalReportHandler::new_themed(theme)
            .with_width(width)
            .with_links(false);
        let mut out = String::new();
        for d in &self.items {
            let mut one = String::new();
            if handler.render_report(&mut one, d).is_err() {
                // Rendering into a String cannot fail; fall back to the one-line form anyway.
                one = format!("{d}\n");
            }
            out.push_str(one.trim_end());
            out.push_str("\n\n");
        }
        let errors = self.error_count();
        let warnings = self
            .items
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .count();
        out.push_str(&format!(
            "{errors} error{}, {warnings} warning{}\n",
            if errors == 1 { "" } else { "s" },
            if warnings == 1 { "" } else { "s" }
        ));
        out
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.items {
            writeln!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl From<Vec<Diagnostic>> for Diagnostics {
    fn from(items: Vec<Diagnostic>) -> Self {
        Diagnostics { items }
    }
}
