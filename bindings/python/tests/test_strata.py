"""The Python package against SQLite, PostgreSQL and MariaDB, with the migrations of
examples/manage (an expand/contract pair and a repeatable view)."""

import os
import pathlib
import subprocess
import urllib.parse
import uuid

import pytest

import strata

MIGRATIONS = str(pathlib.Path(__file__).resolve().parents[3] / "examples" / "manage" / "migrations")
PG_ADMIN = os.environ.get("STRATA_TEST_PG_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
MYSQL_ADMIN = os.environ.get("STRATA_TEST_MYSQL_URL") or "mysql://root@127.0.0.1:3306/mysql"


def test_sqlite_upgrade_current_status_downgrade(tmp_path):
    events = []
    m = strata.Migrator(
        url=f"sqlite://{tmp_path}/svc.db",
        migrations=MIGRATIONS,
        history_table="svc_history",
        progress=events.append,
    )
    assert m.check() is False
    assert m.current()["versioned"] is False

    done = m.upgrade()
    assert done["applied"] == ["a1b2c3d4e5f6", "e0c4a1f2b3d5", "c0d1e2f3a4b5"]
    assert done["repeatables"] == ["repeatable:instance_names"]
    assert m.check() is True
    assert m.current()["current"] == ["c0d1e2f3a4b5"]
    status = m.status()
    assert status["pending"] == []
    assert {b["branch"]: b["applied"] for b in status["branches"]} == {"contract": 1, "expand": 1}

    finished = [e["revision"] for e in events if e["event"] == "revision_finished"]
    assert finished == ["a1b2c3d4e5f6", "e0c4a1f2b3d5", "c0d1e2f3a4b5", "repeatable:instance_names"]
    assert events[0] == {"event": "revision_started", "revision": "a1b2c3d4e5f6", "step": 1, "total": 4}

    assert m.downgrade("-1")["reverted"] == ["c0d1e2f3a4b5"]
    assert m.stamp("heads")["stamped"] == ["c0d1e2f3a4b5"]
    assert m.upgrade()["applied"] == []


def test_errors_are_exceptions_with_a_hint(tmp_path):
    m = strata.Migrator(url=f"sqlite://{tmp_path}/svc.db", migrations=MIGRATIONS)
    with pytest.raises(strata.StrataError) as e:
        m.upgrade("nosuchrev")
    assert "nosuchrev" in str(e.value)
    assert hasattr(e.value, "hint")

    with pytest.raises(strata.StrataError) as e:
        strata.Migrator(url=f"sqlite://{tmp_path}/x.db", migrations=str(tmp_path / "none")).upgrade()
    assert "does not exist" in str(e.value)
    assert "strata init" in e.value.hint


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_failing_callback_does_not_stop_the_run(tmp_path):
    """Python reports the callback's exception as unraisable; the migration goes on."""

    def boom(event):
        raise RuntimeError("callback failed")

    m = strata.Migrator(url=f"sqlite://{tmp_path}/svc.db", migrations=MIGRATIONS, progress=boom)
    assert len(m.upgrade()["applied"]) == 3


def test_config_file(tmp_path):
    (tmp_path / "strata.toml").write_text(
        f'[database]\nurl = "sqlite://svc.db"\nhistory_table = "cfg_history"\n\n[migrations]\ndir = "{MIGRATIONS}"\n'
    )
    m = strata.Migrator(config=str(tmp_path / "strata.toml"))
    assert len(m.upgrade()["applied"]) == 3
    assert (tmp_path / "svc.db").exists()


def _psql(sql):
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", PG_ADMIN, "-c", sql], check=True)


@pytest.fixture
def pg_url():
    try:
        _psql("SELECT 1")
    except (OSError, subprocess.CalledProcessError) as e:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL unreachable: {e}")
    name = f"strata_py_{uuid.uuid4().hex[:12]}"
    _psql(f"CREATE DATABASE {name}")
    yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_postgres_upgrade_and_downgrade(pg_url):
    m = strata.Migrator(url=pg_url, migrations=MIGRATIONS, lock_timeout=5)
    assert len(m.upgrade("expand@head")["applied"]) == 2
    assert m.check() is False
    assert m.upgrade()["applied"] == ["c0d1e2f3a4b5"]
    assert m.check() is True
    assert len(m.downgrade("base")["reverted"]) == 3


def _mariadb(sql):
    u = urllib.parse.urlsplit(MYSQL_ADMIN)
    cmd = ["mariadb", "--protocol=TCP", "-h", u.hostname or "127.0.0.1", "-P", str(u.port or 3306)]
    cmd += ["-u", urllib.parse.unquote(u.username or "root")]
    if u.password:
        cmd.append("-p" + urllib.parse.unquote(u.password))
    subprocess.run(cmd + ["-e", sql], check=True, capture_output=True, text=True)


@pytest.fixture
def mariadb_url():
    try:
        _mariadb("SELECT 1")
    except (OSError, subprocess.CalledProcessError) as e:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"MariaDB unreachable: {e}")
    name = f"strata_py_{uuid.uuid4().hex[:12]}"
    _mariadb(f"CREATE DATABASE {name}")
    yield MYSQL_ADMIN.rsplit("/", 1)[0] + "/" + name
    _mariadb(f"DROP DATABASE IF EXISTS {name}")


def test_mariadb_upgrade_status_and_downgrade(mariadb_url):
    events = []
    m = strata.Migrator(url=mariadb_url, migrations=MIGRATIONS, lock_timeout=5, progress=events.append)
    assert len(m.upgrade("expand@head")["applied"]) == 2
    assert m.check() is False
    assert m.upgrade()["applied"] == ["c0d1e2f3a4b5"]
    assert m.check() is True
    assert m.current()["current"] == ["c0d1e2f3a4b5"]
    assert m.status()["pending"] == []
    assert [e["revision"] for e in events if e["event"] == "revision_finished"][:3] == [
        "a1b2c3d4e5f6",
        "e0c4a1f2b3d5",
        "c0d1e2f3a4b5",
    ]
    assert len(m.downgrade("base")["reverted"]) == 3
    assert m.current()["current"] == []
    with pytest.raises(strata.StrataError) as e:
        strata.Migrator(url=mariadb_url + "_missing", migrations=MIGRATIONS).upgrade()
    assert "_missing" in str(e.value)
    assert e.value.hint
