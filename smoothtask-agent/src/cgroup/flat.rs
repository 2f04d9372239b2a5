//! Flat-keyed control files (`key value` per line): `memory.stat`, `cpu.stat`,
//! `memory.events`, `memory.oom_control`, `pids.events`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::ParseError;

/// A parsed flat-keyed file. Every line must be `<key> <unsigned number>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FlatKeyed(pub BTreeMap<String, u64>);

impl FlatKeyed {
    /// Parses the whole file; blank lines are skipped, anything else malformed is an error.
    pub fn parse(text: &str) -> Result<FlatKeyed, ParseError> {
        let mut map = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let (key, value) = split_line(line, i + 1)?;
            map.insert(key.to_string(), value);
        }
        Ok(FlatKeyed(map))
    }

    pub fn get(&self, key: &str) -> Option<u64> {
        self.0.get(key).copied()
    }
}

fn split_line(line: &str, line_no: usize) -> Result<(&str, u64), ParseError> {
    let mut tokens = line.split_ascii_whitespace();
    let (Some(key), Some(value), None) = (tokens.next(), tokens.next(), tokens.next()) else {
        return Err(ParseError::malformed(
            line_no,
            "expected \"<key> <value>\"",
            line,
        ));
    };
    let value = value.parse().map_err(|_| ParseError::number(value))?;
    Ok((key, value))
}

/// The value of `key` without building a map (for hot paths): `Ok(None)` when the key is
/// absent, an error when its line is malformed. Other lines are not validated.
pub fn flat_value(text: &str, key: &str) -> Result<Option<u64>, ParseError> {
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let Some(rest) = trimmed.strip_prefix(key) else {
            continue;
        };
        if rest.trim().is_empty() || rest.starts_with(|c: char| c.is_ascii_whitespace()) {
            return split_line(line, i + 1).map(|(_, v)| Some(v));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CPU_STAT_V1: &str =
        "nr_periods 0\nnr_throttled 0\nthrottled_time 0\nnr_bursts 0\nburst_time 0\n";

    #[test]
    fn parses_cpu_stat() {
        let f = FlatKeyed::parse(CPU_STAT_V1).expect("valid");
        assert_eq!(f.0.len(), 5);
        assert_eq!(f.get("throttled_time"), Some(0));
        assert_eq!(f.get("nope"), None);
    }

    #[test]
    fn looks_up_one_key() {
        let text = "usage_usec 105876920\nuser_usec 87390090\nsystem_usec 18486830\n";
        assert_eq!(flat_value(text, "usage_usec"), Ok(Some(105_876_920)));
        assert_eq!(flat_value(text, "user"), Ok(None));
        assert_eq!(flat_value(text, "user_usec"), Ok(Some(87_390_090)));
        assert_eq!(flat_value(text, "missing"), Ok(None));
        assert!(flat_value("oom_kill x\n", "oom_kill").is_err());
        assert!(flat_value("oom_kill 1 2\n", "oom_kill").is_err());
        // Truncated: the key without its value.
        assert!(flat_value("oom 1\noom_kill\n", "oom_kill").is_err());
    }

    #[test]
    fn rejects_garbage() {
        assert!(FlatKeyed::parse("cache\n").is_err());
        assert!(FlatKeyed::parse("cache -1\n").is_err());
        assert!(FlatKeyed::parse("cache 1 extra\n").is_err());
        assert_eq!(FlatKeyed::parse("\n").map(|f| f.0.len()), Ok(0));
    }
}
