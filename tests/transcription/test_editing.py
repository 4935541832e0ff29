"""The editing services: corrections, splits, merges, speakers, access, approval, carry-over."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from archive.models import AccessLevel, Place
from tests.archive.factories import make_user
from tests.transcription.factories import (
    LINES,
    SegmentFactory,
    TranscriptFactory,
    transcript_with_segments,
)
from transcription.models import Segment, SegmentRevision, Transcript
from transcription.services import consent_apply
from transcription.services.editing import (
    corrections_carry,
    index_point_create,
    index_point_delete,
    index_point_update,
    segment_access_set,
    segment_merge,
    segment_split,
    segment_update,
    speaker_rename,
    transcript_approve,
    transcript_make_primary,
    transcript_reopen,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return make_user("editor", groups=["Archivists"])


@pytest.fixture
def transcript():
    return transcript_with_segments(LINES[:4])


def segs(transcript):
    return list(transcript.segments.order_by("start", "pk"))


# --------------------------------------------------------------------------
# segment_update
# --------------------------------------------------------------------------


def test_update_corrects_text_and_records_who_and_what(transcript, user):
    segment = segs(transcript)[0]
    segment_update(segment=segment, user=user, text="  我姓梁，大家都叫我梁伯。 ")
    segment.refresh_from_db()
    assert segment.text == "我姓梁，大家都叫我梁伯。" and segment.edited
    assert segment.machine_text == LINES[0]
    revision = segment.revisions.get()
    assert (revision.user, revision.action) == (user, "edit")
    assert revision.before["text"] == LINES[0]
    assert revision.after["text"] == "我姓梁，大家都叫我梁伯。"
    transcript.refresh_from_db()
    assert transcript.review_state == Transcript.Review.IN_REVIEW


def test_update_of_speaker_alone_is_a_speaker_revision_and_no_change_writes_nothing(
    transcript, user
):
    segment = segs(transcript)[1]
    segment_update(segment=segment, user=user, speaker="梁伯")  # unchanged
    assert not segment.revisions.exists() and not segment.edited
    segment_update(segment=segment, user=user, speaker=" 訪問員 ")
    assert segment.revisions.get().action == "speaker"
    assert Segment.objects.get(pk=segment.pk).speaker == "訪問員"


def test_update_times_are_validated(transcript, user):
    segment = segs(transcript)[1]
    for kwargs, field in [
        ({"start": -1}, "start"),
        ({"end": 1.0}, "end"),  # before the start (5.0)
        ({"end": 500}, "end"),  # after the recording (64 s)
        ({"start": "abc"}, "start"),
        ({"text": "   "}, "text"),
    ]:
        with pytest.raises(ValidationError) as caught:
            segment_update(
                segment=Segment.objects.get(pk=segment.pk), user=user, **kwargs
            )
        assert field in caught.value.message_dict, kwargs
    segment_update(segment=segment, user=user, start=5.25, end=9.5)
    segment.refresh_from_db()
    assert (segment.start, segment.end) == (5.25, 9.5)
    assert not SegmentRevision.objects.exclude(segment=segment).exists()
    assert segment.revisions.count() == 1


# --------------------------------------------------------------------------
# segment_split / segment_merge
# --------------------------------------------------------------------------


def test_split_at_the_playhead(transcript, user):
    segment = segs(transcript)[2]  # 10.0–14.8
    segment.access_level = AccessLevel.STAFF
    segment.save()
    first, second = segment_split(
        segment=segment,
        user=user,
        at_seconds=12.3,
        text_before="一九三八年，",
        text_after="我先至十二歲。",
    )
    assert (first.pk, first.start, first.end, first.text) == (
        segment.pk,
        10.0,
        12.3,
        "一九三八年，",
    )
    assert (second.start, second.end, second.text) == (12.3, 14.8, "我先至十二歲。")
    assert second.speaker == "梁伯" and second.access_level == AccessLevel.STAFF
    assert first.edited and second.edited
    # Without word timings the first part keeps all the machine text.
    assert first.machine_text == LINES[2] and second.machine_text == ""
    assert first.revisions.get().after["new_segment"] == second.pk
    assert second.revisions.get().before == {"split_from": first.pk}
    assert len(segs(transcript)) == 5


def test_split_shares_machine_text_by_word_timings(user):
    segment = SegmentFactory(
        start=0,
        end=3,
        text="我姓梁",
        machine_text="我星梁",
        words=[[0, 1, "我", 0.9], [1, 2, "星", 0.4], [2, 3, "梁", 0.9]],
    )
    first, second = segment_split(
        segment=segment, user=user, at_seconds=1.8, text_before="我姓", text_after="梁"
    )
    assert (first.machine_text, second.machine_text) == ("我星", "梁")
    assert len(first.words) == 2 and len(second.words) == 1


@pytest.mark.parametrize("at", [0.0, 5.0, 4.8, 14.0, -2])
def test_split_outside_the_segment_is_refused(transcript, user, at):
    segment = segs(transcript)[0]  # 0.0–4.8
    with pytest.raises(ValidationError) as caught:
        segment_split(
            segment=segment, user=user, at_seconds=at, text_before="a", text_after="b"
        )
    assert "at_seconds" in caught.value.message_dict
    assert len(segs(transcript)) == 4


def test_split_needs_text_on_both_sides(transcript, user):
    with pytest.raises(ValidationError) as caught:
        segment_split(
            segment=segs(transcript)[0],
            user=user,
            at_seconds=2,
            text_before="我姓梁",
            text_after=" ",
        )
    assert "text_after" in caught.value.message_dict


def test_merge_with_the_next_segment_keeps_both_histories(transcript, user):
    a, b, c, _d = segs(transcript)
    segment_update(segment=b, user=user, text="我哋屋企喺西關開茶樓。")
    b.access_level = AccessLevel.READING_ROOM
    b.save()
    with pytest.raises(ValidationError):
        segment_merge(first=a, second=c, user=user)  # not neighbours
    b_pk = b.pk
    merged = segment_merge(first=a, second=b, user=user)
    assert (merged.start, merged.end) == (0.0, 9.8)
    assert merged.text == LINES[0] + "我哋屋企喺西關開茶樓。"
    assert merged.machine_text == LINES[0] + LINES[1]
    assert merged.access_level == AccessLevel.READING_ROOM
    assert not Segment.objects.filter(pk=b_pk).exists()
    actions = list(merged.revisions.values_list("action", flat=True))
    assert actions == ["merge", "edit"]
    merge = merged.revisions.first()
    assert merge.before["second"]["text"] == "我哋屋企喺西關開茶樓。"
    assert merge.after["merged_segment"] == b_pk


def test_merge_joins_latin_words_with_a_space(user):
    transcript = TranscriptFactory()
    a = SegmentFactory(transcript=transcript, start=0, end=1, text="Hello")
    b = SegmentFactory(transcript=transcript, start=1, end=2, text="world")
    assert segment_merge(first=a, second=b, user=user).text == "Hello world"


def test_merge_across_transcripts_is_refused(user):
    a, b = SegmentFactory(), SegmentFactory()
    with (
        translation.override("en"),
        pytest.raises(ValidationError, match="same transcript"),
    ):
        segment_merge(first=a, second=b, user=user)


# --------------------------------------------------------------------------
# Speakers, access, approval
# --------------------------------------------------------------------------


def test_speaker_rename(transcript, user):
    segs(transcript)[3].speaker = "SPEAKER_2"
    Segment.objects.filter(pk=segs(transcript)[3].pk).update(speaker="SPEAKER_2")
    changed = speaker_rename(
        transcript=transcript, user=user, old="梁伯", new="梁伯（受訪者）"
    )
    assert len(changed) == 3
    assert sorted(transcript.segments.values_list("speaker", flat=True)) == sorted(
        ["梁伯（受訪者）"] * 3 + ["SPEAKER_2"]
    )
    assert SegmentRevision.objects.filter(action="speaker", user=user).count() == 3
    with pytest.raises(ValidationError):
        speaker_rename(transcript=transcript, user=user, old="nobody", new="x")
    with pytest.raises(ValidationError):
        speaker_rename(transcript=transcript, user=user, old="SPEAKER_2", new="x" * 101)


def test_closing_a_passage_by_hand_survives_the_consent(transcript, user):
    from transcription.models import Consent

    segment = segs(transcript)[1]
    with pytest.raises(ValidationError):
        segment_access_set(segment=segment, user=user, level="embargoed")
    segment_access_set(segment=segment, user=user, level=AccessLevel.STAFF)
    assert segment.revisions.get().action == "access"
    consent_apply(
        consent=Consent.objects.create(item=transcript.item, allowed="public")
    )
    segment.refresh_from_db()
    assert segment.access_level == AccessLevel.STAFF
    segment_access_set(segment=segment, user=user, level="")
    assert Segment.objects.get(pk=segment.pk).access_level == ""
    assert segment.revisions.count() == 2


def test_approve_and_reopen(transcript, user):
    transcript_approve(transcript=transcript, user=user)
    transcript.refresh_from_db()
    assert transcript.is_reviewed and transcript.approved_by == user
    assert transcript.approved_at is not None
    transcript_reopen(transcript=transcript, user=user)
    transcript.refresh_from_db()
    assert transcript.review_state == Transcript.Review.IN_REVIEW
    assert transcript.approved_by is None and transcript.approved_at is None
    running = TranscriptFactory(status=Transcript.Status.RUNNING)
    with translation.override("en"), pytest.raises(ValidationError, match="finished"):
        transcript_approve(transcript=running, user=user)


def test_make_primary(transcript):
    other = TranscriptFactory(asset=transcript.asset, item=transcript.item)
    transcript_make_primary(transcript=other)
    assert list(Transcript.objects.filter(item=transcript.item, is_primary=True)) == [
        other
    ]


# --------------------------------------------------------------------------
# corrections_carry
# --------------------------------------------------------------------------


def make(transcript_kwargs, rows):
    transcript = TranscriptFactory(**transcript_kwargs)
    for start, end, text, *rest in rows:
        SegmentFactory(
            transcript=transcript,
            start=start,
            end=end,
            text=text,
            machine_text=rest[0] if rest else text,
            speaker="",
        )
    return transcript


def test_corrections_are_carried_onto_the_new_timing(user):
    old = make({}, [(0, 4, "我姓良"), (4, 10, "街坊都叫我梁伯"), (10, 15, "開茶樓")])
    item, asset = old.item, old.asset
    a, b, c = segs(old)
    segment_update(segment=a, user=user, text="我姓梁", speaker="梁伯")
    segment_update(segment=b, user=user, text="街坊都叫我做梁伯")
    segment_access_set(
        segment=c, user=user, level=AccessLevel.STAFF
    )  # closed, not edited
    new = make(
        {"item": item, "asset": asset, "is_primary": False},
        [
            (0.2, 4.1, "我姓梁"),  # better model: same as the correction
            (4.1, 7.0, "街坊都"),  # one corrected segment, two new ones
            (7.0, 9.9, "叫我梁伯"),
            (9.9, 15.2, "開茶樓喇"),  # not corrected: the new text wins
        ],
    )
    corrections_carry(old=old, new=new)
    rows = [
        (s.start, s.end, s.text, s.speaker, s.edited, s.machine_changed, s.access_level)
        for s in segs(new)
    ]
    assert rows == [
        (0.2, 4.1, "我姓梁", "梁伯", True, True, ""),
        (4.1, 9.9, "街坊都叫我做梁伯", "", True, False, ""),
        (9.9, 15.2, "開茶樓喇", "", False, False, AccessLevel.STAFF),
    ]
    assert segs(new)[1].machine_text == "街坊都叫我梁伯"
    new.refresh_from_db()
    old.refresh_from_db()
    assert new.is_primary and not old.is_primary and new.previous == old
    assert new.review_state == Transcript.Review.IN_REVIEW
    assert Transcript.objects.filter(pk=old.pk).exists()
    # The hand-made closure stays "by hand" for the consent's later runs.
    closed = segs(new)[2]
    assert closed.revisions.get().action == "access"
    # Running it again changes nothing.
    revisions = SegmentRevision.objects.filter(segment__transcript=new).count()
    corrections_carry(old=old, new=new)
    assert SegmentRevision.objects.filter(segment__transcript=new).count() == revisions
    assert [
        (s.start, s.end, s.text, s.speaker, s.edited, s.machine_changed, s.access_level)
        for s in segs(new)
    ] == rows


def test_one_new_segment_over_two_corrected_ones_keeps_both_corrections(user):
    old = make({}, [(0, 3, "我姓梁"), (3, 6, "開茶樓"), (6, 9, "三代人")])
    a, b, _c = segs(old)
    segment_update(segment=a, user=user, text="我姓梁。", speaker="梁伯")
    segment_update(segment=b, user=user, text="開咗茶樓。", speaker="梁伯")
    new = make(
        {"item": old.item, "asset": old.asset},
        [(0.1, 6.2, "我姓梁開茶樓"), (6.2, 9, "三代人")],
    )
    new.segments.filter(start=0.1).update(
        words=[
            [0.1, 0.9, "我", 1],
            [0.9, 1.8, "姓", 1],
            [1.8, 2.7, "梁", 1],
            [3.2, 4.0, "開", 1],
            [4.0, 5.0, "茶", 1],
            [5.0, 6.2, "樓", 1],
        ]
    )
    corrections_carry(old=old, new=new)
    rows = [(s.start, s.end, s.text, s.machine_text, s.speaker) for s in segs(new)]
    assert rows == [
        (0.1, 3.0, "我姓梁。", "我姓梁", "梁伯"),
        (3.0, 6.2, "開咗茶樓。", "開茶樓", "梁伯"),
        (6.2, 9.0, "三代人", "三代人", ""),
    ]


def test_a_correction_the_new_model_has_nothing_for_is_kept(user):
    old = make({}, [(0, 3, "（聽唔清）"), (3, 6, "開茶樓")])
    segment_update(segment=segs(old)[0], user=user, text="我姓梁")
    new = make({"item": old.item, "asset": old.asset}, [(3.1, 6.0, "開茶樓")])
    corrections_carry(old=old, new=new)
    first = segs(new)[0]
    assert (first.start, first.end, first.text, first.machine_text) == (
        0,
        3,
        "我姓梁",
        "",
    )
    assert first.machine_changed and first.revisions.get().before == {}


def test_carry_needs_the_same_item():
    with pytest.raises(ValidationError):
        corrections_carry(old=TranscriptFactory(), new=TranscriptFactory())


# --------------------------------------------------------------------------
# Index points
# --------------------------------------------------------------------------


def test_index_points(transcript, user):
    place = Place.objects.create(name="西關", latitude=23.124, longitude=113.242)
    point = index_point_create(
        item=transcript.item,
        user=user,
        start="62.5",
        title=" 空襲 ",
        keywords="空襲，防空洞, 1938",
        synopsis="梁伯憶述警報同防空洞。",
        place=place.pk,
        latitude="23.1240",
        longitude=113.242,
        links=[{"label": "廣州淪陷", "url": "https://zh.wikipedia.org/wiki/廣州淪陷"}],
    )
    assert (point.start, point.title, point.keywords) == (
        62.5,
        "空襲",
        ["空襲", "防空洞", "1938"],
    )
    assert point.place == place and point.latitude == Decimal("23.124000")
    for values, field in [
        ({"title": ""}, "title"),
        ({"start": -3}, "start"),
        ({"latitude": 91}, "latitude"),
        ({"links": [{"url": "javascript:alert(1)"}]}, "links"),
        ({"end": 10}, "end"),
    ]:
        with pytest.raises(ValidationError) as caught:
            index_point_update(index_point=point, user=user, **values)
        assert field in caught.value.message_dict, values
        point.refresh_from_db()
    index_point_update(index_point=point, user=user, title="警報", end=80)
    point.refresh_from_db()
    assert (point.title, point.end, point.synopsis) == (
        "警報",
        80,
        "梁伯憶述警報同防空洞。",
    )
    index_point_delete(index_point=point, user=user)
    assert not transcript.item.index_points.exists()
