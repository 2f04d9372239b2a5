//! Inventory state transitions on synthetic events (the privileged tests cover real ones).

use std::time::SystemTime;

use super::*;

const ID: &str = "4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b";

fn labels() -> HierarchyLabels {
    HierarchyLabels::new([(0, "unified".to_string()), (4, "memory".to_string())])
}

fn cg(hid: u32, id: u64, path: &str) -> CgroupRef {
    CgroupRef {
        id,
        hierarchy_id: hid,
        hierarchy: None,
        level: path.matches('/').count() as u32,
        path: path.to_string(),
        path_truncated: false,
    }
}

fn mkdir(hid: u32, id: u64, path: &str) -> EventBody {
    EventBody::CgroupMkdir {
        cgroup: cg(hid, id, path),
        container: None,
    }
}

fn rmdir(hid: u32, id: u64, path: &str) -> EventBody {
    EventBody::CgroupRmdir {
        cgroup: cg(hid, id, path),
        container: None,
    }
}

#[test]
fn a_docker_container_is_added_once_across_hierarchies_and_removed_with_its_last_cgroup() {
    let mut inv = Inventory::new(labels());
    let now = SystemTime::now();
    let path = format!("/docker/{ID}");
    let added = inv.apply(&mkdir(4, 100, &path), now);
    assert_eq!(added.len(), 1);
    let Change::Added(record) = &added[0] else {
        panic!("{added:?}")
    };
    assert_eq!(record.key, format!("docker/{ID}"));
    assert_eq!(record.runtime, ContainerRuntime::Docker);
    assert_eq!(record.cgroups["memory"].cgroup_id, 100);
    assert!(inv.apply(&mkdir(0, 200, &path), now).is_empty());
    assert_eq!(inv.get(ID).unwrap().cgroups.len(), 2);
    assert_eq!(inv.get(ID).unwrap().cgroups["unified"].cgroup_id, 200);

    // Nested cgroups of the container neither add nor remove it.
    assert!(
        inv.apply(&mkdir(4, 101, &format!("{path}/init")), now)
            .is_empty()
    );
    assert!(
        inv.apply(&rmdir(4, 101, &format!("{path}/init")), now)
            .is_empty()
    );
    assert_eq!(inv.len(), 1);

    assert!(inv.apply(&rmdir(4, 100, &path), now).is_empty());
    let removed = inv.apply(&rmdir(0, 200, &path), now);
    assert!(matches!(&removed[..], [Change::Removed(r)] if r.id == ID));
    assert!(inv.is_empty());
}

#[test]
fn attach_records_member_pids_and_unknown_cgroups_are_ignored() {
    let mut inv = Inventory::new(labels());
    let now = SystemTime::now();
    let path = format!("/libpod_parent/libpod-{ID}");
    let attach = EventBody::CgroupAttach {
        cgroup: cg(4, 7, &path),
        pid: 4242,
        comm: "sh".into(),
        container: None,
    };
    let changes = inv.apply(&attach, now);
    assert!(matches!(&changes[..], [Change::Added(r)] if r.pids.contains(&4242)));
    assert_eq!(
        inv.get(&format!("podman/{ID}")).unwrap().pids,
        BTreeSet::from([4242])
    );
    assert!(
        inv.apply(&mkdir(4, 8, "/libpod_parent/conmon"), now)
            .is_empty()
    );
    assert!(inv.apply(&mkdir(4, 9, "/user.slice"), now).is_empty());
    assert_eq!(inv.len(), 1);
    assert_eq!(
        inv.container_of(&cg(4, 999, &format!("{path}/sub")))
            .map(|c| c.id.as_str()),
        Some(ID)
    );
}

#[test]
fn reconcile_adds_what_events_missed_and_removes_what_is_gone() {
    let mut inv = Inventory::new(labels());
    let now = SystemTime::now();
    inv.apply(&mkdir(4, 1, "/lxc.payload.web"), now);
    let observed = vec![ObservedCgroup {
        cgroup: cg(
            4,
            2,
            "/kubepods/burstable/pod0f2b6e0a-1111-4222-8333-444455556666/ab12",
        ),
        pids: vec![10, 11],
    }];
    // "ab12" is not a full id: not a container under kubepods; only the gone lxc changes.
    let changes = inv.reconcile(&observed, now);
    assert!(matches!(&changes[..], [Change::Removed(r)] if r.id == "web"));
    let observed = vec![ObservedCgroup {
        cgroup: cg(
            4,
            3,
            &format!("/kubepods/burstable/pod0f2b6e0a-1111-4222-8333-444455556666/{ID}"),
        ),
        pids: vec![10, 11],
    }];
    let changes = inv.reconcile(&observed, now);
    assert!(
        matches!(&changes[..], [Change::Added(r)] if r.runtime == ContainerRuntime::Containerd)
    );
    let record = inv.get(ID).unwrap();
    assert_eq!(record.pids, BTreeSet::from([10, 11]));
    assert_eq!(
        record.pod.as_ref().map(|p| p.uid.as_str()),
        Some("0f2b6e0a-1111-4222-8333-444455556666")
    );
    assert!(
        inv.reconcile(&observed, now).is_empty(),
        "a second identical scan repairs nothing"
    );
}
