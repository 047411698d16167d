"""Refuse `torch.export` archives (`.pt2`) whose loading would unpickle arbitrary objects.

`torch.export.load` is documented as pickle-based ("Never load data from an untrusted source"):
a weight or constant marked `use_pickle` goes through `torch.load(..., weights_only=False)`,
the sample inputs through `torch.load` with a silent fallback to `weights_only=False`, and
"opaque" or torchbind constants through `pickle.loads` / `torch._C._pickle_load_obj`. Any of
them runs code chosen by whoever wrote the file. A plain `torch.export.save` of a network
(dense tensors) needs none of that: its weights are raw bytes described by JSON.

So before the child process (`sandbox.model_files.pt2_worker`) calls `torch.export.load` it (1) reads the
archive's JSON payload configs with `zipfile` and `json` only and refuses any pickled payload
or object constant, and (2) forces every `torch.load` to weights-only
(`TORCH_FORCE_WEIGHTS_ONLY_LOAD=1`, which overrides even an explicit `weights_only=False`),
covering the sample inputs and anything these checks miss. Both are defence in depth: the
load itself only ever happens inside the limited child process, never in the web or scoring
process.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

#: Name prefixes of constants that torch.export.load unpickles with no restriction.
OBJECT_PREFIXES = ("custom_obj_", "opaque_obj_")
MAX_CONFIG_BYTES = 16 * 1024 * 1024


class UnsafeArchive(ValueError):
    """The archive is not a plain exported program; the message says why."""


def check_pt2_archive(path: Path) -> None:
    """Raise UnsafeArchive unless `path` is a zip whose payloads are all raw tensors."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if not any(name.endswith("/archive_format") for name in names):
                raise UnsafeArchive(
                    "the .pt2 file is not a torch.export archive (save it with torch.export.save)"
                )
            for name in names:
                base = name.rsplit("/", 1)[-1]
                if base.startswith(OBJECT_PREFIXES):
                    raise UnsafeArchive(
                        f"the .pt2 archive holds a pickled object ({base}); only tensors are "
                        "accepted"
                    )
                if name.endswith("_config.json") and "/data/" in name:
                    _check_payload_config(archive, archive.getinfo(name))
                elif base.endswith(".pt") and "/data/" in name and "/sample_inputs/" not in name:
                    # The legacy layout: a whole state dict as one torch.save pickle.
                    raise UnsafeArchive(
                        f"the .pt2 archive uses the legacy pickled weight layout ({base}); "
                        "save it again with a current torch.export.save"
                    )
    except zipfile.BadZipFile:
        raise UnsafeArchive("the .pt2 file is not a readable zip archive") from None


def _check_payload_config(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """A weights/constants config: every entry must be a raw (not pickled) tensor."""
    if info.file_size > MAX_CONFIG_BYTES:
        raise UnsafeArchive(f"{info.filename} is larger than {MAX_CONFIG_BYTES // 2**20} MiB")
    try:
        config = json.loads(archive.read(info).decode("utf-8")).get("config", {})
    except (UnicodeDecodeError, ValueError, AttributeError):
        raise UnsafeArchive(f"{info.filename} is not a valid payload config") from None
    if not isinstance(config, dict):
        raise UnsafeArchive(f"{info.filename} is not a valid payload config")
    for name, entry in config.items():
        if not isinstance(entry, dict):
            raise UnsafeArchive(f"{info.filename}: entry {name!r} is not an object")
        path_name = str(entry.get("path_name", ""))
        if entry.get("use_pickle") or path_name.startswith(OBJECT_PREFIXES):
            raise UnsafeArchive(
                f"the .pt2 archive stores {name!r} as a pickle; only plain tensors are accepted "
                "(tensor subclasses and script objects cannot be loaded safely)"
            )
