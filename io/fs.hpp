#pragma once
// corio::fs — files, file metadata, whole-file helpers, pipes and the standard streams.
//
//   auto text = co_await corio::fs::read_to_string("in.txt");
//   auto f = co_await corio::fs::file::open("out.txt", corio::fs::open_options().write().create());
//   auto [rd, wr] = corio::fs::pipe();
//   co_await corio::fs::stdout_stream().write_all("done\n");

#include "fs/directory.hpp"
#include "fs/file.hpp"
#include "fs/metadata.hpp"
#include "fs/open_options.hpp"
#include "fs/pipe.hpp"
#include "fs/stdio.hpp"
#include "fs/whole_file.hpp"
#include "io_error.hpp"
