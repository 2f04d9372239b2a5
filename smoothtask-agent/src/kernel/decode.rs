//! Kernel records to typed events.

use smoothtask_common::{
    CgroupRecord, DecodeError, EventKind, MemoryRecord, header::FLAG_PATH_TRUNCATED,
    header::peek_header, memory::RECLAIM_DIRECT,
};

use crate::event::{CgroupRef, EventBody, MemoryTarget, OomKill, ReclaimKind, ReclaimStall};

/// Decodes one ring buffer record into an event body and its kernel timestamp.
pub fn decode_record(bytes: &[u8]) -> Result<(u64, EventBody), DecodeError> {
    let header = peek_header(bytes)?;
    let kind = header.kind().ok_or(DecodeError::UnknownKind(header.kind))?;
    match kind {
        EventKind::CgroupMkdir | EventKind::CgroupRmdir | EventKind::CgroupAttach => {
            let record = CgroupRecord::from_bytes(bytes)?;
            Ok((record.header.timestamp_ns, cgroup_body(kind, &record)))
        }
        EventKind::MemoryReclaimStall | EventKind::MemoryDirectReclaim => {
            let r = MemoryRecord::from_bytes(bytes)?;
            let stall = ReclaimStall {
                reclaim: reclaim_kind(r.reclaim),
                pid: r.pid,
                tid: r.tid,
                comm: String::from_utf8_lossy(r.comm_bytes()).into_owned(),
                duration_ns: r.duration_ns,
                nr_reclaimed: r.nr_reclaimed,
                count: 1,
                aggregated: false,
                target: target(r.cgroup_id),
            };
            let body = if kind == EventKind::MemoryReclaimStall {
                EventBody::MemoryReclaimStall(stall)
            } else {
                EventBody::MemoryDirectReclaim(stall)
            };
            Ok((r.header.timestamp_ns, body))
        }
        EventKind::MemoryOomKill => {
            let r = MemoryRecord::from_bytes(bytes)?;
            Ok((
                r.header.timestamp_ns,
                EventBody::MemoryOomKill(OomKill {
                    pid: r.pid,
                    comm: String::from_utf8_lossy(r.comm_bytes()).into_owned(),
                    uid: r.uid,
                    oom_score_adj: r.oom_score_adj,
                    total_vm_pages: r.total_vm,
                    anon_rss_kb: r.anon_rss_kb,
                    file_rss_kb: r.file_rss_kb,
                    shmem_rss_kb: r.shmem_rss_kb,
                    target: target(r.cgroup_id),
                }),
            ))
        }
    }
}

/// The reclaim kind of a record's `reclaim` field.
pub(super) fn reclaim_kind(reclaim: u32) -> ReclaimKind {
    if reclaim == RECLAIM_DIRECT {
        ReclaimKind::Direct
    } else {
        ReclaimKind::Memcg
    }
}

pub(super) fn target(cgroup_id: u64) -> MemoryTarget {
    MemoryTarget {
        cgroup_id,
        ..MemoryTarget::default()
    }
}

fn cgroup_body(kind: EventKind, record: &CgroupRecord) -> EventBody {
    let cgroup = CgroupRef {
        id: record.cgroup_id,
        hierarchy_id: record.hierarchy_id,
        hierarchy: None,
        level: record.level,
        path: String::from_utf8_lossy(record.path_bytes()).into_owned(),
        path_truncated: record.header.flags & FLAG_PATH_TRUNCATED != 0,
    };
    match kind {
        EventKind::CgroupRmdir => EventBody::CgroupRmdir {
            cgroup,
            container: None,
        },
        EventKind::CgroupAttach => EventBody::CgroupAttach {
            cgroup,
            pid: record.pid,
            comm: String::from_utf8_lossy(record.comm_bytes()).into_owned(),
            container: None,
        },
        // CgroupRecord::from_bytes admits only cgroup kinds: this is cgroup_mkdir.
        _ => EventBody::CgroupMkdir {
            cgroup,
            container: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use smoothtask_common::{
        RecordHeader,
        cgroup::{COMM_CAPACITY, PATH_CAPACITY},
    };

    use super::*;

    fn record(kind: EventKind, path: &[u8], comm: &[u8]) -> CgroupRecord {
        let mut p = [0u8; PATH_CAPACITY];
        p[..path.len()].copy_from_slice(path);
        let mut c = [0u8; COMM_CAPACITY];
        c[..comm.len()].copy_from_slice(comm);
        CgroupRecord {
            header: RecordHeader {
                kind: kind.id(),
                flags: 0,
                cpu: 0,
                timestamp_ns: 5,
            },
            hierarchy_id: 0,
            level: 3,
            cgroup_id: 777,
            pid: 41,
            path_len: path.len() as u32,
            comm: c,
            path: p,
        }
    }

    #[test]
    fn attach_record_becomes_an_attach_event() {
        let r = record(EventKind::CgroupAttach, b"/kubepods/pod1/abc", b"sh");
        let (ts, body) = decode_record(r.as_bytes()).unwrap();
        assert_eq!(ts, 5);
        assert_eq!(
            body,
            EventBody::CgroupAttach {
                cgroup: CgroupRef {
                    id: 777,
                    hierarchy_id: 0,
                    hierarchy: None,
                    level: 3,
                    path: "/kubepods/pod1/abc".into(),
                    path_truncated: false
                },
                pid: 41,
                comm: "sh".into(),
                container: None,
            }
        );
    }

    #[test]
    fn truncated_flag_and_invalid_utf8_survive_decoding() {
        let mut r = record(EventKind::CgroupMkdir, b"/a\xffb", b"");
        r.header.flags = FLAG_PATH_TRUNCATED;
        let (_, body) = decode_record(r.as_bytes()).unwrap();
        let cgroup = body.cgroup().unwrap();
        assert_eq!(cgroup.path, "/a\u{fffd}b");
        assert!(cgroup.path_truncated);
    }

    #[test]
    fn oom_record_becomes_an_oom_kill_event() {
        let mut comm = [0u8; 16];
        comm[..6].copy_from_slice(b"memhog");
        let r = MemoryRecord {
            header: RecordHeader {
                kind: EventKind::MemoryOomKill.id(),
                flags: 0,
                cpu: 0,
                timestamp_ns: 77,
            },
            pid: 4242,
            tid: 0,
            cgroup_id: 9,
            duration_ns: 0,
            nr_reclaimed: 0,
            order: 0,
            reclaim: 0,
            gfp_flags: 0,
            total_vm: 100,
            anon_rss_kb: 65536,
            file_rss_kb: 4,
            shmem_rss_kb: 0,
            uid: 0,
            oom_score_adj: 0,
            comm,
        };
        let (ts, body) = decode_record(r.as_bytes()).unwrap();
        assert_eq!(ts, 77);
        let EventBody::MemoryOomKill(kill) = &body else {
            panic!("{body:?}")
        };
        assert_eq!(
            (kill.pid, kill.comm.as_str(), kill.anon_rss_kb),
            (4242, "memhog", 65536)
        );
        assert_eq!(kill.target.cgroup_id, 9);
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["kind"], "memory.oom_kill");
        assert_eq!(json["cgroup_id"], 9);
    }

    #[test]
    fn bad_bytes_are_errors_not_panics() {
        assert_eq!(
            decode_record(&[1, 2, 3]),
            Err(DecodeError::TooShort {
                expected: 16,
                actual: 3
            })
        );
        let mut r = record(EventKind::CgroupRmdir, b"/x", b"");
        r.header.kind = 9999;
        assert_eq!(
            decode_record(r.as_bytes()),
            Err(DecodeError::UnknownKind(9999))
        );
        let r = record(EventKind::CgroupRmdir, b"/x", b"");
        assert!(matches!(
            decode_record(&r.as_bytes()[..40]),
            Err(DecodeError::TooShort { .. })
        ));
    }
}
