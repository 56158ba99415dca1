#pragma once
// The vocabulary the channels (mpsc, oneshot, broadcast, watch) report outcomes with.
//
// The rule, the same on every channel: an operation whose name says it may wait or that has
// only one way to succeed (`send`, `blocking_send`, `recv` on a oneshot) throws when the channel
// is closed; a `try_` operation never throws for the channel's state and returns a result that
// says what happened. Either way a value that could not be delivered is handed back to the
// caller — in the exception (send_error<T>) or in the result — never destroyed behind its back.

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "../runtime/detail/export.hpp"
#include "../runtime/error.hpp"

namespace corio {

/// The channel is closed: the receiver is gone (or called close()), or every sender is gone
/// (for a receive that needs a sender). The message names the channel and the side that left.
class CORIO_API channel_closed : public std::runtime_error {
 public:
  /// `what` is the message.
  explicit channel_closed(const std::string& what) : std::runtime_error(what) {}
};

/// A send that failed because the channel is closed. Carries the value that was not sent.
/// (It is shared between copies of the exception object, so T need not be copyable.)
template <class T>
class send_error : public channel_closed {
 public:
  /// `what` is the message; `value` the value that was not sent.
  send_error(const std::string& what, T value) : channel_closed(what), value_(std::make_shared<T>(std::move(value))) {}

  /// The value that was not sent.
  T& value() const noexcept { return *value_; }

 private:
  std::shared_ptr<T> value_;
};

/// What a try_send did.
enum class send_status : unsigned char {
  sent,    ///< the value is in the channel (or with a receiver)
  full,    ///< a bounded channel had no room; the value is handed back
  closed,  ///< the channel is closed; the value is handed back
};

/// The outcome of a try_send: sent, or not sent with the value handed back.
template <class T>
class [[nodiscard]] try_send_result {
 public:
  /// Sent.
  try_send_result() noexcept : status_(send_status::sent) {}
  /// Not sent (`s` says why), with the value handed back.
  try_send_result(send_status s, T value) : status_(s), value_(std::move(value)) {}

  /// Sent, or why not.
  send_status status() const noexcept { return status_; }
  /// True if the value was sent.
  explicit operator bool() const noexcept { return status_ == send_status::sent; }
  /// True if a bounded channel had no room (the value is handed back).
  bool is_full() const noexcept { return status_ == send_status::full; }
  /// True if the channel is closed (the value is handed back).
  bool is_closed() const noexcept { return status_ == send_status::closed; }

  ///@{
  /// The value that was not sent. Throws corio::usage_error if it was sent.
  T& value() & { return checked(); }
  T&& value() && { return std::move(checked()); }
  ///@}

 private:
  T& checked() {
    if (!value_) throw usage_error("corio::try_send_result::value: the value was sent; nothing was handed back");
    return *value_;
  }
  send_status status_;
  std::optional<T> value_;
};

/// What a try_recv found.
enum class recv_status : unsigned char {
  received,  ///< a value was taken
  empty,     ///< nothing there now; senders remain
  closed,    ///< nothing there and nothing can ever arrive
};

/// The outcome of a try_recv: a value, or why there is none. Reads like an optional.
template <class T>
class [[nodiscard]] try_recv_result {
 public:
  /// Nothing received (`s` says why: empty or closed).
  explicit try_recv_result(recv_status s) noexcept : status_(s) {}
  /// Received `value`.
  explicit try_recv_result(T value) : status_(recv_status::received), value_(std::move(value)) {}

  /// Received, or why nothing was.
  recv_status status() const noexcept { return status_; }
  /// True if a value was received.
  explicit operator bool() const noexcept { return value_.has_value(); }
  /// True if a value was received.
  bool has_value() const noexcept { return value_.has_value(); }
  /// True if nothing was there but more may come.
  bool is_empty() const noexcept { return status_ == recv_status::empty; }
  /// True if nothing was there and nothing ever will be.
  bool is_closed() const noexcept { return status_ == recv_status::closed; }

  ///@{
  /// The value; throws corio::channel_closed or corio::usage_error (empty) if there is none.
  T& value() & { return checked(); }
  T&& value() && { return std::move(checked()); }
  ///@}
  ///@{
  /// The value, unchecked (as std::optional): only after checking that there is one.
  T& operator*() & noexcept { return *value_; }
  T&& operator*() && noexcept { return std::move(*value_); }
  T* operator->() noexcept { return &*value_; }
  ///@}
  /// As std::optional (empty for both `empty` and `closed`).
  std::optional<T> take() && { return std::move(value_); }

 private:
  T& checked() {
    if (!value_) {
      if (status_ == recv_status::closed) throw channel_closed("corio::try_recv_result::value: the channel is closed");
      throw usage_error("corio::try_recv_result::value: the channel was empty; check the result first");
    }
    return *value_;
  }
  recv_status status_;
  std::optional<T> value_;
};

}  // namespace corio
