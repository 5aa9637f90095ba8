"""``python -m vfilib.train ...`` (also under torchrun): see vfilib/train/cli.py for the flags."""
import json

from .cli import parse
from .distributed import teardown
from .loop import train

if __name__ == "__main__":
    cfg = parse()
    try:
        summary = train(cfg)
        print(json.dumps(summary, indent=1, default=str))
    finally:
        teardown()
