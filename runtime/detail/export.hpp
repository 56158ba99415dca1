#pragma once
// Which of libcorio's symbols a program can link to.
//
// The shared library is compiled with -fvisibility=hidden (meson.build), so a function, class
// or variable defined in a .cpp is private to libcorio.so unless its declaration says
// otherwise. Two macros say so; both make the entity visible (and behave the same: in a static
// build they change nothing, every symbol of an archive is linkable anyway):
//
//   CORIO_API       the public API (every class or free function of a public header that has
//                   an out-of-line definition), and the detail entities that inline or
//                   template code in a header calls: code compiled into the user's program
//                   needs them at link time. A class marked CORIO_API exports all its members,
//                   its vtable and its typeinfo (an exception type must be marked, or a user's
//                   `catch` cannot match it reliably).
//   CORIO_TEST_API  detail entities no header calls but corio's own tests do (fault injection,
//                   the timer wheel, backend selection, pool statistics). Exported so that the
//                   tests can link against the shared library; not for users, and not API.
//
// What needs a mark is checked, not remembered: the release variant of tools/test builds the
// unit tests, examples and benchmarks against the shared library (a missing mark is an
// undefined reference there), and tests/consumers/run fails when the shared library hides a
// symbol of a public namespace (outside detail) that it defines.

// Spelled as a standard attribute so it can follow [[nodiscard]] (`class [[nodiscard]]
// CORIO_API x`); it must come first in a function or variable declaration (`CORIO_API static
// void f();`, `CORIO_API extern int x;`).
#if defined(__GNUC__) || defined(__clang__)
#define CORIO_API [[gnu::visibility("default")]]
#else
#define CORIO_API
#endif

#define CORIO_TEST_API CORIO_API
