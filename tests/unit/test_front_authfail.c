/*
 * front_authfail.c: wrong bearer tokens by source, the waits they make,
 * and who else is not made to wait.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "workers/front/front_authfail.h"

static struct sockaddr_storage
addr(const char *text)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else {
		cr_assert_eq(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1,
		    "%s", text);
		sin6->sin6_family = AF_INET6;
	}
	return ss;
}

static struct front_authfail *
table(void)
{
	struct front_authfail	*a;

	cr_assert_not_null(a = calloc(1, sizeof(*a)));
	return a;
}

/* The source of a client at the address `who`, or of uid "u<n>". */
static void
key_of(const char *who, uint8_t key[AUTHFAIL_KEY])
{
	struct sockaddr_storage	 ss;

	if (who[0] == 'u') {
		front_authfail_key_uid((uid_t)atoi(who + 1), key);
		return;
	}
	ss = addr(who);
	front_authfail_key_addr(&ss, key);
}

/* Criterion's float asserts evaluate their argument twice: call once. */
static double
wrong(struct front_authfail *a, const char *who, double now)
{
	uint8_t	 key[AUTHFAIL_KEY];

	key_of(who, key);
	return front_authfail_wrong(a, key, now);
}

static double
wait_of(struct front_authfail *a, const char *who, double now)
{
	uint8_t	 key[AUTHFAIL_KEY];

	key_of(who, key);
	return front_authfail_wait(a, key, now);
}

Test(authfail, five_free_then_doubling_to_the_cap)
{
	struct front_authfail	*a = table();
	double			 w, want = AUTHFAIL_WAIT_FIRST, now = 100.;
	int			 i;

	for (i = 0; i < AUTHFAIL_FREE; i++) {
		w = wrong(a, "192.0.2.7", now);
		cr_assert_float_eq(w, 0., 1e-9, "wrong %d", i + 1);
		w = wait_of(a, "192.0.2.7", now);
		cr_assert_float_eq(w, 0., 1e-9);
	}
	for (i = 0; i < 12; i++) {
		w = wrong(a, "192.0.2.7", now);
		cr_assert_float_eq(w, want, 1e-9, "wrong %d: %f",
		    AUTHFAIL_FREE + i + 1, w);
		w = wait_of(a, "192.0.2.7", now + want / 2);
		cr_assert_float_eq(w, want / 2, 1e-9);
		/* over: checked again */
		now += want;
		w = wait_of(a, "192.0.2.7", now);
		cr_assert_float_eq(w, 0., 1e-9);
		want = want * 2 > AUTHFAIL_WAIT_MAX ? AUTHFAIL_WAIT_MAX :
		    want * 2;
	}
	cr_assert_eq(a->wrong, AUTHFAIL_FREE + 12);
	free(a);
}

Test(authfail, a_right_token_or_quiet_starts_again)
{
	struct front_authfail	*a = table();
	uint8_t			 key[AUTHFAIL_KEY];
	double			 w;
	int			 i;

	for (i = 0; i < AUTHFAIL_FREE + 2; i++)
		(void)wrong(a, "192.0.2.8", 10.);
	key_of("192.0.2.8", key);
	front_authfail_right(a, key);
	w = wait_of(a, "192.0.2.8", 10.);
	cr_assert_float_eq(w, 0., 1e-9);
	for (i = 0; i < AUTHFAIL_FREE; i++) {
		w = wrong(a, "192.0.2.8", 20.);
		cr_assert_float_eq(w, 0., 1e-9);
	}
	/* long quiet after its wait: free again */
	w = wrong(a, "192.0.2.8", 20. + AUTHFAIL_FORGET);
	cr_assert_float_eq(w, 0., 1e-9);
	free(a);
}

Test(authfail, only_the_source_waits)
{
	struct front_authfail	*a = table();
	double			 w;
	int			 i;

	for (i = 0; i < AUTHFAIL_FREE + 3; i++) {
		(void)wrong(a, "192.0.2.9", 5.);
		(void)wrong(a, "2001:db8:1:2::10", 5.);
	}
	cr_assert_gt(wait_of(a, "192.0.2.9", 5.), 0.);
	/* a mapped IPv4 address is that address */
	cr_assert_gt(wait_of(a, "::ffff:192.0.2.9", 5.), 0.);
	/* an IPv6 /64 is one source */
	cr_assert_gt(wait_of(a, "2001:db8:1:2::99", 5.), 0.);
	w = wait_of(a, "2001:db8:1:3::10", 5.);
	cr_assert_float_eq(w, 0., 1e-9);
	w = wait_of(a, "192.0.2.10", 5.);
	cr_assert_float_eq(w, 0., 1e-9);
	free(a);
}

Test(authfail, local_users_are_sources_of_their_own)
{
	struct front_authfail	*a = table();
	double			 w;
	int			 i;

	/* on loopback every user has 127.0.0.1: told apart by uid */
	for (i = 0; i < AUTHFAIL_FREE + 3; i++)
		(void)wrong(a, "u4243", 5.);
	cr_assert_gt(wait_of(a, "u4243", 5.), 0.);
	w = wait_of(a, "u4244", 5.);
	cr_assert_float_eq(w, 0., 1e-9);
	w = wait_of(a, "127.0.0.1", 5.);
	cr_assert_float_eq(w, 0., 1e-9);
	/* and uid 2130706433 is not 127.0.0.1 (the same four bytes) */
	for (i = 0; i < AUTHFAIL_FREE + 3; i++)
		(void)wrong(a, "127.0.0.1", 5.);
	w = wait_of(a, "u2130706433", 5.);
	cr_assert_float_eq(w, 0., 1e-9);
	free(a);
}

Test(authfail, a_full_table_evicts_the_quietest_not_a_waiting_one)
{
	struct front_authfail	*a = table();
	char			 who[64];
	int			 i;

	/* one guesser waiting, then a source a slot, more than fit */
	for (i = 0; i < AUTHFAIL_FREE + 1; i++)
		(void)wrong(a, "198.51.100.1", 1.);
	for (i = 0; i < AUTHFAIL_SLOTS + 10; i++) {
		snprintf(who, sizeof(who), "10.0.%d.%d", i / 250, i % 250);
		(void)wrong(a, who, 1.5);
	}
	cr_assert_gt(wait_of(a, "198.51.100.1", 1.5), 0.);
	free(a);
}
