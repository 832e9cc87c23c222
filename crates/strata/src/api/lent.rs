//! A connection a service handed in ([`super::MigratorBuilder::connection`]): strata
//! borrows it for each run through a shared handle, and gives it back, typed, with
//! [`super::MigratorBuilder::take_connection`].

use std::any::Any;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use strata_db::{Connection, DbError, Dialect, Interrupter, Row};

/// The service's connection, shared between the builder and the session of one run.
struct Shared<C>(Arc<Mutex<C>>);

impl<C> Shared<C> {
    fn get(&self) -> MutexGuard<'_, C> {
        // A panic inside a run leaves the connection as it was: still usable.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<C: Connection> Connection for Shared<C> {
    fn dialect(&self) -> Dialect {
        self.get().dialect()
    }
    fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        self.get().execute(sql)
    }
    fn query(&mut self, sql: &str) -> Result<Vec<Row>, DbError> {
        self.get().query(sql)
    }
    fn query_each(
        &mut self,
        sql: &str,
        row: &mut dyn FnMut(Row) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        self.get().query_each(sql, row)
    }
    fn begin(&mut self) -> Result<(), DbError> {
        self.get().begin()
    }
    fn commit(&mut self) -> Result<(), DbError> {
        self.get().commit()
    }
    fn rollback(&mut self) -> Result<(), DbError> {
        self.get().rollback()
    }
    fn mark_transaction(&mut self) -> Result<(), DbError> {
        self.get().mark_transaction()
    }
    fn transaction_intact(&mut self) -> Result<bool, DbError> {
        self.get().transaction_intact()
    }
    fn begin_marked(&mut self) -> Result<(), DbError> {
        self.get().begin_marked()
    }
    fn execute_all(&mut self, statements: &[String], commit: bool) -> Result<(), DbError> {
        self.get().execute_all(statements, commit)
    }
    fn run_marked(&mut self, statements: &[&str]) -> Result<bool, strata_db::RunError> {
        self.get().run_marked(statements)
    }
    fn in_transaction(&mut self) -> Result<bool, DbError> {
        self.get().in_transaction()
    }
    fn table_exists(&mut self, name: &str) -> Result<bool, DbError> {
        self.get().table_exists(name)
    }
    fn user_tables(&mut self) -> Result<Vec<String>, DbError> {
        self.get().user_tables()
    }
    fn lock(
        &mut self,
        key: &str,
        timeout: Duration,
        waiting: &mut dyn FnMut(&str),
    ) -> Result<(), DbError> {
        self.get().lock(key, timeout, waiting)
    }
    fn unlock(&mut self, key: &str) -> Result<(), DbError> {
        self.get().unlock(key)
    }
    fn unlock_with_next_commit(&mut self) {
        self.get().unlock_with_next_commit()
    }
    fn interrupter(&self) -> Arc<dyn Interrupter> {
        self.get().interrupter()
    }
    fn applied_by(&self) -> String {
        self.get().applied_by()
    }
    fn set_lock_mode(&mut self, mode: strata_db::LockMode) -> Result<(), DbError> {
        self.get().set_lock_mode(mode)
    }
}

/// A handed-in connection: the typed value (for `take_connection`) and how to lend it.
pub(super) struct Lent {
    typed: Box<dyn Any + Send>,
    lend: Box<dyn Fn() -> Box<dyn Connection> + Send>,
    pub dialect: Dialect,
}

impl Lent {
    pub fn new<C: Connection + 'static>(conn: C) -> Lent {
        let dialect = conn.dialect();
        let shared = Arc::new(Mutex::new(conn));
        let lent = shared.clone();
        Lent {
            typed: Box::new(shared),
            lend: Box::new(move || Box::new(Shared(lent.clone()))),
            dialect,
        }
    }

    /// A connection for one session (it shares the service's).
    pub fn lend(&self) -> Box<dyn Connection> {
        (self.lend)()
    }

    /// The connection, when it is a `C` (else the lent connection back). No session
    /// holds it between runs, so it is the only reference left.
    pub fn take<C: Connection + 'static>(self) -> Result<C, Lent> {
        let Lent {
            typed,
            lend,
            dialect,
        } = self;
        let shared = match typed.downcast::<Arc<Mutex<C>>>() {
            Ok(shared) => *shared,
            Err(typed) => {
                return Err(Lent {
                    typed,
                    lend,
                    dialect,
                })
            }
        };
        drop(lend);
        match Arc::try_unwrap(shared) {
            Ok(m) => Ok(m.into_inner().unwrap_or_else(|p| p.into_inner())),
            Err(shared) => {
                let lent = shared.clone();
                Err(Lent {
                    typed: Box::new(shared),
                    lend: Box::new(move || Box::new(Shared(lent.clone()))),
                    dialect,
                })
            }
        }
    }
}
