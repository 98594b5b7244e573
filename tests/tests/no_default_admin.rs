//! Outside the local run there is no default admin: the Compose file makes the
//! operator set `ADMIN_EMAILS` (it may be empty, when admins are made with
//! `users create-admin`), and the Kubernetes manifests take it from a
//! ConfigMap the operator provides, with no value of their own.

use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

/// The address that used to be everyone's default admin.
const OLD_DEFAULT: &str = "admin@example.com";

fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn yaml_docs(path: &Path) -> Vec<Yaml> {
    YamlLoader::load_from_str(&read(path))
        .unwrap_or_else(|e| panic!("{} is YAML: {e}", path.display()))
}

/// Every YAML file under `dir`, recursively.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("list {}: {e}", dir.display())) {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files.extend(yaml_files(&path));
        } else if path
            .extension()
            .is_some_and(|ext| ext == "yaml" || ext == "yml")
        {
            files.push(path);
        }
    }
    files
}

/// Every value set for `ADMIN_EMAILS` anywhere in `yaml`: as a map key
/// (Compose environment, ConfigMap data) or as an `env` entry.
fn admin_email_settings(yaml: &Yaml, found: &mut Vec<Yaml>) {
    match yaml {
        Yaml::Hash(map) => {
            if map.get(&Yaml::String("name".into())) == Some(&Yaml::String("ADMIN_EMAILS".into())) {
                found.push(yaml.clone());
            }
            for (key, value) in map {
                if key.as_str() == Some("ADMIN_EMAILS") {
                    found.push(value.clone());
                }
                admin_email_settings(value, found);
            }
        }
        Yaml::Array(items) => items
            .iter()
            .for_each(|item| admin_email_settings(item, found)),
        _ => {}
    }
}

#[test]
fn compose_requires_the_operator_to_set_admin_emails() {
    let path = repo_file("docker-compose.yml");
    let mut found = Vec::new();
    for doc in yaml_docs(&path) {
        admin_email_settings(&doc, &mut found);
    }
    assert_eq!(
        found.len(),
        1,
        "ADMIN_EMAILS is set once, for users: {found:?}"
    );
    let value = found[0].as_str().expect("a string");
    // `${VAR?message}` (or `:?`) stops Compose when the variable is unset;
    // `${VAR:-default}` / `${VAR-default}` would be a default admin.
    assert!(value.starts_with("${ADMIN_EMAILS"), "{value}");
    let rest = &value["${ADMIN_EMAILS".len()..];
    assert!(
        rest.starts_with('?') || rest.starts_with(":?"),
        "ADMIN_EMAILS must be required: {value}"
    );
    assert!(
        !read(&path).contains(OLD_DEFAULT),
        "docker-compose.yml names {OLD_DEFAULT}"
    );
}

#[test]
fn kubernetes_manifests_take_admin_emails_only_from_the_operator() {
    let mut from_operator = 0;
    for path in yaml_files(&repo_file("deploy")) {
        assert!(
            !read(&path).contains(OLD_DEFAULT),
            "{} names {OLD_DEFAULT}",
            path.display()
        );
        for doc in yaml_docs(&path) {
            let mut found = Vec::new();
            admin_email_settings(&doc, &mut found);
            for setting in found {
                // Only an `env` entry that points at the operator's ConfigMap,
                // required; never a value (a ConfigMap key or `value:`).
                let reference = &setting["valueFrom"]["configMapKeyRef"];
                assert!(
                    setting["value"].is_badvalue()
                        && reference["name"].as_str() == Some("storefront-admin"),
                    "{}: ADMIN_EMAILS must come from the operator's ConfigMap: {setting:?}",
                    path.display()
                );
                assert_ne!(
                    reference["optional"].as_bool(),
                    Some(true),
                    "{}",
                    path.display()
                );
                from_operator += 1;
            }
            // The ConfigMap it names is the operator's, not shipped here.
            if doc["kind"].as_str() == Some("ConfigMap") {
                assert_ne!(
                    doc["metadata"]["name"].as_str(),
                    Some("storefront-admin"),
                    "{}",
                    path.display()
                );
            }
        }
    }
    assert_eq!(from_operator, 1, "the users Deployment reads ADMIN_EMAILS");
}
