//! The local run uses the marked local-development service credential, so it
//! listens on the loopback interface only unless `BIND_ADDRESS` says otherwise.

use storefront_local::{Launch, Ports, launch};

#[tokio::test]
async fn the_local_run_listens_on_the_loopback_interface_only() {
    if std::env::var_os("BIND_ADDRESS").is_some() {
        eprintln!("BIND_ADDRESS is set in this environment; the default is not what runs");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let storefront = launch(Launch {
        ports: Ports::any(),
        data_dir: Some(dir.path().to_path_buf()),
    })
    .await
    .expect("the local run starts");
    let names: Vec<&str> = storefront.listening.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        ["users", "orders", "payments", "inventory", "router"]
    );
    for (name, addr) in &storefront.listening {
        assert!(addr.ip().is_loopback(), "{name} listens on {addr}");
    }
    storefront
        .run_until(async {})
        .await
        .expect("every service stops cleanly");
}
