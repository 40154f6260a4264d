#pragma once
// Error policy (after faiss): user errors throw typed exceptions whose message says what to change;
// internal invariants use NMLAB_ASSERT, which aborts with the condition, file and line.
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace nmlab {

/// Base of every user-facing nmlab error.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A spec or option is wrong; `where` is "file:line:column" when known.
class SpecError : public Error {
 public:
  SpecError(const std::string& where, const std::string& what)
      : Error(where.empty() ? what : where + ": " + what), where_(where) {}
  const std::string& where() const { return where_; }

 private:
  std::string where_;
};

/// A tensor has the wrong shape, dtype, or non-finite values.
class TensorError : public Error {
 public:
  using Error::Error;
};

/// Input/output failed (file missing, truncated, unreadable, not writable).
class IoError : public Error {
 public:
  using Error::Error;
};

/// A backend or feature was not compiled into this build (for example CUDA without nvcc).
class NotCompiled : public Error {
 public:
  explicit NotCompiled(const std::string& what) : Error(what + " was not compiled into this build") {}
};

/// The requested problem is outside what a solver accepts (for example too large for enumeration).
class Unsupported : public Error {
 public:
  using Error::Error;
};

[[noreturn]] inline void assert_fail(const char* cond, const char* file, int line, const char* msg) {
  std::fprintf(stderr, "nmlab internal error: %s (%s) at %s:%d\n", msg, cond, file, line);
  std::abort();
}

}  // namespace nmlab

/// Internal invariant; a failure is a bug in nmlab, never a user error.
#define NMLAB_ASSERT(cond, msg) \
  ((cond) ? (void)0 : ::nmlab::assert_fail(#cond, __FILE__, __LINE__, msg))
