#pragma once
// corio::net — TCP, UDP and Unix-domain sockets, addresses and name resolution.

#include "io_error.hpp"
#include "resolve.hpp"
#include "socket_address.hpp"
#include "tcp_listener.hpp"
#include "tcp_stream.hpp"
#include "udp_socket.hpp"
#include "unix_datagram.hpp"
#include "unix_stream.hpp"
