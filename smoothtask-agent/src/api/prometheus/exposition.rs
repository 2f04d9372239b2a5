//! The text exposition format 0.0.4: one family at a time (`# HELP`, `# TYPE`, samples),
//! label values and help text escaped, integers printed exactly.

use std::fmt::Write as _;

/// A sample value: integers print exactly, floats as Rust prints them (never exponents).
#[derive(Clone, Copy, Debug)]
pub enum Num {
    U(u64),
    I(i64),
    F(f64),
}

impl std::fmt::Display for Num {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Num::U(v) => write!(f, "{v}"),
            Num::I(v) => write!(f, "{v}"),
            Num::F(v) if v.is_nan() => f.write_str("NaN"),
            Num::F(v) if v.is_infinite() => f.write_str(if v > 0.0 { "+Inf" } else { "-Inf" }),
            Num::F(v) => write!(f, "{v}"),
        }
    }
}

/// Label names and values of one sample.
pub type Labels = Vec<(&'static str, String)>;

pub const GAUGE: &str = "gauge";
pub const COUNTER: &str = "counter";

/// The text being written.
#[derive(Default)]
pub struct Exposition {
    pub text: String,
}

impl Exposition {
    /// One family: `# HELP`, `# TYPE` and its samples; nothing when it has no samples.
    pub fn family(
        &mut self,
        name: &str,
        kind: &str,
        help: &str,
        samples: impl IntoIterator<Item = (Labels, Num)>,
    ) {
        let mut samples = samples.into_iter().peekable();
        if samples.peek().is_none() {
            return;
        }
        let help = help.replace('\\', r"\\").replace('\n', r"\n");
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
        for (labels, value) in samples {
            self.text.push_str(name);
            if !labels.is_empty() {
                self.text.push('{');
                for (i, (key, value)) in labels.iter().enumerate() {
                    if i > 0 {
                        self.text.push(',');
                    }
                    let _ = write!(self.text, "{key}=\"{}\"", escape_label(value));
                }
                self.text.push('}');
            }
            let _ = writeln!(self.text, " {value}");
        }
    }

    /// A family of one unlabelled sample.
    pub fn one(&mut self, name: &str, kind: &str, help: &str, value: Num) {
        self.family(name, kind, help, [(Vec::new(), value)]);
    }
}

fn escape_label(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_escape_labels_and_skip_empty() {
        let mut out = Exposition::default();
        out.family("x", GAUGE, "none", Vec::new());
        out.family(
            "y_total",
            COUNTER,
            "a \\ help\nline",
            [(vec![("a", "q\"b\\c\nd".to_string())], Num::F(0.5))],
        );
        out.one("z", GAUGE, "big", Num::F(1e-7));
        out.one("w", GAUGE, "neg", Num::I(-3));
        assert_eq!(
            out.text,
            "# HELP y_total a \\\\ help\\nline\n# TYPE y_total counter\ny_total{a=\"q\\\"b\\\\c\\nd\"} 0.5\n# HELP z big\n# TYPE z gauge\nz 0.0000001\n# HELP w neg\n# TYPE w gauge\nw -3\n"
        );
    }
}
