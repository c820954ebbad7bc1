"""Benchmark of `app.imaging.prepare` against a naive baseline, on generated camera-like inputs.

Run: `.venv/bin/python bench/imaging.py [--runs N]`.

For each input: the median wall time of our preparation and of the naive baseline (full decode,
then JPEG quality 95, 90, 85 ... until the result fits), measured in the same run and interleaved;
their ratio; and the peak memory of each, measured in a fresh subprocess as the rise of the
resident-set high-water mark (Linux `VmHWM`, reset through /proc/self/clear_refs) over the
resident size just before the call, with the input bytes already in memory. The peak is compared
with the nominal decoded size (bands x pixels) of the image our pipeline actually worked on.
Targets (issue 3): ours <= 0.35x naive on the 48 MP JPEG; peak <= 1.5x that decoded size.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from PIL import Image, ImageChops

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import imaging  # noqa: E402
from app.domain import UploadRules  # noqa: E402

RULES = UploadRules(max_bytes=5_000_000)  # uqudo-like: JPEG/PNG, at most 5 MB


def camera_like(width: int, height: int, noise: float, seed: int) -> Image.Image:
    """Smooth colour structure (upscaled random blocks) plus sensor-like grain."""
    rng = random.Random(seed)
    cells = (max(1, width // 48), max(1, height // 48))
    small = Image.frombytes("RGB", cells, rng.randbytes(cells[0] * cells[1] * 3))
    image = small.resize((width, height), Image.Resampling.BICUBIC)
    if noise:
        grain = Image.effect_noise((width, height), noise).convert("RGB")
        image = ImageChops.add(image, grain, scale=1.0, offset=-128)
    return image


def build_inputs(folder: Path) -> dict[str, Path]:
    specs = {
        "48 MP JPEG (8000×6000)": ("jpeg48.jpg", (8000, 6000), 3.0, "JPEG", {"quality": 92}),
        "noisy 24 MP JPEG (6000×4000)": ("jpeg24.jpg", (6000, 4000), 12.0, "JPEG", {"quality": 95}),
        "108 MP PNG scan (12000×9000)": (
            "png108.png",
            (12000, 9000),
            0.0,
            "PNG",
            {"compress_level": 6},
        ),
        "CMYK JPEG (6000×4000)": ("cmyk.jpg", (6000, 4000), 3.0, "JPEG", {"quality": 90}),
    }
    paths: dict[str, Path] = {}
    for label, (name, size, noise, fmt, params) in specs.items():
        path = folder / name
        if not path.exists():
            image = camera_like(*size, noise, seed=len(name))
            if label.startswith("CMYK"):
                image = image.convert("CMYK")
            image.save(path, fmt, **params)
            del image
        paths[label] = path
    return paths


def naive(data: bytes, limit: int) -> bytes:
    """Full decode, then JPEG quality 95, 90, ... until it fits."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # 108 MP is legitimate
        image = Image.open(io.BytesIO(data))
        image.load()
    if image.mode != "RGB":
        image = image.convert("RGB")
    for quality in range(95, 0, -5):
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality)
        if out.tell() <= limit:
            return out.getvalue()
    raise RuntimeError("naive baseline could not fit")


def ours(loaded: imaging.LoadedImage) -> imaging.PrepareStats:
    return imaging.prepare_with_stats(loaded, RULES)[1]


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def measure_memory_child(method: str, path: str) -> None:
    """Run once in this fresh process and print the peak rise in bytes as JSON."""
    data = Path(path).read_bytes()
    loaded = imaging.load(data, Path(path).name) if method == "ours" else None
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")
    before = _status_kb("VmRSS")
    if loaded is not None:
        stats = ours(loaded)
        extra = {"work_bytes": stats.work_bytes, "path": stats.path}
    else:
        naive(data, RULES.effective_raw_limit)
        extra = {}
    peak = (_status_kb("VmHWM") - before) * 1024
    print(json.dumps({"peak": peak, **extra}))


def measure_memory(method: str, path: Path) -> dict[str, object]:
    env = dict(os.environ)
    # Keep glibc from recycling big freed blocks in the heap, which would hide allocations.
    env["MALLOC_MMAP_THRESHOLD_"] = "131072"
    output = subprocess.run(
        [sys.executable, __file__, "--memory-child", method, str(path)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    result: dict[str, object] = json.loads(output.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "facedesk-bench"
    )
    parser.add_argument(
        "--memory-child", nargs=2, metavar=("METHOD", "PATH"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.memory_child:
        measure_memory_child(*args.memory_child)
        return 0
    args.cache.mkdir(parents=True, exist_ok=True)
    print(f"generating inputs in {args.cache} ...", flush=True)
    inputs = build_inputs(args.cache)
    limit = RULES.effective_raw_limit
    rows = []
    for label, path in inputs.items():
        data = path.read_bytes()
        start = time.perf_counter()
        loaded = imaging.load(data, path.name)
        load_time = time.perf_counter() - start
        our_times, naive_times = [], []
        stats = None
        for _ in range(args.runs):
            start = time.perf_counter()
            encoded, stats = imaging.prepare_with_stats(loaded, RULES)
            our_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            baseline = naive(data, limit)
            naive_times.append(time.perf_counter() - start)
        assert stats is not None
        ours_median, naive_median = statistics.median(our_times), statistics.median(naive_times)
        memory_ours = measure_memory("ours", path)
        memory_naive = measure_memory("naive", path)
        work = int(str(memory_ours["work_bytes"])) or 1
        rows.append(
            {
                "input": label,
                "input_mb": len(data) / 1e6,
                "load_s": load_time,
                "ours_s": ours_median,
                "naive_s": naive_median,
                "ratio": ours_median / naive_median,
                "ours_out": f"{encoded.width}×{encoded.height} {len(encoded.data) / 1e6:.2f} MB "
                f"q{stats.qualities[-1] if stats.qualities else '-'} ({stats.encodes} encodes)",
                "naive_out": f"{len(baseline) / 1e6:.2f} MB",
                "work": f"{stats.work_width}×{stats.work_height} {stats.work_mode}",
                "peak_ours_mb": int(str(memory_ours["peak"])) / 1e6,
                "peak_naive_mb": int(str(memory_naive["peak"])) / 1e6,
                "peak_vs_work": int(str(memory_ours["peak"])) / work,
                "work_mb": work / 1e6,
            }
        )
        row = rows[-1]
        print(
            f"\n{label}: input {row['input_mb']:.1f} MB, load (thumbnail) {row['load_s']:.2f} s\n"
            f"  ours  {row['ours_s']:.3f} s  -> {row['ours_out']}, worked on {row['work']}\n"
            f"  naive {row['naive_s']:.3f} s  -> {row['naive_out']}\n"
            f"  ratio {row['ratio']:.2f}x   peak ours {row['peak_ours_mb']:.0f} MB "
            f"= {row['peak_vs_work']:.2f}x decoded working image ({row['work_mb']:.0f} MB); "
            f"peak naive {row['peak_naive_mb']:.0f} MB",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
