//! Privileged: a real Prometheus server (Debian's `prometheus` package), started by the test,
//! scrapes the real `smoothtaskd`'s `/metrics`; a per-container series written by the test
//! (a docker-shaped cgroup with a 48 MiB limit) is read back through Prometheus' query API.

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use smoothtask_tests::{
    Requirement, TestCgroup,
    daemon::Daemon,
    http::{free_port, get},
    privilege::REQUIRE_ENV,
    require, unique_prefix,
};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn prometheus_scrapes_a_container_series_from_smoothtaskd() {
    let test = "prometheus_scrapes_a_container_series_from_smoothtaskd";
    if !require(test, &[Requirement::Root, Requirement::V1Memory]) {
        return;
    }
    let prometheus = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    let Some(prometheus) = prometheus else {
        if std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1") {
            panic!("{test}: prometheus is not installed (Debian package prometheus)");
        }
        println!("skipped: {test}: prometheus is not installed (Debian package prometheus)");
        return;
    };

    // A docker-shaped container cgroup with a known limit.
    let id = format!("{:016x}", 0x5eed_cafe_u64).repeat(4);
    let prefix = unique_prefix("prom");
    let mut top = TestCgroup::create(Path::new("/sys/fs/cgroup/memory"), &prefix).unwrap();
    let docker = top.child_or_create("docker").unwrap();
    let container = docker.child_or_create(&id).unwrap();
    std::fs::write(
        container.dir.join("memory.limit_in_bytes"),
        (48u64 << 20).to_string(),
    )
    .unwrap();

    let api_port = free_port();
    let listen = format!("127.0.0.1:{api_port}");
    let daemon = Daemon::spawn_env(&[], &[("SMOOTHTASK_API__LISTEN", listen.as_str())])
        .expect("smoothtaskd");
    daemon
        .wait_for(Duration::from_secs(30), |v| v["kind"] == "agent.started")
        .expect("agent.started");

    let dir = std::env::temp_dir().join(format!("{prefix}-prometheus"));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: smoothtask\n    static_configs:\n      - targets: ['{listen}']\n"
        ),
    )
    .unwrap();
    let prom_port = free_port();
    let _prom = Killed(
        Command::new(prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus"),
    );

    let query =
        format!("/api/v1/query?query=smoothtask_container_memory_limit_bytes%7Bid%3D%22{id}%22%7D");
    let deadline = Instant::now() + Duration::from_secs(60);
    let value = loop {
        let (status, body) = get(prom_port, &query);
        if status == 200 {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            if let Some(sample) = v["data"]["result"].as_array().and_then(|r| r.first()) {
                assert_eq!(sample["metric"]["runtime"], "docker", "{sample}");
                assert_eq!(sample["metric"]["job"], "smoothtask");
                break sample["value"][1].as_str().unwrap_or_default().to_string();
            }
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never returned the series: {status} {body}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(value, (48u64 << 20).to_string());
    drop(daemon);
    drop(top);
    let _ = std::fs::remove_dir_all(&dir);
}
