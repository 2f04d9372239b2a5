//! The NDJSON log sink: every event on the bus as one JSON line, on stdout by default.

use std::sync::Arc;

use tokio::{
    io::{AsyncWrite, AsyncWriteExt as _, BufWriter},
    sync::{
        broadcast::{Receiver, error::RecvError, error::TryRecvError},
        watch,
    },
};

use crate::event::Event;

/// A bus subscription as the sinks read it: items until the bus closes or, once `stop` turns
/// true, until what is already queued has been handed out.
struct Feed {
    rx: Receiver<Arc<Event>>,
    stop: watch::Receiver<bool>,
    stopping: bool,
}

impl Feed {
    fn new(rx: Receiver<Arc<Event>>, stop: watch::Receiver<bool>) -> Self {
        Feed {
            rx,
            stop,
            stopping: false,
        }
    }

    /// The next line to write (an event, or a `lagged` record); `None` when the sink ends.
    async fn next(&mut self) -> Option<String> {
        loop {
            if self.stopping {
                return self.ready();
            }
            tokio::select! {
                item = self.rx.recv() => return match item {
                    Ok(event) => Some(event.to_json()),
                    Err(RecvError::Lagged(missed)) => Some(lagged(missed)),
                    Err(RecvError::Closed) => None,
                },
                _ = self.stop.wait_for(|s| *s) => self.stopping = true,
            }
        }
    }

    /// A line already queued, without waiting; `None` when nothing is (or the bus closed).
    fn ready(&mut self) -> Option<String> {
        match self.rx.try_recv() {
            Ok(event) => Some(event.to_json()),
            Err(TryRecvError::Lagged(missed)) => Some(lagged(missed)),
            Err(TryRecvError::Empty | TryRecvError::Closed) => None,
        }
    }
}

/// The record a sink writes in place of the events it missed.
fn lagged(missed: u64) -> String {
    tracing::warn!(target: "sink", "event log fell behind and missed {missed} events");
    format!(r#"{{"kind":"lagged","missed":{missed}}}"#)
}

/// Writes every event from `rx` to `out`, one line each, flushing whenever the bus is drained.
/// A lag (the sink fell more than the bus capacity behind) is written as a `lagged` record with
/// the number of events missed. Returns when the bus closes or the output fails.
/// When `stop` turns true, what is already queued is written and the sink returns.
pub async fn write_ndjson<W: AsyncWrite + Unpin>(
    rx: Receiver<Arc<Event>>,
    out: W,
    stop: watch::Receiver<bool>,
) {
    let mut out = BufWriter::new(out);
    let mut feed = Feed::new(rx, stop);
    'outer: while let Some(first) = feed.next().await {
        let mut line = Some(first);
        while let Some(l) = line {
            if out.write_all(l.as_bytes()).await.is_err() || out.write_all(b"\n").await.is_err() {
                break 'outer;
            }
            line = feed.ready();
        }
        if out.flush().await.is_err() {
            break;
        }
    }
    let _ = out.flush().await;
}

/// Writes every event from `rx` to the file at `path`, rotating it when it would pass
/// `max_bytes`: `path` becomes `path.1`, `path.1` becomes `path.2`, ... keeping `keep` old
/// files. A write error is logged and the sink retries on the next event (nothing panics).
pub async fn write_ndjson_rotating(
    rx: Receiver<Arc<Event>>,
    path: std::path::PathBuf,
    max_bytes: u64,
    keep: u32,
    stop: watch::Receiver<bool>,
) {
    let mut file = RotatingFile {
        path,
        max_bytes,
        keep,
        size: 0,
        out: None,
    };
    let mut feed = Feed::new(rx, stop);
    while let Some(line) = feed.next().await {
        if let Err(err) = file.write_line(&line).await {
            tracing::error!(target: "sink", "event log {}: {err}", file.path.display());
        }
    }
    if let Some(out) = &mut file.out {
        let _ = out.flush().await;
    }
}

struct RotatingFile {
    path: std::path::PathBuf,
    max_bytes: u64,
    keep: u32,
    size: u64,
    out: Option<BufWriter<tokio::fs::File>>,
}

impl RotatingFile {
    fn numbered(&self, n: u32) -> std::path::PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(format!(".{n}"));
        name.into()
    }

    async fn write_line(&mut self, line: &str) -> std::io::Result<()> {
        let len = line.len() as u64 + 1;
        if self.out.is_some() && self.size + len > self.max_bytes {
            if let Some(mut out) = self.out.take() {
                out.flush().await?;
            }
            for n in (1..self.keep).rev() {
                let _ = tokio::fs::rename(self.numbered(n), self.numbered(n + 1)).await;
            }
            if self.keep > 0 {
                tokio::fs::rename(&self.path, self.numbered(1)).await?;
            } else {
                tokio::fs::remove_file(&self.path).await?;
            }
        }
        if self.out.is_none() {
            if let Some(dir) = self.path.parent() {
                tokio::fs::create_dir_all(dir).await?;
            }
            let f = tokio::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .await?;
            self.size = f.metadata().await?.len();
            self.out = Some(BufWriter::new(f));
        }
        let out = self.out.as_mut().expect("opened above");
        out.write_all(line.as_bytes()).await?;
        out.write_all(b"\n").await?;
        out.flush().await?;
        self.size += len;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::{
        bus::Bus,
        event::{EventBody, KernelMode, Source},
    };

    fn started() -> EventBody {
        EventBody::AgentStarted {
            version: "t".into(),
            kernel: KernelMode::Disabled { reason: "r".into() },
            cgroup_lifecycle: "rescan",
        }
    }

    #[tokio::test]
    async fn the_file_sink_rotates_by_size_and_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.ndjson");
        let bus = Bus::new(64);
        let rx = bus.subscribe();
        let line_len = bus
            .publish(Source::Agent, SystemTime::now(), 0, started())
            .to_json()
            .len() as u64
            + 1;
        let (_stop_tx, stop) = watch::channel(false);
        let task = tokio::spawn(write_ndjson_rotating(
            rx,
            path.clone(),
            line_len * 3,
            2,
            stop,
        ));
        for _ in 1..10 {
            bus.publish(Source::Agent, SystemTime::now(), 0, started());
        }
        drop(bus);
        task.await.unwrap();
        let ids = |p: &std::path::Path| -> Vec<u64> {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .map(|l| {
                    serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                        .as_u64()
                        .unwrap()
                })
                .collect()
        };
        assert_eq!(ids(&path), vec![10]);
        assert_eq!(ids(&dir.path().join("events.ndjson.1")), vec![7, 8, 9]);
        assert_eq!(ids(&dir.path().join("events.ndjson.2")), vec![4, 5, 6]);
        assert!(
            !dir.path().join("events.ndjson.3").exists(),
            "only `keep` old files"
        );
    }

    #[tokio::test]
    async fn writes_one_line_per_event_and_reports_lag() {
        let bus = Bus::new(2);
        let rx = bus.subscribe();
        for _ in 0..5 {
            bus.publish(Source::Agent, SystemTime::now(), 0, started());
        }
        let (writer, mut reader) = tokio::io::duplex(1 << 16);
        let (stop_tx, stop) = watch::channel(false);
        let task = tokio::spawn(write_ndjson(rx, writer, stop));
        // Stopping writes what is queued (the bus itself stays open, as in the agent).
        stop_tx.send(true).unwrap();
        task.await.unwrap();
        let mut text = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut reader, &mut text)
            .await
            .unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], r#"{"kind":"lagged","missed":3}"#);
        assert_eq!(lines.len(), 3);
        for (line, id) in lines[1..].iter().zip([4, 5]) {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(value["id"], id);
            assert_eq!(value["kind"], "agent.started");
        }
    }
}
