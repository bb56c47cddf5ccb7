#!/usr/bin/env sh
# Installs git-orchestrate and its man page (so `git orchestrate --help`,
# which git turns into `man git-orchestrate`, finds it).
set -eu
cd "$(dirname "$0")/.."
cargo install --locked --path .
root=${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}
# man looks in <dir>/../share/man for every <dir> on PATH, so the page goes
# beside the binary's bin/ folder.
mkdir -p "$root/share/man/man1"
cp docs/git-orchestrate.1 "$root/share/man/man1/git-orchestrate.1"
echo "installed $root/bin/git-orchestrate and $root/share/man/man1/git-orchestrate.1"
case ":$PATH:" in
    *":$root/bin:"*) ;;
    *) echo "note: add $root/bin to PATH so git finds 'git orchestrate'" ;;
esac
