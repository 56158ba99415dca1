// uring-echo: the floor under tcp_echo's server. A single-threaded echo server on raw liburing,
// no runtime, no tasks, no wakers: what any io_uring server, corio's included, must still pay
// per message, and how much the ring-native receive and send paths of issue 21 could save
// before they are built into corio. Four ways to move each message:
//
//   oneshot     a receive request per message into the connection's buffer, the echo with a
//               direct send(2)                                  (what corio's server does)
//   oneshot_rs  the same, the echo as a send request in the ring (no system call of its own)
//   multi       one multishot receive per connection into a provided-buffer ring, direct send(2)
//   multi_rs    multishot receive, send requests in the ring; a buffer goes back to the ring
//               when its send completes
//
// Usage: uring-echo --port P [--mode oneshot|oneshot_rs|multi|multi_rs]
// Serves 127.0.0.1:P until killed. bench/compare --floor runs it beside corio's and Tokio's
// servers and reports each server's CPU time per message with the same Tokio client.
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

enum class op : std::uint8_t { accept = 1, recv = 2, send = 3 };

// user_data: the operation in the top byte, a buffer id + 1 (0: none) in bits 32..55, the fd.
std::uint64_t tag(op o, int fd, unsigned buf_plus_one = 0) {
  return (std::uint64_t(o) << 56) | (std::uint64_t(buf_plus_one) << 32) | unsigned(fd);
}
op tag_op(std::uint64_t d) { return op(d >> 56); }
int tag_fd(std::uint64_t d) { return int(d & 0xffffffffu); }
unsigned tag_buf(std::uint64_t d) { return unsigned(d >> 32) & 0xffffffu; }

[[noreturn]] void die(const char* what, int err) {
  std::fprintf(stderr, "uring-echo: %s: %s\n", what, std::strerror(err));
  std::exit(1);
}

class server {
 public:
  server(bool multishot, bool ring_send) : multishot_(multishot), ring_send_(ring_send) {
    io_uring_params p{};
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN;
    if (int e = io_uring_queue_init_params(1024, &ring_, &p); e < 0) die("io_uring_queue_init", -e);
    if (multishot_) setup_buffer_ring();
  }

  [[noreturn]] void run(int listener) {
    io_uring_sqe* s = sqe();
    io_uring_prep_multishot_accept(s, listener, nullptr, nullptr, 0);
    io_uring_sqe_set_data64(s, tag(op::accept, listener));
    for (;;) {
      io_uring_submit_and_wait(&ring_, 1);
      io_uring_cqe* c;
      unsigned head, seen = 0;
      io_uring_for_each_cqe(&ring_, head, c) {
        ++seen;
        complete(*c);
      }
      io_uring_cq_advance(&ring_, seen);
    }
  }

 private:
  static constexpr unsigned buffers = 1024, buffer_size = 2048;

  void setup_buffer_ring() {
    void* mem = nullptr;
    if (posix_memalign(&mem, 4096, buffers * sizeof(io_uring_buf)) != 0) die("posix_memalign", ENOMEM);
    ring_bufs_ = static_cast<io_uring_buf_ring*>(mem);
    io_uring_buf_ring_init(ring_bufs_);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uintptr_t>(ring_bufs_);
    reg.ring_entries = buffers;
    reg.bgid = 0;
    if (int e = io_uring_register_buf_ring(&ring_, &reg, 0); e < 0) die("io_uring_register_buf_ring", -e);
    pool_.resize(std::size_t{buffers} * buffer_size);
    for (unsigned i = 0; i < buffers; ++i) give_back(i);
  }
  char* buffer(unsigned id) { return pool_.data() + std::size_t{id} * buffer_size; }
  void give_back(unsigned id) {
    io_uring_buf_ring_add(ring_bufs_, buffer(id), buffer_size, static_cast<unsigned short>(id),
                          io_uring_buf_ring_mask(buffers), 0);
    io_uring_buf_ring_advance(ring_bufs_, 1);
  }

  io_uring_sqe* sqe() {
    io_uring_sqe* s = io_uring_get_sqe(&ring_);
    if (s == nullptr) {
      io_uring_submit(&ring_);
      s = io_uring_get_sqe(&ring_);
    }
    return s;
  }

  void arm_receive(int fd) {
    io_uring_sqe* s = sqe();
    if (multishot_) {
      io_uring_prep_recv_multishot(s, fd, nullptr, 0, 0);
      s->flags |= IOSQE_BUFFER_SELECT;
      s->buf_group = 0;
    } else {
      std::vector<char>& b = own_buffer(fd);
      io_uring_prep_recv(s, fd, b.data(), b.size(), 0);
    }
    io_uring_sqe_set_data64(s, tag(op::recv, fd));
  }
  std::vector<char>& own_buffer(int fd) {
    if (static_cast<std::size_t>(fd) >= own_.size()) own_.resize(static_cast<std::size_t>(fd) + 1);
    if (own_[fd].empty()) own_[fd].resize(buffer_size);
    return own_[fd];
  }

  void complete(const io_uring_cqe& c) {
    std::uint64_t d = c.user_data;
    int fd = tag_fd(d);
    switch (tag_op(d)) {
      case op::accept:
        if (c.res >= 0) {
          int one = 1;
          setsockopt(c.res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          arm_receive(c.res);
        }
        break;
      case op::recv: received(fd, c); break;
      case op::send:
        if (unsigned b = tag_buf(d)) give_back(b - 1);  // multishot: its buffer is free again
        else if (!multishot_) arm_receive(fd);          // one-shot: the next message
        break;
    }
  }

  void received(int fd, const io_uring_cqe& c) {
    if (c.res == -ENOBUFS) {  // every provided buffer is in use: ask again
      arm_receive(fd);
      return;
    }
    if (c.res <= 0) {  // end of stream or error: the connection is done
      if (static_cast<std::size_t>(fd) < own_.size()) own_[fd].clear();
      close(fd);
      return;
    }
    unsigned id = multishot_ ? c.flags >> IORING_CQE_BUFFER_SHIFT : 0;
    const char* data = multishot_ ? buffer(id) : own_[fd].data();
    if (ring_send_) {
      io_uring_sqe* s = sqe();
      io_uring_prep_send(s, fd, data, static_cast<std::size_t>(c.res), MSG_NOSIGNAL);
      io_uring_sqe_set_data64(s, tag(op::send, fd, multishot_ ? id + 1 : 0));
    } else {
      // Loopback with small messages: a short send does not happen in this benchmark, and a
      // failed one shows as the client's error.
      (void)!send(fd, data, static_cast<std::size_t>(c.res), MSG_NOSIGNAL);
      if (multishot_) give_back(id);
      else arm_receive(fd);
    }
    if (multishot_ && !(c.flags & IORING_CQE_F_MORE)) arm_receive(fd);  // the kernel ended it
  }

  io_uring ring_{};
  bool multishot_, ring_send_;
  io_uring_buf_ring* ring_bufs_ = nullptr;
  std::vector<char> pool_;                // the provided buffers (multishot)
  std::vector<std::vector<char>> own_;    // a buffer per connection (one-shot)
};

}  // namespace

int main(int argc, char** argv) {
  int port = -1;
  std::string mode = "oneshot";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--port") port = std::atoi(argv[i + 1]);
    else if (a == "--mode") mode = argv[i + 1];
    else {
      std::fprintf(stderr, "uring-echo: unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  if (port <= 0 || port > 65535 || (mode != "oneshot" && mode != "oneshot_rs" && mode != "multi" && mode != "multi_rs")) {
    std::fprintf(stderr, "usage: uring-echo --port P [--mode oneshot|oneshot_rs|multi|multi_rs]\n");
    return 2;
  }
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  if (listener < 0) die("socket", errno);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("bind", errno);
  if (listen(listener, 1024) != 0) die("listen", errno);
  server s(mode.rfind("multi", 0) == 0, mode.ends_with("_rs"));
  s.run(listener);
}
