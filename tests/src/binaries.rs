//! The workspace's binaries, built by cargo for a test or bench that runs
//! them as processes of their own (an integration test or bench of this
//! crate has no `CARGO_BIN_EXE_*` for another crate's binaries).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};

/// Builds `binaries`, as (package, binary) pairs, with cargo into the target
/// directory and profile the calling test or bench runs from (a no-op when
/// they are current, so they are the working tree's); the folder they are in.
pub fn build(binaries: &[(&str, &str)]) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the caller's own path")?;
    // <target>/<profile>/deps/<test or bench>-<hash>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("the caller does not run from a cargo target directory")?;
    let target_dir = profile_dir
        .parent()
        .context("the caller does not run from a cargo target directory")?;
    let profile = match profile_dir.file_name().and_then(|name| name.to_str()) {
        Some("debug") => "dev",
        Some(name) => name,
        None => bail!("unexpected target directory {}", profile_dir.display()),
    };
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let mut command = Command::new(env!("CARGO"));
    // What cargo set for the caller (not for the build): left in, build
    // scripts that watch e.g. `CARGO_MANIFEST_DIR` would run again, and every
    // crate after them be rebuilt, on every other build.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        let set_for_the_caller = key.starts_with("CARGO_PKG_")
            || matches!(
                &*key,
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_BIN_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "OUT_DIR"
            );
        if set_for_the_caller {
            command.env_remove(&*key);
        }
    }
    command
        .arg("build")
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target_dir)
        .args(["--profile", profile, "--quiet"]);
    for (package, binary) in binaries {
        command.args(["-p", package, "--bin", binary]);
    }
    let status = command
        .stdin(Stdio::null())
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("building {binaries:?} failed ({status})");
    }
    Ok(profile_dir.to_path_buf())
}
