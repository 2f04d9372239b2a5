//! Pressure stall information files (`cpu.pressure`, `memory.pressure`, `io.pressure`,
//! `/proc/pressure/*`): `some avg10=0.00 avg60=0.00 avg300=0.00 total=0` and `full ...`.

use serde::{Deserialize, Serialize};

use super::error::ParseError;

/// One PSI line: the share of wall time stalled, averaged over 10 s, 60 s and 300 s (percent),
/// and the total stall time in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PsiLine {
    pub avg10: f64,
    pub avg60: f64,
    pub avg300: f64,
    /// Total stall time in microseconds.
    pub total: u64,
}

/// A parsed pressure file. `full` is absent from older kernels' `cpu.pressure`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Psi {
    pub some: PsiLine,
    pub full: Option<PsiLine>,
}

fn parse_avg(value: &str) -> Result<f64, ParseError> {
    match value.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(ParseError::number(value)),
    }
}

fn parse_line(fields: &str, line_no: usize, line: &str) -> Result<PsiLine, ParseError> {
    let (mut avg10, mut avg60, mut avg300, mut total) = (None, None, None, None);
    for field in fields.split_ascii_whitespace() {
        let Some((key, value)) = field.split_once('=') else {
            return Err(ParseError::malformed(line_no, "expected key=value", line));
        };
        match key {
            "avg10" => avg10 = Some(parse_avg(value)?),
            "avg60" => avg60 = Some(parse_avg(value)?),
            "avg300" => avg300 = Some(parse_avg(value)?),
            "total" => total = Some(value.parse().map_err(|_| ParseError::number(value))?),
            _ => {}
        }
    }
    Ok(PsiLine {
        avg10: avg10.ok_or(ParseError::MissingKey { key: "avg10" })?,
        avg60: avg60.ok_or(ParseError::MissingKey { key: "avg60" })?,
        avg300: avg300.ok_or(ParseError::MissingKey { key: "avg300" })?,
        total: total.ok_or(ParseError::MissingKey { key: "total" })?,
    })
}

/// Parses a pressure file. The `some` line is required; lines of unknown kinds are ignored.
pub fn parse_psi(text: &str) -> Result<Psi, ParseError> {
    let (mut some, mut full) = (None, None);
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("some ") {
            some = Some(parse_line(rest, i + 1, line)?);
        } else if let Some(rest) = trimmed.strip_prefix("full ") {
            full = Some(parse_line(rest, i + 1, line)?);
        }
    }
    Ok(Psi {
        some: some.ok_or(ParseError::MissingKey { key: "some" })?,
        full,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_this_hosts_cpu_pressure() {
        let psi = parse_psi(
            "some avg10=1.21 avg60=0.39 avg300=0.84 total=6393745\n\
             full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
        )
        .expect("valid");
        assert_eq!(
            psi.some,
            PsiLine {
                avg10: 1.21,
                avg60: 0.39,
                avg300: 0.84,
                total: 6_393_745
            }
        );
        assert_eq!(psi.full, Some(PsiLine::default()));
    }

    #[test]
    fn full_is_optional_but_some_is_not() {
        let psi = parse_psi("some avg10=0.00 avg60=0.00 avg300=0.00 total=5\n").expect("valid");
        assert_eq!(psi.full, None);
        assert_eq!(psi.some.total, 5);
        assert_eq!(
            parse_psi("full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"),
            Err(ParseError::MissingKey { key: "some" })
        );
    }

    #[test]
    fn rejects_truncated_and_garbage() {
        assert_eq!(
            parse_psi("some avg10=0.00 avg6"),
            Err(ParseError::malformed(
                1,
                "expected key=value",
                "some avg10=0.00 avg6"
            ))
        );
        assert!(parse_psi("some avg10=0.00 avg60=0.00 avg300=0.00").is_err());
        assert!(parse_psi("some avg10=nan avg60=0.00 avg300=0.00 total=0").is_err());
        assert!(parse_psi("some avg10=-1 avg60=0.00 avg300=0.00 total=0").is_err());
        assert!(parse_psi("some avg10=1 avg60=0.00 avg300=0.00 total=x").is_err());
        assert!(parse_psi("").is_err());
    }
}
