# `make install` writes /etc/agent.conf from the seed (etc/agent.conf,
# the lodastack agent's, kept verbatim) with the accounts that
# contrib/agent.sysusers makes in place of the seed's placeholder "user",
# which no fresh system has, and the unit's log directory in place of
# the seed's /tmp/agent/log: under the unit's PrivateTmp=yes that is the
# service's own /tmp, removed at every stop, and the logrotate snippet
# rotates /var/log/agent/agent.log.  And INFO, the default, in place of
# the seed's DEBUG, which writes a line for every request to the API
# (listening on every address in the seed), unauthenticated ones too.
s/^\(\t\)pluginsuser = "user"$/\1pluginsuser = "_agentplug"\n\1# the workers' user; make install made both accounts\n\1user = "_agent"/
s|^\(\t\)logdir = "/tmp/agent/log"$|\1logdir = "/var/log/agent"|
s|^\(\t\)loglevel = "DEBUG"$|\1loglevel = "INFO"|
