#!/bin/sh
# Prepares the quickstart under /tmp/agent-quickstart (make run): the
# example plugin (contrib/plugin-example) as a local git repository on the
# branch `release`, and the file:// registry that lists it.  Everything is
# readable by the agent's unprivileged users.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
qs=/tmp/agent-quickstart
repo=$qs/repos/examples/plugin-example.git
work=$qs/repos/work

mkdir -p "$qs/repos/examples"
chmod 755 "$qs" "$qs/repos" "$qs/repos/examples"
cp "$top/etc/quickstart/registry.json" "$qs/registry.json"
chmod 644 "$qs/registry.json"

# A fresh copy of the example each time, so edits to it show up.
rm -rf "$repo" "$work"
export GIT_CONFIG_NOSYSTEM=1 HOME=/nonexistent \
    GIT_AUTHOR_NAME=quickstart GIT_AUTHOR_EMAIL=quickstart@localhost \
    GIT_COMMITTER_NAME=quickstart GIT_COMMITTER_EMAIL=quickstart@localhost
git init --quiet --bare "$repo"
git init --quiet -b release "$work"
cp "$top/contrib/plugin-example/plugin" "$top/contrib/plugin-example/README.md" \
    "$work/"
git -C "$work" add -A
git -C "$work" commit --quiet -m "example plugin"
git -C "$work" push --quiet "$repo" release
rm -rf "$work"
chmod -R a+rX "$qs/repos"
echo "quickstart: example plugin in $repo, registry in $qs/registry.json"
