//! Shipped config artefacts stay valid and current: every example under `examples/config/`, the
//! defaults and their commented YAML, the JSON Schema in `schema/` and the key reference in
//! `docs/configuration.md`.
//!
//! After changing the config types, regenerate the schema with
//! `SMOOTHTASK_UPDATE_SCHEMA=1 cargo test -p smoothtask-agent --test config_examples`.

use std::path::{Path, PathBuf};

use smoothtask_agent::config::{
    ApiAuth, Config, EnvMap, PolicyMode, Priority, check_config, config_keys, default_config_yaml,
    json_schema, parse_config,
};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn examples() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("examples/config"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_shipped_example_validates() {
    let files = examples();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in [
        "api-token.yml",
        "enforce.yml",
        "kubernetes.yml",
        "minimal.yml",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} is missing");
    }
    for file in &files {
        if let Err(err) = check_config(file) {
            panic!("{} does not validate:\n{err}", file.display());
        }
    }
}

#[test]
fn examples_say_what_they_promise() {
    let load = |name: &str| check_config(&repo().join("examples/config").join(name)).unwrap();
    assert_eq!(load("minimal.yml"), Config::default());
    let enforce = load("enforce.yml");
    assert_eq!(enforce.policy.mode, PolicyMode::Enforce);
    assert_eq!(enforce.policy.classes.len(), 2);
    assert_eq!(
        enforce.policy.classes[0].priority,
        Priority::LatencyCritical
    );
    assert_eq!(enforce.policy.classes[1].priority, Priority::Batch);
    let k8s = load("kubernetes.yml");
    assert!(!k8s.api.listen.ip().is_loopback());
    assert!(matches!(k8s.api.auth, ApiAuth::TokenFile(_)));
    let api = load("api-token.yml");
    assert!(matches!(api.api.auth, ApiAuth::TokenFile(_)));
}

#[test]
fn legacy_fixture_validates() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config/good-legacy.yml");
    let config = check_config(&path).unwrap();
    assert_eq!(config.container.metrics_interval.as_secs(), 45);
    assert_eq!(config.metrics.system_interval.as_secs(), 5);
    assert_eq!(config.metrics.process_interval.as_secs(), 15);
}

#[test]
fn the_defaults_and_their_yaml_agree() {
    let parsed = parse_config(&default_config_yaml(), "default.yml", &EnvMap::new()).unwrap();
    assert_eq!(parsed, Config::default());
    assert_eq!(
        parse_config("", "empty.yml", &EnvMap::new()).unwrap(),
        Config::default()
    );
    for line in default_config_yaml().lines() {
        assert!(
            line.len() <= 100,
            "line too long in the default config: {line}"
        );
    }
}

#[test]
fn shipped_schema_is_current() {
    let path = repo().join("schema/smoothtask.schema.json");
    let generated = json_schema();
    if std::env::var_os("SMOOTHTASK_UPDATE_SCHEMA").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
    }
    let shipped = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        shipped == generated,
        "{} is stale; regenerate it with SMOOTHTASK_UPDATE_SCHEMA=1 cargo test -p smoothtask-agent --test config_examples",
        path.display()
    );
    let value: serde_json::Value = serde_json::from_str(&shipped).unwrap();
    assert_eq!(value["additionalProperties"], false);
    assert_eq!(
        value["$defs"]["RawPolicy"]["properties"]["cpu_weight_range"]["items"]["maximum"],
        10000
    );
}

#[test]
fn documentation_lists_every_key() {
    let doc = std::fs::read_to_string(repo().join("docs/configuration.md")).unwrap();
    for key in config_keys() {
        assert!(
            doc.contains(&format!("`{key}`")),
            "docs/configuration.md does not mention `{key}`"
        );
    }
}
