//! The Dockerfile, the Compose file and the Kubernetes manifests name binaries,
//! ports, environment variables and health paths; every one of them must exist
//! in the code, so the deployment files cannot drift from it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use storefront_shared::settings::{COMMON_ENV, ServiceSettings};
use yaml_rust2::{Yaml, YamlLoader};

/// (binary, default port) as the code defines them.
fn binaries() -> Vec<(&'static str, u16)> {
    vec![
        ("router", storefront_router::settings::DEFAULT_PORT),
        ("users", storefront_users::DEFAULT_PORT),
        ("orders", storefront_orders::DEFAULT_PORT),
        ("payments", storefront_payments::DEFAULT_PORT),
        ("inventory", storefront_inventory::DEFAULT_PORT),
    ]
}

fn default_port(binary: &str) -> Option<u16> {
    binaries()
        .into_iter()
        .find(|(name, _)| *name == binary)
        .map(|(_, port)| port)
}

/// Every environment variable some binary reads.
fn known_env() -> BTreeSet<&'static str> {
    let mut names: BTreeSet<&'static str> = COMMON_ENV.iter().copied().collect();
    names.extend(storefront_router::settings::RouterSettings::ENV);
    names.extend(storefront_users::settings::UsersSettings::ENV);
    names.extend(storefront_orders::settings::OrdersSettings::ENV);
    names.extend(storefront_payments::settings::PaymentsSettings::ENV);
    names.extend(storefront_inventory::settings::InventorySettings::ENV);
    names.extend(["RUST_LOG", "CONFIG_FILE"]);
    names
}

fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo_file(path)).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

fn yaml_docs(path: &str) -> Vec<Yaml> {
    YamlLoader::load_from_str(&read(path)).unwrap_or_else(|e| panic!("{path} is YAML: {e}"))
}

/// A YAML map's entries with `<<: *anchor` merge keys resolved (own keys win).
fn merged(map: &Yaml) -> Vec<(String, Yaml)> {
    let mut entries: Vec<(String, Yaml)> = Vec::new();
    let hash = map.as_hash().expect("a map");
    for (key, value) in hash {
        if key.as_str() == Some("<<") {
            for (key, value) in merged(value) {
                if !hash.contains_key(&Yaml::String(key.clone())) {
                    entries.push((key, value));
                }
            }
        } else {
            entries.push((str_of(key).expect("string keys"), value.clone()));
        }
    }
    entries
}

fn str_of(yaml: &Yaml) -> Option<String> {
    match yaml {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

#[test]
fn dockerfile_targets_ports_and_health_checks_match_the_binaries() {
    let dockerfile = read("Dockerfile");
    let mut targets = Vec::new();
    let mut current: Option<String> = None;
    for line in dockerfile.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("FROM runtime AS ") {
            current = Some(rest.trim().to_owned());
            targets.push(rest.trim().to_owned());
        }
        let Some(target) = current.as_deref() else {
            continue;
        };
        if let Some(port) = line.strip_prefix("ENV PORT=") {
            assert_eq!(
                port.parse::<u16>().ok(),
                default_port(target),
                "PORT of target {target}"
            );
        }
        if let Some(port) = line.strip_prefix("EXPOSE ") {
            assert_eq!(
                port.parse::<u16>().ok(),
                default_port(target),
                "EXPOSE of target {target}"
            );
        }
        if line.starts_with("HEALTHCHECK") {
            let expected = format!(
                "CMD [\"/usr/local/bin/{target}\", \"{}\"]",
                storefront_shared::startup::HEALTHCHECK_COMMAND
            );
            assert!(
                line.ends_with(&expected),
                "health check of {target}: {line}"
            );
        }
        if let Some(entry) = line.strip_prefix("ENTRYPOINT ") {
            assert_eq!(
                entry,
                format!("[\"/usr/local/bin/{target}\"]"),
                "entrypoint of {target}"
            );
        }
    }
    let expected: Vec<String> = binaries()
        .iter()
        .map(|(name, _)| name.to_string())
        .collect();
    assert_eq!(targets, expected, "one Dockerfile target per binary");
    for line in dockerfile
        .lines()
        .filter(|l| l.trim_start().starts_with("ENV "))
    {
        for assignment in line.trim_start()["ENV ".len()..].split_whitespace() {
            let name = assignment
                .split('=')
                .next()
                .unwrap_or_default()
                .trim_end_matches('\\');
            if !name.is_empty() {
                assert!(
                    known_env().contains(name),
                    "Dockerfile sets unknown variable {name}"
                );
            }
        }
    }
}

#[test]
fn compose_services_use_real_targets_ports_and_variables() {
    let docs = yaml_docs("docker-compose.yml");
    let services = &docs[0]["services"];
    let mut seen = BTreeSet::new();
    for (name, service) in services.as_hash().expect("services is a map") {
        let name = str_of(name).expect("service names are strings");
        if name == "mongo" {
            continue;
        }
        let target = str_of(&service["build"]["target"]).expect("a build target");
        assert_eq!(target, name, "service {name} builds its own target");
        let port = default_port(&target).unwrap_or_else(|| panic!("{target} is a binary"));
        for (key, value) in merged(&service["environment"]) {
            assert!(
                known_env().contains(key.as_str()),
                "{name} sets unknown variable {key}"
            );
            if key == "PORT" {
                assert_eq!(str_of(&value), Some(port.to_string()), "PORT of {name}");
            }
        }
        seen.insert(name);
    }
    let expected: BTreeSet<String> = binaries().iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(seen, expected, "one Compose service per binary");
    let router_ports = services["router"]["ports"][0].as_str().unwrap_or_default();
    assert_eq!(router_ports, "4000:4000");
}

#[test]
fn kubernetes_manifests_use_real_images_ports_variables_and_probe_paths() {
    let probe_paths = [
        storefront_shared::server::HEALTH_PATH,
        storefront_shared::server::READY_PATH,
    ];
    let mut deployments = BTreeSet::new();
    for (binary, port) in binaries() {
        let docs = yaml_docs(&format!("deploy/base/{binary}.yaml"));
        let deployment = docs
            .iter()
            .find(|d| d["kind"].as_str() == Some("Deployment"))
            .unwrap_or_else(|| panic!("deploy/base/{binary}.yaml has a Deployment"));
        let container = &deployment["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(container["name"].as_str(), Some(binary));
        assert_eq!(
            container["image"].as_str(),
            Some(format!("storefront/{binary}:latest").as_str())
        );
        assert_eq!(
            container["ports"][0]["containerPort"].as_i64(),
            Some(i64::from(port))
        );
        for variable in container["env"].as_vec().expect("env list") {
            let name = variable["name"].as_str().expect("env name");
            assert!(
                known_env().contains(name),
                "{binary} sets unknown variable {name}"
            );
            if name == "PORT" {
                assert_eq!(variable["value"].as_str(), Some(port.to_string().as_str()));
            }
        }
        for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
            let path = container[probe]["httpGet"]["path"]
                .as_str()
                .expect("an HTTP probe");
            assert!(
                probe_paths.contains(&path),
                "{binary} {probe} probes {path}"
            );
        }
        assert!(
            deployment["spec"]["replicas"].as_i64().unwrap_or(0) >= 2,
            "{binary} runs at least two replicas"
        );
        deployments.insert(binary);
    }
    assert_eq!(deployments.len(), 5);

    let config = yaml_docs("deploy/base/config.yaml");
    for doc in &config {
        let data = if doc["kind"].as_str() == Some("ConfigMap") {
            &doc["data"]
        } else {
            continue;
        };
        for (key, _) in data.as_hash().expect("ConfigMap data") {
            let key = str_of(key).expect("keys are strings");
            assert!(
                known_env().contains(key.as_str()),
                "ConfigMap sets unknown variable {key}"
            );
        }
    }
}
