//! Files and folders that hold ballots, participations or keys: readable by
//! the service's own user only (folders 0700, files 0600), whatever the
//! umask, and tightened when found looser. SQLite creates its `-wal` and
//! `-shm` files with the mode of the database file, so a database created
//! (or tightened) 0600 here keeps its sidecars 0600 too.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Creates `dir` and any missing parents as 0700, and tightens `dir` itself
/// to 0700 when it exists with more.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)?;
    tighten(dir, 0o700)
}

/// Makes sure a SQLite database file exists 0600 (an empty file is an empty
/// database) and that it and its sidecar files are no more open than that.
/// Only folders this creates are made 0700: the database's folder may be
/// one the service does not own.
pub fn prepare_sqlite_file(file: &Path) -> io::Result<()> {
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            create_dir(dir)?;
        }
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    drop(options.open(file)?);
    for path in sqlite_files(file) {
        if path.exists() {
            tighten(&path, 0o600)?;
        }
    }
    Ok(())
}

/// The database file and the sidecars SQLite may keep beside it.
pub fn sqlite_files(file: &Path) -> Vec<PathBuf> {
    let mut out = vec![file.to_path_buf()];
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = file.as_os_str().to_owned();
        name.push(suffix);
        out.push(PathBuf::from(name));
    }
    out
}

/// Removes group and other permissions beyond `mode`.
#[cfg(unix)]
pub fn tighten(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let current = fs::metadata(path)?.permissions().mode() & 0o777;
    if current & !mode != 0 {
        fs::set_permissions(path, fs::Permissions::from_mode(current & mode))?;
    }
    Ok(())
}

#[cfg(not(unix))]
pub fn tighten(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}
