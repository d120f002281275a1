#!/usr/bin/env bash
# vidlabel's one entry point for set-up and the two everyday jobs.
#   ./run.sh demo   install (first time) and pre-label the bundled sample video
#   ./run.sh test   install (first time) and run the whole test suite
#   ./run.sh vidlabel ARGS...   install (first time) and run any vidlabel command
# The virtual environment lives in .venv (override with VIDLABEL_VENV); it is rebuilt when
# requirements.txt, requirements-nodeps.txt or pyproject.toml change.
set -euo pipefail
cd "$(dirname "$0")"
VENV="${VIDLABEL_VENV:-.venv}"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null || PY=python3

pip_install() {
  # This machine's pip lists extra local indexes; their "Location ... is ignored" notes are noise.
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "$@" \
    2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
}

install() {
  local stamp="$VENV/.vidlabel-install"
  local want
  want=$(cat requirements.txt requirements-nodeps.txt pyproject.toml | sha256sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
  echo "vidlabel: installing into $VENV (a few minutes the first time, torch is the big part)" >&2
  "$PY" -m venv "$VENV"
  pip_install -r requirements.txt
  pip_install --no-deps -r requirements-nodeps.txt
  # OpenCV: every opencv wheel installs the same cv2 folder and the last one installed wins.
  # Ultralytics pulls the headless build; the contrib build (CSRT, KCF) must be installed last,
  # over it, without touching its dependencies.
  pip_install --no-deps --force-reinstall \
    "opencv-contrib-python-headless==$(grep '^opencv-python-headless==' requirements.txt | cut -d= -f3)"
  pip_install --no-deps -e .
  echo "$want" > "$stamp"
}

cmd="${1:-demo}"; shift || true
install
export PATH="$PWD/$VENV/bin:$PATH"
case "$cmd" in
  demo)
    mkdir -p out
    # Re-running continues (or finds nothing left to do): pre-labelling resumes from the project.
    vidlabel prelabel assets/sample.mp4 -o out/sample.vlp
    vidlabel info out/sample.vlp ;;
  test)
    QT_QPA_PLATFORM=offscreen python -m pytest "$@" ;;
  install) ;;
  vidlabel) vidlabel "$@" ;;
  *) echo "usage: ./run.sh demo|test|install|vidlabel ARGS" >&2; exit 2 ;;
esac
