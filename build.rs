//! Names the build: the package version and the git commit it was built from (with
//! `-dirty` for uncommitted changes), so `ticketsim merge` can refuse reports of
//! different builds. Outside a git checkout it is the version alone. Also names the cargo
//! profile it was built with, for `ticketsim bench` to print beside its figures.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The profile's output directory, `debug` for the dev profile: the parent of the `build`
/// directory that `OUT_DIR` is in (`TARGET/PROFILE/build/PACKAGE-HASH/out`, with a target
/// triple before PROFILE when one is given).
fn profile() -> Option<String> {
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR")?);
    let build = out.ancestors().find(|dir| dir.file_name().is_some_and(|name| name == "build"))?;
    Some(build.parent()?.file_name()?.to_string_lossy().into_owned())
}

fn main() {
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let build = match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(commit) => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
            format!("{version}+{commit}{}", if dirty { "-dirty" } else { "" })
        }
        None => version,
    };
    println!("cargo:rustc-env=TICKETSIM_BUILD={build}");
    println!("cargo:rustc-env=TICKETSIM_PROFILE={}", profile().unwrap_or_else(|| "unknown".into()));
    for path in [".git/HEAD", ".git/index", "src", "Cargo.toml"] {
        println!("cargo:rerun-if-changed={path}");
    }
}
