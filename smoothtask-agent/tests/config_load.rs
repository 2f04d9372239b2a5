//! Finding and loading the config: `--config` > `SMOOTHTASK_CONFIG` > the default path if present
//! > built-in defaults; environment overrides on top (`smoothtask_agent::config::load`).

use std::path::Path;

use smoothtask_agent::config::{
    Config, ConfigError, ConfigSource, EnvMap, PolicyMode, load, load_source,
};

fn env(pairs: &[(&str, &str)]) -> EnvMap {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

struct Files {
    _dir: tempfile::TempDir,
    cli: std::path::PathBuf,
    env: std::path::PathBuf,
    default: std::path::PathBuf,
    absent: std::path::PathBuf,
}

fn files() -> Files {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, minutes: u32| {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            format!("inventory:\n  rescan_interval_sec: {minutes}\n"),
        )
        .unwrap();
        path
    };
    Files {
        cli: write("cli.yml", 1),
        env: write("env.yml", 2),
        default: write("default.yml", 3),
        absent: dir.path().join("absent.yml"),
        _dir: dir,
    }
}

fn rescan(config: &Config) -> u64 {
    config.inventory.rescan_interval.as_secs()
}

#[test]
fn resolution_order() {
    let f = files();
    let with_var = env(&[("SMOOTHTASK_CONFIG", f.env.to_str().unwrap())]);
    let none = EnvMap::new();

    let loaded = load(Some(&f.cli), &with_var, &f.default).unwrap();
    assert_eq!(loaded.source, ConfigSource::CommandLine(f.cli.clone()));
    assert_eq!(rescan(&loaded.config), 1);

    let loaded = load(None, &with_var, &f.default).unwrap();
    assert_eq!(loaded.source, ConfigSource::Environment(f.env.clone()));
    assert_eq!(rescan(&loaded.config), 2);

    let loaded = load(None, &none, &f.default).unwrap();
    assert_eq!(loaded.source, ConfigSource::DefaultPath(f.default.clone()));
    assert_eq!(rescan(&loaded.config), 3);

    let loaded = load(None, &none, &f.absent).unwrap();
    assert_eq!(loaded.source, ConfigSource::BuiltIn);
    assert_eq!(loaded.config, Config::default());
    assert_eq!(loaded.source.to_string(), "built-in defaults");

    // An empty SMOOTHTASK_CONFIG counts as unset.
    let loaded = load(None, &env(&[("SMOOTHTASK_CONFIG", "")]), &f.absent).unwrap();
    assert_eq!(loaded.source, ConfigSource::BuiltIn);
}

#[test]
fn a_named_file_must_exist() {
    let f = files();
    let err = load(Some(&f.absent), &EnvMap::new(), &f.default).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
    assert_eq!(
        err.to_string(),
        format!(
            "cannot read config file {} (named by --config): No such file or directory (os error 2)",
            f.absent.display()
        )
    );
    let var = env(&[("SMOOTHTASK_CONFIG", f.absent.to_str().unwrap())]);
    let err = load(None, &var, &f.default).unwrap_err();
    assert!(
        err.to_string().contains("(named by SMOOTHTASK_CONFIG)"),
        "{err}"
    );
}

#[test]
fn overrides_apply_to_every_source_and_are_reported() {
    let f = files();
    let vars = env(&[
        ("SMOOTHTASK_INVENTORY__RESCAN_INTERVAL_SEC", "9"),
        ("SMOOTHTASK_POLICY__MODE", "enforce"),
        ("SMOOTHTASK_EBPF_STUB", "1"),
    ]);
    for loaded in [
        load(Some(&f.cli), &vars, &f.default).unwrap(),
        load(None, &vars, &f.absent).unwrap(),
    ] {
        assert_eq!(rescan(&loaded.config), 9);
        assert_eq!(loaded.config.policy.mode, PolicyMode::Enforce);
        assert_eq!(
            loaded.env_overrides,
            [
                "SMOOTHTASK_INVENTORY__RESCAN_INTERVAL_SEC",
                "SMOOTHTASK_POLICY__MODE"
            ]
        );
    }
}

#[test]
fn errors_in_a_loaded_file_name_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yml");
    std::fs::write(&path, "policy:\n  cpu_weight_range: [500, 10]\n").unwrap();
    let err = load_source(ConfigSource::CommandLine(path.clone()), &EnvMap::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}:2:21: `policy.cpu_weight_range`: minimum 500 is greater than maximum 10",
            path.display()
        )
    );
}

#[test]
fn the_default_path_is_the_packaged_one() {
    assert_eq!(
        smoothtask_agent::config::DEFAULT_CONFIG_PATH,
        "/etc/smoothtask/smoothtask.yml"
    );
    let source = ConfigSource::resolve(None, &EnvMap::new(), Path::new("/nonexistent/x.yml"));
    assert_eq!(source, ConfigSource::BuiltIn);
    assert_eq!(source.path(), None);
}
