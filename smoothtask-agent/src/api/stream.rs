//! `GET /api/events`: the event stream as Server-Sent Events or NDJSON (`?format=sse|ndjson`,
//! else by `Accept`, NDJSON by default), filtered by `kind` (repeatable, comma lists, `family.*`)
//! and `container`, replaying the history after `?since=<id>` (or `Last-Event-ID`) before going
//! live. Each subscriber reads its own bounded queue; when it overflows, the subscriber gets
//! `{"kind":"lagged","missed":N}` and continues with the oldest event still queued. Streams
//! end when the server shuts down.

use std::{convert::Infallible, sync::Arc, time::Duration, vec};

use axum::{
    body::{Body, Bytes},
    extract::{RawQuery, State},
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
};
use tokio::{
    sync::{
        broadcast::{
            self,
            error::{RecvError, TryRecvError},
        },
        watch,
    },
    time::{Instant, Interval},
};

use super::{
    Ctx,
    error::ApiError,
    history::{Recorded, StreamItem},
    params::{self, ContainerSelector, KindFilter, Query},
    subscribers::SubscriberGuard,
};

/// Largest body chunk written at once (events already queued are batched up to this).
const MAX_CHUNK: usize = 64 * 1024;
/// SSE comment sent when nothing else was, so proxies keep the connection.
const KEEPALIVE: Duration = Duration::from_secs(15);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Sse,
    Ndjson,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Sse => "sse",
            Format::Ndjson => "ndjson",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Sse => "text/event-stream",
            Format::Ndjson => "application/x-ndjson",
        }
    }

    fn negotiate(asked: Option<&str>, headers: &HeaderMap) -> Result<Self, ApiError> {
        match asked {
            Some("sse") => Ok(Format::Sse),
            Some("ndjson") => Ok(Format::Ndjson),
            Some(other) => Err(ApiError::parameter(
                "format",
                format!("{other:?} is not a stream format (expected sse or ndjson)"),
            )),
            None => {
                let accept = headers
                    .get(header::ACCEPT)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                Ok(if accept.contains("text/event-stream") {
                    Format::Sse
                } else {
                    Format::Ndjson
                })
            }
        }
    }
}

pub(crate) async fn events(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let q = Query::parse(query.as_deref(), &["format", "kind", "container", "since"])?;
    let format = Format::negotiate(q.single("format")?, &headers)?;
    let kinds = KindFilter::parse("kind", &q.list("kind"))?;
    let container = q
        .single("container")?
        .map(|v| ContainerSelector::parse("container", v))
        .transpose()?;
    let since = match q.number("since")? {
        Some(id) => Some(id),
        None => headers
            .get("last-event-id")
            .map(|v| params::parse_number("Last-Event-ID", v.to_str().unwrap_or("")))
            .transpose()?,
    };
    let replay = ctx.state.history().subscribe(since);
    let guard = ctx
        .state
        .subscribers()
        .add(format.name(), replay.newest_id.unwrap_or(0));
    let stream = EventStream {
        format,
        kinds,
        container,
        pending_missed: replay.missed,
        replay: replay.events.into_iter(),
        live: replay.live,
        closing: ctx.closing.clone(),
        keepalive: (format == Format::Sse)
            .then(|| tokio::time::interval_at(Instant::now() + KEEPALIVE, KEEPALIVE)),
        guard,
        done: false,
    };
    let body = Body::from_stream(futures_util::stream::unfold(stream, |mut s| async move {
        s.next_chunk()
            .await
            .map(|b| (Ok::<Bytes, Infallible>(b), s))
    }));
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

struct EventStream {
    format: Format,
    kinds: KindFilter,
    container: Option<ContainerSelector>,
    /// Events after `since` the history no longer had: announced first as `lagged`.
    pending_missed: u64,
    replay: vec::IntoIter<Arc<Recorded>>,
    live: broadcast::Receiver<StreamItem>,
    closing: watch::Receiver<bool>,
    keepalive: Option<Interval>,
    guard: SubscriberGuard,
    done: bool,
}

impl EventStream {
    fn wanted(&self, r: &Recorded) -> bool {
        self.kinds.matches(r.event.kind())
            && self
                .container
                .as_ref()
                .is_none_or(|c| c.matches_event(&r.event))
    }

    fn push_event(&self, buf: &mut Vec<u8>, r: &Recorded) {
        self.guard.stats().saw(r.event.id);
        if !self.wanted(r) {
            return;
        }
        self.guard.stats().sent();
        match self.format {
            Format::Ndjson => {
                buf.extend_from_slice(r.json.as_bytes());
                buf.push(b'\n');
            }
            Format::Sse => {
                buf.extend_from_slice(
                    format!("id: {}\nevent: {}\ndata: ", r.event.id, r.event.kind()).as_bytes(),
                );
                buf.extend_from_slice(r.json.as_bytes());
                buf.extend_from_slice(b"\n\n");
            }
        }
    }

    fn push_lagged(&self, buf: &mut Vec<u8>, missed: u64) {
        let json = format!(r#"{{"kind":"lagged","missed":{missed}}}"#);
        match self.format {
            Format::Ndjson => buf.extend_from_slice(format!("{json}\n").as_bytes()),
            Format::Sse => {
                buf.extend_from_slice(format!("event: lagged\ndata: {json}\n\n").as_bytes())
            }
        }
    }

    /// Takes one item from the live queue into `buf`.
    fn take(&mut self, item: Result<StreamItem, RecvError>, buf: &mut Vec<u8>) {
        match item {
            Ok(StreamItem::Event(r)) => self.push_event(buf, &r),
            Ok(StreamItem::Lagged(missed)) => self.push_lagged(buf, missed),
            Err(RecvError::Lagged(missed)) => {
                self.guard.missed(missed);
                self.push_lagged(buf, missed);
            }
            Err(RecvError::Closed) => self.done = true,
        }
    }

    /// The next body chunk; `None` ends the response.
    async fn next_chunk(&mut self) -> Option<Bytes> {
        if self.done {
            return None;
        }
        let mut buf = Vec::new();
        if self.pending_missed > 0 {
            let missed = std::mem::take(&mut self.pending_missed);
            self.push_lagged(&mut buf, missed);
        }
        while buf.len() < MAX_CHUNK {
            let Some(r) = self.replay.next() else { break };
            self.push_event(&mut buf, &r);
        }
        if !buf.is_empty() {
            return Some(buf.into());
        }
        loop {
            let item = tokio::select! {
                biased;
                _ = self.closing.wait_for(|closing| *closing) => {
                    self.done = true;
                    return None;
                }
                item = self.live.recv() => item,
                () = tick(&mut self.keepalive) => {
                    return Some(Bytes::from_static(b": keep-alive\n\n"));
                }
            };
            self.take(item, &mut buf);
            while buf.len() < MAX_CHUNK && !self.done {
                match self.live.try_recv() {
                    Ok(item) => self.take(Ok(item), &mut buf),
                    Err(TryRecvError::Lagged(missed)) => {
                        self.take(Err(RecvError::Lagged(missed)), &mut buf)
                    }
                    Err(TryRecvError::Closed) => self.done = true,
                    Err(TryRecvError::Empty) => break,
                }
            }
            if !buf.is_empty() {
                return Some(buf.into());
            }
            if self.done {
                return None;
            }
        }
    }
}

async fn tick(interval: &mut Option<Interval>) {
    match interval {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}
