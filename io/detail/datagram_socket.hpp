#pragma once
// datagram_socket is public now (corio::net::datagram_socket, in ../socket.hpp); this header
// stays for code that includes it by its old path.

#include "../socket.hpp"  // IWYU pragma: export
