// Runs blocking work (loading the probe, closing a profile window) on a
// thread pool from a coroutine, and resumes on the coroutine's own strand:
// the I/O threads never wait on it.
#pragma once

#include <utility>  // before Asio's awaitable.hpp (it uses std::exchange)

#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
#include <memory>
#include <optional>

namespace sonde::proxy {

// The coroutine must run on a strand: the pool's "done" is posted to it, so
// it cannot overtake the wait it ends. `fn` is taken by reference to a named
// object of the caller's (it lives across the co_await): g++ 12 destroys a
// temporary lambda passed by value to a coroutine twice.
template <class T>
boost::asio::awaitable<T> offload(boost::asio::thread_pool& pool, const std::function<T()>& fn) {
  namespace asio = boost::asio;
  auto ex = co_await asio::this_coro::executor;
  auto timer = std::make_shared<asio::steady_timer>(ex, asio::steady_timer::time_point::max());
  auto result = std::make_shared<std::optional<T>>();
  asio::post(pool, [timer, result, ex, fn] {
    result->emplace(fn());
    asio::post(ex, [timer] { timer->cancel(); });
  });
  boost::system::error_code ec;
  co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  co_return std::move(**result);
}

}  // namespace sonde::proxy
