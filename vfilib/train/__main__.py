"""``python -m vfilib.train ...`` (also under torchrun): see vfilib/train/cli.py for the flags."""
import json
import sys

from ..data.video import VideoError
from ..models.weights.checkpoint import CheckpointError
from .cli import parse
from .distributed import teardown
from .loop import TrainingDiverged, train


def main(argv=None) -> int:
    cfg = parse(argv)
    try:
        summary = train(cfg)
        print(json.dumps(summary, indent=1, default=str))
        return 0
    except (CheckpointError, TrainingDiverged, FileNotFoundError, VideoError, ValueError) as e:
        print(f"python -m vfilib.train: error: {e}", file=sys.stderr)
        return 1
    finally:
        teardown()


if __name__ == "__main__":
    raise SystemExit(main())
