//! What the commands write: report files written whole or not at all, output paths
//! checked before any work starts, file names made from input kept inside the
//! directory given, standard output written without panics, and the bound on `--jobs`.
//!
//! One rule for every output flag: ticketsim writes only regular files, never over
//! anything else (a device, a directory, a link); a file's directory must exist; a
//! directory flag (`--out DIR`, `--save-failures DIR`, `list --write DIR`) may name one
//! that does not exist yet, in a directory that does, and it is created only when the
//! first file is written into it (a command that fails before leaves nothing behind).

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
/// renamed over it (never over what is not a regular file). Its directory is created
/// if it is a missing directory flag's (see the module doc).
pub(crate) fn write_file(path: &Path, text: &str) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("{}: {e}", path.display());
    not_a_regular_file(path).map_or(Ok(()), |why| Err(format!("{}: {why}", path.display())))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        std::fs::create_dir(dir).map_err(|e| format!("{}: cannot create the directory: {e}", dir.display()))?;
    }
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

/// Why ticketsim will not write at `path`: something is there that is not a regular
/// file (a device such as /dev/full, a directory, a symbolic link, a pipe).
fn not_a_regular_file(path: &Path) -> Option<String> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    let kind = meta.file_type();
    let what = if kind.is_file() {
        return None;
    } else if kind.is_dir() {
        "is a directory"
    } else if kind.is_symlink() {
        "is a symbolic link"
    } else {
        "is not a regular file (a device, pipe or socket)"
    };
    Some(format!("{what}; ticketsim writes only regular files, and never over anything else"))
}

/// Checks, before any work, that a report file can be written where asked: nothing but
/// a regular file there, in a directory that exists and takes new files.
pub(crate) fn check_file(flag: &str, path: &Path) -> Result<(), String> {
    if let Some(why) = not_a_regular_file(path) {
        return Err(format!("--{flag} {}: {why}; give a file path", path.display()));
    }
    let dir = parent_of(path);
    if !dir.is_dir() {
        return Err(format!("--{flag} {}: the directory {} does not exist", path.display(), dir.display()));
    }
    probe(flag, path, dir)
}

/// The directory a path is in (`.` for a bare name).
fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Checks, before any work, that files can be written into a directory: one that
/// exists, or a missing one in a directory that exists (created by the first write).
pub(crate) fn check_dir(flag: &str, dir: &Path) -> Result<(), String> {
    if let Ok(meta) = std::fs::symlink_metadata(dir) {
        if !meta.is_dir() {
            return Err(format!("--{flag} {}: is not a directory; give a directory", dir.display()));
        }
        return probe(flag, dir, dir);
    }
    let parent = parent_of(dir);
    if !parent.is_dir() {
        return Err(format!("--{flag} {}: the directory {} does not exist (only the last one is made)", dir.display(), parent.display()));
    }
    probe(flag, dir, parent)
}

/// `print!` that never panics: a failed write to standard output ends the process with
/// a message and exit 2 (the output asked for cannot be given); a reader that went away
/// (a closed pipe) ends it quietly with 0, as SIGPIPE's default would.
pub fn print_or_exit(args: std::fmt::Arguments) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        let _ = writeln!(std::io::stderr(), "error: cannot write to standard output: {e}");
        std::process::exit(2);
    }
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
    fn nothing_but_a_regular_file_is_written_over() {
        let dir = std::env::temp_dir().join(format!("ticketsim-output-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        let file = dir.join("report.xml");
        write_file(&file, "one").unwrap();
        write_file(&file, "two").unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "two", "a regular file is replaced whole");
        assert!(check_file("junit", Path::new("/dev/full")).unwrap_err().contains("not a regular file"));
        assert!(write_file(Path::new("/dev/null"), "x").unwrap_err().contains("not a regular file"));
        assert!(check_file("junit", &dir).unwrap_err().contains("is a directory"));
        #[cfg(unix)]
        {
            let link = dir.join("link.xml");
            std::os::unix::fs::symlink(&file, &link).unwrap();
            assert!(write_file(&link, "x").unwrap_err().contains("symbolic link"));
        }
        // A missing directory flag: checked against its parent, created by the first write.
        let out = dir.join("diagrams");
        check_dir("out", &out).unwrap();
        assert!(!out.exists(), "nothing is made before the work succeeds");
        write_file(&out.join("diagram.mmd"), "graph").unwrap();
        assert!(out.join("diagram.mmd").is_file());
        assert!(check_dir("out", &dir.join("a/b/c")).unwrap_err().contains("does not exist (only the last one is made)"));
        assert!(check_dir("out", &file).unwrap_err().contains("is not a directory"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn jobs_are_bounded() {
        assert_eq!(jobs(Some(3)), Ok(3));
        assert!(jobs(Some(0)).unwrap_err().contains("allowed: 1 to 256"));
        assert!(jobs(Some(5000)).is_err());
        assert!(jobs(None).is_ok_and(|n| (1..=MAX_JOBS).contains(&n)));
    }
}
