"""Every hostile or broken model container, submitted over HTTP to one phase and run by one
real Celery inference worker (PostgreSQL, Redis, Docker; no mocks), ends in its own clear
outcome that a participant can act on, leaks no server path, leaves no sandbox container or
image behind, and a good container queued after all of them is still run, scored and ranked.

The worker is this module's own: it runs under tiny limits (64 MiB memory, 32 processes,
8 MiB of /output) that are read from the environment at start-up, so it cannot be the
session's shared worker. Its tasks go to queues of their own (`task_routes` of the sending
process, i.e. this one, which hosts the live server) so no other worker picks them up.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import requests
from challenges.models import Phase, Submission
from django.core.management import call_command

from tests.live_worker import purge_queues, route_tasks_to, running_worker
from tests.platform.conftest import DATA, require_data
from tests.platform.test_inference_e2e import Participant, container_archive, truth_masks

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

MiB = 1024 * 1024
QUEUES = {"inference": "hostile-inference", "scoring": "hostile-scoring"}
WORKER_LIMITS = {
    "FETALBENCH_INFERENCE_MEMORY_BYTES": str(64 * MiB),
    "FETALBENCH_INFERENCE_PIDS": "32",
    "FETALBENCH_INFERENCE_OUTPUT_BYTES": str(8 * MiB),
    "FETALBENCH_INFERENCE_CPUS": "1",
}
SHORT_SECONDS = 3  # endless loop and fork bomb: the time limit is what ends them
RUN_SECONDS = 20  # everything else ends on its own well before this


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def tiny_truth(tmp_path_factory) -> Path:
    """Two cases (one HC18, one PSFHS head) with their images, so containers can be run."""
    import cv2
    import SimpleITK as sitk

    from evaluator.importers.hc18 import filled_head, read_release_csv
    from evaluator.truth import write_truth_set

    require_data()
    hc18 = DATA / "hc18"
    row = read_release_csv(hc18 / "training_set_pixel_size_and_HC.csv")[0]
    outline = cv2.imread(
        str(hc18 / "training_set" / row.filename.replace(".png", "_Annotation.png")),
        cv2.IMREAD_GRAYSCALE,
    )
    mask, _ = filled_head(outline, row.pixel_size_mm)
    hc_case = Path(row.filename).stem
    psfhs = sorted((DATA / "psfhs" / "label_mha").glob("*.mha"))[0]
    label = sitk.GetArrayFromImage(sitk.ReadImage(str(psfhs))).squeeze()
    cases = [
        (hc_case, "hc18", (row.pixel_size_mm,) * 2, mask, {}),
        (psfhs.stem, "psfhs", (1.0, 1.0), (label == 2).astype(np.uint8), {}),
    ]
    images = {
        hc_case: hc18 / "training_set" / row.filename,
        psfhs.stem: DATA / "psfhs" / "image_mha" / psfhs.name,
    }
    out = tmp_path_factory.mktemp("hostile-truth") / "head"
    write_truth_set(out, cases, images=images)
    return out


@pytest.fixture(scope="module")
def hostile_worker(django_db_setup, django_db_blocker, platform_var: Path) -> Iterator[Path]:
    """One Celery worker with tiny inference limits on this module's own queues."""
    queues = list(QUEUES.values())
    purge_queues(queues)
    undo_routes = route_tasks_to(QUEUES)
    try:
        with running_worker(
            queues,
            platform_var,
            platform_var / "hostile-worker.log",
            django_db_blocker,
            env={**WORKER_LIMITS, "FETALBENCH_SCORING_WORKERS": "1"},
            name="hostile",
        ) as log_path:
            yield log_path
    finally:
        undo_routes()


# ------------------------------------------------------------------------------ the cases


@dataclass
class Hostile:
    """One hostile or broken container and what its participant must be told."""

    name: str
    script: str
    expect: list[str]  # phrases status_detail must contain (case-insensitive)
    seconds: int = RUN_SECONDS
    image: dict = field(default_factory=dict)  # write_image_archive options
    masks: str = ""  # "" none in the image, "truth" the truth masks, "small" wrong-sized
    inference_status: str | None = None  # the run's own outcome, when it is fixed


def hostile_cases(cases: list[str], truth_labels: Path) -> list[Hostile]:
    every = list(cases)
    # MetaImage headers whose pixels are "elsewhere": the phase's hidden labels (the worker's
    # path, which a participant can guess from the docs) and a device. Issue 9, item 1.
    pointers = "".join(
        f"printf 'ObjectType = Image\\nNDims = 2\\nDimSize = 8 8\\nElementType = MET_UCHAR\\n"
        f"HeaderSize = -1\\nElementDataFile = {truth_labels / case}.png\\n' > /output/{case}.mha\n"
        for case in cases
    )
    output = ["what it wrote to /output is not a valid submission", "<case_id>.png"]
    return [
        Hostile(
            "endless loop",
            "echo thinking forever\nwhile true; do :; done\n",
            ["ran past its time limit", f"{SHORT_SECONDS} s", "thinking forever"],
            seconds=SHORT_SECONDS,
            inference_status="timeout",
        ),
        Hostile(
            "fork bomb",
            "echo forking\nbomb() { bomb | bomb & }\nbomb\nsleep 60\n",
            ["process limit (32)"],
            seconds=SHORT_SECONDS,
        ),
        Hostile(
            "memory hog",
            "echo allocating\ndd if=/dev/zero of=/dev/null bs=512M count=1\necho alive\n",
            ["ran out of memory", "64 MiB"],
            inference_status="oom",
        ),
        Hostile(
            "network attempt",
            "echo phoning home\nnc -w 3 10.0.0.1 80 </dev/null || exit 4\n",
            ["The model failed", "code 4", "phoning home", "Network is unreachable"],
            inference_status="crashed",
        ),
        Hostile(
            "runs as root",
            "exit 0\n",
            ["was rejected", "root"],
            image={"user": "root"},
            inference_status="rejected",
        ),
        Hostile(
            "wrong architecture",
            "exit 0\n",
            ["was rejected", "amd64", "arm64"],
            image={"architecture": "arm64"},
            inference_status="rejected",
        ),
        Hostile(
            "writes outside /output",
            "echo patching\necho x > /etc/hacked || exit 5\n",
            ["The model failed", "code 5", "Read-only file system"],
            inference_status="crashed",
        ),
        Hostile(
            "writes gigabytes",
            "echo writing\ndd if=/dev/zero of=/output/big bs=1M count=2048\n",
            ["wrote more output than allowed", "8 MiB"],
            inference_status="output_too_large",
        ),
        Hostile(
            "exits non-zero",
            "echo loading weights\nsleep 0.3\necho 'no GPU found' >&2\nexit 3\n",
            ["The model failed", "code 3", "no GPU found"],
            inference_status="crashed",
        ),
        Hostile(
            "writes nothing",
            "echo done, nothing written\n",
            [*output, *every, "no prediction for case", "done, nothing written"],
            inference_status="ok",
        ),
        Hostile(
            "wrong names",
            "for f in /masks/*.png; do n=${f##*/}; cp $f /output/pred_$n; done\n",
            [*output, *every, "pred_"],
            masks="truth",
            inference_status="ok",
        ),
        Hostile(
            "wrong shapes",
            "cp /masks/*.png /output/\n",
            [*output, *every, "17x23", "but the image is"],
            masks="small",
            inference_status="ok",
        ),
        Hostile(
            "points at the labels",
            "echo writing pointers\n" + pointers,
            ["ElementDataFile = LOCAL", "must be inside the file"],
            inference_status="ok",
        ),
        Hostile(
            "reads labels",
            "echo LISTING\n"
            "find / \\( -path /proc -o -path /sys -o -path /dev -o -path /bin \\) -prune"
            " -o -print 2>&1\n"
            "echo END\n",
            [*output, *every],  # it finds nothing to copy, so it writes nothing
            inference_status="ok",
        ),
    ]


# ------------------------------------------------------------------------------ checks


def _wrong_size_masks(truth: Path) -> dict[str, bytes]:
    import cv2

    small = cv2.imencode(".png", np.zeros((17, 23), np.uint8))[1].tobytes()
    return dict.fromkeys(truth_masks(truth), small)


def _leaked_paths(text: str, platform_var: Path) -> list[str]:
    """Server paths a participant must never see (upload, truth, scratch, docker's own)."""
    patterns = [
        re.escape(str(platform_var)),
        r"pytest-of-",
        r"/var/lib/docker",
        r"submission-\d+-",
        r"fetalbench-var",
        r"<truth>",
    ]
    return [p for p in patterns if re.search(p, text)]


def _sandbox_leftovers() -> tuple[list, list]:
    from sandbox.limits import IMAGE_REPOSITORY, SANDBOX_LABEL

    from tests.docker_fixtures import docker_client_or_skip

    client = docker_client_or_skip()
    containers = client.containers.list(all=True, filters={"label": f"{SANDBOX_LABEL}=1"})
    images = client.images.list(name=IMAGE_REPOSITORY)
    images += client.images.list(filters={"label": SANDBOX_LABEL})
    return containers, images


# ------------------------------------------------------------------------------ the test


def test_each_hostile_container_fails_clearly_and_the_next_one_runs(
    hostile_worker, tiny_truth, make_user, make_challenge, live_server, tmp_path, monkeypatch
) -> None:
    pytest.importorskip("docker")
    from evaluator.truth import TruthSet
    from tests.docker_fixtures import docker_client_or_skip

    docker_client_or_skip()  # skips with a clear message when no daemon runs here
    assert _sandbox_leftovers() == ([], []), "sandbox leftovers from before this test"
    _, phase = make_challenge(
        slug="fetal-head",
        daily_limit=0,
        allowed_kinds=["predictions", "container"],
        inference_seconds=RUN_SECONDS,
    )
    call_command("load_truth", "fetal-head/test", str(tiny_truth), "--layout", "canonical")
    case_ids = [c.case for c in TruthSet.load(tiny_truth).cases]
    masks = {"": {}, "truth": truth_masks(tiny_truth), "small": _wrong_size_masks(tiny_truth)}
    make_user("mallory")
    make_user("alice")
    mallory = Participant(live_server.url, "mallory", "Hostile team")
    alice = Participant(live_server.url, "alice", "Honest team")

    problems: list[str] = []
    from challenges.models import truth_dir

    labels = truth_dir(phase.pk) / "labels"
    assert all((labels / f"{case}.png").is_file() for case in case_ids)
    for number, case in enumerate(hostile_cases(case_ids, labels)):
        Phase.objects.filter(pk=phase.pk).update(inference_seconds=case.seconds)
        archive = _archive(tmp_path / f"hostile{number}.tar", case, masks[case.masks], monkeypatch)
        result = mallory.run(phase, archive, "container")
        detail = result.status_detail or ""
        said = f"{case.name}: {result.status} / {detail!r} / {result.inference}"
        if result.status != Submission.Status.FAILED:
            problems.append(f"{said}: not failed")
        missing = [p for p in case.expect if p.lower() not in detail.lower()]
        if missing:
            problems.append(f"{said}: lacks {missing}")
        if leaks := _leaked_paths(detail + str(result.inference), Path(hostile_worker).parent):
            problems.append(f"{said}: leaks {leaks}")
        status = (result.inference or {}).get("status")
        if case.inference_status and status != case.inference_status:
            problems.append(f"{said}: run status {status}, expected {case.inference_status}")
        if case.name == "reads labels":
            problems += _labels_unreachable(result.inference or {}, case_ids, said)
        if (leftovers := _sandbox_leftovers()) != ([], []):
            problems.append(f"{said}: left {leftovers} behind")
    assert not problems, "\n\n".join(problems)

    # After all of that, an honest container (it ships the truth masks) still runs and ranks.
    Phase.objects.filter(pk=phase.pk).update(inference_seconds=RUN_SECONDS)
    good = alice.run(
        phase,
        _archive(
            tmp_path / "good.tar",
            Hostile("good", "cp /masks/*.png /output/\n", []),
            masks["truth"],
            monkeypatch,
        ),
        "container",
        params_total=99,
    )
    assert good.status == Submission.Status.DONE, good.status_detail
    board = requests.get(f"{live_server.url}/api/phases/{phase.pk}/leaderboard/", timeout=30)
    rows = board.json()["rows"]
    assert [(r["submission_id"], r["rank"]) for r in rows] == [(good.pk, 1)]
    assert rows[0]["values"]["head.dice"]["mean"] == pytest.approx(1.0)
    assert _sandbox_leftovers() == ([], [])
    scratch = Path(hostile_worker).parent / "inference"
    assert not scratch.exists() or not any(scratch.iterdir()), "run folders left behind"


def _archive(path: Path, case: Hostile, masks: dict[str, bytes], monkeypatch) -> Path:
    """A `docker save` archive of the case's busybox model (masks baked in where it needs)."""
    from tests.docker_fixtures import write_image_archive

    if masks:
        return container_archive(path, case.script, masks, monkeypatch)
    return write_image_archive(path, case.script, **case.image)


def _labels_unreachable(inference: dict, case_ids: list[str], said: str) -> list[str]:
    """The container listed its whole file system to its log: only its images, no label."""
    log = [str(line) for line in inference.get("log_tail", [])]
    problems = []
    if "LISTING" not in log or "END" not in log:
        return [f"{said}: the listing is not in the kept log tail {log}"]
    listing = log[log.index("LISTING") + 1 : log.index("END")]
    images = {line for line in listing if re.fullmatch(r"/input/(.+)\.(png|mha)", line)}
    shown = {re.fullmatch(r"/input/(.+)\.(png|mha)", line).group(1) for line in images}
    if "/input/inputs.json" not in listing or shown != set(case_ids):
        problems.append(f"{said}: the listing misses the test images {case_ids}: {listing}")
    for line in set(listing) - images:
        if re.search(r"truth|label|annotation|secret|\.nii|\.mha|\.png", line, re.IGNORECASE):
            problems.append(f"{said}: a label-like file is reachable: {line}")
    return problems
