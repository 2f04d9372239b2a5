//! Classification: first match wins, selector keys, built-in classes.

use std::collections::BTreeMap;

use super::fixtures::*;
use crate::{
    config::{Config, Glob, LabelSelector, Priority, Selector},
    policy::{ContainerFacts, classify, selector_matches},
    runtime::{ContainerRuntime, PodIdentity, QosClass},
};

fn facts(name: &str) -> ContainerFacts {
    ContainerFacts::new(cref(name))
}

fn with_pod(mut f: ContainerFacts, qos: QosClass) -> ContainerFacts {
    f.container.pod = Some(PodIdentity {
        uid: "u".into(),
        qos,
    });
    f
}

#[test]
fn first_match_wins_and_unmatched_is_none() {
    let mut classes = settings().policy.classes;
    assert_eq!(classify(&classes, &facts("web-1")), Some(0));
    assert_eq!(classify(&classes, &facts("app-1")), Some(1));
    assert_eq!(classify(&classes, &facts("job-1")), Some(2));
    assert_eq!(classify(&classes, &facts("other")), None);
    // A second class matching web-* comes too late.
    classes.push(class("late", Priority::Batch, "web-*", 10, 20));
    assert_eq!(classify(&classes, &facts("web-1")), Some(0));
    // A class without selectors matches everything.
    classes.last_mut().unwrap().selectors.clear();
    assert_eq!(classify(&classes, &facts("other")), Some(3));
}

#[test]
fn a_selector_needs_every_key_it_gives() {
    let f = with_pod(facts("web-1"), QosClass::Burstable);
    assert!(selector_matches(&Selector::default(), &f));
    let runtime = |r| Selector {
        runtime: Some(r),
        ..Selector::default()
    };
    assert!(selector_matches(&runtime(ContainerRuntime::Docker), &f));
    assert!(!selector_matches(&runtime(ContainerRuntime::Podman), &f));
    let both = Selector {
        runtime: Some(ContainerRuntime::Docker),
        name: Some(Glob::new("db-*").unwrap()),
        ..Selector::default()
    };
    assert!(!selector_matches(&both, &f));
    let id = Selector {
        id: Some(Glob::new("id-web*").unwrap()),
        ..Selector::default()
    };
    assert!(selector_matches(&id, &f));
    let qos = |q| Selector {
        qos: Some(q),
        ..Selector::default()
    };
    assert!(selector_matches(&qos(QosClass::Burstable), &f));
    assert!(!selector_matches(&qos(QosClass::Guaranteed), &f));
    assert!(!selector_matches(&qos(QosClass::Burstable), &facts("x")));
}

#[test]
fn unknown_name_path_or_labels_do_not_match() {
    let mut f = facts("web-1");
    f.container.name = None;
    let name = Selector {
        name: Some(Glob::new("*").unwrap()),
        ..Selector::default()
    };
    assert!(!selector_matches(&name, &f));
    let path = Selector {
        cgroup_path: Some(Glob::new("/docker/*").unwrap()),
        ..Selector::default()
    };
    assert!(!selector_matches(&path, &f));
    f.cgroup_path = Some("/docker/id-web-1".into());
    assert!(selector_matches(&path, &f));
    let label = |key: &str, value: Option<&str>| Selector {
        pod_label: Some(LabelSelector {
            key: key.into(),
            value: value.map(str::to_string),
        }),
        ..Selector::default()
    };
    assert!(!selector_matches(&label("tier", None), &f));
    f.labels = BTreeMap::from([("tier".to_string(), "web".to_string())]);
    assert!(selector_matches(&label("tier", None), &f));
    assert!(selector_matches(&label("tier", Some("web")), &f));
    assert!(!selector_matches(&label("tier", Some("db")), &f));
}

#[test]
fn built_in_classes_sort_pods_by_qos() {
    let classes = Config::default().policy.classes;
    let name = |f: &ContainerFacts| classify(&classes, f).map(|i| classes[i].name.clone());
    let guaranteed = with_pod(facts("a"), QosClass::Guaranteed);
    let besteffort = with_pod(facts("b"), QosClass::BestEffort);
    assert_eq!(name(&guaranteed).as_deref(), Some("latency-critical"));
    assert_eq!(name(&besteffort).as_deref(), Some("batch"));
    assert_eq!(name(&facts("plain")).as_deref(), Some("normal"));
}
