//! BENCHMARKS.md is shared by several benchmark tools; each owns one `## ` section and rewrites
//! only that one.

use std::path::Path;

/// Replaces the section whose heading line is `heading` (up to the next `## ` heading) with
/// `section`, or appends `section` when there is no such heading.
pub fn replace_section(text: &str, heading: &str, section: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| l.trim_end() == heading);
    let mut out = String::new();
    match start {
        Some(start) => {
            let end = lines
                .iter()
                .skip(start + 1)
                .position(|l| l.starts_with("## "))
                .map_or(lines.len(), |i| start + 1 + i);
            for l in lines.iter().take(start) {
                out.push_str(l);
                out.push('\n');
            }
            out.push_str(section.trim_end());
            out.push('\n');
            if end < lines.len() {
                out.push('\n');
                for l in lines.iter().skip(end) {
                    out.push_str(l);
                    out.push('\n');
                }
            }
        }
        None => {
            out.push_str(text.trim_end());
            out.push_str("\n\n");
            out.push_str(section.trim_end());
            out.push('\n');
        }
    }
    out
}

/// Rewrites the `heading` section of the file at `path` (creating the file with `preamble`
/// when it does not exist).
pub fn write_section(
    path: &Path,
    heading: &str,
    section: &str,
    preamble: &str,
) -> std::io::Result<()> {
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => preamble.to_owned(),
        Err(e) => return Err(e),
    };
    std::fs::write(path, replace_section(&existing, heading, section))
}

/// The end of a benchmark tool's `main`: prints the section it produced and, with `--write
/// PATH`, rewrites its `heading` section of that file; exits 0, or 2 (with the message, prefixed
/// by `tool`) when the run or the writing failed.
pub fn finish<E: std::fmt::Display>(
    tool: &str,
    heading: &str,
    result: Result<String, E>,
    write: Option<&Path>,
) -> std::process::ExitCode {
    match result {
        Ok(section) => {
            print!("{section}");
            if let Some(path) = write
                && let Err(e) = write_section(path, heading, &section, "# Benchmarks\n")
            {
                eprintln!("{tool}: writing {}: {e}", path.display());
                return std::process::ExitCode::from(2);
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{tool}: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

/// A field of this process's `/proc/self/status`, in KiB (`VmHWM`: peak RSS; `VmRSS`: RSS now).
pub fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    field_kib(&status, field)
}

/// `Field:   1234 kB` in a `/proc` text.
pub fn field_kib(text: &str, field: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        if name != field {
            return None;
        }
        value.split_whitespace().next()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_is_replaced_in_place() {
        let text = "# Benchmarks\n\nIntro.\n\n## Introspection\n\nold\n\n### Memory\n\nold too\n\n## Other\n\nkept\n";
        let out = replace_section(text, "## Introspection", "## Introspection\n\nnew\n");
        assert_eq!(
            out,
            "# Benchmarks\n\nIntro.\n\n## Introspection\n\nnew\n\n## Other\n\nkept\n"
        );
    }

    #[test]
    fn section_is_appended_when_missing() {
        let out = replace_section(
            "# Benchmarks\n\n## Other\n\nkept\n",
            "## Introspection",
            "## Introspection\n\nnew\n",
        );
        assert_eq!(
            out,
            "# Benchmarks\n\n## Other\n\nkept\n\n## Introspection\n\nnew\n"
        );
    }
}
