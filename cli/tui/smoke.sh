#!/usr/bin/env bash
# `npm run tui:smoke`: the real `invtrace tui` in tmux on a shared capture (ingested on the fly),
# driven with keys; each screen is captured and checked, then printed. Also: a resize, the screen
# restored on quit and on SIGTERM. Needs tmux and a built dist/ (the npm script builds first).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CAPS=${INVTRACE_CAPTURES:-$ROOT/../shared/captures}
[ -f "$CAPS/qemu-smmuv3-strict.log.gz" ] || CAPS=$ROOT/samples/captures
QEMU=$CAPS/qemu-smmuv3-strict.log.gz
GUEST=$CAPS/guest-smmuv3-strict.txt.gz
command -v tmux >/dev/null || { echo "tui:smoke: tmux is not installed" >&2; exit 2; }

S=invtrace-smoke-$$
OUT=${TUI_SMOKE_OUT:-$ROOT/dist/tui-smoke.txt}
: > "$OUT"
cleanup() { tmux kill-session -t "$S" 2>/dev/null || true; }
trap cleanup EXIT

screen() { tmux capture-pane -p -t "$S"; }
# wait_for REGEX [SECONDS]: until the pane shows it.
wait_for() {
  local re=$1 t=${2:-30} i
  for ((i = 0; i < t * 10; i++)); do
    if screen | grep -Eq -- "$re"; then return 0; fi
    sleep 0.1
  done
  echo "tui:smoke: timed out waiting for /$re/; the pane:" >&2
  screen >&2
  exit 1
}
expect() { screen | grep -Eq -- "$1" || { echo "tui:smoke: expected /$1/; the pane:" >&2; screen >&2; exit 1; }; }
keys() { for k in "$@"; do tmux send-keys -t "$S" "$k"; sleep 0.15; done; sleep 0.3; }
shot() { { echo "=== $1"; screen; echo; } | tee -a "$OUT"; }

start() { # start ARGS...: a shell that prints a marker, runs the TUI, prints its exit code
  tmux new-session -d -s "$S" -x 80 -y 24 \
    "cd '$ROOT'; echo BEFORE-TUI; env -u CI -u CONTINUOUS_INTEGRATION node dist/bin/invtrace.js tui $*; echo TUI-EXIT=\$?; sleep 600"
  # TUI_SMOKE_RAW=FILE keeps every byte the TUI wrote, for debugging.
  [ -z "${TUI_SMOKE_RAW:-}" ] || tmux pipe-pane -o -t "$S" "cat >> '$TUI_SMOKE_RAW'"
}

# 1. A capture, ingested on the fly: progress first, then the command list.
start "'$QEMU' '$GUEST'"
wait_for 'ingesting|reading|seq +slot w op'
screen | grep -Eq 'ingesting|reading' && echo "progress screen seen: $(screen | sed -n 2p)"
wait_for 'seq +slot w op'
shot "commands at start (80x24)"
expect '^ 1 commands  2 queue  3 policies  4 sql'
expect '── seq 0 '

# 2. Cursor, search, filter.
keys j j j
expect '── seq 3 '
keys / C M D _ C F G I _ S T E Enter
expect 'search CMD_CFGI_STE: match 1 of [0-9]+ \(seq [0-9]+\)'
shot "search /CMD_CFGI_STE"
keys Enter   # the detail, full height: nothing of the list may show through below its last line
expect '\(Enter: back to the list\)'
[ -z "$(screen | grep -A1 'published by the doorbell' | sed -n 2p | tr -d ' ')" ] || { echo "tui:smoke: stale text under the zoomed detail" >&2; screen >&2; exit 1; }
shot "detail zoomed"
keys Enter
keys f s i d = 0 x 1 0 Enter
expect 'filter sid=0x10: [0-9,]+ of [0-9,]+ rows'
shot "filter sid=0x10"
keys c G
expect 'filter cleared'

# 3. The queue at the selected doorbell.
keys '[' 2
expect '^ doorbell [0-9,]+ of [0-9,]+ at seq [0-9]+: PROD 0x[0-9a-f]+ w[01] → 0x[0-9a-f]+ w[01]'
expect '^ PROD '
shot "queue view at a doorbell"

# 4. Policies: the background replay finishes, every policy has a verdict.
keys 3
wait_for '── policies \(background replay\)' 120
expect '^ per-command +correct'
shot "policies"

# 5. SQL in DuckDB.
keys 4
tmux send-keys -t "$S" Enter
wait_for '[0-9]+ rows? in [0-9]+ ms' 60
expect '^ CMD_SYNC +[0-9]+'
shot "sql"

# 6. Help.
sleep 0.3; keys Escape; sleep 0.3; keys 1 '?'
expect 'show or hide this help'
shot "help overlay"
keys Escape

# 7. q quits and gives the shell its screen back, the TUI's frame gone.
keys q
wait_for 'TUI-EXIT=0' 10
expect 'BEFORE-TUI'
if screen | grep -Eq 'seq +slot w op|1 commands  2 queue|\? help  q quit'; then
  echo "tui:smoke: the TUI's frame is still on the screen after quitting" >&2; screen >&2; exit 1
fi
shot "after q: the shell's screen, restored"
tmux kill-session -t "$S"

# 8. A resize redraws the frame at the new size; SIGTERM restores the screen, exit 128 + 15.
# (tmux 3.3 moves lines of an alternate screen into the main screen's history on a resize, for
# vi and less too; so no "nothing left" check after this one.)
start "'$ROOT/samples/generated/smmuv3-ill.arrow' --no-replay"
wait_for 'seq +slot w op'
tmux resize-window -t "$S" -x 100 -y 30
sleep 0.5
[ "$(screen | grep -m1 '^── seq' | wc -m)" -eq 101 ] || { echo "tui:smoke: the frame did not follow the resize to 100 columns" >&2; screen >&2; exit 1; }
[ "$(screen | grep -c '')" -eq 30 ] || { echo "tui:smoke: the pane is not 30 lines" >&2; exit 1; }
expect '^\? help  q quit'   # the status line moved down with the new height
shot "after a resize to 100x30"
shell=$(tmux display-message -p -t "$S" '#{pane_pid}')
pid=$(pgrep -P "$shell" node)   # the TUI this script started: the pane shell's child
kill -TERM "$pid"
wait_for 'TUI-EXIT=143' 10
expect 'BEFORE-TUI'
shot "after SIGTERM: restored, exit 143"

echo "tui:smoke: ok (screens in $OUT)"
