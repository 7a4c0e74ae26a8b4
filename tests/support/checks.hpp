// Checks for caf::expected values that say why they failed. The message is
// built only on failure: doctest's REQUIRE_MESSAGE builds it either way,
// which reads the error of a value that has none.
#pragma once

#include <doctest/doctest.h>

#include "dcos/error.hpp"

#define DCOS_REQUIRE_OK(x)                                                    \
  do {                                                                        \
    if (!(x))                                                                 \
      FAIL(#x ": " << ::dcos::describe((x).error()));                         \
  } while (false)
