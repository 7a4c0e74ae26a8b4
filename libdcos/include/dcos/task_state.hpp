// Facts about task states.
#pragma once

#include <dcos/v1/task.pb.h>

namespace dcos {

/// True for states a task never leaves: FINISHED, FAILED, KILLED, ERROR,
/// LOST, DROPPED, GONE and GONE_BY_OPERATOR (as Mesos defines them).
/// UNREACHABLE and UNKNOWN are not terminal.
inline bool is_terminal(v1::TaskState state) {
  switch (state) {
    case v1::TASK_FINISHED:
    case v1::TASK_FAILED:
    case v1::TASK_KILLED:
    case v1::TASK_ERROR:
    case v1::TASK_LOST:
    case v1::TASK_DROPPED:
    case v1::TASK_GONE:
    case v1::TASK_GONE_BY_OPERATOR:
      return true;
    default:
      return false;
  }
}

} // namespace dcos
