//! The NDJSON log sink: every event on the bus as one JSON line, on stdout by default.

use std::sync::Arc;

use tokio::{
    io::{AsyncWrite, AsyncWriteExt as _, BufWriter},
    sync::broadcast::{Receiver, error::RecvError, error::TryRecvError},
};

use crate::event::Event;

/// Writes every event from `rx` to `out`, one line each, flushing whenever the bus is drained.
/// A lag (the sink fell more than the bus capacity behind) is written as a `lagged` record with
/// the number of events missed. Returns when the bus closes or the output fails.
pub async fn write_ndjson<W: AsyncWrite + Unpin>(mut rx: Receiver<Arc<Event>>, out: W) {
    let mut out = BufWriter::new(out);
    loop {
        let first = rx.recv().await;
        if !write_one(&mut out, first).await {
            break;
        }
        loop {
            match rx.try_recv() {
                Ok(event) => {
                    if !write_one(&mut out, Ok(event)).await {
                        return;
                    }
                }
                Err(TryRecvError::Lagged(n)) => {
                    if !write_one(&mut out, Err(RecvError::Lagged(n))).await {
                        return;
                    }
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Closed) => {
                    let _ = out.flush().await;
                    return;
                }
            }
        }
        if out.flush().await.is_err() {
            break;
        }
    }
    let _ = out.flush().await;
}

/// Writes one received item; false when the loop should stop.
async fn write_one<W: AsyncWrite + Unpin>(
    out: &mut BufWriter<W>,
    item: Result<Arc<Event>, RecvError>,
) -> bool {
    let line = match item {
        Ok(event) => event.to_json(),
        Err(RecvError::Lagged(missed)) => {
            tracing::warn!(target: "sink", "event log fell behind and missed {missed} events");
            format!(r#"{{"kind":"lagged","missed":{missed}}}"#)
        }
        Err(RecvError::Closed) => return false,
    };
    out.write_all(line.as_bytes()).await.is_ok() && out.write_all(b"\n").await.is_ok()
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
    async fn writes_one_line_per_event_and_reports_lag() {
        let bus = Bus::new(2);
        let rx = bus.subscribe();
        for _ in 0..5 {
            bus.publish(Source::Agent, SystemTime::now(), 0, started());
        }
        let (writer, mut reader) = tokio::io::duplex(1 << 16);
        let task = tokio::spawn(write_ndjson(rx, writer));
        drop(bus);
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
