//! `smoothtaskd events`: follows the running agent's `/api/events` NDJSON stream and prints
//! each event as JSON or as one human line.

use futures_util::StreamExt as _;

/// What to ask for.
#[derive(Clone, Debug)]
pub struct EventsQuery {
    pub base: String,
    pub follow: bool,
    pub kinds: Vec<String>,
    pub container: Option<String>,
    pub json: bool,
    pub token: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the agent at {url}: {source}")]
    Connect { url: String, source: reqwest::Error },
    #[error("the agent answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("the event stream broke: {0}")]
    Stream(reqwest::Error),
}

/// The request URL for a query.
pub fn url(q: &EventsQuery) -> String {
    let mut params = vec![("format", "ndjson".to_string())];
    if !q.follow {
        params.push(("since", "0".to_string()));
    }
    if !q.kinds.is_empty() {
        params.push(("kind", q.kinds.join(",")));
    }
    if let Some(c) = &q.container {
        params.push(("container", c.clone()));
    }
    let query: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    format!("{}/api/events?{query}", q.base.trim_end_matches('/'))
}

/// One event as a human line: time, kind, container, the rest.
pub fn human(line: &str) -> String {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
        return line.to_string();
    };
    let container = v
        .get("container")
        .and_then(|c| {
            let c = c.get("container").unwrap_or(c);
            Some(format!(
                "{}/{}",
                c.get("runtime")?.as_str()?,
                c.get("id")?.as_str()?.chars().take(12).collect::<String>()
            ))
        })
        .unwrap_or_else(|| "-".into());
    let mut rest = v.clone();
    if let Some(o) = rest.as_object_mut() {
        for k in [
            "schema",
            "id",
            "time",
            "mono_ns",
            "kind",
            "source",
            "container",
        ] {
            o.remove(k);
        }
    }
    format!(
        "{} {:<22} {:<26} {}",
        v["time"].as_str().unwrap_or("-"),
        v["kind"].as_str().unwrap_or("?"),
        container,
        rest
    )
}

/// Streams events to stdout until the stream ends (or, without `follow`, until it is quiet).
pub async fn run(q: EventsQuery) -> Result<(), ClientError> {
    let url = url(&q);
    let client = reqwest::Client::new();
    let mut req = client.get(&url);
    if let Some(token) = &q.token {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.map_err(|source| ClientError::Connect {
        url: url.clone(),
        source,
    })?;
    let status = resp.status();
    if !status.is_success() {
        let body = resp.text().await.unwrap_or_default();
        return Err(ClientError::Status {
            status: status.as_u16(),
            body,
        });
    }
    let mut stream = resp.bytes_stream();
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let next = if q.follow {
            stream.next().await
        } else {
            match tokio::time::timeout(std::time::Duration::from_millis(500), stream.next()).await {
                Ok(item) => item,
                Err(_) => return Ok(()), // history printed; the stream is quiet
            }
        };
        let Some(chunk) = next else { return Ok(()) };
        buf.extend_from_slice(&chunk.map_err(ClientError::Stream)?);
        while let Some(pos) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=pos).collect();
            let line = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
            if line.is_empty() {
                continue;
            }
            if q.json {
                println!("{line}");
            } else {
                println!("{}", human(&line));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_becomes_the_stream_url() {
        let q = EventsQuery {
            base: "http://127.0.0.1:8080/".into(),
            follow: true,
            kinds: vec!["memory.oom_kill".into(), "cgroup.*".into()],
            container: Some("docker/abc".into()),
            json: false,
            token: None,
        };
        assert_eq!(
            url(&q),
            "http://127.0.0.1:8080/api/events?format=ndjson&kind=memory.oom_kill%2Ccgroup.*&container=docker%2Fabc"
        );
    }

    #[test]
    fn human_lines_name_time_kind_and_container() {
        let line = r#"{"schema":1,"id":3,"time":"2026-12-04T20:00:00Z","mono_ns":1,"source":"ebpf","kind":"memory.oom_kill","pid":42,"container":{"runtime":"docker","id":"0123456789abcdef"}}"#;
        assert_eq!(
            human(line),
            r#"2026-12-04T20:00:00Z memory.oom_kill        docker/0123456789ab        {"pid":42}"#
        );
    }
}
