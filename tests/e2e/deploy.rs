//! The configuration reference and the deployment descriptions agree with
//! the binary: the variables it reads, the port it listens on, the probes
//! and commands it answers.

use std::collections::BTreeSet;
use std::path::PathBuf;

use lianxi_tests::{lianxi_binary, Api, Process, TempDir};
use reqwest::{Method, StatusCode};
use serde_yaml::Value;

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every `LIANXI_…` name in `text`.
fn lianxi_names(text: &str) -> BTreeSet<String> {
    names_with("LIANXI_", text)
}

/// Every `LIANXI_…` and `OTEL_…` name in `text`.
fn variable_names(text: &str) -> BTreeSet<String> {
    let mut names = names_with("LIANXI_", text);
    names.extend(names_with("OTEL_", text));
    names
}

/// Every upper-case variable name starting with `prefix` in `text`.
fn names_with(prefix: &str, text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        names.insert(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

/// The variables the binary reads, from its own help: each option's
/// `[env: …]`, and the OpenTelemetry variables `serve --help` lists.
async fn binary_variables() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for args in [
        &["serve", "--help"][..],
        &["audit", "checkpoint", "--help"][..],
        &["audit", "keep", "--help"][..],
    ] {
        let out = tokio::process::Command::new(lianxi_binary())
            .args(args)
            .output()
            .await
            .expect("lianxi --help");
        assert!(out.status.success());
        let help = String::from_utf8_lossy(&out.stdout);
        for line in help.lines() {
            if let Some(at) = line.find("[env: ") {
                names.extend(lianxi_names(&line[at..]));
            }
        }
        names.extend(names_with("OTEL_", &help));
    }
    assert!(names.len() >= 10, "{names:?}");
    assert!(names.contains("OTEL_EXPORTER_OTLP_ENDPOINT"), "{names:?}");
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configuration_reference_lists_exactly_what_the_binary_reads() {
    let documented = variable_names(&read("docs/configuration.md"));
    assert_eq!(documented, binary_variables().await);
    // The README's configuration table is a subset of the reference.
    let table: String = read("README.md")
        .lines()
        .filter(|l| l.starts_with("| `LIANXI_"))
        .collect();
    let readme = lianxi_names(&table);
    assert!(!readme.is_empty());
    assert!(readme.is_subset(&documented), "{readme:?}");
}

fn yaml_documents(path: &str) -> Vec<Value> {
    let text = read(path);
    serde_yaml::Deserializer::from_str(&text)
        .map(|doc| {
            let mut value = Value::deserialize(doc).unwrap_or_else(|e| panic!("{path}: {e}"));
            value
                .apply_merge()
                .unwrap_or_else(|e| panic!("{path}: {e}"));
            value
        })
        .collect()
}

use serde::Deserialize as _;

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, key| v.get(*key))?.as_str()
}

fn keys(v: Option<&Value>) -> BTreeSet<String> {
    v.and_then(Value::as_mapping)
        .map(|m| {
            m.keys()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_descriptions_use_what_the_binary_reads_and_serves() {
    let mut known = binary_variables().await;
    known.insert("RUST_LOG".to_owned());
    let unknown = |used: &BTreeSet<String>, file: &str| {
        let extra: Vec<_> = used
            .iter()
            .filter(|v| v.starts_with("LIANXI_") || v.starts_with("OTEL_") || *v == "RUST_LOG")
            .filter(|v| !known.contains(*v))
            .collect();
        assert!(
            extra.is_empty(),
            "{file} sets variables lianxi does not read: {extra:?}"
        );
    };

    // Kubernetes.
    let mut probes = BTreeSet::new();
    let mut commands = BTreeSet::new();
    for file in [
        "configmap.yaml",
        "secret.example.yaml",
        "migrate-job.yaml",
        "deployment.yaml",
        "service.yaml",
        "pdb.yaml",
        "hpa.yaml",
    ] {
        let path = format!("deploy/kubernetes/{file}");
        for doc in yaml_documents(&path) {
            match str_at(&doc, &["kind"]) {
                Some("ConfigMap") => {
                    let data = keys(doc.get("data"));
                    unknown(&data, &path);
                    assert_eq!(
                        str_at(&doc, &["data", "LIANXI_LISTEN"]),
                        Some("0.0.0.0:8080")
                    );
                }
                Some("Secret") => {
                    let data = keys(doc.get("stringData"));
                    unknown(&data, &path);
                    assert!(data.contains("LIANXI_DATABASE_URL"));
                }
                Some("Deployment") | Some("Job") => {
                    let spec = &doc["spec"]["template"]["spec"];
                    let container = &spec["containers"][0];
                    let env: BTreeSet<String> = container["env"]
                        .as_sequence()
                        .into_iter()
                        .flatten()
                        .filter_map(|e| e["name"].as_str().map(str::to_owned))
                        .collect();
                    unknown(&env, &path);
                    let args: Vec<&str> = container["args"]
                        .as_sequence()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    commands.insert(args.join(" "));
                    if str_at(&doc, &["kind"]) == Some("Deployment") {
                        assert_eq!(container["ports"][0]["containerPort"].as_u64(), Some(8080));
                        assert_eq!(container["ports"][0]["name"].as_str(), Some("http"));
                        for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
                            let get = &container[probe]["httpGet"];
                            assert_eq!(get["port"].as_str(), Some("http"), "{probe}");
                            probes.insert((probe, get["path"].as_str().unwrap_or("").to_owned()));
                        }
                        // Both keys are mounted where their variables point:
                        // every pod must share them.
                        for variable in ["LIANXI_AUDIT_KEY_FILE", "LIANXI_MASTER_KEY_FILE"] {
                            let key_file = container["env"]
                                .as_sequence()
                                .into_iter()
                                .flatten()
                                .find(|e| e["name"].as_str() == Some(variable))
                                .and_then(|e| e["value"].as_str())
                                .unwrap_or_else(|| panic!("{variable} is set"));
                            let mounted = container["volumeMounts"]
                                .as_sequence()
                                .into_iter()
                                .flatten()
                                .filter_map(|m| m["mountPath"].as_str())
                                .any(|dir| key_file.starts_with(&format!("{dir}/")));
                            assert!(mounted, "{key_file} is not under a mounted volume");
                        }
                    }
                }
                Some("Service") => {
                    assert_eq!(doc["spec"]["ports"][0]["targetPort"].as_str(), Some("http"));
                }
                _ => {}
            }
        }
    }
    assert_eq!(
        probes,
        BTreeSet::from([
            ("livenessProbe", "/healthz".to_owned()),
            ("readinessProbe", "/readyz".to_owned()),
            ("startupProbe", "/healthz".to_owned()),
        ])
    );
    assert_eq!(commands, BTreeSet::from(["serve".into(), "migrate".into()]));

    // Compose: every lianxi service runs a known command with known variables.
    let compose = yaml_documents("deploy/compose.yaml").remove(0);
    let mut gateways = 0;
    for (name, service) in compose["services"].as_mapping().expect("services") {
        if service["image"].as_str() != Some("lianxi:latest") {
            continue;
        }
        let name = name.as_str().unwrap_or("?");
        let env = keys(service.get("environment"));
        unknown(&env, "deploy/compose.yaml");
        let command = service["command"][0].as_str().unwrap_or("");
        assert!(["serve", "init"].contains(&command), "{name}: {command}");
        assert_eq!(
            str_at(service, &["environment", "LIANXI_LISTEN"]),
            Some("0.0.0.0:8080"),
            "{name}"
        );
        // Admin commands run in `init`: it needs the keys as much as serve.
        assert!(str_at(service, &["environment", "LIANXI_AUDIT_KEY_FILE"]).is_some());
        assert!(str_at(service, &["environment", "LIANXI_MASTER_KEY_FILE"]).is_some());
        if command == "serve" {
            gateways += 1;
            let check: Vec<&str> = service["healthcheck"]["test"]
                .as_sequence()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            assert_eq!(check, ["CMD", "lianxi", "probe"], "{name}");
            // Spans go to the collector's OTLP/HTTP receiver.
            let endpoint = str_at(service, &["environment", "OTEL_EXPORTER_OTLP_ENDPOINT"])
                .unwrap_or_else(|| panic!("{name} exports no traces"));
            let (host, port) = endpoint
                .strip_prefix("http://")
                .and_then(|a| a.split_once(':'))
                .expect("http://host:port");
            assert!(compose["services"].get(host).is_some(), "{endpoint}");
            let collector = yaml_documents("deploy/otel-collector.yaml").remove(0);
            let receiver = str_at(
                &collector,
                &["receivers", "otlp", "protocols", "http", "endpoint"],
            )
            .expect("an OTLP/HTTP receiver");
            assert!(receiver.ends_with(&format!(":{port}")), "{receiver}");
            let exporters = &collector["service"]["pipelines"]["traces"]["exporters"];
            assert!(exporters.as_sequence().is_some_and(|e| !e.is_empty()));
        }
    }
    assert!(gateways >= 2, "two gateways behind the proxy");
    let nginx = read("deploy/nginx.conf");
    let upstreams: Vec<&str> = nginx
        .lines()
        .filter_map(|l| l.trim().strip_prefix("server "))
        .filter(|l| l.contains(':'))
        .collect();
    assert_eq!(upstreams.len(), gateways);
    assert!(upstreams.iter().all(|u| u
        .split_whitespace()
        .next()
        .is_some_and(|a| a.ends_with(":8080"))));
    let prometheus = read("deploy/prometheus.yml");
    assert!(prometheus.contains("metrics_path: /metrics") && prometheus.contains(":8080"));

    // systemd: the unit runs `lianxi serve` with an env file of known names.
    let unit = read("deploy/systemd/lianxi.service");
    assert!(unit
        .lines()
        .any(|l| l.trim() == "ExecStart=/usr/local/bin/lianxi serve"));
    unknown(
        &variable_names(&read("deploy/systemd/lianxi.env")),
        "deploy/systemd/lianxi.env",
    );

    // The probes and the metrics path answer on the real binary.
    let dir = TempDir::new();
    let server = Process::start(&dir.0, &[]).await;
    let api = Api::new(&server.base);
    for path in ["/healthz", "/readyz", "/metrics"] {
        let answer = Api::send(api.request(Method::GET, path, None)).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
    }
    // The image's health check: `lianxi probe` answers 0 while the server
    // is ready, and fails once it is gone.
    let listen = server.base.trim_start_matches("http://").to_owned();
    let probe = || {
        tokio::process::Command::new(lianxi_binary())
            .args(["probe", "--listen", &listen])
            .env_remove("LIANXI_LISTEN")
            .output()
    };
    let ready = probe().await.expect("lianxi probe");
    assert!(ready.status.success(), "{ready:?}");
    assert!(String::from_utf8_lossy(&ready.stdout).contains("200"));
    assert!(server.terminate().await.success());
    let gone = probe().await.expect("lianxi probe");
    assert!(!gone.status.success(), "{gone:?}");
}

/// The image builds with a toolchain well above the workspace's declared
/// minimum (so a dependency raising its own minimum a little cannot break
/// the image build), and no newer than the one this suite ran on.
#[test]
fn the_image_toolchain_has_headroom_over_the_minimum() {
    let minor = |version: &str| -> u32 {
        let mut parts = version.trim().trim_matches('"').split('.');
        assert_eq!(parts.next(), Some("1"), "{version}");
        parts
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or_else(|| panic!("a 1.x version: {version}"))
    };
    let manifest = read("Cargo.toml");
    let minimum = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .map(minor)
        .expect("the workspace's rust-version");
    let image = read("deploy/Dockerfile")
        .lines()
        .find_map(|l| l.strip_prefix("ARG RUST_VERSION="))
        .map(minor)
        .expect("the Dockerfile's RUST_VERSION");
    let output = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .expect("rustc --version");
    let tested = String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .nth(1)
        .map(minor)
        .expect("rustc's version");
    assert!(
        image >= minimum + 4,
        "the image's Rust 1.{image} leaves too little headroom over rust-version 1.{minimum}"
    );
    assert!(
        image <= tested,
        "the image's Rust 1.{image} is newer than the 1.{tested} the suite ran on"
    );
}
