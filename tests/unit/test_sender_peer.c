/*
 * Whose socket may be a loopback output (sender_peer_verdict() in
 * sender_peer.h): never the agent's user's or pluginsuser's; with
 * [output] serveruser, that uid's or root's only; without, anyone's but
 * a login account's.  Each refusal says whose port it was and what to do.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "workers/sender/sender_peer.h"

#define USER	65534
#define PLUGINS	999

static struct sender_peer
peer(const char *serveruser)
{
	struct sender_peer	 sp;

	memset(&sp, 0, sizeof(sp));
	sp.diag.fd = -1;
	sp.on = 1;
	sp.ours[sp.nours++] = USER;
	sp.ours[sp.nours++] = PLUGINS;
	sender_peer_server(&sp, serveruser);
	return sp;
}

static int
verdict(const struct sender_peer *sp, uid_t uid, char *why)
{
	why[0] = '\0';
	return sender_peer_verdict(sp, uid, why, 256);
}

Test(sender_peer, without_serveruser_daemons_and_root_serve)
{
	struct sender_peer	 sp = peer("");
	char			 why[256];

	cr_assert_eq(verdict(&sp, 0, why), 0);
	cr_assert_eq(verdict(&sp, 110, why), 0, "a system user's");
	cr_assert_eq(verdict(&sp, 999 + 61001, why), 0, "above the people");
	cr_assert_eq(verdict(&sp, USER, why), -1);
	cr_assert(strstr(why, "uid 65534, the agent's user or pluginsuser"));
	cr_assert_eq(verdict(&sp, PLUGINS, why), -1);
	cr_assert_eq(verdict(&sp, 1000, why), -1);
	cr_assert(strstr(why, "uid 1000, a login account's") != NULL &&
	    strstr(why, "[output] serveruser") != NULL, "%s", why);
	cr_assert_eq(verdict(&sp, 59999, why), -1);
	cr_assert_eq(verdict(&sp, 60001, why), -1, "systemd-homed's first");
	cr_assert_eq(verdict(&sp, 60577, why), -1, "nspawn --bind-user's last");
	cr_assert_eq(verdict(&sp, 60578, why), 0);
	cr_assert_eq(verdict(&sp, 61184, why), 0, "systemd's DynamicUser=");
	cr_assert_eq(verdict(&sp, 65533, why), 0);
}

/*
 * From 65536 on are no daemons either: accounts of a directory (LDAP,
 * AD), and the subordinate uids of /etc/subuid, which a local user maps
 * with newuidmap in a user namespace that shares the host's network
 * namespace, and listens on its loopback as.
 */
Test(sender_peer, without_serveruser_a_users_subordinate_uid_does_not_serve)
{
	struct sender_peer	 sp = peer("");
	char			 why[256];

	cr_assert_eq(verdict(&sp, 65536, why), -1);
	cr_assert_eq(verdict(&sp, 100000, why), -1);
	cr_assert(strstr(why, "uid 100000, a login account's") != NULL,
	    "%s", why);
	cr_assert_eq(verdict(&sp, 1829400001, why), -1, "an AD user's");
	cr_assert_eq(verdict(&sp, 4294967293U, why), -1);
	/* named, it is the output */
	sender_peer_server(&sp, "100000");
	cr_assert_eq(verdict(&sp, 100000, why), 0);
}

Test(sender_peer, with_serveruser_only_it_and_root_serve)
{
	struct sender_peer	 sp = peer("4242");
	char			 why[256];

	cr_assert_eq(verdict(&sp, 4242, why), 0, "a login uid, named");
	cr_assert_eq(verdict(&sp, 0, why), 0);
	cr_assert_eq(verdict(&sp, 110, why), -1, "another daemon's");
	cr_assert(strstr(why, "uid 110, not by [output] serveruser (uid "
	    "4242) or root") != NULL, "%s", why);
	cr_assert_eq(verdict(&sp, PLUGINS, why), -1);
	cr_assert(strstr(why, "pluginsuser") != NULL, "%s", why);
	/* a reload takes it away again */
	sender_peer_server(&sp, "");
	cr_assert_eq(verdict(&sp, 110, why), 0);
	cr_assert_eq(verdict(&sp, 4242, why), -1);
}

Test(sender_peer, a_reloads_pluginsuser_is_the_agents_too_and_so_is_the_old)
{
	struct sender_peer	 sp = peer("");
	char			 why[256];

	cr_assert_eq(verdict(&sp, 998, why), 0, "a system uid: a daemon");
	/* the master sends the new pluginsuser as its uid */
	sender_peer_ours(&sp, "998");
	cr_assert_eq(verdict(&sp, 998, why), -1);
	cr_assert(strstr(why, "the agent's user or pluginsuser") != NULL,
	    "%s", why);
	/* the old one's plugins may still run: it stays */
	cr_assert_eq(verdict(&sp, PLUGINS, why), -1);
	/* root is never one, nor a name not known */
	sender_peer_ours(&sp, "0");
	cr_assert_eq(verdict(&sp, 0, why), 0);
	sender_peer_ours(&sp, "no-such-user-xq");
	cr_assert_eq(sp.nours, 3);
	/* a bounded set: past it, the next is said and left out */
	sender_peer_ours(&sp, "901");
	sender_peer_ours(&sp, "902");
	sender_peer_ours(&sp, "903");
	sender_peer_ours(&sp, "904");
	sender_peer_ours(&sp, "905");
	cr_assert_eq(sp.nours, SENDER_PEER_OURS);
	sender_peer_ours(&sp, "906");
	cr_assert_eq(sp.nours, SENDER_PEER_OURS);
	cr_assert_eq(verdict(&sp, 905, why), -1);
}
