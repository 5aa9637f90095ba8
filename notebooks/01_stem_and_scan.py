# %% [markdown]
# # 01 · The stem and the interleaved cross-frame scan
# What the LGS backbone sees: the CNN stem's features of two real frames, the token order of each
# scan direction and mode (interleaved, sequential, per-frame), the exact round trip, and the
# effective receptive field of the three backbone modes.

# %% tags=["parameters"]
results_dir = "results"
profile = "auto"              # cpu | gpu | full (| h200 for 03, 05) | auto: gpu where CUDA is, else cpu
# Parameters left None take the value of this profile in notebooks/profiles.toml (the next cell fills
# them, exactly as `python -m vfilib.workbook run --profile ...` passes them); set one here to override.
erf_size = None               # side of the crop used for the receptive-field maps
clip_level = "easy"    # embedded benchmark level the frames come from
widgets = True         # the interactive scan explorer (never shown in a batch run: vfilib.workbook.is_batch)

# %%
from vfilib.core.profile import use_profile

use_profile(globals(), "01_stem_and_scan")

# %%
import matplotlib.pyplot as plt
import torch
from IPython.display import display

from vfilib.config import preset
from vfilib.core.paths import DataPaths, repo_path
from vfilib.data.datasets import snu_film
from vfilib.models import build_model
from vfilib.models.vfi import scan as S
from vfilib.reports import figures as viz
from vfilib.reports.figures import save_figure
from vfilib.workbook import is_batch

results_dir = repo_path(results_dir)       # the repository's results/, whatever folder the kernel started in
torch.manual_seed(0)
sample = snu_film(DataPaths().embedded, clip_level)[0]
i0, i1 = sample["I0"][None], sample["I1"][None]
print(sample["name"], tuple(i0.shape))

# %% [markdown]
# ## Stem and backbone features (tiny preset, random initialisation)

# %%
model = build_model(preset("tiny")).eval()
with torch.no_grad():
    feats = model.features(i0, i1)
fig = viz.feature_figure(feats, i0[0])
save_figure(fig, "01_backbone_features", results_dir)

# %% [markdown]
# ## Token order of each scan direction
# The interleaved scan alternates between the frames at every position; the sequential scan visits all
# of frame 0 first; the per-frame scan never crosses frames.

# %%
for mode in ("interleaved", "sequential", "per_frame"):
    fig = viz.scan_order_figure(i0[0], i1[0], mode=mode, direction=1)
    save_figure(fig, f"01_scan_{mode}_dir1", results_dir)

# %% [markdown]
# Step through directions and modes interactively (needs a live kernel):

# %%
def show_scan(mode="interleaved", direction=0):
    viz.scan_order_figure(i0[0], i1[0], mode, direction)
    plt.show()


show_scan("interleaved", 0)
if widgets and not is_batch():
    import ipywidgets as W
    W.interact(show_scan, mode=["interleaved", "sequential", "per_frame"], direction=W.IntSlider(0, 0, 3))

# %% [markdown]
# ## The round trip is exact (odd sizes, all modes)

# %%
rows = []
for mode in ("interleaved", "sequential", "per_frame"):
    for h, w in ((5, 7), (9, 13), (17, 31)):
        x = torch.randn(2, h, w, 8)
        back = S.merge(S.scan(x, mode), h, w, mode, reduce=None)
        rows.append({"mode": mode, "H": h, "W": w, "max |x - merge(scan(x))| over 4 directions":
                     float((back - x).abs().max())})
import pandas as pd
display(pd.DataFrame(rows))
assert all(r["max |x - merge(scan(x))| over 4 directions"] == 0 for r in rows)

# %% [markdown]
# ## Effective receptive field: hybrid vs mamba2_only vs gated_attn_only

# %%
h, w = i0.shape[-2:]
y, x = (h - erf_size) // 2, (w - erf_size) // 2
c0, c1 = i0[..., y:y + erf_size, x:x + erf_size], i1[..., y:y + erf_size, x:x + erf_size]
maps = {}
for mode in ("hybrid", "mamba2_only", "gated_attn_only"):
    torch.manual_seed(0)
    m = build_model(preset("tiny", backbone_mode=mode))
    maps[mode] = viz.effective_receptive_field(m, c0, c1, level=3)
fig = viz.erf_figure(maps)
save_figure(fig, "01_effective_receptive_field", results_dir)
