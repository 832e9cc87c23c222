//! postgres backend: not written yet (issue 3). Connecting reports it clearly.

use crate::{DatabaseUrl, DbError, DbErrorKind};

pub struct PgConnection;

impl PgConnection {
    pub fn open(_url: &DatabaseUrl) -> Result<Box<dyn crate::Connection>, DbError> {
        Err(DbError::new(
            DbErrorKind::Unsupported,
            "the postgres backend is not available yet",
        ))
    }
}
