//! Deployment tests' pieces: the production image built from the Dockerfile around the binary
//! under test (removed on drop), the README's `docker run` command with the few substitutions a
//! test needs, HTTP with a bearer token through a published port (plain requests and an NDJSON
//! stream), and YAML documents as JSON values (the Kubernetes manifests).

use std::{
    io::{BufRead as _, BufReader, Read as _, Write as _},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use saphyr_parser::{Event, Parser, ScalarStyle};
use serde_json::Value;

/// Debian's docker client, matching the dockerd prepare.sh starts.
pub const DOCKER: &str = "/usr/bin/docker";
/// The Debian base prepare.sh debootstraps and imports (no registry here).
pub const BASE_IMAGE: &str = "smoothtask-debian:bookworm";
/// The uid:gid the production image runs as (`USER` in the Dockerfile).
pub const IMAGE_UID: u32 = 10001;

/// The workspace root (the directory holding README.md and the Dockerfiles).
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Runs a command; its trimmed stdout, or an error with its stderr.
pub fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(format!(
            "{cmd:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim(),
            String::from_utf8_lossy(&out.stdout).trim()
        ))
    }
}

pub fn docker() -> Command {
    Command::new(DOCKER)
}

/// A docker image this test built; removed (with its build context) on drop.
pub struct BuiltImage {
    pub tag: String,
    context: PathBuf,
}

impl BuiltImage {
    /// Builds the production `Dockerfile`'s final stage around `binary` (BuildKit,
    /// `BINARY=prebuilt`, the local Debian base), tagged `tag`. Returns the image and how long
    /// the build took.
    pub fn production(binary: &Path, tag: &str) -> Result<(Self, Duration), String> {
        let context = workspace().join(format!(
            "target/deploy-image-context-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&context);
        std::fs::create_dir_all(&context).map_err(|e| format!("{}: {e}", context.display()))?;
        // From here on, drop removes the context (and the image, once it exists).
        let image = BuiltImage {
            tag: tag.to_string(),
            context,
        };
        std::fs::copy(binary, image.context.join("smoothtaskd"))
            .map_err(|e| format!("copy {}: {e}", binary.display()))?;
        let started = Instant::now();
        run(docker()
            .env("DOCKER_BUILDKIT", "1")
            .arg("build")
            .arg("--quiet")
            .arg("--file")
            .arg(workspace().join("Dockerfile"))
            .args(["--build-arg", "BINARY=prebuilt"])
            .args(["--build-arg", &format!("BASE_IMAGE={BASE_IMAGE}")])
            .args(["--tag", tag])
            .arg(&image.context))?;
        Ok((image, started.elapsed()))
    }
}

impl Drop for BuiltImage {
    fn drop(&mut self) {
        if let Err(e) = run(docker().args(["image", "rm", "-f", &self.tag])) {
            eprintln!("cleanup: image {}: {e}", self.tag);
        }
        let _ = std::fs::remove_dir_all(&self.context);
    }
}

/// A container started by `docker run -d`; removed on drop.
pub struct RunningContainer {
    pub id: String,
}

impl Drop for RunningContainer {
    fn drop(&mut self) {
        if let Err(e) = run(docker().args(["rm", "-f", &self.id])) {
            eprintln!("cleanup: container {}: {e}", self.id);
        }
    }
}

/// The fenced code blocks of the README section headed `## {heading}`.
pub fn readme_blocks(heading: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(workspace().join("README.md")).expect("README.md");
    let start = readme
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("README.md has no `## {heading}` section"));
    let section = &readme[start + 1..];
    let section = match section[3..].find("\n## ") {
        Some(end) => &section[..end + 3],
        None => section,
    };
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in section.lines() {
        if line.trim_start().starts_with("```") {
            match current.take() {
                Some(block) => blocks.push(block),
                None => current = Some(String::new()),
            }
        } else if let Some(block) = current.as_mut() {
            block.push_str(line);
            block.push('\n');
        }
    }
    blocks
}

/// The words of the first `docker run` command in the README's Docker section (its
/// continuation lines joined). The README writes no quotes in it, so whitespace splits.
pub fn readme_docker_run() -> Vec<String> {
    for block in readme_blocks("Docker") {
        let mut logical: Vec<String> = Vec::new();
        let mut continued = false;
        for line in block.lines() {
            let text = line.trim_end();
            let (text, continues) = match text.strip_suffix('\\') {
                Some(t) => (t, true),
                None => (text, false),
            };
            match logical.last_mut() {
                Some(last) if continued => {
                    last.push(' ');
                    last.push_str(text);
                }
                _ => logical.push(text.to_string()),
            }
            continued = continues;
        }
        if let Some(command) = logical
            .iter()
            .find(|l| l.trim_start().starts_with("docker run "))
        {
            assert!(
                !command.contains(['"', '\'', '$', '#', ';', '&', '|']),
                "the README's docker run command must be plain words (the test splits on whitespace): {command}"
            );
            return command.split_whitespace().map(str::to_string).collect();
        }
    }
    panic!("README.md's Docker section has no `docker run` command");
}

/// Replaces exactly one word (or the part of one word before `:` for a volume's host side)
/// and panics when `from` does not occur exactly once, so the README cannot drift silently.
pub fn substitute(words: &mut [String], from: &str, to: &str) {
    let hits: Vec<usize> = words
        .iter()
        .enumerate()
        .filter(|(_, w)| *w == from || w.starts_with(&format!("{from}:")))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "the README's docker run command should contain `{from}` exactly once: {words:?}"
    );
    let word = &mut words[hits[0]];
    *word = format!("{to}{}", &word[from.len()..]);
}

/// A plain HTTP/1.0 GET on 127.0.0.1:`port` with an optional bearer token: (status, body).
pub fn get(port: u16, path: &str, token: Option<&str>) -> Result<(u16, String), String> {
    let mut s = request(port, path, token)?;
    let mut text = String::new();
    s.read_to_string(&mut text)
        .map_err(|e| format!("read {path}: {e}"))?;
    Ok(crate::http::status_and_body(&text))
}

fn request(port: u16, path: &str, token: Option<&str>) -> Result<TcpStream, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))
        .map_err(|e| format!("connect 127.0.0.1:{port}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n{auth}\r\n"
    )
    .map_err(|e| format!("send {path}: {e}"))?;
    Ok(s)
}

/// Polls GET `path` until it answers 200, at most `timeout`; the last answer or error.
pub fn wait_ok(
    port: u16,
    path: &str,
    token: Option<&str>,
    timeout: Duration,
) -> Result<String, String> {
    let deadline = Instant::now() + timeout;
    loop {
        let last = match get(port, path, token) {
            Ok((200, body)) => return Ok(body),
            Ok((status, body)) => format!("{status}: {body}"),
            Err(e) => e,
        };
        if Instant::now() >= deadline {
            return Err(last);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// An NDJSON event stream being read on a thread: each line with the instant it arrived.
pub struct EventStream {
    pub lines: mpsc::Receiver<(Instant, Value)>,
}

impl EventStream {
    /// Opens `path` (an `/api/events?format=ndjson...` URL) and returns once the response
    /// headers say 200, i.e. the subscription exists.
    pub fn open(port: u16, path: &str, token: &str) -> Result<Self, String> {
        let s = request(port, path, Some(token))?;
        s.set_read_timeout(None).map_err(|e| e.to_string())?;
        let mut reader = BufReader::new(s);
        let mut status_line = String::new();
        reader
            .read_line(&mut status_line)
            .map_err(|e| format!("{path}: {e}"))?;
        if status_line.split_whitespace().nth(1) != Some("200") {
            return Err(format!("{path}: {}", status_line.trim()));
        }
        loop {
            let mut header = String::new();
            reader
                .read_line(&mut header)
                .map_err(|e| format!("{path}: {e}"))?;
            if header.trim().is_empty() {
                break;
            }
        }
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                let Ok(value) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if tx.send((Instant::now(), value)).is_err() {
                    break;
                }
            }
        });
        Ok(Self { lines })
    }

    /// The first event for which `pred` holds, with its arrival instant, within `timeout`.
    pub fn wait_for(
        &self,
        timeout: Duration,
        mut pred: impl FnMut(&Value) -> bool,
    ) -> Option<(Instant, Value)> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let (at, value) = self.lines.recv_timeout(left).ok()?;
            if pred(&value) {
                return Some((at, value));
            }
        }
    }
}

/// Every YAML document in `text` as a JSON value. Plain scalars are typed as YAML 1.2's core
/// schema does (null, booleans, integers, floats); quoted ones stay strings.
pub fn yaml_documents(text: &str) -> Result<Vec<Value>, String> {
    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    loop {
        let (event, _) = match parser.next() {
            Some(Ok(pair)) => pair,
            Some(Err(e)) => return Err(format!("{}: {}", e.marker().line(), e.info())),
            None => break,
        };
        match event {
            Event::StreamEnd => break,
            Event::StreamStart | Event::DocumentStart(_) | Event::DocumentEnd | Event::Nothing => {}
            event => docs.push(yaml_node(&mut parser, event)?),
        }
    }
    Ok(docs)
}

fn yaml_node<'i>(
    parser: &mut Parser<'i, saphyr_parser::StrInput<'i>>,
    event: Event<'i>,
) -> Result<Value, String> {
    let next = |parser: &mut Parser<'i, saphyr_parser::StrInput<'i>>| match parser.next() {
        Some(Ok((event, _))) => Ok(event),
        Some(Err(e)) => Err(format!("{}: {}", e.marker().line(), e.info())),
        None => Err("truncated YAML".to_string()),
    };
    match event {
        Event::Scalar(text, style, _, _) => Ok(yaml_scalar(&text, style)),
        Event::SequenceStart(_, _) => {
            let mut items = Vec::new();
            loop {
                match next(parser)? {
                    Event::SequenceEnd => return Ok(Value::Array(items)),
                    event => items.push(yaml_node(parser, event)?),
                }
            }
        }
        Event::MappingStart(_, _) => {
            let mut map = serde_json::Map::new();
            loop {
                let key = match next(parser)? {
                    Event::MappingEnd => return Ok(Value::Object(map)),
                    Event::Scalar(text, _, _, _) => text.into_owned(),
                    other => return Err(format!("a mapping key that is not a scalar: {other:?}")),
                };
                let event = next(parser)?;
                let value = yaml_node(parser, event)?;
                if map.insert(key.clone(), value).is_some() {
                    return Err(format!("duplicate key `{key}`"));
                }
            }
        }
        Event::Alias(_) => Err("aliases are not used in these manifests".into()),
        other => Err(format!("unexpected YAML event {other:?}")),
    }
}

fn yaml_scalar(text: &str, style: ScalarStyle) -> Value {
    if style != ScalarStyle::Plain {
        return Value::String(text.to_string());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        t => {
            if let Ok(i) = t.parse::<i64>() {
                Value::from(i)
            } else if let Some(f) = t
                .parse::<f64>()
                .ok()
                .filter(|_| t.chars().any(|c| c.is_ascii_digit()))
            {
                Value::from(f)
            } else {
                Value::String(t.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_documents_are_typed_like_yaml_1_2() {
        let docs = yaml_documents(
            "a: 1\nb: \"1\"\nc: [x, true]\nd:\n  e: null\n  f: 0.5\n---\nkind: Two\n",
        )
        .unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(
            docs[0],
            serde_json::json!({"a": 1, "b": "1", "c": ["x", true], "d": {"e": null, "f": 0.5}})
        );
        assert_eq!(docs[1]["kind"], "Two");
        assert!(yaml_documents("a: 1\na: 2\n").is_err());
    }

    #[test]
    fn substitute_replaces_one_word_or_a_volume_host_side() {
        let mut w: Vec<String> = ["-v", "/etc/x:/etc/x:ro", "--name", "n"]
            .map(String::from)
            .to_vec();
        substitute(&mut w, "/etc/x", "/tmp/y");
        substitute(&mut w, "n", "m");
        assert_eq!(w, ["-v", "/tmp/y:/etc/x:ro", "--name", "m"]);
    }
}
