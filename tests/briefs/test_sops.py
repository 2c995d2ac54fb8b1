"""SOP versions and review moves, through the services staff and the worker use."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from briefs import sops
from briefs.models import SOP, Brief, SOPReview, SOPVersion

pytestmark = pytest.mark.django_db

STEP = {
    "number": 1,
    "title": "Open the app",
    "actions": ["Tap the icon"],
    "tools": [],
    "start": 0.0,
    "end": 4.0,
}
DATA = {"title": "Log in", "purpose": "Get in.", "prerequisites": [], "steps": [STEP]}


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user("owner")


def staff_with(django_user_model, name, *codenames):
    user = django_user_model.objects.create_user(name, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return django_user_model.objects.get(pk=user.pk)  # fresh permission cache


@pytest.fixture
def editor(django_user_model):
    return staff_with(django_user_model, "editor", "change_sop")


@pytest.fixture
def reviewer(django_user_model):
    return staff_with(django_user_model, "reviewer", "change_sop", "review_sop")


@pytest.fixture
def brief(owner):
    return Brief.objects.create(
        owner=owner, title="Login video", query="How to log in", media_type="video"
    )


def extract(brief, data=DATA):
    return sops.sop_record_extraction(
        brief=brief, transcript=None, job=None, data=data, model="offline", prompt_version="p1"
    )


def edited(title):
    return DATA | {"title": title}


def test_first_extraction_is_version_1_in_draft(brief):
    sop = extract(brief)
    assert sop.review_state == SOP.ReviewState.DRAFT
    assert [(v.number, v.source, v.author) for v in sop.versions.all()] == [(1, "extraction", None)]


def test_every_save_is_a_new_version_and_back_to_draft(brief, editor):
    sop = extract(brief)
    v2 = sops.sop_save_version(sop=sop, data=edited("Sign in"), author=editor)
    sop.refresh_from_db()
    assert (v2.number, v2.source, v2.author) == (2, "edit", editor)
    assert sop.data["title"] == "Sign in" and sop.versions.count() == 2


def test_a_save_that_does_not_fit_the_schema_is_refused_and_writes_nothing(brief, editor):
    sop = extract(brief)
    bad = [
        DATA | {"steps": []},
        DATA | {"steps": [STEP | {"start": -1}]},
        DATA | {"steps": [STEP | {"actions": "not a list"}]},
        DATA | {"extra": 1},
        {"title": "no steps"},
        DATA | {"steps": [STEP | {"start": 9, "end": 2}]},
    ]
    for data in bad:
        with pytest.raises(sops.SOPError):
            sops.sop_save_version(sop=sop, data=data, author=editor)
    assert sop.versions.count() == 1
    sop.refresh_from_db()
    assert sop.data == DATA


def test_steps_are_renumbered_in_their_order(brief, editor):
    sop = extract(brief)
    second = STEP | {"number": 7, "title": "Type the password"}
    version = sops.sop_save_version(sop=sop, data=DATA | {"steps": [second, STEP]}, author=editor)
    assert [(s["number"], s["title"]) for s in version.data["steps"]] == [
        (1, "Type the password"),
        (2, "Open the app"),
    ]


def test_saving_nothing_new_is_refused(brief, editor):
    sop = extract(brief)
    with pytest.raises(sops.SOPError, match="Nothing changed"):
        sops.sop_save_version(sop=sop, data=DATA, author=editor)


def test_review_moves_are_recorded_and_need_their_permission(brief, editor, reviewer):
    sop = extract(brief)
    with pytest.raises(sops.SOPError, match="not possible while the SOP is draft"):
        sops.sop_move(sop=sop, move="approve", by=reviewer)
    sops.sop_move(sop=sop, move="submit", by=editor, comment="ready")
    with pytest.raises(sops.SOPError, match=r"needs briefs\.review_sop"):
        sops.sop_move(sop=sop, move="approve", by=editor)
    with pytest.raises(sops.SOPError, match="comment is needed"):
        sops.sop_move(sop=sop, move="request_changes", by=reviewer, comment="  ")
    sops.sop_move(sop=sop, move="request_changes", by=reviewer, comment="Step 1 is vague")
    sops.sop_move(sop=sop, move="submit", by=editor)
    sops.sop_move(sop=sop, move="approve", by=reviewer, comment="Good")
    sop.refresh_from_db()
    assert sop.review_state == "approved" and sop.approved_version.number == 1
    history = [
        (r.from_state, r.to_state, r.by.username, r.comment)
        for r in SOPReview.objects.filter(sop=sop).order_by("id")
    ]
    assert history == [
        ("draft", "in_review", "editor", "ready"),
        ("in_review", "changes_requested", "reviewer", "Step 1 is vague"),
        ("changes_requested", "in_review", "editor", ""),
        ("in_review", "approved", "reviewer", "Good"),
    ]


def test_a_user_who_is_not_staff_cannot_move_even_with_the_permission(brief, django_user_model):
    sop = extract(brief)
    user = django_user_model.objects.create_user("outsider")
    user.user_permissions.set(Permission.objects.filter(codename__in=["change_sop", "review_sop"]))
    with pytest.raises(sops.SOPError):
        sops.sop_move(sop=sop, move="submit", by=django_user_model.objects.get(pk=user.pk))
    assert not SOPReview.objects.exists()


def test_unknown_move_is_refused(brief, reviewer):
    with pytest.raises(sops.SOPError, match="Unknown review move"):
        sops.sop_move(sop=extract(brief), move="publish", by=reviewer)


def approve(sop, editor, reviewer):
    sops.sop_move(sop=sop, move="submit", by=editor)
    sops.sop_move(sop=sop, move="approve", by=reviewer)
    sop.refresh_from_db()


def test_extraction_again_makes_a_draft_and_keeps_the_approved_version(brief, editor, reviewer):
    sop = extract(brief)
    approve(sop, editor, reviewer)
    again = extract(brief, edited("Re-extracted"))
    assert again.pk == sop.pk and SOP.objects.filter(brief=brief).count() == 1
    sop.refresh_from_db()
    assert sop.review_state == "draft" and sop.data["title"] == "Re-extracted"
    assert sops.version_for(sop, "approved").data["title"] == "Log in"
    assert sops.version_for(sop, "latest").number == 2
    assert sops.state_of(sop, sops.version_for(sop, "approved")) == "approved"
    assert sops.state_of(sop, sops.version_for(sop, "latest")) == "draft"


def test_restore_makes_a_new_version_with_the_old_content(brief, editor):
    sop = extract(brief)
    sops.sop_save_version(sop=sop, data=edited("Wrong"), author=editor)
    restored = sops.sop_restore(sop=sop, number=1, author=editor)
    assert (restored.number, restored.source, restored.restored_from) == (3, "restore", 1)
    sop.refresh_from_db()
    assert sop.data == DATA
    with pytest.raises(sops.SOPError, match="nothing to restore"):
        sops.sop_restore(sop=sop, number=1, author=editor)
    with pytest.raises(sops.SOPError, match="no version 9"):
        sops.sop_restore(sop=sop, number=9, author=editor)


def test_an_sop_made_without_versions_reads_as_version_1_and_gets_one_when_changed(
    brief, owner, editor
):
    sop = SOP.objects.create(brief=brief, owner=owner, data=DATA, model="m", prompt_version="p")
    assert sops.latest_version(sop).number == 1 and not SOPVersion.objects.exists()
    sops.sop_save_version(sop=sop, data=edited("Two"), author=editor)
    assert list(sop.versions.order_by("number").values_list("number", "source")) == [
        (1, "extraction"),
        (2, "edit"),
    ]
