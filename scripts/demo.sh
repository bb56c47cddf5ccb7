#!/usr/bin/env sh
# A tour of git-orchestrate on a throw-away local repository (no server):
# two agents share a task queue with dependencies, claim work atomically,
# and finish it, while git keeps the whole history.
set -eu

command -v git-orchestrate >/dev/null 2>&1 || {
    echo "git-orchestrate is not on PATH: run 'scripts/install.sh' first (and add ~/.cargo/bin to PATH)" >&2
    exit 1
}

repo=$(mktemp -d "${TMPDIR:-/tmp}/orchestrate-demo.XXXXXX")
cd "$repo"
git init -q
git config user.name "demo lead"
git config user.email demo@example.com
git commit -q --allow-empty -m "initial"
echo "demo repository: $repo"
echo

# Prints a command the way it could be pasted, runs it, and keeps its output
# in $out for the next step.
run() {
    printf '$'
    for arg in "$@"; do
        case $arg in
            *[!A-Za-z0-9_./:=-]*) printf " '%s'" "$arg" ;;
            *) printf ' %s' "$arg" ;;
        esac
    done
    printf '\n'
    out=$("$@")
    printf '%s\n\n' "$out"
}

run git orchestrate init
run git orchestrate task add "Design the schema" -p 1 --role backend
schema=$out
run git orchestrate task add "Build the API" --after "$schema" --role backend
api=$out
run git orchestrate task add "Write the docs" -p 3
docs=$out
run git orchestrate task list

# Two agents, each with its own session name, take the best ready work.
run git orchestrate --session alice task claim --next
run git orchestrate --session bob task claim --next
run git orchestrate --session alice task note "$schema" "tables drafted" --progress 50
run git orchestrate --session alice task done "$schema"
# The API was waiting on the schema: now it is ready.
run git orchestrate task list --ready
run git orchestrate --session alice task claim --next
run git orchestrate --session bob task done "$docs"
run git orchestrate task show "$api"
run git log --oneline refs/orchestrate/tasks

# Agents in the background: dispatch spawns a supervised agent (here a
# stand-in shell command) for each ready task, in its own worktree, and the
# next as dependencies finish.
run git orchestrate task add "Lint the code"
lint=$out
run git orchestrate task add "Package it" --after "$lint"
run git orchestrate dispatch --max 2 -- sh -c 'echo "working on $ORCHESTRATE_TASK as $ORCHESTRATE_SESSION"; sleep 1'
run git orchestrate ps
run git orchestrate logs "agent-$lint"
echo "The state lives in refs/orchestrate/* of $repo, the agents' worktrees in $repo.worktrees;"
echo "delete both folders when done."
