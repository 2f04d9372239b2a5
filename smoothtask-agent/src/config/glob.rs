//! Globs for class selectors and API filters, by `globset`: `*` (any run of characters, `/`
//! included), `?` (one character), `[abc]`, `[a-z]`, `[!abc]`, `{a,b}`, and `\` to take the
//! next character literally.

use std::fmt;

/// A checked glob pattern.
#[derive(Clone)]
pub struct Glob {
    pattern: String,
    matcher: globset::GlobMatcher,
}

/// Why a pattern is not a glob (globset's words: "unclosed character class; missing ']'").
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct GlobError(String);

impl Glob {
    pub fn new(pattern: &str) -> Result<Glob, GlobError> {
        let glob = globset::GlobBuilder::new(pattern)
            .literal_separator(false)
            .backslash_escape(true)
            .build()
            .map_err(|e| GlobError(e.kind().to_string()))?;
        Ok(Glob {
            pattern: pattern.to_string(),
            matcher: glob.compile_matcher(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    pub fn matches(&self, text: &str) -> bool {
        self.matcher.is_match(text)
    }
}

impl PartialEq for Glob {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern
    }
}

impl Eq for Glob {}

impl fmt::Debug for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Glob({:?})", self.pattern)
    }
}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.pattern)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches() {
        let cases = [
            ("web-*", "web-1", true),
            ("web-*", "api-1", false),
            ("*", "", true),
            ("/kubepods*/*", "/kubepods.slice/x/y", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("[a-c]x", "bx", true),
            ("[!a-c]x", "bx", false),
            ("[]]", "]", true),
            ("*.scope", "docker-abc.scope", true),
            ("*a*b", "xxaxxb", true),
            ("*a*b", "xxaxxbc", false),
            ("\\*", "*", true),
            ("\\*", "a", false),
        ];
        for (pattern, text, want) in cases {
            assert_eq!(
                Glob::new(pattern).unwrap().matches(text),
                want,
                "{pattern} {text}"
            );
        }
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let unclosed = Glob::new("ab[c").unwrap_err().to_string();
        assert!(unclosed.contains("unclosed character class"), "{unclosed}");
        let dangling = Glob::new("ab\\").unwrap_err().to_string();
        assert!(dangling.contains("dangling"), "{dangling}");
    }
}
