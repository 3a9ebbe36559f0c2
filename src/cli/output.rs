//! What the commands write: report files written whole or not at all, output paths
//! checked before any work starts, file names made from input kept inside the
//! directory given, and the bound on `--jobs`.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Most worker threads a command starts.
pub const MAX_JOBS: usize = 256;

/// `--jobs`: the core count by default; 1 to [`MAX_JOBS`].
pub(crate) fn jobs(flag: Option<usize>) -> Result<usize, String> {
    match flag {
        None => Ok(crate::harness::explore::default_jobs().min(MAX_JOBS)),
        Some(n) if (1..=MAX_JOBS).contains(&n) => Ok(n),
        Some(n) => Err(format!("--jobs {n}: allowed: 1 to {MAX_JOBS}")),
    }
}

/// A file name made from input (a scenario's name, an invariant): letters, digits, `-`,
/// `_` and `.` kept, anything else `_`, never starting with `.`, at most 100 characters.
/// It cannot name a directory or climb out of the one it is joined to.
pub(crate) fn safe_file_name(name: &str) -> String {
    let mut safe: String = name.chars().take(100).map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
    if safe.is_empty() || safe.starts_with('.') {
        safe.insert(0, '_');
    }
    safe
}

/// Writes a report file whole or not at all: into a temporary file beside it, then
/// renamed over it.
pub(crate) fn write_file(path: &Path, text: &str) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("{}: {e}", path.display());
    let temporary = temporary_beside(path);
    let written = std::fs::File::create(&temporary).and_then(|mut f| {
        f.write_all(text.as_bytes())?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&temporary, path)) {
        let _ = std::fs::remove_file(&temporary);
        return Err(fail(e));
    }
    Ok(())
}

fn temporary_beside(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// Checks, before any work, that a report file can be written where asked: not a
/// directory, in a directory that exists and takes new files.
pub(crate) fn check_file(flag: &str, path: &Path) -> Result<(), String> {
    if path.is_dir() {
        return Err(format!("--{flag} {}: is a directory; give a file path", path.display()));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(format!("--{flag} {}: the directory {} does not exist", path.display(), dir.display()));
    }
    probe(flag, path, dir)
}

/// Checks, before any work, that files can be written into a directory (made if missing).
pub(crate) fn check_dir(flag: &str, dir: &Path) -> Result<(), String> {
    if dir.exists() && !dir.is_dir() {
        return Err(format!("--{flag} {}: is a file; give a directory", dir.display()));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("--{flag} {}: cannot create the directory: {e}", dir.display()))?;
    probe(flag, dir, dir)
}

/// Creates and removes a file in `dir` to see that it takes new files.
fn probe(flag: &str, shown: &Path, dir: &Path) -> Result<(), String> {
    let test = dir.join(format!(".ticketsim-probe-{}", std::process::id()));
    std::fs::File::create(&test).map_err(|e| format!("--{flag} {}: cannot write there: {e}", shown.display()))?;
    let _ = std::fs::remove_file(&test);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_input_stay_in_their_directory() {
        assert_eq!(safe_file_name("../../escaped"), "_.._.._escaped");
        assert_eq!(safe_file_name(".hidden"), "_.hidden");
        assert_eq!(safe_file_name(""), "_");
        assert_eq!(safe_file_name("order-race_2.toml"), "order-race_2.toml");
        assert_eq!(safe_file_name("a/b\\c:d"), "a_b_c_d");
        assert_eq!(safe_file_name(&"x".repeat(500)).len(), 100);
        assert_eq!(Path::new("/out").join(safe_file_name("/etc/passwd")), Path::new("/out/_etc_passwd"));
    }

    #[test]
    fn jobs_are_bounded() {
        assert_eq!(jobs(Some(3)), Ok(3));
        assert!(jobs(Some(0)).unwrap_err().contains("allowed: 1 to 256"));
        assert!(jobs(Some(5000)).is_err());
        assert!(jobs(None).is_ok_and(|n| (1..=MAX_JOBS).contains(&n)));
    }
}
