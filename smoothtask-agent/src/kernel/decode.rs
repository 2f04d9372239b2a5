//! Kernel records to typed events.

use smoothtask_common::{
    CgroupRecord, DecodeError, EventKind, header::FLAG_PATH_TRUNCATED, header::peek_header,
};

use crate::event::{CgroupRef, EventBody};

/// Decodes one ring buffer record into an event body and its kernel timestamp.
pub fn decode_record(bytes: &[u8]) -> Result<(u64, EventBody), DecodeError> {
    let header = peek_header(bytes)?;
    let kind = header.kind().ok_or(DecodeError::UnknownKind(header.kind))?;
    match kind {
        EventKind::CgroupMkdir | EventKind::CgroupRmdir | EventKind::CgroupAttach => {
            let record = CgroupRecord::from_bytes(bytes)?;
            Ok((record.header.timestamp_ns, cgroup_body(kind, &record)))
        }
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
        EventKind::CgroupMkdir => EventBody::CgroupMkdir {
            cgroup,
            container: None,
        },
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
