#pragma once
// corio::tls — TLS for services, on OpenSSL 3 (which no public header includes).
//
//   auto ctx = tls::context::server();
//   ctx.use_certificate_chain_file("cert.pem");
//   ctx.use_private_key_file("key.pem");
//   auto s = co_await tls::accept(ctx, co_await listener.accept());
//
// context.hpp: settings (certificates, trust, versions, ALPN, resumption, verification);
// stream.hpp: tls::stream<S>, connect/accept, split halves, cancel safety;
// error.hpp: the tls error category.

#include "tls/context.hpp"
#include "tls/error.hpp"
#include "tls/stream.hpp"
