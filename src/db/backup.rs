//! An online backup of the SQLite database: `VACUUM INTO` writes a
//! consistent copy (one read transaction) while the service keeps serving,
//! and the copy is compact (no free pages, no WAL to carry along).

use std::io::ErrorKind;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use diesel::connection::SimpleConnection;

use super::DbConnection;
use crate::error::AppError;

/// Writes a copy of the SQLite database to `target`, a new file created
/// 0600 (it holds every ballot). Refuses an existing file and PostgreSQL,
/// whose tools do this job (`pg_dump`, `pg_basebackup`).
pub fn sqlite_backup(conn: &mut DbConnection, target: &Path) -> Result<(), AppError> {
    let DbConnection::Sqlite(c) = conn else {
        return Err(AppError::BadRequest(
            "backup copies a SQLite database; on PostgreSQL use pg_dump (see README)".into(),
        ));
    };
    // Created empty and private first: VACUUM INTO accepts an empty file
    // and keeps its mode, so the copy is never readable by others.
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(target)
        .map_err(|e| match e.kind() {
            ErrorKind::AlreadyExists => {
                AppError::BadRequest(format!("{} already exists", target.display()))
            }
            _ => AppError::BadRequest(format!("{}: {e}", target.display())),
        })?;
    let path = target
        .to_str()
        .ok_or_else(|| AppError::BadRequest("the backup path must be UTF-8".into()))?;
    let result = c.batch_execute(&format!("VACUUM INTO '{}'", path.replace('\'', "''")));
    if let Err(e) = result {
        let _ = std::fs::remove_file(target);
        return Err(e.into());
    }
    Ok(())
}
