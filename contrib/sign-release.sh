#!/bin/sh
# Sign the release of a plugin repository with an SSH key, as an agent
# with [agent] gitsigners wants it (see agent.conf(5), gitsigners).
#
# usage: sign-release.sh -k KEY [-e EMAIL] [-b BRANCH] [-m MESSAGE]
#                        [-a | -t TAG] [-p REMOTE]
#
#   -k KEY      the private key (KEY.pub beside it), e.g. made with
#               ssh-keygen -t ed25519 -f ~/.ssh/release
#   -e EMAIL    committer (tagger) e-mail; the key's line in gitsigners
#               must admit it.  Default: git config user.email
#   -b BRANCH   the branch the agent runs (gitbranch).  Default: release
#   -m MESSAGE  message of the commit or tag.  Default: "release"
#   -a          re-sign the tip itself (git commit --amend: its id
#               changes; for a tip not pushed yet).  Default: a new empty
#               commit on top, signed, which vouches for the tree as it is
#   -t TAG      leave the commits alone and put TAG, an annotated tag
#               signed with KEY, on the tip (for gitsignedtags = yes)
#   -p REMOTE   push the branch (or the tag) to REMOTE
#
# Commit modes need BRANCH checked out.  The result is verified with git
# against a one-line allowed-signers file made of EMAIL and KEY.pub, the
# way the agent checks it, before anything is pushed.
set -eu

usage() {
	sed -n 's/^# \{0,1\}//; 4,20p' "$0" >&2
	exit 2
}

key='' email='' branch=release msg=release amend=0 tag='' remote=''
while getopts k:e:b:m:at:p:h opt; do
	case $opt in
	k) key=$OPTARG ;;
	e) email=$OPTARG ;;
	b) branch=$OPTARG ;;
	m) msg=$OPTARG ;;
	a) amend=1 ;;
	t) tag=$OPTARG ;;
	p) remote=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
if [ $# -ne 0 ] || [ -z "$key" ]; then
	usage
fi
[ "$amend" = 0 ] || [ -z "$tag" ] || {
	echo "sign-release.sh: -a and -t exclude each other" >&2; exit 2; }
if [ ! -r "$key" ] || [ ! -r "$key.pub" ]; then
	echo "sign-release.sh: $key or $key.pub cannot be read" >&2
	exit 1
fi
command -v ssh-keygen >/dev/null || {
	echo "sign-release.sh: ssh-keygen not found (openssh-client)" >&2
	exit 1; }
[ -n "$email" ] || email=$(git config user.email) || {
	echo "sign-release.sh: no -e and no git config user.email" >&2
	exit 1; }
git rev-parse --verify --quiet "refs/heads/$branch" >/dev/null || {
	echo "sign-release.sh: no branch $branch here" >&2; exit 1; }

# git signing with KEY as EMAIL: the committer (tagger) is who signs,
# whatever GIT_COMMITTER_EMAIL says otherwise
sgit() {
	GIT_COMMITTER_EMAIL=$email git -c gpg.format=ssh \
	    -c "user.signingkey=$key.pub" -c "user.email=$email" "$@"
}

if [ -n "$tag" ]; then
	sgit tag -s -m "$msg" "$tag" "refs/heads/$branch"
	what="tag $tag"
	verify="verify-tag refs/tags/$tag"
	push="refs/tags/$tag"
else
	[ "$(git symbolic-ref --quiet HEAD)" = "refs/heads/$branch" ] || {
		echo "sign-release.sh: check out $branch first" >&2; exit 1; }
	if [ "$amend" = 1 ]; then
		sgit commit --quiet --amend --allow-empty --no-edit -S
	else
		sgit commit --quiet --allow-empty -S -m "$msg"
	fi
	what="commit $(git rev-parse --short HEAD) on $branch"
	verify="verify-commit refs/heads/$branch"
	push="refs/heads/$branch"
fi

# as the agent will: only the line for this e-mail, namespace git
allowed=$(mktemp)
trap 'rm -f "$allowed"' EXIT
printf '%s namespaces="git" %s\n' "$email" "$(cat "$key.pub")" > "$allowed"
# shellcheck disable=SC2086
if ! git -c gpg.format=ssh -c gpg.ssh.allowedSignersFile="$allowed" \
    $verify; then
	echo "sign-release.sh: $what does not verify" >&2
	exit 1
fi
echo "signed $what as $email"
echo "gitsigners line: $email namespaces=\"git\" $(cat "$key.pub")"
if [ -n "$remote" ]; then
	git push "$remote" "$push:$push"
fi
