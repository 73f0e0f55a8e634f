"""Dashboard exposure: password for non-loopback binds (and the CLI refuses to bind without one), server
paths inside the ingest roots only, the database inside the data folder, uploads that keep Unicode names,
never overwrite a different upload and stop at the size limit."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fincortex import access
from fincortex.config import Settings
from fincortex.ui import uploads
from fincortex.ui.testing import app_test, button, open_page, texts, ui_env


@pytest.fixture()
def home(tmp_path, monkeypatch):
    for name, value in ui_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(access.PASSWORD_ENV, raising=False)
    monkeypatch.delenv("FINCORTEX_UI_INGEST_ROOTS", raising=False)
    return tmp_path


# -- authentication ----------------------------------------------------------------------------------
@pytest.mark.parametrize("host, local", [("127.0.0.1", True), ("localhost", True), ("::1", True), ("127.0.1.1", True),
                                         ("0.0.0.0", False), ("", False), (None, False), ("192.168.1.5", False),
                                         ("::", False), ("example.org", False)])
def test_loopback_detection(host, local):
    assert access.is_loopback(host) is local


def test_cli_refuses_a_public_bind_without_a_password(home, monkeypatch):
    from fincortex.cli import app

    launched = []
    monkeypatch.setattr("os.execve", lambda *a: launched.append(a))
    result = CliRunner().invoke(app, ["ui", "--host", "0.0.0.0"])
    assert result.exit_code != 0 and "without authentication" in result.output and not launched
    monkeypatch.setenv(access.PASSWORD_ENV, "s3cret-pass")
    result = CliRunner().invoke(app, ["ui", "--host", "0.0.0.0", "--port", "8600"])
    assert result.exit_code == 0, result.output
    (path, cmd, env), = launched
    assert env[access.HOST_ENV] == "0.0.0.0" and "--server.maxUploadSize" in cmd


def test_public_app_without_a_password_shows_nothing(home, monkeypatch):
    monkeypatch.setenv(access.HOST_ENV, "0.0.0.0")
    at = app_test()
    at.run()
    assert not at.exception
    assert any("without a password" in e for e in texts(at, "error"))
    assert not at.sidebar.text_input and not [b for b in at.button if b.label == "Ingest uploads"]


def test_password_form_lets_in_only_the_right_password(home, monkeypatch):
    monkeypatch.setenv(access.HOST_ENV, "0.0.0.0")
    monkeypatch.setenv(access.PASSWORD_ENV, "s3cret-pass")
    monkeypatch.setattr(access, "FAILED_LOGIN_DELAY_S", 0.0)
    at = app_test()
    at.run()
    assert [t.label for t in at.text_input] == ["Password"] and not at.sidebar.text_input
    at.text_input(key="login_password").set_value("wrong")
    button(at, "Sign in").click()
    at.run()
    assert "Wrong password." in texts(at, "error") and not at.sidebar.text_input
    at.text_input(key="login_password").set_value("s3cret-pass")
    button(at, "Sign in").click()
    at.run()
    assert not at.exception and at.sidebar.text_input  # the settings sidebar is drawn: signed in


# -- server paths and the database ----------------------------------------------------------------------
def test_server_paths_stay_inside_the_ingest_roots(tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / "q1").mkdir(parents=True)
    (inbox / "escape").symlink_to("/etc", target_is_directory=True)
    settings = Settings(home=tmp_path / "home", ui_ingest_roots=str(inbox))
    assert access.allowed_server_path(str(inbox / "q1"), settings) == (inbox / "q1").resolve()
    assert access.allowed_server_path("q1", settings) == (inbox / "q1").resolve()
    for bad in ("/etc/passwd", str(inbox / ".." / "home"), str(inbox / "escape" / "passwd"), "~/.ssh/id_rsa"):
        with pytest.raises(access.PathRefused, match="outside the folders"):
            access.allowed_server_path(bad, settings)
    default = Settings(home=tmp_path / "home", mirror=tmp_path / "mirror")
    assert access.ingest_roots(default) == [(tmp_path / "home").resolve(), (tmp_path / "mirror").resolve()]


def test_database_must_be_a_duckdb_file_in_the_data_folder(tmp_path):
    settings = Settings(home=tmp_path / "home")
    assert access.allowed_db_path(str(tmp_path / "home" / "other.duckdb"), settings).name == "other.duckdb"
    for bad in ("/etc/passwd", str(tmp_path / "elsewhere.duckdb"), str(tmp_path / "home" / "notes.txt"),
                str(tmp_path / "home" / ".." / "x.duckdb")):
        with pytest.raises(access.PathRefused):
            access.allowed_db_path(bad, settings)


def test_ingest_page_refuses_a_folder_outside_the_roots(home):
    at = open_page(app_test(), "ingest")
    at.text_input(key="folder_path").set_value("/etc")
    button(at, "Ingest folder").click()
    at.run()
    assert any("outside the folders" in e for e in texts(at, "error"))
    assert "job_ingest" not in at.session_state and not at.exception


def test_sidebar_refuses_a_database_outside_the_data_folder(home):
    at = app_test()
    at.run()
    at.session_state["cfg_db"] = "/etc/passwd"
    at.run()
    assert not at.exception
    assert any("must be a .duckdb file inside" in e for e in texts(at, "error"))
    assert all("/etc/passwd" not in c for c in texts(at, "caption"))  # the session stayed on its own database


# -- uploads --------------------------------------------------------------------------------------------
class _Upload(io.BytesIO):
    def __init__(self, name: str, data: bytes):
        super().__init__(data)
        self.name = name


@pytest.mark.parametrize("name, saved", [("年報.pdf", "年報.pdf"), ("отчет.pdf", "отчет.pdf"),
                                         ("../../etc/passwd", "passwd"), ("a:b?.txt", "a_b.txt"),
                                         ("...", "upload"), ("Q1 report.final.PDF", "Q1 report.final.PDF")])
def test_upload_names_keep_unicode_and_extensions(name, saved):
    assert uploads.safe_name(name) == saved


def test_uploads_never_overwrite_a_different_file(tmp_path):
    first = uploads.save_upload(_Upload("年報.pdf", b"%PDF one"), tmp_path, 10_000)
    same = uploads.save_upload(_Upload("年報.pdf", b"%PDF one"), tmp_path, 10_000)
    other = uploads.save_upload(_Upload("年報.pdf", b"%PDF two"), tmp_path, 10_000)
    clash = uploads.save_upload(_Upload("a/年報.pdf", b"%PDF three"), tmp_path, 10_000)
    assert first == same and first.name == "年報.pdf"
    assert other.name == "年報 (2).pdf" and clash.name == "年報 (3).pdf"
    assert first.read_bytes() == b"%PDF one" and other.read_bytes() == b"%PDF two"


def test_uploads_stream_with_a_size_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(uploads, "BLOCK", 1024)
    big = _Upload("big.txt", b"x" * 10_000)
    reads = []
    original = big.read
    big.read = lambda n=-1: reads.append(n) or original(n)  # type: ignore[method-assign]
    with pytest.raises(ValueError, match="upload limit"):
        uploads.save_upload(big, tmp_path, 5_000)
    assert reads and all(n == 1024 for n in reads)  # read in blocks, never all at once
    assert list(tmp_path.iterdir()) == []  # the partial file is gone
    saved, problems = uploads.save_uploads([_Upload("empty.txt", b""), _Upload("ok.txt", b"fine")], tmp_path, 5_000)
    assert [Path(p).name for p in saved] == ["ok.txt"] and "empty" in problems[0]


def test_unicode_uploads_through_the_page_keep_their_names(home):
    from fincortex.ui.testing import wait_for_job

    at = open_page(app_test(), "ingest")
    text = "Revenue grew 12% to $4.1 billion while margins expanded.\n".encode()
    at.file_uploader(key="upload_files").set_value([("年報.txt", text, "text/plain"),
                                                    ("отчет.txt", b"Net income fell. " + text, "text/plain")])
    button(at, "Ingest uploads").click()
    at.run()
    job = wait_for_job(at, "ingest", timeout_s=120)
    assert job.state == "done", job.error
    assert sorted(Path(r["item"]).name for r in job.result["outcomes"]) == sorted(["年報.txt", "отчет.txt"])
    assert all(r["outcome"] == "added" for r in job.result["outcomes"])


def test_docker_files_serve_the_network_only_with_a_password():
    import yaml

    from fincortex.config import PROJECT_ROOT

    compose = yaml.safe_load((PROJECT_ROOT / "docker" / "compose.yaml").read_text())
    app = compose["services"]["app"]
    assert "FINCORTEX_UI_PASSWORD" in app["environment"]
    assert all(str(p).startswith("${FINCORTEX_UI_PUBLISH:-127.0.0.1}:") for p in app["ports"])
    for name in ("Dockerfile", "Dockerfile.gpu"):  # both start `fincortex ui --host 0.0.0.0`, which needs the password
        text = (PROJECT_ROOT / "docker" / name).read_text()
        assert "fincortex ui" in text and "FINCORTEX_UI_PASSWORD" in text
