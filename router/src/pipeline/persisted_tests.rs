//! The persisted-documents stage on its own: manifests, modes, APQ.

use super::*;
use crate::response::RequestFailure;

const SHOP: &str = "query Shop { products { id } }";

fn hex(text: &str) -> String {
    sha256(text).iter().map(|b| format!("{b:02x}")).collect()
}

fn apollo_manifest() -> Manifest {
    let text = serde_json::json!({
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            { "id": "shop-1", "body": SHOP, "name": "Shop", "type": "query" },
        ],
    });
    Manifest::parse(&text.to_string()).expect("valid manifest")
}

fn documents(mode: PersistedMode, apq: bool, bytes: usize) -> PersistedDocuments {
    let settings = PersistedQueriesSettings {
        mode,
        manifest: None,
        apq,
        apq_cache_bytes: bytes,
        ..PersistedQueriesSettings::default()
    };
    PersistedDocuments::with_manifest(&settings, Some(apollo_manifest()))
}

fn by_hash(hash: &str, query: Option<&str>) -> GraphqlRequest {
    let extensions = serde_json::json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    GraphqlRequest {
        query: query.map(str::to_owned),
        extensions: extensions.as_object().cloned(),
        ..GraphqlRequest::default()
    }
}

fn by_document_id(id: &str) -> GraphqlRequest {
    GraphqlRequest {
        document_id: Some(id.to_owned()),
        ..GraphqlRequest::default()
    }
}

fn freeform(query: &str) -> GraphqlRequest {
    GraphqlRequest {
        query: Some(query.to_owned()),
        ..GraphqlRequest::default()
    }
}

#[test]
fn apollo_and_hive_manifests_are_read_and_others_refused() {
    let manifest = apollo_manifest();
    assert_eq!(manifest.get("shop-1").map(|b| &**b), Some(SHOP));
    let limits = Limits::default();
    assert!(manifest.contains_body(SHOP, &limits));
    assert!(manifest.contains_body("# the shop\nquery Shop {\n  products { id, }\n}", &limits));
    assert!(!manifest.contains_body("query Shop { products { id name } }", &limits));
    assert!(!manifest.contains_body("query Shop { products { id ", &limits));
    let hive = Manifest::parse(r#"{"abc": "{ me { id } }", "def": "{ products { id } }"}"#)
        .expect("hive map");
    assert_eq!(hive.len(), 2);
    assert_eq!(hive.get("abc").map(|b| &**b), Some("{ me { id } }"));
    for bad in [
        "[]",
        r#"{"format": "apollo-persisted-query-manifest", "version": 2, "operations": []}"#,
        r#"{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id": "x"}]}"#,
        r#"{"format": "other"}"#,
        r#"{"abc": 1}"#,
    ] {
        assert!(Manifest::parse(bad).is_err(), "{bad} was accepted");
    }
}

#[test]
fn a_mode_other_than_off_needs_a_manifest_file() {
    let settings = PersistedQueriesSettings {
        mode: PersistedMode::Safelist,
        ..PersistedQueriesSettings::default()
    };
    assert!(matches!(
        PersistedDocuments::new(&settings, &Limits::default()),
        Err(ManifestError::Missing(PersistedMode::Safelist))
    ));
    let settings = PersistedQueriesSettings {
        mode: PersistedMode::LogUnknown,
        manifest: Some("/nonexistent/manifest.json".into()),
        ..PersistedQueriesSettings::default()
    };
    assert!(matches!(
        PersistedDocuments::new(&settings, &Limits::default()),
        Err(ManifestError::Read { .. })
    ));
}

#[test]
fn manifest_ids_resolve_by_hash_field_or_document_id() {
    for mode in [PersistedMode::LogUnknown, PersistedMode::Safelist] {
        let documents = documents(mode, true, 1000);
        let mut request = by_hash("shop-1", None);
        documents.resolve(&mut request).expect("in the manifest");
        assert_eq!(request.query.as_deref(), Some(SHOP));
        let mut request = by_document_id("shop-1");
        documents.resolve(&mut request).expect("in the manifest");
        assert_eq!(request.query.as_deref(), Some(SHOP));
        let mut request = by_hash("shop-1", Some("{ me { id } }"));
        assert_eq!(
            documents.resolve(&mut request),
            Err(PersistedError::IdMismatch("shop-1".into()))
        );
    }
}

#[test]
fn safelisting_refuses_unknown_ids_and_documents_but_runs_manifest_texts() {
    let documents = documents(PersistedMode::Safelist, true, 1000);
    assert_eq!(
        documents.resolve(&mut freeform("{ me { id } }")),
        Err(PersistedError::DocumentNotInList)
    );
    documents
        .resolve(&mut freeform(SHOP))
        .expect("the manifest's text runs sent in full");
    let other = "{ me { id } }";
    assert_eq!(
        documents.resolve(&mut by_hash(&hex(other), Some(other))),
        Err(PersistedError::IdNotInList(hex(other))),
        "APQ cannot register a document while safelisting"
    );
    assert_eq!(
        documents.resolve(&mut by_document_id("nope")),
        Err(PersistedError::IdNotInList("nope".into()))
    );
    assert_eq!(documents.apq_cached(), (0, 0));
    let failure = RequestFailure::from(PersistedError::DocumentNotInList);
    assert_eq!((failure.status, failure.always_status), (403, true));
    assert_eq!(
        failure.errors[0].code(),
        Some(codes::PERSISTED_QUERY_NOT_IN_LIST)
    );
    let failure = RequestFailure::from(PersistedError::IdNotInList("x".into()));
    assert_eq!((failure.status, failure.always_status), (404, true));
}

#[test]
fn apq_answers_not_found_then_verifies_caches_and_serves_the_hash() {
    for mode in [PersistedMode::Off, PersistedMode::LogUnknown] {
        let documents = documents(mode, true, 1000);
        let query = "{ me { id } }";
        let hash = hex(query);
        assert_eq!(
            documents.resolve(&mut by_hash(&hash, None)),
            Err(PersistedError::NotFound)
        );
        assert_eq!(
            documents.resolve(&mut by_hash(&hash, Some("{ me { email } }"))),
            Err(PersistedError::HashMismatch)
        );
        assert_eq!(documents.apq_cached(), (0, 0), "a mismatch is not cached");
        documents
            .resolve(&mut by_hash(&hash.to_uppercase(), Some(query)))
            .expect("registered");
        let mut request = by_hash(&hash, None);
        documents.resolve(&mut request).expect("cached");
        assert_eq!(request.query.as_deref(), Some(query));
        assert_eq!(documents.apq_cached(), (1, query.len()));
        documents.resolve(&mut freeform(query)).expect("runs");
    }
    let failure = RequestFailure::from(PersistedError::NotFound);
    assert_eq!((failure.status, failure.always_status), (404, false));
    assert_eq!(failure.errors[0].message, "PersistedQueryNotFound");
    assert_eq!(
        failure.errors[0].code(),
        Some(codes::PERSISTED_QUERY_NOT_FOUND)
    );
}

#[test]
fn without_apq_or_a_manifest_ids_are_not_supported() {
    let documents = documents(PersistedMode::Off, false, 1000);
    let query = "{ me { id } }";
    assert_eq!(
        documents.resolve(&mut by_hash(&hex(query), Some(query))),
        Err(PersistedError::NotSupported)
    );
    assert_eq!(
        documents.resolve(&mut by_hash("shop-1", None)),
        Err(PersistedError::NotSupported),
        "mode off ignores the manifest"
    );
    assert_eq!(
        documents.resolve(&mut by_document_id("shop-1")),
        Err(PersistedError::NotSupported)
    );
    let documents = documents_log();
    assert_eq!(
        documents.resolve(&mut by_document_id("nope")),
        Err(PersistedError::UnknownId("nope".into()))
    );
}

fn documents_log() -> PersistedDocuments {
    documents(PersistedMode::LogUnknown, true, 1000)
}

#[test]
fn malformed_hashes_are_bad_requests() {
    let documents = documents(PersistedMode::Off, true, 1000);
    assert_eq!(
        documents.resolve(&mut by_hash("abc", None)),
        Err(PersistedError::Malformed)
    );
    let mut request = freeform("{ me { id } }");
    request.extensions = serde_json::json!({ "persistedQuery": { "version": 1 } })
        .as_object()
        .cloned();
    assert_eq!(
        documents.resolve(&mut request),
        Err(PersistedError::Malformed)
    );
}

#[test]
fn the_apq_cache_evicts_least_recently_used_documents_to_stay_within_its_bytes() {
    let first = "{ a: me { id } }";
    let second = "{ b: me { id } }";
    let third = "{ c: me { id } }";
    let documents = documents(PersistedMode::Off, true, first.len() * 2);
    for query in [first, second, third] {
        documents
            .resolve(&mut by_hash(&hex(query), Some(query)))
            .expect("registered");
    }
    assert_eq!(documents.apq_cached(), (2, first.len() * 2));
    assert_eq!(
        documents.resolve(&mut by_hash(&hex(first), None)),
        Err(PersistedError::NotFound),
        "the oldest was evicted"
    );
    documents
        .resolve(&mut by_hash(&hex(third), None))
        .expect("the newest is kept");
    let huge = format!("{{ me {{ id {} }} }}", " ".repeat(100));
    documents
        .resolve(&mut by_hash(&hex(&huge), Some(&huge)))
        .expect("a document over the whole budget still runs");
    assert_eq!(
        documents.resolve(&mut by_hash(&hex(&huge), None)),
        Err(PersistedError::NotFound),
        "but is not remembered"
    );
}

#[test]
fn the_safelist_ignores_whitespace_comments_and_definition_order() {
    let body = "query Me { me { ...Who } }\nfragment Who on User { id }";
    let manifest = Manifest::parse(&serde_json::json!({ "me": body }).to_string()).expect("hive");
    let settings = PersistedQueriesSettings {
        mode: PersistedMode::Safelist,
        ..PersistedQueriesSettings::default()
    };
    let documents = PersistedDocuments::with_manifest(&settings, Some(manifest));
    documents
        .resolve(&mut freeform(
            "fragment Who on User { id }\n# reordered\nquery Me {me{...Who}}",
        ))
        .expect("the same document");
    assert_eq!(
        documents.resolve(&mut freeform(
            "fragment Who on User { id email }\nquery Me { me { ...Who } }"
        )),
        Err(PersistedError::DocumentNotInList)
    );
}

/// A manifest file of Apollo's format with `operations` (id, body).
fn write_manifest(path: &Path, operations: &[(&str, &str)], modified: SystemTime) {
    let operations: Vec<Value> = operations
        .iter()
        .map(|(id, body)| serde_json::json!({ "id": id, "body": body, "name": "Op", "type": "query" }))
        .collect();
    let text = serde_json::json!({
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": operations,
    });
    write_file(path, &text.to_string(), modified);
}

fn write_file(path: &Path, text: &str, modified: SystemTime) {
    std::fs::write(path, text).expect("writes the manifest");
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|file| file.set_modified(modified))
        .expect("sets the manifest's modification time");
}

fn watched(path: &Path, poll: Duration) -> (PersistedDocuments, crate::metrics::Metrics) {
    let settings = PersistedQueriesSettings {
        mode: PersistedMode::Safelist,
        manifest: Some(path.to_owned()),
        manifest_poll_interval: poll,
        ..PersistedQueriesSettings::default()
    };
    let metrics = crate::metrics::Metrics::new();
    let documents = PersistedDocuments::new(&settings, &Limits::default())
        .expect("reads the manifest")
        .with_counters(metrics.persisted());
    (documents, metrics)
}

const ORDERS: &str = "query Orders { orders { id } }";

#[test]
fn a_changed_manifest_file_replaces_the_manifest_and_a_broken_one_keeps_the_last_good() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("manifest.json");
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    write_manifest(&path, &[("shop-1", SHOP)], start);
    let (documents, metrics) = watched(&path, Duration::ZERO);
    assert_eq!(documents.reload_if_changed(), None, "nothing changed yet");
    assert!(documents.resolve(&mut by_document_id("shop-1")).is_ok());

    write_manifest(
        &path,
        &[("orders-1", ORDERS)],
        start + Duration::from_secs(60),
    );
    assert_eq!(documents.reload_if_changed(), Some(true));
    let mut request = by_document_id("orders-1");
    assert!(documents.resolve(&mut request).is_ok());
    assert_eq!(request.query.as_deref(), Some(ORDERS));
    assert_eq!(
        documents.resolve(&mut by_document_id("shop-1")),
        Err(PersistedError::IdNotInList("shop-1".into())),
        "the old manifest's documents are gone"
    );
    assert_eq!(documents.reload_if_changed(), None, "read once per change");

    write_file(&path, "{ not json", start + Duration::from_secs(120));
    assert_eq!(documents.reload_if_changed(), Some(false));
    assert!(
        documents.resolve(&mut by_document_id("orders-1")).is_ok(),
        "the last good manifest stays"
    );
    std::fs::remove_file(&path).expect("removes the manifest");
    assert_eq!(documents.reload_if_changed(), Some(false));
    assert!(documents.resolve(&mut by_document_id("orders-1")).is_ok());

    let text = metrics.encode();
    for line in [
        r#"router_persisted_manifest_reloads_total{result="ok"} 1"#,
        r#"router_persisted_manifest_reloads_total{result="error"} 2"#,
        "router_persisted_manifest_documents 1",
        r#"router_persisted_queries_total{result="manifest"} 4"#,
        r#"router_persisted_queries_total{result="safelist_refused"} 1"#,
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }
}

#[tokio::test]
async fn the_manifest_file_is_polled_on_its_interval() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("manifest.json");
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    write_manifest(&path, &[("shop-1", SHOP)], start);
    let (documents, _metrics) = watched(&path, Duration::from_millis(20));
    let documents = Arc::new(documents);
    documents.start_reloading();
    write_manifest(
        &path,
        &[("orders-1", ORDERS)],
        start + Duration::from_secs(60),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while documents.resolve(&mut by_document_id("orders-1")).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the changed manifest was not picked up"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[test]
fn manifest_documents_apq_and_refusals_are_counted() {
    let metrics = crate::metrics::Metrics::new();
    let documents =
        documents(PersistedMode::LogUnknown, true, 1 << 20).with_counters(metrics.persisted());
    let other = "{ other }";
    assert!(documents.resolve(&mut by_document_id("shop-1")).is_ok());
    assert_eq!(
        documents.resolve(&mut by_hash(&hex(other), None)),
        Err(PersistedError::NotFound)
    );
    assert!(
        documents
            .resolve(&mut by_hash(&hex(other), Some(other)))
            .is_ok()
    );
    assert!(documents.resolve(&mut by_hash(&hex(other), None)).is_ok());
    let text = metrics.encode();
    for line in [
        r#"router_persisted_queries_total{result="manifest"} 1"#,
        r#"router_persisted_queries_total{result="apq_miss"} 1"#,
        r#"router_persisted_queries_total{result="apq_registered"} 1"#,
        r#"router_persisted_queries_total{result="apq_hit"} 1"#,
        r#"router_persisted_queries_total{result="unknown_logged"} 2"#,
        r#"router_persisted_queries_total{result="safelist_refused"} 0"#,
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }

    let safelist = documents_safelist().with_counters(metrics.persisted());
    assert!(safelist.resolve(&mut freeform(other)).is_err());
    assert!(safelist.resolve(&mut by_document_id("nope")).is_err());
    assert!(
        metrics
            .encode()
            .contains(r#"router_persisted_queries_total{result="safelist_refused"} 2"#)
    );
}

fn documents_safelist() -> PersistedDocuments {
    documents(PersistedMode::Safelist, false, 0)
}
