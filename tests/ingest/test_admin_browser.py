"""The job page in a real browser (Debian Chromium): progress updates while the job runs."""

from __future__ import annotations

import pytest

from ingest.models import IngestJob
from ingest.services import job_create, job_plan
from ingest.services.jobs import job_file_process, job_finish, job_pending_file_ids
from tests.archive.factories import make_user
from tests.iiif.test_viewer_browser import browser_page, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_job_page_follows_the_job_without_reloading(
    live_server, chromium_path, delivery, monkeypatch
):
    # Playwright's sync API runs an event loop in this thread; the ORM calls
    # below are plain synchronous test code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    user = make_user("root", superuser=True)
    user.set_password("pw-for-the-test")
    user.save()
    job = job_plan(job=job_create(path=delivery))
    pending = job_pending_file_ids(job=job)
    assert len(pending) == 4
    with browser_page(chromium_path) as (page, log):
        page.context.add_cookies(
            [{"name": "yc_language", "value": "en", "url": live_server.url}]
        )
        page.goto(f"{live_server.url}/admin/login/?next=/admin/ingest/jobs/{job.pk}/")
        page.fill("input[name=username]", "root")
        page.fill("input[name=password]", "pw-for-the-test")
        page.click("button[type=submit]")
        processed = page.locator('[data-field="processed"]')
        status = page.locator('[data-field="status_display"]')
        wait_for(page, log, lambda: processed.count() == 1, "the job page")
        assert processed.inner_text() == "0"
        loaded = page.evaluate("performance.timeOrigin")
        for file_id in pending[:2]:
            job_file_process(file_id=file_id)
        wait_for(page, log, lambda: processed.inner_text() == "2", "2 pages shown")
        assert page.locator("progress").first.get_attribute("value") == "2"
        for file_id in pending[2:]:
            job_file_process(file_id=file_id)
        job_finish(job=IngestJob.objects.get(pk=job.pk))
        wait_for(page, log, lambda: status.inner_text() == "done", "the job done")
        assert processed.inner_text() == "4"
        assert page.evaluate("performance.timeOrigin") == loaded  # never reloaded
        assert not log.errors, log.errors
