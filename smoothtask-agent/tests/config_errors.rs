//! Bad configs and the exact messages they get: file, line, column, key path, what is wrong and,
//! for an unknown key, the nearest known key (`smoothtask_agent::config`).

use std::path::{Path, PathBuf};

use smoothtask_agent::config::{ConfigError, EnvMap, ProblemKind, check_config, parse_config};

/// `(case, YAML, expected message)`; `{f}` in the message stands for the file's path.
const CASES: &[(&str, &str, &str)] = &[
    (
        "unknown key",
        "policy:\n  cpu_weigth_range: [10, 500]\n",
        "{f}:2:3: unknown key `policy.cpu_weigth_range`; did you mean `policy.cpu_weight_range`?",
    ),
    (
        "unknown section",
        "polcy:\n  mode: enforce\n",
        "{f}:1:1: unknown key `polcy`; did you mean `policy`?",
    ),
    (
        "key in the wrong section",
        "container:\n  rescan_interval_sec: 10\n",
        "{f}:2:3: unknown key `container.rescan_interval_sec`; did you mean `inventory.rescan_interval_sec`?",
    ),
    (
        "unknown key with nothing near",
        "api:\n  colour: blue\n",
        "{f}:2:3: unknown key `api.colour`",
    ),
    (
        "wrong type: boolean",
        "container:\n  enabled: yes\n",
        "{f}:2:12: `container.enabled`: expected true or false, found the string \"yes\"",
    ),
    (
        "wrong type: integer",
        "container:\n  metrics:\n    interval_sec: \"60\"\n",
        "{f}:3:19: `container.metrics.interval_sec`: expected an integer, found the string \"60\"",
    ),
    (
        "wrong type: section",
        "policy: enforce\n",
        "{f}:1:9: `policy`: expected a mapping, found the string \"enforce\"",
    ),
    (
        "unknown value with a near one",
        "policy:\n  mode: enfrce\n",
        "{f}:2:9: `policy.mode`: unknown value `enfrce`; expected one of `observe`, `enforce`; did you mean `enforce`?",
    ),
    (
        "weight range reversed",
        "policy:\n  cpu_weight_range: [500, 10]\n",
        "{f}:2:21: `policy.cpu_weight_range`: minimum 500 is greater than maximum 10",
    ),
    (
        "weights outside what cgroups accept",
        "policy:\n  cpu_weight_range: [0, 20000]\n",
        "{f}:2:22: `policy.cpu_weight_range[0]`: 0 is out of range: must be between 1 and 10000 (cgroup v2 cpu.weight)\n\
         {f}:2:25: `policy.cpu_weight_range[1]`: 20000 is out of range: must be between 1 and 10000 (cgroup v2 cpu.weight)",
    ),
    (
        "weight range of three",
        "policy:\n  cpu_weight_range: [10, 500, 3]\n",
        "{f}:2:21: `policy.cpu_weight_range`: expected a list of 2 values, found a list of 3",
    ),
    (
        "class outside the global range",
        "policy:\n  classes:\n    - name: web\n      cpu_weight: [100, 900]\n",
        "{f}:4:19: `policy.classes[0].cpu_weight`: [100, 900] is not within `policy.cpu_weight_range` [10, 500]",
    ),
    (
        "class without a name, duplicate names",
        "policy:\n  classes:\n    - priority: batch\n    - name: a\n    - name: a\n",
        "{f}:3:7: `policy.classes[0].name`: a value is required here\n\
         {f}:5:13: `policy.classes[2].name`: duplicate class name `a` (first given at {f}:4:13)",
    ),
    (
        "bad selector",
        "policy:\n  classes:\n    - name: a\n      match:\n        - runtime: dokcer\n          name: \"web-[\"\n          qoss: guaranteed\n",
        "{f}:5:20: `policy.classes[0].match[0].runtime`: unknown value `dokcer`; expected one of `docker`, `podman`, `containerd`, `cri-o`, `lxc`, `systemd-nspawn`; did you mean `docker`?\n\
         {f}:6:17: `policy.classes[0].match[0].name`: `web-[` is not a valid glob: unclosed character class; missing ']'\n\
         {f}:7:11: unknown key `policy.classes[0].match[0].qoss`; did you mean `policy.classes[0].match[0].qos`?",
    ),
    (
        "memory protection above the limit",
        "policy:\n  classes:\n    - name: a\n      memory_low_bytes: 2000\n      memory_high_bytes: 1000\n",
        "{f}:4:25: `policy.classes[0].memory_low_bytes`: 2000 must be at most `policy.classes[0].memory_high_bytes` (1000)",
    ),
    (
        "non-loopback listen without a token",
        "api:\n  listen: 0.0.0.0:8080\n",
        "{f}:2:11: `api.listen`: 0.0.0.0:8080 is not a loopback address, so the API requires a bearer token: set `api.token`, `api.token_file` or SMOOTHTASK_API__TOKEN, or listen on 127.0.0.1",
    ),
    (
        "listen on a host name",
        "api:\n  listen: localhost:8080\n",
        "{f}:2:11: `api.listen`: `localhost:8080` is not an IP address and port (a host name is not accepted); for example 127.0.0.1:8080",
    ),
    (
        "token and token file",
        "api:\n  token: abc\n  token_file: /etc/t\n",
        "{f}:3:15: `api.token_file`: give either `api.token` or this key, not both",
    ),
    (
        "both spellings disagreeing",
        "container:\n  metrics:\n    interval_sec: 30\n  metrics_interval_sec: 60\n",
        "{f}:4:25: `container.metrics_interval_sec`: 60 disagrees with `container.metrics.interval_sec` = 30 ({f}:3:19); give only one (`container.metrics.interval_sec` is the current name)",
    ),
    (
        "interval zero",
        "inventory:\n  rescan_interval_sec: 0\n",
        "{f}:2:24: `inventory.rescan_interval_sec`: 0 is out of range: must be between 1 and 86400",
    ),
    (
        "pressure relations",
        "pressure:\n  memory_limit_exit_ratio: 0.95\n  cpu_throttled_ratio: 0\n  psi:\n    window_sec: 1\n    stall_us: 2000000\n",
        "{f}:2:28: `pressure.memory_limit_exit_ratio`: 0.95 must be below `pressure.memory_limit_near_ratio` (0.9)\n\
         {f}:3:24: `pressure.cpu_throttled_ratio`: 0 is out of range: must be above 0 and at most 1 (a fraction)\n\
         {f}:6:15: `pressure.psi.stall_us`: 2000000 is out of range: must be between 1 and 1000000 (within pressure.psi.window_sec)",
    ),
    (
        "events and log",
        "events:\n  output: syslog\n  file:\n    max_bytes: 100\nlog:\n  level: \"info,[[\"\n",
        "{f}:2:11: `events.output`: unknown value `syslog`; expected one of `stdout`, `file`, `none`\n\
         {f}:4:16: `events.file.max_bytes`: 100 is out of range: must be at least 4096\n\
         {f}:6:10: `log.level`: `info,[[` is not a log filter: invalid filter directive",
    ),
    (
        "log level that is not one",
        "log:\n  level: warning\n",
        "{f}:2:10: `log.level`: unknown value `warning`; expected one of `error`, `warn`, `info`, `debug`, `trace`, `off`; did you mean `warn`?",
    ),
    (
        "duplicate key",
        "api:\n  listen: 127.0.0.1:1\n  listen: 127.0.0.1:2\n",
        "{f}:3:3: `api.listen`: duplicate key (first given at {f}:2:3)",
    ),
    (
        "not a mapping",
        "- policy\n",
        "{f}:1:1: expected a mapping of sections (container, policy, api, ...), found a list of 1 item",
    ),
    (
        "YAML syntax error",
        "policy:\n  mode: observe\n   bad: x\n",
        "{f}:3:7: YAML syntax error: mapping values are not allowed in this context",
    ),
    (
        "unclosed flow sequence",
        "policy:\n  cpu_weight_range: [10, 500\napi:\n  enabled: true\n",
        "{f}:3:4: YAML syntax error: illegal placement of ':' indicator",
    ),
    (
        "several problems, all reported in file order",
        "container:\n  enabled: 1\npolicy:\n  mode: fast\n  cpu_weight_range: [500, 10]\napi:\n  lisen: 0.0.0.0:1\n",
        "{f}:2:12: `container.enabled`: expected true or false, found the integer 1\n\
         {f}:4:9: `policy.mode`: unknown value `fast`; expected one of `observe`, `enforce`\n\
         {f}:5:21: `policy.cpu_weight_range`: minimum 500 is greater than maximum 10\n\
         {f}:7:3: unknown key `api.lisen`; did you mean `api.listen`?",
    ),
];

#[test]
fn every_bad_config_gets_its_exact_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (i, (case, yaml, expected)) in CASES.iter().enumerate() {
        let path = dir.path().join(format!("case{i}.yml"));
        std::fs::write(&path, yaml).unwrap();
        let expected = expected.replace("{f}", &path.display().to_string());
        match check_config(&path) {
            Ok(_) => failures.push(format!("{case}: accepted")),
            Err(err) if err.to_string() != expected => failures.push(format!(
                "{case}:\n  expected: {expected}\n  got:      {}",
                err.to_string().replace('\n', "\n            ")
            )),
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn problems_are_structured() {
    let err = parse_config(
        "policy:\n  cpu_weight_range: [500, 10]\n",
        "x.yml",
        &EnvMap::new(),
    )
    .unwrap_err();
    let ConfigError::Invalid { problems } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].path, "policy.cpu_weight_range");
    assert!(matches!(problems[0].kind, ProblemKind::MinAboveMax { .. }));
    assert_eq!(
        problems[0].location,
        smoothtask_agent::config::Location::File {
            file: "x.yml".into(),
            line: 2,
            column: 21
        }
    );
}

fn env(pairs: &[(&str, &str)]) -> EnvMap {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn bad_environment_overrides_name_the_variable() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("SMOOTHTASK_POLICY__MODE", "enforc")],
            "environment variable SMOOTHTASK_POLICY__MODE: `policy.mode`: unknown value `enforc`; expected one of `observe`, `enforce`; did you mean `enforce`?",
        ),
        (
            &[("SMOOTHTASK_EBPF__ENABELD", "false")],
            "environment variable SMOOTHTASK_EBPF__ENABELD: unknown key `ebpf.enabeld`; did you mean `ebpf.enabled` (SMOOTHTASK_EBPF__ENABLED)?",
        ),
        (
            &[("SMOOTHTASK_API__LISTEN", "0.0.0.0:8080")],
            "environment variable SMOOTHTASK_API__LISTEN: `api.listen`: 0.0.0.0:8080 is not a loopback address, so the API requires a bearer token: set `api.token`, `api.token_file` or SMOOTHTASK_API__TOKEN, or listen on 127.0.0.1",
        ),
        (
            &[("SMOOTHTASK_CONTAINER__METRICS__INTERVAL_SEC", "soon")],
            "environment variable SMOOTHTASK_CONTAINER__METRICS__INTERVAL_SEC: `container.metrics.interval_sec`: expected an integer, found the string \"soon\"",
        ),
        (
            &[("SMOOTHTASK_POLICY__CPU_WEIGHT_RANGE", "[10, 500")],
            "environment variable SMOOTHTASK_POLICY__CPU_WEIGHT_RANGE: YAML syntax error: while parsing a flow sequence, expected ',' or ']'",
        ),
        (
            &[("SMOOTHTASK_POLICY__CPU_WEIGHT_RANGE", "[500, 10]")],
            "environment variable SMOOTHTASK_POLICY__CPU_WEIGHT_RANGE: `policy.cpu_weight_range`: minimum 500 is greater than maximum 10",
        ),
    ];
    for (vars, expected) in cases {
        let err = parse_config("", "t.yml", &env(vars)).unwrap_err();
        assert_eq!(err.to_string(), *expected);
    }
}

#[test]
fn an_override_can_fix_a_file_but_not_hide_its_unknown_keys() {
    let file = "api:\n  listen: 0.0.0.0:8080\n  tokn: x\n";
    let err = parse_config(file, "t.yml", &env(&[("SMOOTHTASK_API__TOKEN", "abc")])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "t.yml:3:3: unknown key `api.tokn`; did you mean `api.token`?"
    );
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(name)
}

#[test]
fn fixture_files_with_several_problems() {
    let path = fixture("bad-several.yml");
    let f = path.display().to_string();
    let err = check_config(&path).unwrap_err().to_string();
    let expected = [
        format!("{f}:5:3: unknown key `container.metrics_intervall_sec`; did you mean `container.metrics_interval_sec`?"),
        format!("{f}:9:9: `policy.mode`: unknown value `Enforce`; expected one of `observe`, `enforce`; did you mean `enforce`?"),
        format!("{f}:10:21: `policy.cpu_weight_range`: minimum 500 is greater than maximum 10"),
        format!("{f}:17:23: `policy.classes[0].cpu_weight[1]`: 20000 is out of range: must be between 1 and 10000 (cgroup v2 cpu.weight)"),
        format!("{f}:20:11: `api.listen`: 0.0.0.0:8080 is not a loopback address, so the API requires a bearer token: set `api.token`, `api.token_file` or SMOOTHTASK_API__TOKEN, or listen on 127.0.0.1"),
    ]
    .join("\n");
    assert_eq!(err, expected);
}

#[test]
fn fixture_file_with_a_syntax_error() {
    let path = fixture("bad-syntax.yml");
    let err = check_config(&path).unwrap_err();
    assert!(matches!(err, ConfigError::Syntax { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "{}:3:12: YAML syntax error: mapping values are not allowed in this context",
            path.display()
        )
    );
}

#[test]
fn missing_file() {
    let err = check_config(Path::new("/nonexistent/smoothtask.yml")).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
    assert_eq!(
        err.to_string(),
        "cannot read config file /nonexistent/smoothtask.yml: No such file or directory (os error 2)"
    );
}
