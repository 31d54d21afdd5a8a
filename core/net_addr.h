/*  net_addr.h: what a listen address given on the command line is.

    One rule, shared by the gateway's public port (plain HTTP only on loopback,
    gateway_tls.h) and every node's admin port (no token only on loopback,
    node_main.h): an address is loopback when it is "localhost", an IPv4
    address in 127.0.0.0/8, "::1" or an IPv4-mapped 127.x address. Anything
    else (0.0.0.0, a routable address, a host name other than localhost) is
    not: the listener may be reachable from other machines.

    Owns nothing; pure and thread-safe.
*/
#ifndef LEDGER_NET_ADDR_H
#define LEDGER_NET_ADDR_H

#include <stdbool.h>

/* True when `host` is a loopback listen address (above). NULL or "" is not. */
bool net_addr_is_loopback(const char *host);

#endif
