//! Unit tests of the config module: parsing, locations, env overrides, validation.

use super::*;
use node::{Origin, Value};

fn env(pairs: &[(&str, &str)]) -> EnvMap {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn defaults_validate_and_default_yaml_parses_back() {
    let config = Config::default();
    assert_eq!(config.policy.mode, PolicyMode::Observe);
    let parsed = parse_config(&default_config_yaml(), "defaults.yml", &EnvMap::new())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parsed, config);
}

#[test]
fn default_yaml_mentions_every_key() {
    let text = default_config_yaml();
    let (root, problems) = node::parse(&text, &Origin::File("d".into())).unwrap();
    assert!(problems.is_empty());
    let mut written = Vec::new();
    collect_paths(&root, &node::KeyPath::root(), &mut written);
    let comments: String = text
        .lines()
        .filter_map(|l| l.split_once('#').map(|(_, c)| c))
        .collect::<Vec<_>>()
        .join("\n");
    for key in config_keys() {
        let leaf = key.rsplit(['.', ']']).next().unwrap();
        assert!(
            written.contains(key) || comments.contains(&format!("{leaf}:")),
            "{key} is neither set nor shown in a comment of the default config"
        );
    }
}

fn collect_paths(node: &Node, path: &node::KeyPath, out: &mut Vec<String>) {
    match &node.value {
        Value::Map(entries) => {
            for e in entries {
                let p = path.key(&e.key);
                out.push(p.generic());
                collect_paths(&e.value, &p, out);
            }
        }
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                collect_paths(item, &path.index(i), out);
            }
        }
        Value::Scalar(_) => {}
    }
}

#[test]
fn scalars_follow_the_yaml_core_schema() {
    let s = |text: &str, quoted| node::Scalar {
        text: text.into(),
        quoted,
    };
    assert_eq!(s("42", false).as_int(), Some(42));
    assert_eq!(s("-7", false).as_int(), Some(-7));
    assert_eq!(s("0x1f", false).as_int(), Some(31));
    assert_eq!(s("0o17", false).as_int(), Some(15));
    assert_eq!(s("42", true).as_int(), None);
    assert_eq!(s("4_2", false).as_int(), None);
    assert_eq!(s("true", false).as_bool(), Some(true));
    assert_eq!(s("yes", false).as_bool(), None);
    assert_eq!(s("0.9", false).as_float(), Some(0.9));
    assert_eq!(s("1e3", false).as_float(), Some(1000.0));
    assert_eq!(s("1", false).as_float(), Some(1.0));
    assert_eq!(s("abc", false).as_float(), None);
    assert!(s("~", false).is_null() && s("", false).is_null() && s("null", false).is_null());
    assert!(!s("null", true).is_null());
}

#[test]
fn nodes_remember_lines_and_columns() {
    let text = "policy:\n  classes:\n    - name: a\n      cpu_weight: [1, 2]\n";
    let (root, _) = node::parse(text, &Origin::File("f".into())).unwrap();
    let at = |path: &node::KeyPath| match root.locate(path) {
        Location::File { line, column, .. } => (line, column),
        other => panic!("{other:?}"),
    };
    let class = node::KeyPath::parse("policy.classes").index(0);
    assert_eq!(at(&class.key("name")), (3, 13));
    assert_eq!(at(&class.key("cpu_weight").index(1)), (4, 23));
    // A path that is not written is shown at its nearest written ancestor.
    assert_eq!(at(&class.key("priority")), (3, 7));
    assert_eq!(
        root.locate(&node::KeyPath::parse("api.listen")),
        Location::Default
    );
}

#[test]
fn anchors_and_aliases_are_followed() {
    let text = "policy:\n  cpu_weight_range: &r [20, 300]\n  classes:\n    - name: a\n      cpu_weight: *r\n";
    let config = parse_config(text, "t.yml", &EnvMap::new()).unwrap();
    assert_eq!(
        config.policy.classes[0].cpu_weight,
        WeightRange { min: 20, max: 300 }
    );
}

#[test]
fn every_bad_value_is_reported_not_only_the_first() {
    let text = "container:\n  enabled: maybe\nebpf:\n  enabled: 3\n  counter_interval_sec: x\npolicy:\n  mode: fast\n";
    let (root, _) = node::parse(text, &Origin::File("t.yml".into())).unwrap();
    let mut root = root;
    let (raw, problems, removed) = de::from_node_collecting::<raw::RawConfig>(&mut root);
    assert!(raw.is_some());
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "container.enabled",
            "ebpf.enabled",
            "ebpf.counter_interval_sec",
            "policy.mode"
        ]
    );
    assert_eq!(removed.len(), 4);
}

#[test]
fn null_or_empty_means_default() {
    let config = parse_config(
        "policy:\napi:\n  token: ~\nevents: null\n",
        "t.yml",
        &EnvMap::new(),
    )
    .unwrap();
    assert_eq!(config, Config::default());
    assert_eq!(
        parse_config("", "t.yml", &EnvMap::new()).unwrap(),
        Config::default()
    );
    assert_eq!(
        parse_config("# only a comment\n", "t.yml", &EnvMap::new()).unwrap(),
        Config::default()
    );
}

#[test]
fn legacy_keys_and_their_precedence() {
    let load = |text: &str, e: &[(&str, &str)]| parse_config(text, "t.yml", &env(e));
    let c = load("container:\n  metrics_interval_sec: 15\n", &[]).unwrap();
    assert_eq!(
        c.container.metrics_interval,
        std::time::Duration::from_secs(15)
    );
    let c = load(
        "metrics:\n  system_interval_sec: 3\n  process:\n    interval_sec: 4\n",
        &[],
    )
    .unwrap();
    assert_eq!(c.metrics.system_interval.as_secs(), 3);
    assert_eq!(c.metrics.process_interval.as_secs(), 4);
    // Both spellings with the same value: accepted.
    let same = "container:\n  metrics:\n    interval_sec: 20\n  metrics_interval_sec: 20\n";
    assert_eq!(
        load(same, &[])
            .unwrap()
            .container
            .metrics_interval
            .as_secs(),
        20
    );
    // An override of either spelling wins over both spellings in the file.
    let file = "container:\n  metrics:\n    interval_sec: 20\n  metrics_interval_sec: 20\n";
    let c = load(file, &[("SMOOTHTASK_CONTAINER__METRICS_INTERVAL_SEC", "7")]).unwrap();
    assert_eq!(c.container.metrics_interval.as_secs(), 7);
    let c = load(
        file,
        &[("SMOOTHTASK_CONTAINER__METRICS__INTERVAL_SEC", "8")],
    )
    .unwrap();
    assert_eq!(c.container.metrics_interval.as_secs(), 8);
    // Both variables, disagreeing: refused, naming the legacy one.
    let e = load(
        "",
        &[
            ("SMOOTHTASK_CONTAINER__METRICS_INTERVAL_SEC", "7"),
            ("SMOOTHTASK_CONTAINER__METRICS__INTERVAL_SEC", "8"),
        ],
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("environment variable SMOOTHTASK_CONTAINER__METRICS_INTERVAL_SEC: `container.metrics_interval_sec`: 7 disagrees"),
        "{e}"
    );
    // The legacy key's own range is checked under its own name.
    let e = load("metrics:\n  process_interval_sec: 0\n", &[])
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "t.yml:2:25: `metrics.process_interval_sec`: 0 is out of range: must be between 1 and 86400"
    );
}

#[test]
fn env_override_names() {
    assert_eq!(var_name("policy.mode"), "SMOOTHTASK_POLICY__MODE");
    assert_eq!(
        var_name("container.metrics.interval_sec"),
        "SMOOTHTASK_CONTAINER__METRICS__INTERVAL_SEC"
    );
    assert!(is_override("SMOOTHTASK_POLICY__MODE"));
    assert!(!is_override("SMOOTHTASK_CONFIG"));
    assert!(!is_override("SMOOTHTASK_EBPF_STUB"));
    assert!(!is_override("RUST_LOG"));
}

#[test]
fn env_overrides_set_scalars_lists_and_defaults() {
    let e = env(&[
        ("SMOOTHTASK_POLICY__MODE", "enforce"),
        ("SMOOTHTASK_POLICY__CPU_WEIGHT_RANGE", "[20, 400]"),
        ("SMOOTHTASK_API__LISTEN", "0.0.0.0:9090"),
        ("SMOOTHTASK_API__TOKEN", "s3cret"),
        ("SMOOTHTASK_EVENTS__FILE__KEEP", "2"),
        ("SMOOTHTASK_EVENTS__HISTORY", ""),
        ("SMOOTHTASK_EBPF__ENABLED", "false"),
        ("SMOOTHTASK_EBPF_STUB", "1"),
        ("SMOOTHTASK_CONFIG", "/nonexistent"),
    ]);
    let file = "events:\n  history: 5\npolicy:\n  mode: observe\n";
    let c = parse_config(file, "t.yml", &e).unwrap();
    assert_eq!(c.policy.mode, PolicyMode::Enforce);
    assert_eq!(c.policy.cpu_weight_range, WeightRange { min: 20, max: 400 });
    assert_eq!(c.api.listen.to_string(), "0.0.0.0:9090");
    assert_eq!(c.api.auth, ApiAuth::Token(Secret::new("s3cret")));
    assert_eq!(c.events.file.keep, 2);
    assert_eq!(
        c.events.history, 10_000,
        "an empty value restores the default"
    );
    assert!(!c.ebpf.enabled);
    // Built-in classes are narrowed into the overridden global range.
    assert_eq!(
        c.policy.classes[0].cpu_weight,
        WeightRange { min: 200, max: 400 }
    );
    assert_eq!(
        c.policy.classes[1].cpu_weight,
        WeightRange { min: 20, max: 100 }
    );
}

#[test]
fn env_cannot_reach_into_lists() {
    let e = env(&[("SMOOTHTASK_POLICY__CLASSES__0__NAME", "x")]);
    let msg = parse_config("", "t.yml", &e).unwrap_err().to_string();
    assert_eq!(
        msg,
        "environment variable SMOOTHTASK_POLICY__CLASSES__0__NAME: `policy.classes.0.name`: cannot be set from the environment inside the list `policy.classes`"
    );
    let e = env(&[("SMOOTHTASK_POLICY____MODE", "x")]);
    let msg = parse_config("", "t.yml", &e).unwrap_err().to_string();
    assert_eq!(
        msg,
        "environment variable SMOOTHTASK_POLICY____MODE: `SMOOTHTASK_POLICY____MODE` is not an override variable: an empty key between `__` separators"
    );
}

#[test]
fn nearest_keys() {
    assert_eq!(
        suggest::nearest("enforc", ["observe", "enforce"]),
        Some("enforce")
    );
    assert_eq!(suggest::nearest("xyz", ["observe", "enforce"]), None);
    let path = node::KeyPath::parse("api.lisen");
    assert_eq!(
        suggest::known_key(&path, &["enabled", "listen"]),
        Some("api.listen".into())
    );
    let path = node::KeyPath::parse("ebpf.rescan_interval_sec");
    assert_eq!(
        suggest::known_key(&path, &["enabled", "counter_interval_sec"]),
        Some("inventory.rescan_interval_sec".into())
    );
}

#[test]
fn defaults_are_the_documented_values() {
    let c = Config::default();
    assert!(c.container.enabled && c.container.metrics_enabled);
    assert_eq!(c.container.metrics_interval.as_secs(), 60);
    assert_eq!(c.policy.cpu_weight_range, WeightRange { min: 10, max: 500 });
    assert!(c.policy.memory_protection);
    let names: Vec<&str> = c.policy.classes.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["latency-critical", "batch", "normal"]);
    assert!(c.policy.classes[2].selectors.is_empty());
    assert_eq!(c.inventory.rescan_interval.as_secs(), 30);
    assert!(c.ebpf.enabled);
    assert_eq!(c.ebpf.counter_interval.as_secs(), 1);
    assert_eq!(c.pressure.psi_window.as_secs(), 2);
    assert_eq!(c.pressure.memory_limit_near_ratio, 0.9);
    assert_eq!(c.api.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.api.auth, ApiAuth::None);
    assert_eq!(c.events.output, EventsOutput::Stdout);
    assert_eq!(c.events.history, 10_000);
    assert_eq!(c.log.level, "info");
    assert_eq!(c.log.filter(None), "info");
    assert_eq!(c.log.filter(Some("debug")), "debug");
    assert_eq!(c.log.filter(Some("")), "info");
}

#[test]
fn selectors_are_resolved() {
    let text = "policy:\n  classes:\n    - name: a\n      match:\n        - runtime: cri-o\n          name: 'web-*'\n          qos: besteffort\n          pod_label: app=web\n        - pod_label: tier\n";
    let c = parse_config(text, "t.yml", &EnvMap::new()).unwrap();
    let class = &c.policy.classes[0];
    assert_eq!(class.cpu_weight, c.policy.cpu_weight_range);
    assert_eq!(class.priority, Priority::Normal);
    let s = &class.selectors[0];
    assert_eq!(s.runtime, Some(crate::runtime::ContainerRuntime::CriO));
    assert!(s.name.as_ref().unwrap().matches("web-1"));
    assert_eq!(s.qos, Some(crate::runtime::QosClass::BestEffort));
    let label = s.pod_label.as_ref().unwrap();
    assert!(label.matches("app", "web") && !label.matches("app", "db"));
    let any = class.selectors[1].pod_label.as_ref().unwrap();
    assert!(any.matches("tier", "whatever"));
}

#[test]
fn token_file_is_read_on_resolve() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, "  abc\n").unwrap();
    let auth = ApiAuth::TokenFile(path.clone());
    assert_eq!(auth.resolve().unwrap(), Some(Secret::new("abc")));
    std::fs::write(&path, "\n").unwrap();
    assert_eq!(
        auth.resolve().unwrap_err().to_string(),
        format!(
            "cannot read the API token file {} (api.token_file): the token file is empty",
            path.display()
        )
    );
    assert_eq!(format!("{:?}", Secret::new("abc")), "Secret(<redacted>)");
}
