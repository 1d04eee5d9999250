"""Real git repositories holding plugins, made by the tests.

Each plugin lives in a bare repository <root>/<group>/<project>.git with a
`release` branch whose top holds an executable `plugin`; the agent's
`[agent] git` template is then "<root>/%s.git".  Everything is readable
by all, because gitpull runs as `user` (nobody) when the tests run as
root.  Commits and tags may be signed with SSH keys (ssh-keygen), as
[agent] gitsigners wants them.
"""
import os
import shutil
import subprocess

GIT_ENV = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/nonexistent",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@localhost",
    "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@localhost",
    "LANG": "C",
}


def git(*args, cwd=None, env=None):
    r = subprocess.run(["git", *args], cwd=cwd, env={**GIT_ENV, **(env or {})},
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout.strip()


def ssh_key(path):
    """A new ed25519 key pair at `path` (private) and `path`.pub."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                    os.path.basename(path), "-f", path], check=True,
                   capture_output=True, timeout=60)
    with open(path + ".pub") as f:
        return f.read().strip()


def signing(sign):
    """git options and environment of a signature: `sign` is (private key
    path, e-mail of the signer), or None for none."""
    if sign is None:
        return [], {}
    key, email = sign
    return (["-c", "gpg.format=ssh", "-c", f"user.signingkey={key}.pub"],
            {"GIT_COMMITTER_EMAIL": email, "GIT_AUTHOR_EMAIL": email})


def hostile_tree(bare, dirname):
    """The release branch of the bare repository `bare` made a tree git
    cannot check out: a directory `dirname` (bytes) holding .git/config,
    which git names in its error ("invalid path '<dirname>/.git/config'")
    as it is, but for C0 controls."""
    def run(*args, data=None):
        return subprocess.run(["git", *args], cwd=bare, input=data,
                              capture_output=True, check=True,
                              timeout=60).stdout.strip()
    blob = run("hash-object", "-w", "--stdin", data=b"#!/bin/sh\n")
    t1 = run("mktree", data=b"100644 blob " + blob + b"\tconfig\n")
    t2 = run("mktree", data=b"040000 tree " + t1 + b"\t.git\n")
    top = run("mktree", data=b"100755 blob " + blob + b"\tplugin\n"
              b"040000 tree " + t2 + b"\t" + dirname + b"\n")
    commit = run("-c", "user.name=x", "-c", "user.email=x@example.com",
                 "commit-tree", "-m", "evil", top.decode())
    run("update-ref", "refs/heads/release", commit.decode())


def open_tree(path):
    """rwx for all up the tree we made, so nobody can read the repos."""
    for dirpath, dirnames, filenames in os.walk(path):
        os.chmod(dirpath, 0o755)
        for f in filenames:
            p = os.path.join(dirpath, f)
            os.chmod(p, os.stat(p).st_mode | 0o444)


class PluginRepos:
    """Bare repos under `root`; `template` is the [agent] git value."""

    def __init__(self, root):
        self.root = root
        os.makedirs(root, exist_ok=True)
        os.chmod(root, 0o755)
        self.template = os.path.join(root, "%s.git")

    def bare(self, repo):
        return os.path.join(self.root, repo + ".git")

    def work(self, repo):
        return os.path.join(self.root, "work", repo)

    def registry_git(self, repo):
        """The `git` value of a registry item for this repo."""
        return f"git@git.test.local:{repo}.git"

    def create(self, repo, script, files=None, branch="release", sign=None):
        """A new repo `group/project` whose plugin is `script` (text);
        `sign` as in commit()."""
        bare, work = self.bare(repo), self.work(repo)
        os.makedirs(os.path.dirname(bare), exist_ok=True)
        # no templates: nothing of them is used, and copying them was a
        # fifth of the CPU these repositories cost
        git("init", "--quiet", "--bare", "--template=", bare)
        os.makedirs(work)
        git("init", "--quiet", "--template=", "-b", branch, work)
        # The work tree writes its objects straight into the bare
        # repository, so that publishing is moving a ref there: a push
        # cost 80 ms of CPU (receive-pack, pack-objects, index-pack), half
        # of what these repositories cost the suite.  origin stays for
        # what pushes itself (contrib/sign-release.sh).
        objects = os.path.join(work, ".git", "objects")
        shutil.rmtree(objects)
        os.symlink(os.path.join(bare, "objects"), objects)
        git("remote", "add", "origin", bare, cwd=work)
        head = self.commit(repo, script, files, branch=branch, msg="first",
                           sign=sign)
        open_tree(self.root)
        return head

    def commit(self, repo, script, files=None, branch="release",
               msg="change", sign=None):
        """A new commit on `branch` with `script` as the plugin; signed
        when `sign` is (private key path, signer's e-mail)."""
        work = self.work(repo)
        path = os.path.join(work, "plugin")
        with open(path, "w") as f:
            f.write(script)
        os.chmod(path, 0o755)
        for name, text in (files or {}).items():
            with open(os.path.join(work, name), "w") as f:
                f.write(text)
        git("add", "-A", cwd=work)
        opts, env = signing(sign)
        git(*opts, "commit", "--quiet", *(["-S"] if sign else []),
            "-m", msg, cwd=work, env=env)
        return self.publish(repo, "HEAD", f"refs/heads/{branch}")

    def tag(self, repo, name, sign=None):
        """An annotated tag on the work tree's HEAD, pushed; signed when
        `sign` is (private key path, tagger's e-mail)."""
        work = self.work(repo)
        opts, env = signing(sign)
        git(*opts, "tag", "-s" if sign else "-a", "-m", f"release {name}",
            name, cwd=work, env=env)   # the tagger is the committer
        self.publish(repo, f"refs/tags/{name}", f"refs/tags/{name}")

    def publish(self, repo, what, ref):
        """`ref` of the bare repository set to the work tree's `what`,
        whose objects are there already (create()); its id."""
        oid = git("rev-parse", what, cwd=self.work(repo))
        git("update-ref", ref, oid, cwd=self.bare(repo))
        open_tree(self.root)
        return oid

    def head(self, repo, branch="release"):
        return git("rev-parse", branch, cwd=self.bare(repo))
