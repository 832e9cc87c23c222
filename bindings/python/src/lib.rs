//! `import strata`: the strata library for Python services. A thin layer over
//! `strata::MigratorBuilder`; names follow Python's conventions (keyword arguments,
//! snake_case, exceptions, dicts for results).
//!
//! ```python
//! import strata
//! m = strata.Migrator(url="sqlite:///var/lib/svc/svc.db", migrations="migrations")
//! m.upgrade()                 # target="heads"
//! m.current()                 # {"versioned": True, "current": [...], ...}
//! ```

use std::time::Duration;

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use strata::{Event, Migrator as Core, MigratorBuilder, Reporter};

create_exception!(
    strata,
    StrataError,
    PyException,
    "A strata error: str(e) names the file and line, the revision and the database's message; e.hint is the next step (or None)."
);

/// The error as a Python exception with its hint.
fn py_err(py: Python<'_>, e: strata::Error) -> PyErr {
    let err = StrataError::new_err(e.to_string());
    let _ = err.value(py).setattr("hint", e.hint());
    err
}

/// The progress callback: called with one dict per event.
struct Callback(Py<PyAny>);

impl Reporter for Callback {
    fn report(&mut self, event: Event<'_>) {
        Python::with_gil(|py| {
            let d = PyDict::new(py);
            let set = |k: &str, v: PyObject| {
                let _ = d.set_item(k, v);
            };
            let name = match event {
                Event::LockWaiting { holder } => {
                    set(
                        "holder",
                        holder.into_pyobject(py).unwrap().into_any().unbind(),
                    );
                    "lock_waiting"
                }
                Event::LockAcquired { waited } => {
                    set(
                        "waited_ms",
                        (waited.as_millis() as u64)
                            .into_pyobject(py)
                            .unwrap()
                            .into_any()
                            .unbind(),
                    );
                    "lock_acquired"
                }
                Event::StepStarted { index, total, step } => {
                    set(
                        "revision",
                        step.revision()
                            .into_pyobject(py)
                            .unwrap()
                            .into_any()
                            .unbind(),
                    );
                    set(
                        "step",
                        (index + 1).into_pyobject(py).unwrap().into_any().unbind(),
                    );
                    set(
                        "total",
                        total.into_pyobject(py).unwrap().into_any().unbind(),
                    );
                    "revision_started"
                }
                Event::StepFinished {
                    index,
                    total,
                    step,
                    duration,
                } => {
                    set(
                        "revision",
                        step.revision()
                            .into_pyobject(py)
                            .unwrap()
                            .into_any()
                            .unbind(),
                    );
                    set(
                        "step",
                        (index + 1).into_pyobject(py).unwrap().into_any().unbind(),
                    );
                    set(
                        "total",
                        total.into_pyobject(py).unwrap().into_any().unbind(),
                    );
                    set(
                        "elapsed_ms",
                        (duration.as_millis() as u64)
                            .into_pyobject(py)
                            .unwrap()
                            .into_any()
                            .unbind(),
                    );
                    "revision_finished"
                }
                Event::Warning(m) => {
                    set("message", m.into_pyobject(py).unwrap().into_any().unbind());
                    "warning"
                }
                Event::Info(m) => {
                    set("message", m.into_pyobject(py).unwrap().into_any().unbind());
                    "info"
                }
                // The plan and each statement: tracing (DEBUG) has them.
                Event::PlanReady { .. } | Event::StatementStarted { .. } => return,
            };
            set("event", name.into_pyobject(py).unwrap().into_any().unbind());
            if let Err(e) = self.0.call1(py, (d,)) {
                // A failing callback must not stop a migration half-way: Python shows it.
                e.write_unraisable(py, None);
            }
        });
    }
}

/// `strata.Migrator(url=None, migrations=None, config=None, history_table=None,
/// branches=None, lock_timeout=None, progress=None)`.
#[pyclass(name = "Migrator", module = "strata")]
struct Migrator {
    /// A Mutex: Python objects may be shared between threads (PyO3 wants `Sync`), and
    /// one migrator runs one call at a time.
    inner: std::sync::Mutex<MigratorBuilder>,
}

/// A serialisable result as Python values (through JSON: dicts, lists, str, int, bool).
fn to_py<T: serde::Serialize>(py: Python<'_>, value: &T) -> PyResult<PyObject> {
    let text = serde_json::to_string(value).expect("results serialise");
    Ok(py.import("json")?.call_method1("loads", (text,))?.unbind())
}

fn outcome(py: Python<'_>, o: strata::Outcome) -> PyResult<PyObject> {
    let d = PyDict::new(py);
    d.set_item("applied", PyList::new(py, &o.applied)?)?;
    d.set_item("reverted", PyList::new(py, &o.reverted)?)?;
    d.set_item("stamped", PyList::new(py, &o.stamped)?)?;
    d.set_item("unstamped", PyList::new(py, &o.unstamped)?)?;
    d.set_item("repeatables", PyList::new(py, &o.repeatables)?)?;
    d.set_item("elapsed_ms", o.elapsed.as_millis() as u64)?;
    Ok(d.into_any().unbind())
}

impl Migrator {
    /// Runs `f` on the builder without the GIL (the progress callback takes it back).
    fn call<T: Send>(
        &mut self,
        py: Python<'_>,
        f: impl FnOnce(&mut MigratorBuilder) -> strata::Result<T> + Send,
    ) -> PyResult<T> {
        let inner = &self.inner;
        py.allow_threads(|| {
            let mut b = inner.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut b)
        })
        .map_err(|e| py_err(py, e))
    }
}

#[pymethods]
impl Migrator {
    #[new]
    #[pyo3(signature = (*, url=None, migrations=None, config=None, history_table=None, branches=None, lock_timeout=None, progress=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        url: Option<String>,
        migrations: Option<String>,
        config: Option<String>,
        history_table: Option<String>,
        branches: Option<Vec<String>>,
        lock_timeout: Option<f64>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Migrator> {
        let mut b = match (config, migrations) {
            (Some(c), None) => Core::from_config(c),
            (None, Some(dir)) => Core::from_dir(dir),
            (None, None) => Core::from_config("strata.toml"),
            (Some(_), Some(_)) => {
                return Err(pyo3::exceptions::PyValueError::new_err(
                    "pass config= (a strata.toml) or migrations= (a directory), not both",
                ))
            }
        };
        if let Some(u) = url {
            b = b.url(u);
        }
        if let Some(t) = history_table {
            b = b.history_table(t);
        }
        if let Some(list) = branches {
            b = b.branches(list);
        }
        if let Some(secs) = lock_timeout {
            let d = Duration::try_from_secs_f64(secs).map_err(|_| {
                pyo3::exceptions::PyValueError::new_err("lock_timeout is a number of seconds >= 0")
            })?;
            b = b.lock_timeout(d);
        }
        if let Some(cb) = progress {
            b = b.reporter(Callback(cb));
        }
        Ok(Migrator {
            inner: std::sync::Mutex::new(b),
        })
    }

    /// Applies what `target` needs ("heads", "head", a revision, "BRANCH@head", "+1").
    #[pyo3(signature = (target="heads"))]
    fn upgrade(&mut self, py: Python<'_>, target: &str) -> PyResult<PyObject> {
        let o = self.call(py, |b| b.upgrade(target))?;
        outcome(py, o)
    }

    /// Reverts down to `target` ("-1", a revision, "base").
    fn downgrade(&mut self, py: Python<'_>, target: &str) -> PyResult<PyObject> {
        let o = self.call(py, |b| b.downgrade(target))?;
        outcome(py, o)
    }

    /// Records the database as at `target` without running SQL; `adopt=True` for a
    /// database with tables but no history.
    #[pyo3(signature = (target, *, adopt=false))]
    fn stamp(&mut self, py: Python<'_>, target: &str, adopt: bool) -> PyResult<PyObject> {
        let o = self.call(py, |b| {
            if adopt {
                b.adopt(target)
            } else {
                b.stamp(target)
            }
        })?;
        outcome(py, o)
    }

    /// `strata current`: {"versioned", "current", "unfinished", "unknown"}.
    fn current(&mut self, py: Python<'_>) -> PyResult<PyObject> {
        let c = self.call(py, |b| b.current())?;
        to_py(py, &c)
    }

    /// `strata status`: every revision's state, "pending", "unknown", "branches", ...
    fn status(&mut self, py: Python<'_>) -> PyResult<PyObject> {
        let s = self.call(py, |b| b.status())?;
        to_py(py, &s)
    }

    /// True when nothing needs doing or attention (what `strata status --exit-code`
    /// exits 0 on): no pending revision or repeatable script, nothing unfinished,
    /// unknown or changed.
    fn check(&mut self, py: Python<'_>) -> PyResult<bool> {
        let s = self.call(py, |b| b.status())?;
        Ok(!s.needs_attention())
    }

    /// The heads of the migrations.
    fn heads(&mut self, py: Python<'_>) -> PyResult<Vec<String>> {
        self.call(py, |b| b.heads())
    }
}

#[pymodule]
#[pyo3(name = "strata")]
fn strata_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Migrator>()?;
    m.add("StrataError", m.py().get_type::<StrataError>())?;
    Ok(())
}
