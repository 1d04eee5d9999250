# `make install` writes /etc/agent.conf from the seed (etc/agent.conf,
# the lodastack agent's, kept verbatim) with the accounts that
# contrib/agent.sysusers makes in place of the seed's placeholder "user",
# which no fresh system has.
s/^\(\t\)pluginsuser = "user"$/\1pluginsuser = "_agentplug"\n\1# the workers' user; make install made both accounts\n\1user = "_agent"/
