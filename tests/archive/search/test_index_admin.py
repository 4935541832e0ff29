"""Full rebuilds of the search index are recorded and shown with their progress.

``archive.search.runs`` records each rebuild (``SearchIndexRun``); the
``reindex`` command and the admin's "Search index" page both go through it.
Celery is eager in the test settings, so the admin's button runs the rebuild
in-process once the commit hooks run. Each test has its own index folder
(tests/conftest.py) and engine (tests/archive/search/conftest.py).
"""

from __future__ import annotations

import datetime
import re
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser, Permission
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from archive.models import SearchIndexRun
from archive.search import indexing, runs
from archive.search.engine import EngineUnavailable, engine_get
from archive.search.service import SearchParams, search
from tests.archive.factories import ItemFactory, make_user

pytestmark = pytest.mark.django_db

URL = "/admin/search-index/"


@pytest.fixture
def items():
    """Three public items, none indexed yet (automatic indexing is off in tests)."""
    return [ItemFactory(title=title) for title in ("騎樓街影", "西關大屋", "陳家祠")]


@pytest.fixture
def volume(db, sample_loader):
    """The sample's Dadian volume alone: an item, its work and ten pages to index."""
    sample_loader(("dadian",))


@pytest.fixture
def staff(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    user = make_user("archivist", groups=["Archivists"])
    client.force_login(user)
    return user


def polling_script(html: str) -> str:
    """The script of the page that polls the rebuild: its static file (the CSP
    allows no inline script), or the page itself while the script is inline."""
    from django.contrib.staticfiles import finders

    tag = re.search(r'<script src="[^"]*/(archive/search_index\.js)"', html)
    if tag is None:
        return html
    return Path(finders.find(tag.group(1))).read_text("utf-8")


def found(q: str) -> list[str]:
    page = search(SearchParams(q=q, per_page=50), user=AnonymousUser())
    return [hit.key for hit in page.hits]


# ---------------------------------------------------------------------------
# The service


def test_a_rebuild_records_its_progress_and_the_index_answers(volume):
    run = runs.run_create(source=SearchIndexRun.Source.COMMAND)
    assert run.state == SearchIndexRun.State.QUEUED
    reports = []

    runs.run_execute(run, progress=lambda done, total: reports.append((done, total)))

    run.refresh_from_db()
    assert run.state == SearchIndexRun.State.DONE
    assert run.engine == "embedded"
    assert run.documents == engine_get().count() > 10
    assert run.total == run.done == reports[-1][1]
    assert run.started_at <= run.finished_at
    assert run.percent == 100 and run.error == ""
    types = {
        hit.type
        for hit in search(
            SearchParams(q="三字經", per_page=50), user=AnonymousUser()
        ).hits
    }
    assert {"item", "page", "work"} <= types


def test_progress_is_saved_at_most_once_a_second(items, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(runs.time, "monotonic", lambda: clock[0])
    seen = []

    def fake_reindex_all(progress=None, **options):
        for done in (100, 200, 300):
            progress(done, 1000)
            seen.append(SearchIndexRun.objects.get().done)
            clock[0] += 0.4
        clock[0] += 1.0
        progress(900, 1000)
        seen.append(SearchIndexRun.objects.get().done)
        progress(1000, 1000)
        seen.append(SearchIndexRun.objects.get().done)
        return 1000

    monkeypatch.setattr(indexing, "reindex_all", fake_reindex_all)
    run = runs.run_execute(runs.run_create())
    # The first report is saved; the next two within the second are not; a
    # report a second later is, and so is the last one whatever the time.
    assert seen == [100, 100, 100, 900, 1000]
    assert run.documents == 1000


def test_a_failing_engine_leaves_the_run_failed_and_the_error_is_raised(
    items, monkeypatch
):
    def broken(progress=None, **options):
        progress(10, 50)
        raise RuntimeError("the index folder is full")

    monkeypatch.setattr(indexing, "reindex_all", broken)
    run = runs.run_create()
    with pytest.raises(RuntimeError, match="full"):
        runs.run_execute(run)
    run.refresh_from_db()
    assert run.state == SearchIndexRun.State.FAILED
    assert run.error == "RuntimeError: the index folder is full"
    assert run.finished_at is not None and run.documents is None
    assert runs.run_active() is None


def test_an_interrupted_rebuild_is_not_left_running(items, monkeypatch):
    def interrupted(progress=None, **options):
        raise KeyboardInterrupt

    monkeypatch.setattr(indexing, "reindex_all", interrupted)
    run = runs.run_create()
    with pytest.raises(KeyboardInterrupt):
        runs.run_execute(run)
    run.refresh_from_db()
    assert run.state == SearchIndexRun.State.FAILED
    assert run.error == "KeyboardInterrupt"


def test_only_one_rebuild_at_a_time_and_a_dead_one_blocks_nothing():
    first = runs.run_create(exclusive=True)
    with pytest.raises(runs.RunAlreadyActive) as refused:
        runs.run_create(exclusive=True)
    assert refused.value.run == first
    assert runs.run_active() == first
    # A worker killed outright leaves its run "running" with no more news.
    SearchIndexRun.objects.filter(pk=first.pk).update(
        state=SearchIndexRun.State.RUNNING,
        updated_at=timezone.now() - runs.ABANDONED_AFTER - datetime.timedelta(1),
    )
    assert runs.run_active() is None
    second = runs.run_create(exclusive=True)
    assert runs.run_latest() == second


# ---------------------------------------------------------------------------
# The command and the task


def test_the_command_records_a_run_and_prints_progress(items):
    out = StringIO()
    call_command("reindex", stdout=out)
    text = out.getvalue()
    run = SearchIndexRun.objects.get()
    assert run.source == SearchIndexRun.Source.COMMAND
    assert run.requested_by is None
    assert run.state == SearchIndexRun.State.DONE
    assert run.documents == engine_get().count() >= 3
    total = run.total
    assert f"reindex: {total}/{total} documents (100%)" in text
    assert re.search(
        rf"reindex: {run.documents} documents indexed with embedded "
        r"in \d+\.\d s \(\d+/s\)",
        text,
    )
    assert found("西關大屋")


def test_the_command_records_a_failure(items, monkeypatch):
    def unavailable(progress=None, **options):
        raise EngineUnavailable("OpenSearch did not answer")

    monkeypatch.setattr(indexing, "reindex_all", unavailable)
    with pytest.raises(CommandError, match="unavailable"):
        call_command("reindex", stdout=StringIO())
    run = SearchIndexRun.objects.get()
    assert run.state == SearchIndexRun.State.FAILED
    assert "OpenSearch did not answer" in run.error


def test_the_task_runs_a_queued_run_once_and_goes_to_the_search_queue(items):
    from archive.celery import app
    from archive.tasks import search_reindex_task

    route = app.amqp.router.route({}, "archive.tasks.search_reindex_task")
    assert route["queue"].name == "search"
    run = runs.run_create()
    assert search_reindex_task(run.pk) == 3
    run.refresh_from_db()
    assert run.state == SearchIndexRun.State.DONE
    finished = run.finished_at
    # A redelivered message leaves a finished run alone; a deleted one is skipped.
    assert search_reindex_task(run.pk) == 3
    run.refresh_from_db()
    assert run.finished_at == finished
    assert search_reindex_task(run.pk + 1000) is None


# ---------------------------------------------------------------------------
# The admin page


def test_anonymous_visitors_are_sent_to_log_in(client):
    for url in (
        URL,
        reverse("archive_search_index_rebuild"),
        reverse("archive_search_index_progress", args=[1]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("wagtailadmin_login"))
    response = client.post(reverse("archive_search_index_rebuild"))
    assert response.status_code == 302
    assert not SearchIndexRun.objects.exists()


def test_admin_users_who_are_not_archive_staff_are_refused(client):
    editor = make_user("editor")
    editor.user_permissions.add(
        Permission.objects.get(
            content_type__app_label="wagtailadmin", codename="access_admin"
        )
    )
    client.force_login(editor)
    response = client.get(URL)
    # Wagtail's answer to PermissionDenied in the admin: back to the dashboard.
    assert response.status_code == 302
    assert response["Location"] == reverse("wagtailadmin_home")
    response = client.post(reverse("archive_search_index_rebuild"))
    assert response.status_code == 302
    assert not SearchIndexRun.objects.exists()
    run = runs.run_create()
    response = client.get(
        reverse("archive_search_index_progress", args=[run.pk]),
        HTTP_X_REQUESTED_WITH="XMLHttpRequest",
    )
    assert response.status_code == 403
    home = client.get(reverse("wagtailadmin_home")).content.decode()
    assert URL not in home


def test_staff_see_the_engine_its_health_and_the_runs(client, staff, items):
    call_command("reindex", stdout=StringIO())
    failed = runs.run_create(user=staff)
    SearchIndexRun.objects.filter(pk=failed.pk).update(
        state=SearchIndexRun.State.FAILED, error="RuntimeError: disk full"
    )
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<code>embedded</code>" in html
    assert "answering" in html and "not answering" not in html
    assert "Documents in the index" in html
    assert "Recent rebuilds" in html
    assert "command line" in html and "archivist" in html
    assert "RuntimeError: disk full" in html
    assert "No rebuild is under way." in html
    assert "another analyzer" not in html
    home = client.get(reverse("wagtailadmin_home")).content.decode()
    assert URL in home


def test_a_stale_index_asks_for_a_rebuild(client, staff, items, monkeypatch):
    engine = engine_get()
    monkeypatch.setattr(type(engine), "stale", lambda self: True)
    html = client.get(URL).content.decode()
    assert "built by another analyzer: rebuild it" in html


def test_the_button_queues_a_rebuild_that_runs_and_a_second_is_refused(
    client, staff, items, django_capture_on_commit_callbacks
):
    assert found("陳家祠") == []
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("archive_search_index_rebuild"))
    assert response.status_code == 302 and response["Location"] == URL
    run = SearchIndexRun.objects.get()
    assert run.source == SearchIndexRun.Source.ADMIN
    assert run.requested_by == staff
    assert run.state == SearchIndexRun.State.DONE and run.documents >= 3
    assert found("陳家祠")

    active = runs.run_create()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse("archive_search_index_rebuild"), follow=True)
    assert callbacks == []
    assert SearchIndexRun.objects.count() == 2
    active.refresh_from_db()
    assert active.state == SearchIndexRun.State.QUEUED
    assert "already queued or running" in response.content.decode()


def test_the_button_needs_a_csrf_token(staff, items):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(staff)
    assert strict.post(reverse("archive_search_index_rebuild")).status_code == 403
    assert not SearchIndexRun.objects.exists()
    html = strict.get(URL).content.decode()
    assert 'name="csrfmiddlewaretoken"' in html


def test_a_running_rebuild_shows_a_progress_bar_that_follows_it(client, staff):
    run = runs.run_create(user=staff)
    SearchIndexRun.objects.filter(pk=run.pk).update(
        state=SearchIndexRun.State.RUNNING,
        started_at=timezone.now(),
        total=200,
        done=50,
    )
    html = client.get(URL).content.decode()
    progress_url = reverse("archive_search_index_progress", args=[run.pk])
    assert f'data-progress-url="{progress_url}"' in html
    bar = re.search(r"<progress[^>]*>", html).group(0)
    assert 'id="search-index-progress-bar"' in bar
    assert 'max="200"' in bar and 'value="50"' in bar
    assert '<label for="search-index-progress-bar">Documents indexed</label>' in html
    assert re.search(r">50</span> of <span[^>]*>200</span> documents", html)
    assert re.search(r"<button[^>]*disabled[^>]*>Rebuild the search index", html)
    assert "setTimeout(poll, 2000)" in polling_script(html)

    data = client.get(progress_url).json()
    assert data == {
        "state": "running",
        "state_display": "running",
        "finished": False,
        "done": 50,
        "total": 200,
        "percent": 25,
        "documents": None,
        "error": "",
    }
    SearchIndexRun.objects.filter(pk=run.pk).update(
        state=SearchIndexRun.State.DONE, done=200, documents=200
    )
    data = client.get(progress_url).json()
    assert data["finished"] is True and data["percent"] == 100
    html = client.get(URL).content.decode()
    assert "<progress" not in html and "data-progress-url" not in html
