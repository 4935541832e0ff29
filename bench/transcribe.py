"""Transcription benchmark: the archive's pipeline against bare faster-whisper, speed and CER.

Run with ``make bench`` or ``.venv/bin/python bench/transcribe.py [--quick]
[--save FILE]``; ``--report FILE`` prints the tables of a saved run again. On
the project's 2-core machine, shared with other work, the full run took 33
minutes (the float32 settings most of it) and ``--quick`` about 4.

**The recording is synthetic.** espeak-ng (``-v yue``) reads a Cantonese
oral-history text written for this benchmark (:data:`TEXT`, about 1,500
characters, Traditional) into a 5-minute WAV at 16 kHz; the text is the
reference. Whisper base cannot understand espeak's robotic Cantonese: it
loops and hallucinates on it, so the character error rates here are a
pipeline fixture and a worst case (what the guards face), **not** a measure
of accuracy on real interviews. Real Cantonese speech decodes faster (fewer
fallbacks, no runaway windows) and far more accurately.

What it does, in one run:

1. Makes the recording (espeak-ng's rate is set so the text lasts 5 minutes;
   1 minute of its first paragraphs with ``--quick``), 1 minute of digital
   silence and 1 minute of white noise (-20 dBFS).
2. **Side by side, same file, same options.** The archive's pipeline
   (``transcription.services.run.transcript_run`` on a Transcript of the
   recording in a throw-away archive: SQLite database and storage in a
   temporary folder, production settings, ``manage.py migrate`` first, not
   timed): decode with PyAV, VAD-cut steps, faster-whisper, guards, OpenCC,
   store. The named baseline: bare ``faster_whisper.WhisperModel.transcribe``
   on the same file with exactly the options the pipeline passes (taken from
   ``FasterWhisperEngine.options`` and checked against the options the
   pipeline recorded on its transcript). Runs alternate bare, pipeline,
   pipeline, bare, so load from other users of the machine falls on both.
   Each run is its own process; the model is loaded before the clock starts
   (load time reported apart). Wall time, CPU time (user + system, all
   threads: less sensitive to other processes on the machine than wall
   time) and peak RSS (``ru_maxrss`` from ``os.wait4``, the whole process's
   life, model load and Django included).
3. **Settings.** Bare faster-whisper with the pipeline's options, for int8
   and float32, beam 1 and 5, VAD on and off (``--quick``: four of them):
   real-time factor, peak RSS and the CER of each against the reference
   (``transcription.evaluation.cer``, after ``archive.text.normalise_for_cer``).
4. Silence and noise through the pipeline and bare: no text expected, never
   slower than real time.

Real-time factor here is audio seconds per wall second (higher is faster;
5x means a 5-minute recording takes a minute). Targets (issue 5, part 9):
the pipeline within 1.1x of bare; at least 5x real time on the 5-minute clip
with int8 and the guards on; never slower than real time on any input,
silence and noise included; peak memory under 1.5 GiB. Nothing is asserted:
the script exits 0 whether they are met or not, 1 when a run failed.
docs/performance.md records the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MANAGE = ROOT / "manage.py"
SAMPLE_RATE = 16000
RATIO_TARGET = 1.1
SPEED_TARGET = 5.0
MEMORY_TARGET = 1.5 * 2**30  # bytes
#: The recording, in seconds, and how close espeak-ng's rate must bring it.
FULL_SECONDS, QUICK_SECONDS, TOLERANCE = 300.0, 60.0, 0.02
SIDE_SECONDS = 60.0  # silence and noise
NOISE_DBFS = -20.0
SEED = 20381

#: A Cantonese oral history, written for this benchmark (no real person): a
#: woman born in Xiguan in 1932 remembers the teahouses, the war, the mill
#: and the city's changes. Colloquial written Cantonese, Traditional
#: characters, Hong Kong forms; paragraphs are separated by blank lines.
TEXT = """\
我叫陳麗芳，一九三二年喺廣州西關出世。我屋企住喺寶華路，係一間兩層高嘅竹筒屋，前面係舖頭，後面同樓上就係我哋一家人住嘅地方。我阿爸喺十八甫開咗間細細嘅涼茶舖，阿媽就喺屋企幫人車衫，賺啲錢幫補家用。我哋兄弟姊妹一共有五個，我排第三，上面有兩個哥哥，下面有一個細佬同一個細妹。

細個嗰陣，西關好熱鬧。朝早天未光，街口嘅茶樓已經開門，啲阿伯拎住雀籠去飲早茶，一盅兩件，一坐就坐成個上晝。我阿爺最鍾意去陶陶居，佢成日話嗰度嘅蝦餃皮薄餡靚，叉燒包又鬆又軟。有時佢會帶埋我去，我就坐喺隔籬食糖不甩，聽佢同啲老友記傾偈，講下邊間舖頭生意好，邊個街坊娶新抱。

我阿爸嘅涼茶舖雖然細，但係好多街坊都幫襯。佢每日天未光就起身煲茶，廿四味、五花茶、夏枯草，一煲一煲咁擺喺櫃面，用碗蓋住。啲苦力同車伕行過，就停落嚟飲碗茶先再開工，一碗兩個仙。阿爸成日話，做生意最緊要老實，啲藥材唔可以慳，飲壞人就冇面見人。我細個成日幫佢洗碗，洗到對手都爆晒，但係聽住啲客人傾偈，都學識好多嘢。

我哋嗰條街有好多騎樓，落雨都唔使擔遮。啲細路放學之後就喺騎樓底度玩，跳飛機、踢毽、捉迷藏，玩到阿媽喺樓上大聲叫先肯返屋企食飯。夏天好熱，我哋會去荔枝灣游水，嗰陣啲水仲好清，岸邊有好多艇仔，賣艇仔粥嘅阿嬸一路搖一路叫賣，啲粥又綿又滑，落好多魚片、花生同油炸鬼，而家諗返起都仲流口水。

每年過年之前，我哋一家人一定會去行花街。阿爸會買一棵桃花返屋企，話係旺桃花、旺生意。阿媽就會喺屋企炸油角、蒸蘿蔔糕，成間屋都係香味。年三十晚食完團年飯，我哋幾兄弟姊妹就等阿爺派利是，攞到利是就即刻拆開數下有幾多錢，然後收埋喺枕頭底。端午節就去睇扒龍船，泮塘嘅龍船最出名，啲鼓聲響到成條街都聽到。

一九三八年，日本仔打到嚟廣州。我記得嗰年秋天，成日都有飛機嚟轟炸，警報一響，阿媽就拉住我哋走去防空洞度匿埋。有一次炸彈跌咗落隔籬街，成排屋都冇晒，我哋嚇到喊都喊唔出聲。後來阿爸話唔可以再留喺度，就執咗幾件衫，帶住一家人行咗好多日路，返去台山鄉下避難。喺鄉下嗰幾年好辛苦，冇乜嘢食，日日都係番薯同粥水，我細佬仲病咗一場，差啲冇命。

打完仗之後，我哋返到廣州，間舖頭已經俾人霸咗，屋企啲嘢都冇晒。阿爸唯有喺街邊擺個檔口賣涼茶，由頭嚟過。我十四歲就出嚟做嘢，喺一間織布廠做女工，朝早七點返工，夜晚七點先放工，一個月人工得幾蚊，全部都攞返屋企俾阿媽。嗰陣雖然辛苦，但係同廠嘅姊妹好好人，大家互相照應，放假就一齊去沙面行下，睇下啲洋樓，喺珠江邊吹下風。

一九四九年之後，廣州又變咗另一個樣。工廠改咗做公私合營，我哋要返夜校學識字，我就係嗰陣先學識寫自己個名。後來我喺廠入面識咗我老公，佢係機修師傅，人好老實，唔多講嘢，但係好識照顧人。我哋一九五六年結婚，擺咗幾圍酒，請晒啲街坊同工友嚟飲，嗰晚好開心，我到而家都記得。

我有三個仔女，大仔一九五八年出世，嗰陣屋企好窄，一家五口瞓喺一間房，夜晚要搭碌架床。我返工嘅時候，就將啲細路交畀隔籬嘅王師奶湊，佢自己都有四個細路，但係從來冇講過一句唔得。嗰陣嘅街坊真係好似一家人咁，邊個屋企有事，大家都會過嚟幫手，煲多碗湯、煮多碗飯，唔使講多謝。

五六十年代買嘢要用糧票同布票，米、油、豬肉都有定量。阿媽好叻計數，每個月啲票點樣用，佢都安排得好好。我哋最期待就係過節，因為可以食到雞。得閒嘅時候，我老公會帶我去睇大戲，喺海珠戲院睇紅線女做戲，佢把聲真係好好聽，成場人都拍爛手掌。返到屋企，我成晚都喺度哼，佢就笑我唱得好似鴨仔叫咁。

而家西關都變咗好多，好多舊屋拆咗，起晒高樓大廈，荔枝灣都整過，變咗旅遊景點。有時我同啲孫仔孫女行返去嗰頭，佢哋聽唔明我講乜，話嫲嫲講嘅嘢好似故仔咁。我諗，趁我仲記得，講多啲出嚟畀人錄低，等後生嘅都知道以前廣州人係點樣生活嘅，咁都算係一件好事。
"""
#: Paragraphs read for ``--quick`` (about a minute at the full run's rate).
QUICK_PARAGRAPHS = 2

#: (compute type, beam size, VAD) of the bare settings; the first is the pipeline's.
SETTINGS_FULL = [
    ("int8", 1, True),
    ("int8", 1, False),
    ("int8", 5, True),
    ("int8", 5, False),
    ("float32", 1, True),
    ("float32", 1, False),
    ("float32", 5, True),
    ("float32", 5, False),
]
SETTINGS_QUICK = [
    ("int8", 1, True),
    ("int8", 1, False),
    ("int8", 5, True),
    ("float32", 1, True),
]


# ---------------------------------------------------------------------------
# Audio
# ---------------------------------------------------------------------------
def espeak_path() -> str:
    """espeak-ng, installed with apt-get when missing (as ``make bench`` does for its tools)."""
    found = shutil.which("espeak-ng")
    if found:
        return found
    print("espeak-ng is missing; installing the Debian package espeak-ng", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "espeak-ng"],
        check=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        stdout=subprocess.DEVNULL,
    )
    found = shutil.which("espeak-ng")
    if not found:
        sys.exit("transcribe bench: espeak-ng could not be installed")
    return found


def wav_write(path: Path, samples: np.ndarray) -> None:
    """Write float samples in [-1, 1] as 16-bit mono WAV at 16 kHz."""
    pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm.tobytes())


def wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


def resample_16k(source: Path, target: Path) -> None:
    """espeak-ng's 22.05 kHz WAV to 16 kHz mono, with PyAV's (FFmpeg's) resampler."""
    import av

    pieces = []
    with av.open(str(source)) as container:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        for frame in container.decode(audio=0):
            pieces.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(frame))
        pieces.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(None))
    wav_write(target, np.concatenate(pieces).astype(np.float32) / 32768.0)


def speech_make(text: str, seconds: float, target: Path) -> dict:
    """Read ``text`` with espeak-ng's Cantonese voice, at the rate that lasts ``seconds``."""
    espeak = espeak_path()
    text_file = target.with_suffix(".txt")
    text_file.write_text(text, encoding="utf-8")
    raw = target.with_suffix(".22k.wav")
    rate = 175  # espeak-ng's default, words per minute
    for _ in range(6):
        subprocess.run(
            [
                espeak,
                "-v",
                "yue",
                "-s",
                str(rate),
                "-w",
                str(raw),
                "-f",
                str(text_file),
            ],
            check=True,
        )
        got = wav_seconds(raw)
        if abs(got - seconds) <= seconds * TOLERANCE:
            break
        rate = max(80, min(450, round(rate * got / seconds)))
    resample_16k(raw, target)
    raw.unlink()
    version = (
        subprocess.run(
            [espeak, "--version"], capture_output=True, text=True, check=True
        )
        .stdout.split("Data at")[0]
        .strip()
    )
    return {"seconds": wav_seconds(target), "rate": rate, "espeak": version}


def silence_make(target: Path, seconds: float) -> None:
    wav_write(target, np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32))


def noise_make(target: Path, seconds: float) -> None:
    """White Gaussian noise at NOISE_DBFS (RMS), seeded."""
    rms = 10 ** (NOISE_DBFS / 20)
    rng = np.random.default_rng(SEED)
    wav_write(target, rng.normal(0.0, rms, int(seconds * SAMPLE_RATE)))


# ---------------------------------------------------------------------------
# The throw-away archive and the runs (each in its own process)
# ---------------------------------------------------------------------------
class Archive:
    """A throw-away archive: settings, SQLite database and storage in one folder."""

    def __init__(self, parent: Path) -> None:
        self.dir = parent / "archive"
        self.dir.mkdir()
        self.env = {
            **os.environ,
            "DJANGO_ENV": "production",
            "DJANGO_SETTINGS_MODULE": "archive.settings.production",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_LOG_LEVEL": "WARNING",
            "DATABASE_URL": f"sqlite:///{self.dir / 'bench.sqlite3'}",
            "ARCHIVE_STORAGE_ROOT": str(self.dir / "storage"),
            "YUECANG_VAR_DIR": str(self.dir / "var"),
            # The joined bundled model is shared with the project's var/ (joined once).
            "WHISPER_MODEL_CACHE": str(ROOT / "var" / "models"),
            "WHISPER_MODEL": "bundled",
            "WHISPER_DEVICE": "cpu",
            "WHISPER_COMPUTE_TYPE": "int8",
            "WHISPER_BEAM_SIZE": "1",
            "WHISPER_CPU_THREADS": "0",
            "TRANSCRIPTION_ENGINE": "transcription.engines.FasterWhisperEngine",
            "TRANSCRIPTION_AUTO": "false",
        }
        for name in ("CELERY_BROKER_URL", "TRANSCRIPTION_CHUNK_SECONDS"):
            self.env.pop(name, None)

    def migrate(self) -> None:
        subprocess.run(
            [sys.executable, str(MANAGE), "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=self.env,
            check=True,
        )


def run_worker(job: dict, env: dict, work: Path) -> dict:
    """Run one transcription in a fresh process; its result plus its peak RSS."""
    job_file = work / f"job-{secrets.token_hex(4)}.json"
    out_file = job_file.with_suffix(".out.json")
    job = {**job, "out": str(out_file)}
    job_file.write_text(json.dumps(job), encoding="utf-8")
    log = job_file.with_suffix(".log")
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker", str(job_file)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        # wait4, not Popen.wait: its rusage is this process's alone
        # (ru_maxrss: its peak resident set, in KiB on Linux).
        _, status, usage = os.wait4(process.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0 or not out_file.exists():
        print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
        sys.exit(f"transcribe bench: a {job['mode']} run FAILED (exit status {code})")
    result = json.loads(out_file.read_text(encoding="utf-8"))
    result["maxrss_kib"] = usage.ru_maxrss
    result["job"] = job
    return result


def _cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def bare_worker(job: dict) -> dict:
    """Bare faster-whisper on the file, with the options given (the pipeline's)."""
    import ctranslate2
    from faster_whisper import WhisperModel

    options = job["options"]
    started = time.perf_counter()
    model = WhisperModel(
        job["model_path"],
        device=options["device"],
        compute_type=options["compute_type"],
        cpu_threads=options["cpu_threads"],
    )
    load_s = time.perf_counter() - started
    # The engine's rule: 'yue' when the model has it, else 'zh'.
    has_yue = model.model.is_multilingual and (
        model.hf_tokenizer.token_to_id("<|yue|>") is not None
    )
    language = "yue" if has_yue else "zh"
    ctranslate2.set_random_seed(job["random_seed"])
    cpu, start = _cpu(), time.perf_counter()
    segments, info = model.transcribe(
        job["audio"],
        language=language,
        task="transcribe",
        beam_size=options["beam_size"],
        best_of=options["best_of"],
        temperature=list(options["temperatures"]),
        compression_ratio_threshold=options["compression_ratio_threshold"],
        log_prob_threshold=options["log_prob_threshold"],
        no_speech_threshold=options["no_speech_threshold"],
        condition_on_previous_text=options["condition_on_previous_text"],
        initial_prompt=job["prompt"] or None,
        word_timestamps=options["word_timestamps"],
        vad_filter=options["vad_filter"],
        vad_parameters=options["vad_parameters"],
        max_new_tokens=options["max_new_tokens"],
        hallucination_silence_threshold=options["hallucination_silence_threshold"],
    )
    texts = [segment.text for segment in segments]
    return {
        "seconds": time.perf_counter() - start,
        "cpu": _cpu() - cpu,
        "load_s": load_s,
        "language": language,
        "audio_s": info.duration,
        "text": "\n".join(texts),
        "segments": len(texts),
    }


def _timed(name: str, function, clock: dict):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            clock[name] = clock.get(name, 0.0) + time.perf_counter() - start

    return wrapper


def pipeline_worker(job: dict) -> dict:
    """``transcript_run`` on a new Transcript of the file, in the throw-away archive."""
    import django

    django.setup()
    from archive.models import Institution, Item
    from archive.services import asset_create
    from transcription.engines import engine_get
    from transcription.models import Transcript
    from transcription.services import run

    engine = engine_get()
    started = time.perf_counter()
    engine.whisper  # noqa: B018 (load the model before the clock starts)
    load_s = time.perf_counter() - started
    institution, _ = Institution.objects.get_or_create(
        code="bench", defaults={"name": "基準測試", "name_en": "Benchmark"}
    )
    item = Item.objects.create(
        kind=Item.Kind.ORAL_HISTORY,
        title="合成語音基準測試",
        institution=institution,
    )
    asset, _ = asset_create(item=item, source=Path(job["audio"]), role="media")
    transcript = Transcript.objects.create(
        item=item, asset=asset, register="yue", language="yue"
    )
    # Where the time goes: each stage of the run, timed by a thin wrapper.
    clock: dict[str, float] = {}
    for name in ("audio_decode", "step_end", "segments_guard", "_step_store"):
        setattr(run, name, _timed(name, getattr(run, name), clock))
    engine.transcribe = _timed("engine", engine.transcribe, clock)
    cpu, start = _cpu(), time.perf_counter()
    run.transcript_run(transcript=transcript)
    seconds = time.perf_counter() - start
    cpu = _cpu() - cpu
    transcript.refresh_from_db()
    texts = list(
        transcript.segments.order_by("start", "pk").values_list(
            "machine_text", flat=True
        )
    )
    return {
        "seconds": seconds,
        "cpu": cpu,
        "load_s": load_s,
        "audio_s": transcript.duration,
        "status": transcript.status,
        "error": transcript.error,
        "text": "\n".join(texts),
        "segments": len(texts),
        "dropped": len(transcript.dropped),
        "dropped_reasons": ", ".join(
            f"{reason} {count}"
            for reason, count in Counter(
                re.split(r" ?[(:]", d["reason"], maxsplit=1)[0]
                for d in transcript.dropped
            ).most_common()
        ),
        "fallbacks": len(transcript.fallbacks),
        "steps": len(transcript.options.get("steps", [])),
        "options": transcript.options,
        "clock": clock,
    }


def worker_main(job_file: Path) -> None:
    job = json.loads(job_file.read_text(encoding="utf-8"))
    result = (bare_worker if job["mode"] == "bare" else pipeline_worker)(job)
    Path(job["out"]).write_text(
        json.dumps(result, ensure_ascii=False), encoding="utf-8"
    )


# ---------------------------------------------------------------------------
# The parent
# ---------------------------------------------------------------------------
def engine_options(compute_type: str, beam_size: int, vad: bool) -> tuple[dict, dict]:
    """The pipeline's faster-whisper options for a setting, and the rest of the job."""
    from transcription.engines import (
        INITIAL_PROMPTS,
        FasterWhisperEngine,
        bundled_model_path,
    )

    engine = FasterWhisperEngine(
        model="bundled",
        device="cpu",
        compute_type=compute_type,
        cpu_threads=0,
        beam_size=beam_size,
        cache_dir=ROOT / "var" / "models",
    )
    options = {**engine.options, "vad_filter": vad}
    job = {
        "model_path": str(bundled_model_path(ROOT / "var" / "models")),
        "prompt": INITIAL_PROMPTS["yue"],
        "random_seed": engine.random_seed,
    }
    return options, job


def mib(kib: float) -> str:
    return f"{kib / 1024:,.0f} MiB"


def label(setting: tuple[str, int, bool]) -> str:
    compute, beam, vad = setting
    return f"{compute:<7} beam {beam}  VAD {'on ' if vad else 'off'}"


def sample(text: str, width: int = 60) -> str:
    flat = re.sub(r"\s+", " ", text).strip()
    return (flat[:width] + "…") if len(flat) > width else flat or "(no text)"


def cpu_share(run: dict, threads: int) -> float:
    """How much of its threads' time the run got: CPU s / (wall s x threads)."""
    return run["cpu"] / (run["seconds"] * threads)


def report(data: dict) -> None:
    """Print the tables and the targets from the runs' results."""
    from transcription.evaluation import cer_result

    reference, options = data["reference"], data["options"]
    bares, pipes, sides = data["bares"], data["pipes"], data["sides"]
    threads = options["cpu_threads"]
    audio_s = data["made"]["seconds"]

    def rtf(run: dict) -> float:
        return run["audio_s"] / run["seconds"]

    def cpu_rtf(run: dict) -> float:
        # Audio seconds per second of the threads' CPU time: the speed the run
        # would have had with its cores to itself and perfect threading.
        return run["audio_s"] / (run["cpu"] / threads) if run["cpu"] else float("inf")

    def row(name: str, run: dict, score: str = "") -> str:
        return (
            f"  {name:<28}{run['seconds']:8.1f} {rtf(run):7.2f}x {run['cpu']:7.1f} "
            f"{cpu_share(run, threads):6.0%} {cpu_rtf(run):8.1f}x "
            f"{mib(run['maxrss_kib']):>9}  {score}"
        )

    header = (
        "  run                           wall s  x real   CPU s  share  x per CPU"
        "   peak RSS  "
    )
    print(
        f"\nside by side on the {audio_s:.0f}-s recording (int8, beam "
        f"{options['beam_size']}, VAD on, {threads} threads; model loaded before the "
        "clock; 'x per CPU' = audio s / (CPU s / threads), the speed with the cores "
        "to itself):"
    )
    print(header + "CER   load s")
    for name, runs in (("bare faster-whisper", bares), ("archive pipeline", pipes)):
        for n, run in enumerate(runs, 1):
            score = cer_result(run["text"], reference).cer
            print(row(f"{name} #{n}", run, f"{score:.3f}  {run['load_s']:5.1f}"))
    bare_s = sum(r["seconds"] for r in bares)
    pipe_s = sum(r["seconds"] for r in pipes)
    ratio = pipe_s / bare_s
    cpu_ratio = sum(r["cpu"] for r in pipes) / sum(r["cpu"] for r in bares)
    print(
        f"  pipeline / bare: {ratio:.2f}x wall, {cpu_ratio:.2f}x CPU (sums of both runs)"
    )
    print(
        "  the baseline's options = those the pipeline recorded on its transcript: "
        f"{'yes' if data['same_options'] else 'NO'} (language "
        f"{pipes[0]['options'].get('language')}, initial prompt {data['prompt']})"
    )
    for n, run in enumerate(pipes, 1):
        clock = run["clock"]
        print(
            f"  pipeline #{n}: decode {clock.get('audio_decode', 0):.1f} s, step "
            f"boundaries (VAD) {clock.get('step_end', 0):.1f} s, faster-whisper "
            f"{clock.get('engine', 0):.1f} s in {run['steps']} steps, guards + OpenCC "
            f"{clock.get('segments_guard', 0):.2f} s, store "
            f"{clock.get('_step_store', 0):.2f} s, rest "
            f"{run['seconds'] - sum(clock.values()):.2f} s; {run['status']}, "
            f"{run['segments']} segments kept, {run['dropped']} dropped or collapsed "
            f"({run['dropped_reasons']}), {run['fallbacks']} windows fell back"
        )
    print(f"  bare text:     {sample(bares[0]['text'])}")
    print(f"  pipeline text: {sample(pipes[-1]['text'])}")

    print(
        f"\nbare faster-whisper, the pipeline's options, on the {audio_s:.0f}-s recording:"
    )
    print(header + "CER     text")
    settings_runs = [(tuple(k), v) for k, v in data["settings"]]
    for setting, runs in settings_runs:
        run = min(runs, key=lambda r: r["seconds"])
        score = cer_result(run["text"], reference).cer
        print(row(label(setting), run, f"{score:.3f}   {sample(run['text'], 20)}"))

    print(
        f"\n{SIDE_SECONDS:.0f} s of digital silence and of white noise "
        f"({NOISE_DBFS:.0f} dBFS), int8 beam {options['beam_size']}:"
    )
    print(header + "segments  text")
    for name, runs in sides.items():
        for kind, run in runs.items():
            print(
                row(
                    f"{name}, {kind}",
                    run,
                    f"{run['segments']:8d}  {sample(run['text'], 24)}",
                )
            )

    all_runs = [*bares, *pipes] + [r for _, rs in settings_runs for r in rs]
    all_runs += [run for runs in sides.values() for run in runs.values()]
    peak = max(r["maxrss_kib"] for r in all_runs)
    pipeline_runs = [*pipes] + [runs["pipeline"] for runs in sides.values()]
    slowest = min(pipeline_runs, key=rtf)
    speed = statistics.median(rtf(r) for r in pipes)
    speed_cpu = statistics.median(cpu_rtf(r) for r in pipes)
    clip = f"{audio_s:.0f}-s clip" + (
        " (--quick; the target is on 300 s)" if data["quick"] else ""
    )

    def verdict(ok: bool) -> str:
        return "MET" if ok else "MISSED"

    print("\ntargets (issue 5, part 9), on wall time:")
    lines = [
        (
            f"pipeline within {RATIO_TARGET}x of bare faster-whisper",
            f"{ratio:.2f}x wall ({cpu_ratio:.2f}x CPU)",
            ratio <= RATIO_TARGET,
        ),
        (
            f">= {SPEED_TARGET:.0f}x real time, int8, guards on",
            f"{speed:.2f}x ({speed_cpu:.1f}x per CPU) on the {clip}",
            speed >= SPEED_TARGET,
        ),
        (
            "never slower than real time (speech, silence, noise)",
            f"slowest pipeline run {rtf(slowest):.2f}x",
            rtf(slowest) >= 1.0,
        ),
        (
            "peak memory < 1.5 GiB",
            f"{mib(peak)} (largest process of all runs)",
            peak * 1024 < MEMORY_TARGET,
        ),
    ]
    for target, measured, ok in lines:
        print(f"  {target:<54}{measured:<44}{verdict(ok)}")
    load_before, load_after = data["load"]
    print(
        f"\nwhole run {data['elapsed'] / 60:.1f} min; load average {load_before:.1f} "
        f"before, {load_after:.1f} after, on {os.cpu_count()} cores: other users of "
        "the machine stretch wall times ('share' column), CPU times much less"
    )
    if not data["same_options"]:
        print(
            "WARNING: the baseline's options differ from the pipeline's",
            file=sys.stderr,
        )


def main() -> None:
    """Make the audio, run the pipeline and the baseline, print the figures and targets."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--quick", action="store_true", help="1-minute clip, 4 settings"
    )
    parser.add_argument(
        "--save", type=Path, help="also write every result to this JSON file"
    )
    parser.add_argument(
        "--report",
        type=Path,
        help="print the tables of a --save file again, run nothing",
    )
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(args.worker)
        return
    if args.report:
        report(json.loads(args.report.read_text(encoding="utf-8")))
        return

    from archive.text import normalise_for_cer

    clip_seconds = QUICK_SECONDS if args.quick else FULL_SECONDS
    paragraphs = [p for p in TEXT.split("\n\n") if p.strip()]
    reference = "\n\n".join(paragraphs[:QUICK_PARAGRAPHS] if args.quick else paragraphs)
    settings_list = SETTINGS_QUICK if args.quick else SETTINGS_FULL
    work = Path(tempfile.mkdtemp(prefix="yuecang-bench-transcribe-"))
    load_before = os.getloadavg()
    began = time.perf_counter()
    try:
        speech = work / "speech.wav"
        made = speech_make(reference, clip_seconds, speech)
        silence, noise = work / "silence.wav", work / "noise.wav"
        silence_make(silence, SIDE_SECONDS)
        noise_make(noise, SIDE_SECONDS)
        archive = Archive(work)
        archive.migrate()
        print(
            f"transcribe bench{' (--quick)' if args.quick else ''}: bundled Whisper base, "
            f"{os.cpu_count()} cores, load average before {load_before[0]:.1f}"
        )
        print(
            f"  recording: SYNTHETIC speech, {made['espeak']} -v yue at "
            f"{made['rate']} wpm, {made['seconds']:.1f} s, 16 kHz mono; reference "
            f"{len(normalise_for_cer(reference))} characters spoken. Whisper base cannot "
            "understand espeak: CER is a fixture / worst case, not accuracy."
        )

        default = settings_list[0]
        options, extra = engine_options(*default)

        def bare(audio: Path, setting=default) -> dict:
            opts, more = engine_options(*setting)
            return run_worker(
                {"mode": "bare", "options": opts, **more, "audio": str(audio)},
                archive.env,
                work,
            )

        def pipeline(audio: Path) -> dict:
            return run_worker(
                {"mode": "pipeline", "audio": str(audio)}, archive.env, work
            )

        # 1. Side by side: bare, pipeline, pipeline, bare.
        print(
            "\nrunning: pipeline and bare faster-whisper, alternating ...", flush=True
        )
        bares, pipes = [], []
        for order in ("bare", "pipeline", "pipeline", "bare"):
            (bares if order == "bare" else pipes).append(
                bare(speech) if order == "bare" else pipeline(speech)
            )
        recorded = pipes[0]["options"]
        same = all(recorded.get(k) == v for k, v in options.items())
        language_same = pipes[0]["options"].get("language") == bares[0]["language"]

        # 2. The settings (the default one is the side-by-side's bare runs).
        results = {default: bares}
        for setting in settings_list[1:]:
            print(f"running: bare, {label(setting)} ...", flush=True)
            results[setting] = [bare(speech, setting)]

        # 3. Silence and noise: the pipeline, bare with its options, and bare
        # without VAD (what the decoder itself does when noise reaches it).
        print("running: silence and noise ...", flush=True)
        no_vad = (default[0], default[1], False)
        sides = {
            name: {
                "pipeline": pipeline(path),
                "bare": bare(path),
                "bare, VAD off": bare(path, no_vad),
            }
            for name, path in (("silence", silence), ("noise", noise))
        }
        data = {
            "quick": args.quick,
            "made": made,
            "reference": reference,
            "options": options,
            "prompt": extra["prompt"],
            "same_options": same and language_same,
            "bares": bares,
            "pipes": pipes,
            "settings": [[list(k), v] for k, v in results.items()],
            "sides": sides,
            "elapsed": time.perf_counter() - began,
            "load": [load_before[0], os.getloadavg()[0]],
        }
        if args.save:
            args.save.write_text(json.dumps(data, ensure_ascii=False, indent=1))
        report(data)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
