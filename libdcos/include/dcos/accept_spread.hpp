// Keeps the connection handles of CAF's network layer from being reused
// quickly, working around a race in CAF 0.17.6's BASP broker.
//
// Why: CAF names a TCP connection by its file descriptor. When a peer
// disconnects, the BASP broker closes the descriptor at once but removes the
// connection's routing entry and decoding context only later, through its
// worker queue. A connection accepted in between gets the same (lowest free)
// descriptor, so the broker files the newcomer under the departed node:
// replies to it are sent to a node that no longer exists and are dropped.
// Agents whose short-lived executors come and go by the hundred hit this in
// about one run in two of 200 tasks.
//
// The fix: the daemon that links accept_spread.cpp interposes accept(2) and
// moves every accepted socket to a descriptor from a rotating window above
// the ones the process uses otherwise, so a descriptor comes back only after
// thousands of other connections, long after the broker has forgotten it.
//
// Only executables should link this (it replaces accept(2) process-wide), so
// it is not part of libdcos.so: it is its own static library,
// libdcos_accept_spread.a, which dcos-master and dcos-agent link (as should
// a program that embeds a master or an agent).
#pragma once

#include <string>

namespace dcos {

/// Raises the soft descriptor limit to the hard one and starts moving
/// accepted sockets into the rotating window. Returns a line for the log
/// that describes the window (or why it stays off: too few descriptors).
/// Call once, before the actor system starts. Thread-safe afterwards.
std::string enable_accept_spread();

} // namespace dcos
