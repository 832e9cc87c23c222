//! `strata test --junit FILE`: the report as JUnit XML, one test suite per engine and a
//! test case per revision walked, rerun, branch checked, so that CI systems list them.
//! Written with `quick-junit` (nextest's serializer), which escapes text and encodes the
//! attributes CI systems read; hand-written XML would have to get both right again.

use std::path::Path;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use strata::testing::{Case, Status, TestReport};
use strata::Error;

/// The text of a failure: its message, the schema differences and the hint.
pub fn failure_text(case: &Case) -> String {
    let Some(f) = &case.failure else {
        return String::new();
    };
    let mut text = f.message.clone();
    for d in &f.differences {
        text.push_str("\n  ");
        text.push_str(&d.text);
    }
    if let Some(h) = &f.hint {
        text.push_str("\nhint: ");
        text.push_str(h);
    }
    text
}

fn test_case(engine: &str, case: &Case) -> TestCase {
    let status = match case.status {
        Status::Passed => TestCaseStatus::success(),
        Status::Skipped => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(case.notes.join("; "));
            s
        }
        Status::Failed => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            if let Some(f) = &case.failure {
                s.set_message(f.message.lines().next().unwrap_or_default());
                s.set_type(f.step.as_str());
            }
            s.set_description(failure_text(case));
            s
        }
    };
    let name = match &case.message {
        Some(m) => format!("{} {m}", case.name),
        None => case.name.clone(),
    };
    let mut tc = TestCase::new(name, status);
    tc.set_classname(format!("strata.{engine}.{}", case.kind.as_str()));
    tc.set_time(case.duration);
    let mut out: Vec<String> = Vec::new();
    if let Some(p) = &case.path {
        out.push(format!("file: {}", p.display()));
    }
    out.extend(case.notes.iter().cloned());
    if !out.is_empty() {
        tc.set_system_out(out.join("\n"));
    }
    tc
}

/// Writes the report to `path`.
pub fn write(report: &TestReport, path: &Path) -> Result<(), Error> {
    let mut junit = Report::new("strata test");
    let mut total = std::time::Duration::ZERO;
    for e in &report.engines {
        let engine = e.engine.name();
        let mut suite = TestSuite::new(format!("strata test ({engine})"));
        suite.set_time(e.duration);
        suite.add_property(("dev_database", e.dev_database.as_str()));
        suite.add_test_cases(e.cases.iter().map(|c| test_case(engine, c)));
        junit.add_test_suite(suite);
        total += e.duration;
    }
    junit.set_time(total);
    let io = |message: String| Error::Io {
        path: path.display().to_string(),
        message,
    };
    let text = junit.to_string().map_err(|e| io(e.to_string()))?;
    std::fs::write(path, text).map_err(|e| io(e.to_string()))
}
