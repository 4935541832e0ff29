"""Character error rate, reference files, and ``manage.py evaluate_transcription``."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from hypothesis import given
from hypothesis import strategies as st

from archive.models import AccessLevel, Asset, Item
from tests.archive.factories import ItemFactory
from transcription.evaluation import (
    cer,
    cer_result,
    edit_distance,
    reference_read,
    transcript_text,
)
from transcription.models import Segment, Transcript


def naive_distance(a: str, b: str) -> int:
    """The full-table Levenshtein distance, written as plainly as possible."""
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        table[i][0] = i
    for j in range(len(b) + 1):
        table[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            table[i][j] = min(
                table[i - 1][j] + 1,
                table[i][j - 1] + 1,
                table[i - 1][j - 1] + (a[i - 1] != b[j - 1]),
            )
    return table[len(a)][len(b)]


# --- the distance and the rate ----------------------------------------------------


@pytest.mark.parametrize(
    ("hypothesis", "reference", "distance"),
    [
        ("", "", 0),
        ("", "廣州", 2),
        ("廣州", "", 2),
        ("廣州", "廣州", 0),
        ("廣洲", "廣州", 1),
        ("kitten", "sitting", 3),
        ("我哋去飲茶", "我地去飲早茶", 2),
        ("茶茶茶茶茶茶", "茶", 5),
        ("𠮶個", "嗰個", 1),  # a character outside the BMP counts as one
    ],
)
def test_edit_distance(hypothesis, reference, distance):
    assert edit_distance(hypothesis, reference) == distance


@given(
    st.text(alphabet="廣州嘅咗ab", max_size=12),
    st.text(alphabet="廣州嘅咗ab", max_size=12),
)
def test_edit_distance_matches_the_full_table(a, b):
    assert edit_distance(a, b) == naive_distance(a, b)
    assert edit_distance(a, b) == edit_distance(b, a)


def test_cer_is_zero_for_the_same_words_in_another_script_width_and_punctuation():
    assert cer("广州，我哋嚟咗！", "「廣州」我哋嚟咗。") == 0.0
    assert cer("ＨＫＵ　１９３８年", "hku 1938年") == 0.0
    assert cer("佢喺台灣住咗好耐", "佢喺臺灣住咗好耐") == 0.0


@pytest.mark.parametrize(
    ("hypothesis", "reference", "rate"),
    [
        # One substitution in nine characters.
        ("我細個嗰陣喺西關住", "我細個嗰陣喺東關住", 1 / 9),
        # Standard Written Chinese for colloquial Cantonese: 們/哋, 了/咗.
        ("我們去了飲茶", "我哋去咗飲茶", 2 / 6),
        # Two deletions out of seven; punctuation does not count.
        ("佢話，唔記得", "佢話：佢唔記得咗", 2 / 7),
        # A loop: 12 characters where 3 were said (3 substitutions, 9 insertions).
        ("多謝收睇" * 3 + "飲茶", "我哋去飲茶", 12 / 5),
        ("", "廣州茶樓", 1.0),
    ],
)
def test_cer_exact(hypothesis, reference, rate):
    assert cer(hypothesis, reference) == pytest.approx(rate, abs=1e-12)


def test_cer_result_counts():
    result = cer_result("廣洲，茶樓！", "廣州茶樓飲茶")
    assert (result.edits, result.reference_chars, result.hypothesis_chars) == (3, 6, 4)
    assert result.cer == 0.5
    assert "normalise_for_cer" in result.normalisation


def test_cer_needs_a_reference():
    with pytest.raises(ValueError, match="no characters"):
        cer("廣州", "，。 ！")


def test_a_long_transcript_is_scored_quickly():
    reference = "我細個嗰陣喺西關住，屋企開茶樓。" * 400  # 6,400 characters
    hypothesis = reference.replace("茶樓", "茶楼").replace("西關", "西门")
    assert cer(hypothesis, reference) == pytest.approx(400 / 5600)


# --- reference files --------------------------------------------------------------

VTT = """WEBVTT
Kind: captions
Language: yue

NOTE recorded at 廣州圖書館
this note is not speech

STYLE
::cue { color: yellow }

1
00:00:00.000 --> 00:00:04.500 align:start position:10%
<v 陳太>我細個嗰陣</v>

intro-2
00:04.500 --> 00:09.000
<v.loud 陳太>喺<c.place>西關</c>住，<00:00:06.000>屋企開茶樓
&lt;笑&gt; &amp; 飲茶

00:00:09.000 --> 00:00:12.000
<ruby>嗰<rt>go2</rt></ruby>陣好熱鬧
"""

SRT = """1
00:00:00,000 --> 00:00:04,500
<i>我細個嗰陣</i>

2
00:00:04,500 --> 00:00:09,000
{\\an8}喺西關住，
<font color="#ffff00">屋企開茶樓</font>
3
00:00:09,000 --> 00:00:12,000
嗰陣好熱鬧
"""


def test_reference_read_vtt(tmp_path):
    path = tmp_path / "ref.vtt"
    path.write_text(VTT, encoding="utf-8")
    assert reference_read(path) == (
        "我細個嗰陣\n喺西關住，屋企開茶樓\n<笑> & 飲茶\n嗰陣好熱鬧"
    )


def test_reference_read_srt_with_crlf_bom_and_a_missing_blank_line(tmp_path):
    path = tmp_path / "ref.srt"
    path.write_bytes(b"\xef\xbb\xbf" + SRT.replace("\n", "\r\n").encode("utf-8"))
    assert reference_read(path) == "我細個嗰陣\n喺西關住，\n屋企開茶樓\n嗰陣好熱鬧"


def test_reference_read_plain_text_and_utf16(tmp_path):
    path = tmp_path / "ref.txt"
    path.write_text("我細個嗰陣，\n喺西關住。 1938 --> 1949\n", encoding="utf-16")
    assert reference_read(path) == "我細個嗰陣，\n喺西關住。 1938 --> 1949"


def test_reference_read_refuses_binary(tmp_path):
    path = tmp_path / "ref.vtt"
    path.write_bytes(b"\x00\xff\xfe\x81 not text \xc3\x28")
    with pytest.raises(ValueError, match="not UTF-8"):
        reference_read(path)


# --- the command ----------------------------------------------------------------


@pytest.fixture
def transcript(db):
    item = ItemFactory(
        kind=Item.Kind.ORAL_HISTORY,
        access_level=AccessLevel.PUBLIC,
        public_id="yc-oral-1",
    )
    media = Asset.objects.create(
        item=item,
        role=Asset.Role.MEDIA,
        sha256="b" * 64,
        storage_path="originals/bb/bb/" + "b" * 64,
        size=1,
        media_type="audio/flac",
    )
    transcript = Transcript.objects.create(
        item=item,
        asset=media,
        status=Transcript.Status.DONE,
        engine="faster-whisper",
        model_name="bundled base int8",
    )
    # Out of order on purpose: segments are scored by time.
    rows = [
        (4.5, 9.0, "喺西關住，屋企開茶樓", "喺西关住屋企开茶楼楼楼"),
        (0.0, 4.5, "我細個嗰陣", "我细个嗰阵"),
        (9.0, 12.0, "嗰陣好熱鬧，", "個陣好熱"),
    ]
    for start, end, text, machine in rows:
        Segment.objects.create(
            transcript=transcript, start=start, end=end, text=text, machine_text=machine
        )
    return transcript


@pytest.fixture
def reference_file(tmp_path):
    path = tmp_path / "ref.vtt"
    path.write_text(VTT, encoding="utf-8")
    return path


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("evaluate_transcription", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_transcript_text_is_in_time_order(transcript):
    assert transcript_text(transcript=transcript) == (
        "我細個嗰陣\n喺西關住，屋企開茶樓\n嗰陣好熱鬧，"
    )
    assert transcript_text(transcript=transcript, machine=True).startswith("我细个")


def test_command_scores_the_corrected_text(transcript, reference_file):
    out, _ = run("yc-oral-1", "--reference", str(reference_file))
    # Reference: 我細個嗰陣 喺西關住屋企開茶樓 笑飲茶 嗰陣好熱鬧 = 22 characters;
    # the corrected text (19) lacks 笑 and 飲茶: 3 deletions.
    assert "CER          0.1364 (13.64%)" in out
    assert "edits        3 over 22 reference characters" in out
    assert "hypothesis   19 characters" in out
    assert "corrected text" in out
    assert transcript.public_id in out
    assert "normalise_for_cer" in out


def test_command_scores_the_machine_text(transcript, reference_file):
    out, _ = run("yc-oral-1", "--reference", str(reference_file), "--machine")
    # Machine text, folded: 我細個嗰陣 喺西關住屋企開茶樓樓樓 個陣好熱 (20 characters);
    # against the reference: 樓樓 for 笑飲茶 (2 substitutions, 1 deletion),
    # 個 for 嗰 (1 substitution), 鬧 missing (1 deletion) = 5 edits.
    assert "CER          0.2273 (22.73%)" in out
    assert "edits        5 over 22 reference characters" in out
    assert "hypothesis   20 characters" in out
    assert "machine text" in out


def test_command_picks_a_named_transcript(transcript, reference_file):
    other = Transcript.objects.create(
        item=transcript.item, asset=transcript.asset, is_primary=False
    )
    Segment.objects.create(transcript=other, start=0, end=1, text="完全唔同")
    out, err = run(
        "yc-oral-1", "--reference", str(reference_file), "--transcript", other.public_id
    )
    assert other.public_id in out
    assert "edits        22 over 22" in out  # nothing in common
    assert "status is queued" in err


def test_command_errors(transcript, reference_file, tmp_path):
    with pytest.raises(CommandError, match="yc-unknown has no transcript"):
        run("yc-unknown", "--reference", str(reference_file))
    with pytest.raises(CommandError, match="No transcript t0000000000"):
        run(
            "yc-oral-1",
            "--reference",
            str(reference_file),
            "--transcript",
            "t0000000000",
        )
    with pytest.raises(CommandError, match="No such file"):
        run("yc-oral-1", "--reference", str(tmp_path / "missing.vtt"))
    empty = tmp_path / "empty.txt"
    empty.write_text("。。。\n", encoding="utf-8")
    with pytest.raises(CommandError, match="no characters"):
        run("yc-oral-1", "--reference", str(empty))
