"""The chapter's first Flask app: two routes, port 8080, debug only when asked.

Run: ``python examples/hello_app.py`` (add ``--debug`` for the reloader and debugger, never
on a machine others can reach).
"""

from __future__ import annotations

import argparse

from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello() -> str:
    return "Hello Biotech World!"


@app.route("/lifescience")
def lifescience() -> str:
    return "Life science meets machine learning: serve your models with Flask."


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--debug", action="store_true", help="Werkzeug debugger: local use only")
    args = parser.parse_args(argv)
    app.run(host=args.host, port=args.port, debug=args.debug)


if __name__ == "__main__":
    main()
