"""The guards against Whisper's failures, on strings Whisper really wrote.

The loop and echo strings below are Whisper base's own output on the sample
clip (espeak-ng Cantonese, which it cannot understand) while this module was
written; the subtitle credits are the well-known ones it writes on silence.
"""

from __future__ import annotations

import opencc
import pytest

from transcription.engines import EngineSegment
from transcription.guards import (
    COLLOQUIAL_PINNED,
    hallucination_match,
    loop_collapse,
    prompt_echo,
    script_convert,
    segments_guard,
)

PROMPT = "以下係廣州話口述歷史訪問嘅逐字稿。"

#: What the interviewee says (ingest/sample/oral-history/teahouse-1938/reference.txt).
REAL_LINES = [
    "我姓梁，街坊都叫我梁伯。",
    "我哋屋企喺西關開茶樓，開咗三代人。",
    "朝早五點，師傅已經喺廚房整點心，蝦餃、燒賣、叉燒包，一籠一籠咁蒸。",
    "啲老街坊一盅兩件，坐喺度講吓時局，講吓邊度又炸咗。",
    "係係係，我記得。",
    "呢啲嘢唔講，後生一輩就唔會知㗎喇。",
    "我好鍾意睇有字幕嘅電影。",
    "多謝你嚟聽我講。",
]

SILENCE_HALLUCINATIONS = [
    "字幕由Amara.org社区提供",
    "字幕由Amara.org社區提供",
    "小編字幕由Amara.org社區提供",
    "請不吝點贊 訂閱 轉發 打賞支持明鏡與點點欄目",
    "请不吝点赞 订阅 转发 打赏支持明镜与点点栏目",
    "優優獨播劇場——YoYo Television Series Exclusive",
    "谢谢观看!",
    "謝謝觀看。",
    "中文字幕",
    "(字幕:J Chong)",
    "Thank you for watching.",
    "Thanks for watching!",
    "Subtitles by the Amara.org community",
    "MING PAO CANADA // MING PAO TORONTO",
    "請按旁邊的訂閱",
    "謝謝觀看 謝謝觀看",
]


def segment(start, end, text, **figures) -> EngineSegment:
    defaults = {
        "avg_logprob": -0.3,
        "no_speech_prob": 0.1,
        "compression_ratio": 1.2,
        "temperature": 0.0,
    }
    defaults.update(figures)
    return EngineSegment(start=start, end=end, text=text, **defaults)


@pytest.mark.parametrize("text", SILENCE_HALLUCINATIONS)
def test_known_hallucinations_on_silence_are_recognised(text):
    assert hallucination_match(text)


@pytest.mark.parametrize("text", REAL_LINES)
def test_real_speech_is_not_taken_for_a_hallucination(text):
    assert hallucination_match(text) is None
    assert loop_collapse(text) == (text, 0)
    assert not prompt_echo(text, PROMPT)


@pytest.mark.parametrize(
    ("looped", "unit"),
    [
        ("骨頭上,骨頭上,骨頭上,骨頭上,骨頭上,骨頭上,骨頭上,", "骨頭上"),
        (
            "諾先云, 戴方多云, 諾先云, 戴方多云, 諾先云, 戴方多云, "
            "諾先云, 戴方多云, 諾先云, 戴方多",
            "諾先云, 戴方多云",
        ),
        ("尤其是雙雙雙雙雙雙雙雙雙雙雙雙雙雙雙雙雙雙雙雙雙雙", "雙"),
        ("臭大人 臭大人 臭大人 臭大人 臭大人 臭大人 臭大人 臭大人 臭大人", "臭大人"),
        ("在我和祂的祂的祂的祂的祂的祂的祂的祂的祂的祂的祂的祂的祂的", "祂的"),
        (
            "在家庭上, 進到地步地上, 到小林方地隔地, 到小地安路中, 到小地安路中, "
            "到小地安路中, 到小地安路中, 到小地安路中,",
            "到小地安路中",
        ),
        (
            "我當時的經驗是當時的經驗是當時的經驗是當時的經驗是當時的經驗是當時的",
            "當時的經驗是",
        ),
        ("諾點諾點諾點諾點諾點諾點諾點諾點諾", "諾點"),
    ],
)
def test_a_phrase_in_a_loop_keeps_at_most_two_repetitions(looped, unit):
    collapsed, removed = loop_collapse(looped)
    assert removed > 0
    assert collapsed.count(unit) == 2
    assert len(collapsed) < len(looped)
    # What came before the loop is kept.
    assert collapsed[:2] == looped[:2]


def hk_traditional(text: str) -> bool:
    """Whether OpenCC s2hk leaves ``text`` as it is (the pinned Cantonese characters aside)."""
    rest = "".join(ch for ch in text if ch not in COLLOQUIAL_PINNED)
    return opencc.OpenCC("s2hk").convert(rest) == rest


def test_script_conversion_gives_hong_kong_traditional_and_leaves_traditional_alone():
    assert script_convert("骨头上，我们的广州话") == "骨頭上，我們的廣州話"
    assert script_convert("字幕由Amara.org社区提供") == "字幕由Amara.org社區提供"
    for line in [*REAL_LINES, PROMPT, "裡面", "皇后", "乾隆年間", "著名", "搵食"]:
        assert script_convert(line) == line
        assert script_convert(script_convert(line)) == script_convert(line)
        assert hk_traditional(script_convert(line))


def test_colloquial_cantonese_characters_keep_their_cantonese_form():
    # s2hk alone writes 講嚇 (to frighten), 唔該曬 (to sun-dry) and the mainland 揾.
    assert (
        script_convert("讲吓时局，唔该晒，揾食，郁手") == "講吓時局，唔該晒，搵食，郁手"
    )
    assert script_convert("吓了一跳", colloquial=False) == "嚇了一跳"
    assert script_convert("忧郁", colloquial=False) == "憂鬱"


def test_echoes_of_the_prompt_are_recognised():
    for echo in [
        "以下廣州話口述歷史訪問嘅逐字稿。",
        "此時, 以下廣州話口述歷史訪問嘅逐字稿。",
        "廣州話口述歷史訪問嘅逐字稻辣。",
        "在廣州話口述歷史訪問嘅逐字稿。",
        "諾先生, 以下廣州話口述歷史訪問嘅逐字稿。諾先生,",
        # Whisper base on the sample clip in CI (only the prompt's tail, looped).
        "諾先生, 該訪問嘅逐字稿。諾您OK嘅宣傳。諾先生, 該訪問嘅逐字稿。諾您OK嘅宣傳。諾您OK嘅宣傳",
    ]:
        assert prompt_echo(echo, PROMPT), echo


def test_guard_drops_and_reports_every_failure_and_keeps_speech():
    segments = [
        segment(0.0, 3.0, "我姓梁，街坊都叫我梁伯。"),
        segment(3.0, 5.0, "字幕由Amara.org社区提供"),
        segment(5.0, 8.0, "此時, 以下廣州話口述歷史訪問嘅逐字稿。"),
        segment(8.0, 9.0, "嗯", no_speech_prob=0.93, avg_logprob=-1.4),
        segment(
            9.0,
            30.0,
            "道道道道道道道道道道道道道道道道道道道道道道",
            compression_ratio=37.2,
        ),
        segment(30.0, 31.0, " \ufffd "),
        segment(
            31.0,
            40.0,
            "骨頭上,骨頭上,骨頭上,骨頭上,骨頭上,",
            words=[(31.0 + i, 31.9 + i, "骨頭上,", 0.5) for i in range(5)],
        ),
        segment(40.0, 41.0, "我哋屋企喺西關開茶樓。"),
        segment(41.0, 42.0, "我哋屋企喺西關開茶樓。"),
        segment(42.0, 43.0, "我哋屋企喺西关开茶楼"),
        segment(58.0, 61.0, "一九三八年，我先至十二歲。\ufffd"),
        segment(61.0, 62.0, "後生一輩"),
    ]
    result = segments_guard(segments, audio_end=60.0, prompt=PROMPT)
    kept = [(s.start, s.end, s.text) for s in result.kept]
    assert kept == [
        (0.0, 3.0, "我姓梁，街坊都叫我梁伯。"),
        (31.0, 32.9, "骨頭上,骨頭上,"),
        (40.0, 41.0, "我哋屋企喺西關開茶樓。"),
        (41.0, 42.0, "我哋屋企喺西關開茶樓。"),
        (58.0, 60.0, "一九三八年，我先至十二歲。"),
    ]
    # The collapsed loop keeps the words it still says.
    assert [w[2] for w in result.kept[1].words] == ["骨頭上,", "骨頭上,"]
    reasons = {d["start"]: d["reason"] for d in result.dropped}
    assert "hallucination" in reasons[3.0]
    assert "prompt" in reasons[5.0]
    assert "silence" in reasons[8.0]
    assert "compression ratio" in reasons[9.0]
    assert reasons[30.0] == "no text"
    assert "loop" in reasons[31.0]
    assert "in a row" in reasons[42.0]
    assert "past the end" in reasons[61.0]
    for record in result.dropped:
        assert set(record) == {"text", "start", "end", "reason"}
    assert result.dropped[0]["text"] == "字幕由Amara.org社區提供"


def test_repeated_lines_are_counted_across_a_step_boundary():
    line = "警報一響，成條街嘅人都要走去防空洞匿埋。"
    result = segments_guard(
        [
            segment(120.0, 124.0, line),
            segment(124.0, 128.0, "我阿爸話，茶樓唔可以停。"),
        ],
        audio_end=240.0,
        previous_texts=[line, line],
    )
    assert [s.text for s in result.kept] == ["我阿爸話，茶樓唔可以停。"]
    assert "in a row" in result.dropped[0]["reason"]


def test_guarded_segments_come_out_in_order_and_converted():
    result = segments_guard(
        [
            segment(5.0, 6.0, "后来我们走难去香港"),
            segment(1.0, 7.0, "广州沦陷"),
        ],
        audio_end=10.0,
    )
    assert [s.text for s in result.kept] == ["廣州淪陷", "後來我們走難去香港"]
    starts = [s.start for s in result.kept]
    assert starts == sorted(starts)
