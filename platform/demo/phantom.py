"""Synthetic fetal-ultrasound phantoms for the demo challenges.

The demo must run on a fresh machine with no dataset download, yet look and score like the real
thing: an elliptical fetal head (bright skull rim, darker brain), multiplicative Rayleigh
speckle, acoustic shadows behind the skull, a fan-shaped field of view, and a distinct look per
acquisition site (gain, speckle size, contrast, imaging depth = pixel spacing) so that per-site
leaderboards show real differences.

Pure NumPy and deterministic: every case draws from its own generator seeded by
(seed, task, site, index), so case `k` of a site is the same whatever the number of cases asked
for. Smoothing uses FFT products, which keeps a 256 x 384 case at a few milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evaluator.geometry.ellipse import Ellipse
from evaluator.truth import TruthSet, write_truth_set

PHANTOM_KINDS = ("hc18", "psfhs")
_KIND_CODES = {"hc18": 18, "psfhs": 23}


@dataclass(frozen=True)
class SiteStyle:
    """How one acquisition site's scanner renders the same anatomy."""

    name: str
    gain: float  # overall brightness multiplier
    speckle_sigma_px: float  # correlation length of the speckle grain
    contrast: float  # gamma applied to the echo map (>1 = darker mid-tones, punchier rim)
    spacing_mm: float  # isotropic pixel size: deeper imaging -> larger pixels
    attenuation: float  # depth attenuation not fully compensated by TGC, per fan radius
    fan_half_angle_deg: float


#: Three sites per task, deliberately unlike each other (see docs/demo.md).
SITE_STYLES: dict[str, tuple[SiteStyle, ...]] = {
    "hc18": (
        SiteStyle("site-a", 1.00, 1.2, 1.0, 0.62, 0.35, 38.0),
        SiteStyle("site-b", 0.95, 2.2, 1.3, 0.78, 0.60, 33.0),
        SiteStyle("site-c", 1.20, 0.8, 0.8, 0.50, 0.20, 42.0),
    ),
    "psfhs": (
        SiteStyle("site-d", 1.00, 1.0, 1.1, 1.00, 0.40, 40.0),
        SiteStyle("site-e", 0.90, 1.8, 1.4, 1.20, 0.70, 35.0),
        SiteStyle("site-f", 1.15, 0.7, 0.9, 0.85, 0.25, 44.0),
    ),
}

SHAPES: dict[str, tuple[int, int]] = {"hc18": (216, 320), "psfhs": (256, 256)}

LABEL_HEAD = {"hc18": 1, "psfhs": 2}
LABEL_SYMPHYSIS = 1


@dataclass(frozen=True)
class PhantomCase:
    """One synthetic case: image, label map, physical pixel size and (HC18) circumference."""

    case_id: str
    site: str
    image: np.ndarray  # uint8 (rows, cols)
    label: np.ndarray  # uint8 (rows, cols); 0 background
    spacing_mm: tuple[float, float]  # (row, col)
    hc_mm: float | None


def _gaussian_blur(field: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing through the FFT (periodic borders are hidden by the fan mask)."""
    if sigma <= 0:
        return field
    rows, cols = field.shape
    fy = np.fft.fftfreq(rows)[:, None]
    fx = np.fft.rfftfreq(cols)[None, :]
    transfer = np.exp(-2.0 * (math.pi * sigma) ** 2 * (fx**2 + fy**2))
    return np.fft.irfft2(np.fft.rfft2(field) * transfer, s=field.shape)


def _rayleigh_speckle(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Unit-mean Rayleigh-distributed speckle with a grain of about `sigma` pixels.

    The magnitude of a smoothed circular complex Gaussian field is Rayleigh distributed; that
    is exactly how fully developed speckle arises from many random scatterers per cell.
    """
    re = _gaussian_blur(rng.standard_normal(shape), sigma)
    im = _gaussian_blur(rng.standard_normal(shape), sigma)
    amplitude = np.hypot(re, im)
    return amplitude / max(float(amplitude.mean()), 1e-12)


def _ellipse_coords(shape: tuple[int, int], e: Ellipse) -> np.ndarray:
    """Normalised elliptical radius of every pixel (1.0 on the outline), in pixel units."""
    rows, cols = shape
    y, x = np.mgrid[0:rows, 0:cols].astype(np.float64)
    dx, dy = x - e.center_x, y - e.center_y
    c, s = math.cos(e.angle_rad), math.sin(e.angle_rad)
    u = (dx * c + dy * s) / e.semi_axis_a
    v = (-dx * s + dy * c) / e.semi_axis_b
    return np.sqrt(u * u + v * v)


def _fan_geometry(shape: tuple[int, int], half_angle_deg: float):
    """Radius, angle and in-fan mask of a sector probe whose apex sits above the image."""
    rows, cols = shape
    apex_y, apex_x = -0.12 * rows, cols / 2.0
    y, x = np.mgrid[0:rows, 0:cols].astype(np.float64)
    radius = np.hypot(y - apex_y, x - apex_x)
    angle = np.degrees(np.arctan2(x - apex_x, y - apex_y))
    r_min, r_max = 0.16 * rows, rows * 1.10
    inside = (np.abs(angle) <= half_angle_deg) & (radius >= r_min) & (radius <= r_max)
    return radius / r_max, angle, inside


def _random_head(
    rng: np.random.Generator, shape: tuple[int, int], scale: float, centre_x: float | None = None
) -> Ellipse:
    rows, cols = shape
    a = rng.uniform(0.26, 0.36) * min(rows, cols) * scale
    b = a * rng.uniform(0.72, 0.88)
    cx = centre_x if centre_x is not None else cols / 2 + rng.uniform(-0.12, 0.12) * cols
    cy = rows * rng.uniform(0.48, 0.58)
    return Ellipse(cx, cy, a, b, rng.uniform(-0.5, 0.5))


def _render(
    rng: np.random.Generator,
    shape: tuple[int, int],
    style: SiteStyle,
    head: Ellipse,
    symphysis: Ellipse | None,
) -> np.ndarray:
    """Echo map -> shadows -> speckle -> site look -> fan mask -> uint8 image."""
    radius01, angle, fan = _fan_geometry(shape, style.fan_half_angle_deg)
    tissue = 0.32 + 0.10 * _gaussian_blur(rng.standard_normal(shape), 12.0) * 8.0
    echo = np.clip(tissue, 0.12, 0.6)

    rho = _ellipse_coords(shape, head)
    rim_width = rng.uniform(0.06, 0.09)
    brain = rho < 1.0 - rim_width
    echo = np.where(brain, 0.13 + 0.04 * rng.standard_normal(), echo)
    # A faint midline echo along the major axis, as in a transthalamic plane.
    rows, cols = shape
    y, x = np.mgrid[0:rows, 0:cols].astype(np.float64)
    c, s = math.cos(head.angle_rad), math.sin(head.angle_rad)
    v = -(x - head.center_x) * s + (y - head.center_y) * c
    echo = np.where(brain & (np.abs(v) < 1.0), 0.24, echo)
    rim = np.exp(-(((rho - (1.0 - rim_width / 2)) / (rim_width / 2)) ** 2))
    echo = np.maximum(echo, 0.95 * rim)

    if symphysis is not None:
        ps_rho = _ellipse_coords(shape, symphysis)
        echo = np.maximum(echo, 0.9 * np.exp(-((ps_rho / 0.9) ** 4)))

    # Acoustic shadows: beams that cross the skull lose energy behind it (soft-edged cones).
    depth_px = radius01 * rows * 1.10
    head_angle = math.degrees(math.atan2(head.center_x - cols / 2, head.center_y + 0.12 * rows))
    head_depth = float(np.hypot(head.center_y + 0.12 * rows, head.center_x - cols / 2))
    for _ in range(rng.integers(1, 3)):
        centre = head_angle + rng.uniform(-14, 14)
        width = rng.uniform(2.5, 5.5)
        in_beam = np.exp(-(((angle - centre) / width) ** 4))
        behind = 1.0 / (1.0 + np.exp(-(depth_px - head_depth - head.semi_axis_b * 0.9) / 3.0))
        echo = echo * (1.0 - rng.uniform(0.5, 0.7) * in_beam * behind)
    # A bright, slightly curved uterine-wall band near the probe gives the image some anatomy.
    wall_depth = rng.uniform(0.30, 0.36)
    echo = echo + 0.35 * np.exp(-(((radius01 - wall_depth) / 0.015) ** 2))

    echo *= np.exp(-style.attenuation * radius01)
    speckle = _rayleigh_speckle(rng, shape, style.speckle_sigma_px)
    image = style.gain * np.clip(echo, 0, None) * speckle
    image = np.clip(image, 0, 1.6) / 1.6
    image = image**style.contrast
    image = np.where(fan, image, 0.0)
    return np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)


def make_case(kind: str, style: SiteStyle, case_id: str, rng: np.random.Generator) -> PhantomCase:
    """Draw one case of `kind` ("hc18" or "psfhs") as seen by the site `style`."""
    if kind not in PHANTOM_KINDS:
        raise ValueError(f"unknown phantom kind {kind!r}; expected one of {PHANTOM_KINDS}")
    shape = SHAPES[kind]
    rows, cols = shape
    symphysis = None
    if kind == "hc18":
        head = _random_head(rng, shape, scale=1.0)
    else:
        head = _random_head(rng, shape, scale=0.95, centre_x=cols * rng.uniform(0.56, 0.64))
        # The pubic symphysis: a small, bright, elongated structure up and left of the head.
        length = rng.uniform(0.09, 0.13) * cols
        ps_x = head.center_x - head.semi_axis_a - rng.uniform(0.10, 0.14) * cols
        symphysis = Ellipse(
            max(ps_x, length * 0.8 + 4.0),  # keep it inside the image
            head.center_y - head.semi_axis_b * rng.uniform(0.55, 0.85),
            length,
            length * rng.uniform(0.22, 0.32),
            rng.uniform(0.3, 0.7),
        )
    image = _render(rng, shape, style, head, symphysis)
    label = np.zeros(shape, np.uint8)
    label[_ellipse_coords(shape, head) <= 1.0] = LABEL_HEAD[kind]
    if symphysis is not None:
        label[_ellipse_coords(shape, symphysis) <= 1.0] = LABEL_SYMPHYSIS
    _, _, fan = _fan_geometry(shape, style.fan_half_angle_deg)
    label[~fan] = 0  # nothing is labelled outside the field of view
    hc_mm = head.scaled(style.spacing_mm, style.spacing_mm).perimeter if kind == "hc18" else None
    return PhantomCase(case_id, style.name, image, label, (style.spacing_mm,) * 2, hc_mm)


def generate_cases(kind: str, n_per_site: int, seed: int = 0) -> Iterator[PhantomCase]:
    """Yield `n_per_site` cases for each of the task's three sites, deterministically."""
    if kind not in PHANTOM_KINDS:
        raise ValueError(f"unknown phantom kind {kind!r}; expected one of {PHANTOM_KINDS}")
    if n_per_site < 1:
        raise ValueError("n_per_site must be at least 1")
    for site_index, style in enumerate(SITE_STYLES[kind]):
        prefix = style.name.replace("site-", "")
        for k in range(n_per_site):
            rng = np.random.default_rng([seed, _KIND_CODES[kind], site_index, k])
            yield make_case(kind, style, f"{prefix}{k:03d}", rng)


def write_phantom_truth_set(
    out_dir: str | Path, kind: str, n_per_site: int, seed: int = 0
) -> TruthSet:
    """Generate a task's phantom cases and write them as a canonical truth set with images/.

    HC18-style sets carry `hc_mm` (the true ellipse perimeter, like the HC18 CSV), so the
    HC metric has a reference that does not depend on re-fitting the mask.
    """
    cases = list(generate_cases(kind, n_per_site, seed))
    rows = [
        (c.case_id, c.site, c.spacing_mm, c.label, {"hc_mm": f"{c.hc_mm:.3f}"} if c.hc_mm else {})
        for c in cases
    ]
    return write_truth_set(Path(out_dir), rows, images={c.case_id: c.image for c in cases})
