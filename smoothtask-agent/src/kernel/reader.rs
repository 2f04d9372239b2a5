//! The ring buffer reader: waits for readiness with tokio's AsyncFd, drains every record,
//! decodes and publishes each one, then clears readiness.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU64, Ordering},
};

use aya::maps::{MapData, RingBuf};
use tokio::io::unix::AsyncFd;

use super::decode::decode_record;
use crate::{clock::WallClock, event::Source, pipeline::Pipeline};

/// What the reader has done, for status and tests.
#[derive(Debug, Default)]
pub struct ReaderStats {
    pub records: AtomicU64,
    pub decode_errors: AtomicU64,
    /// The most recent decode error, for the `kernel.decode_error` event.
    pub last_error: Mutex<String>,
}

pub(super) async fn run(
    mut ring: AsyncFd<RingBuf<MapData>>,
    pipeline: Arc<Pipeline>,
    clock: WallClock,
    stats: Arc<ReaderStats>,
) {
    loop {
        let mut guard = match ring.readable_mut().await {
            Ok(guard) => guard,
            Err(err) => {
                tracing::error!(target: "kernel", "ring buffer is no longer readable: {err}; kernel events stop");
                return;
            }
        };
        let ring = guard.get_inner_mut();
        while let Some(item) = ring.next() {
            stats.records.fetch_add(1, Ordering::Relaxed);
            match decode_record(&item) {
                Ok((mono_ns, body)) => {
                    pipeline.ingest(Source::Ebpf, clock.to_system_time(mono_ns), mono_ns, body);
                }
                Err(err) => {
                    if let Ok(mut last) = stats.last_error.lock() {
                        *last = err.to_string();
                    }
                    let n = stats.decode_errors.fetch_add(1, Ordering::Relaxed);
                    if n.is_power_of_two() || n == 0 {
                        tracing::warn!(target: "kernel", "undecodable ring buffer record ({} so far): {err}", n + 1);
                    }
                }
            }
        }
        guard.clear_ready();
    }
}
