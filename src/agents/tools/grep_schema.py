"""Grep's input schema (Claude Code's, field for field) and its ``type`` table."""

from __future__ import annotations

from typing import Any

from agents.tools.schema import tool_schema

__all__ = ["FILE_TYPES", "GREP_SCHEMA"]

#: ripgrep's common ``--type`` names -> file name endings.
FILE_TYPES: dict[str, tuple[str, ...]] = {
    "c": (".c", ".h"),
    "cpp": (".cpp", ".cc", ".cxx", ".hpp", ".hh", ".hxx", ".h"),
    "cs": (".cs",),
    "css": (".css", ".scss", ".sass", ".less"),
    "go": (".go",),
    "html": (".html", ".htm"),
    "java": (".java",),
    "js": (".js", ".jsx", ".mjs", ".cjs"),
    "json": (".json",),
    "kotlin": (".kt", ".kts"),
    "md": (".md", ".markdown"),
    "markdown": (".md", ".markdown"),
    "php": (".php",),
    "py": (".py", ".pyi"),
    "python": (".py", ".pyi"),
    "rb": (".rb",),
    "ruby": (".rb",),
    "rust": (".rs",),
    "sh": (".sh", ".bash", ".zsh"),
    "sql": (".sql",),
    "swift": (".swift",),
    "toml": (".toml",),
    "ts": (".ts", ".tsx", ".mts", ".cts"),
    "typescript": (".ts", ".tsx", ".mts", ".cts"),
    "txt": (".txt",),
    "yaml": (".yaml", ".yml"),
}

_CONTENT_ONLY = 'Requires output_mode: "content", ignored otherwise.'

GREP_SCHEMA: dict[str, Any] = tool_schema(
    {
        "pattern": {
            "type": "string",
            "description": "The regular expression pattern to search for in file contents",
        },
        "path": {
            "type": "string",
            "description": "File or directory to search in (rg PATH). Defaults to current "
            "working directory.",
        },
        "glob": {
            "type": "string",
            "description": 'Glob pattern to filter files (e.g. "*.js", "*.{ts,tsx}") - maps to '
            "rg --glob",
        },
        "output_mode": {
            "type": "string",
            "enum": ["content", "files_with_matches", "count"],
            "description": 'Output mode: "content" shows matching lines (supports -A/-B/-C '
            'context, -n line numbers, head_limit), "files_with_matches" shows file paths '
            '(supports head_limit), "count" shows match counts (supports head_limit). '
            'Defaults to "files_with_matches".',
        },
        "-B": {
            "type": "number",
            "description": f"Number of lines to show before each match (rg -B). {_CONTENT_ONLY}",
        },
        "-A": {
            "type": "number",
            "description": f"Number of lines to show after each match (rg -A). {_CONTENT_ONLY}",
        },
        "-C": {
            "type": "number",
            "description": "Number of lines to show before and after each match (rg -C). "
            + _CONTENT_ONLY,
        },
        "-n": {
            "type": "boolean",
            "description": f"Show line numbers in output (rg -n). {_CONTENT_ONLY}",
        },
        "-i": {"type": "boolean", "description": "Case insensitive search (rg -i)"},
        "type": {
            "type": "string",
            "description": "File type to search (rg --type). Common types: js, py, rust, go, "
            "java, etc. More efficient than include for standard file types.",
        },
        "head_limit": {
            "type": "number",
            "description": 'Limit output to first N lines/entries, equivalent to "| head -N". '
            "Works across all output modes: content (limits output lines), files_with_matches "
            "(limits file paths), count (limits count entries). When unspecified, shows all "
            "results from ripgrep.",
        },
        "multiline": {
            "type": "boolean",
            "description": "Enable multiline mode where . matches newlines and patterns can span "
            "lines (rg -U --multiline-dotall). Default: false.",
        },
    },
    required=["pattern"],
)
