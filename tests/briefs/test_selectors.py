from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from briefs import selectors
from briefs.models import SOP, Transcript
from briefs.services import brief_create, brief_start


@pytest.mark.django_db
def test_users_see_only_their_own_briefs_and_results(user, other_user):
    mine = brief_create(owner=user, title="Mine", query="q", media_type="text")
    theirs = brief_create(owner=other_user, title="Theirs", query="q", media_type="text")
    transcript = Transcript.objects.create(brief=theirs, model="m", prompt_version="v")
    SOP.objects.create(brief=theirs, owner=other_user, transcript=transcript, data={}, model="m")
    assert list(selectors.brief_list(user=user)) == [mine]
    assert selectors.brief_detail(pk=theirs.pk, user=user) is None
    assert not selectors.sop_list(user=user).exists()
    assert not selectors.transcript_list(user=user).exists()
    assert selectors.sop_list(user=other_user).count() == 1
    assert {b.pk for b in selectors.brief_list()} == {mine.pk, theirs.pk}


@pytest.mark.django_db
def test_brief_detail_loads_everything_up_front(user):
    brief = brief_create(owner=user, title="T", query="q", media_type="text")
    brief_start(brief=brief, use_pipeline=True)
    detail = selectors.brief_detail(pk=brief.pk, user=user)
    with CaptureQueriesContext(connection) as queries:
        assert detail.status == "processing"
        links = detail.job_links.all()
        assert [link.job.type for link in links] == ["analysis", "text_analysis", "render"]
        assert list(detail.artifacts.all()) == []
        assert list(detail.sops.all()) == [] and list(detail.transcripts.all()) == []
    assert len(queries) == 0
