// The last steps before PROGRAM's exec inside a Linux container, shared by
// a container's own PROGRAM (linux_launch.hpp) and a process that enters a
// running container later (linux_enter.hpp): the same limits must hold for
// both, or a debug session would be a way out of the container's sandbox.
//
// Thread-safety: none needed; the helper is single-threaded.
#pragma once

#include <string>
#include <vector>

#include "isolation_spec.hpp"

namespace dcos::helper {

/// Reads the seccomp filter (BPF program bytes) named by the spec into
/// `*bpf` (left empty when the spec names none). Returns "" or the error.
std::string read_seccomp_filter(const isolation_spec& spec, std::string* bpf);

/// Applies the spec's rlimits and drops every capability outside its
/// bounding set (and the ambient ones). Returns "" or the error.
std::string apply_limits(const isolation_spec& spec);

/// Default dispositions for every signal and an empty signal mask.
void reset_signals();

/// Sets no_new_privs and loads `bpf` (if not empty). Right before exec:
/// nothing after this may need a blocked syscall. Returns "" or the error.
std::string confine(const std::string& bpf);

} // namespace dcos::helper
