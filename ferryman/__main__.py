"""`python -m ferryman ...`: the same command line as the `ferryman` script."""

from ferryman.cli import app

if __name__ == "__main__":
    app(prog_name="ferryman")
