// SPDX-License-Identifier: MIT
// The provider tier (cfutures/sys.h): a cf_executor_provider as the core's ExecutorProvider, and the calls a
// provider's workers and completions use.
#include <cfutures/sys.h>

#include <cstdint>
#include <cstring>

#include "executor/provided_executor.hpp"
#include "executor/task_context.hpp"
#include "registry/registry.hpp"
#include "capi/capi_support.hpp"
#include "capi/handles.hpp"
#include "capi/options.hpp"

using namespace cf::capi;

namespace {

constexpr std::size_t kProviderV1 = CF_EXECUTOR_PROVIDER_V1_SIZE;

cf_future *handle_of(cf::core::FutureState &f) { return reinterpret_cast<cf_future *>(&f); }
cf::core::FutureState *future_of(cf_future *f) { return handle_cast<cf::core::FutureState>(f); }

// A provider's failing status as the core's exception, with the text the provider set.
void check(int rc) {
    if (rc >= 0) return;
    throw cf::core::Error(static_cast<cf::core::Status>(rc), last_error());
}

class CProvider final : public cf::core::ExecutorProvider {
public:
    CProvider(const cf_executor_provider &p, void *self) : p_(p), self_(self), name_(p.name ? p.name : "provided") {}
    ~CProvider() override { p_.destroy(self_); }

    const std::string &name() const noexcept override { return name_; }
    void submit(const std::string &task, std::string_view arg, cf::core::FutureState &f) override {
        check(p_.submit(self_, task.c_str(), arg.data(), arg.size(), handle_of(f)));
    }
    bool runs_chunks() const noexcept override { return p_.submit_chunk != nullptr; }
    void submit_chunk(const std::string &task, const std::vector<std::string_view> &args,
                      cf::core::FutureState &f) override {
        std::vector<cf_slice> slices;
        slices.reserve(args.size());
        for (std::string_view a : args) slices.push_back(cf_slice{a.data(), a.size()});
        check(p_.submit_chunk(self_, task.c_str(), slices.data(), slices.size(), handle_of(f)));
    }
    void shutdown(bool wait, bool cancel_futures) override { check(p_.shutdown(self_, wait, cancel_futures)); }
    bool terminate(bool kill) override {
        if (!p_.terminate) return false;
        check(p_.terminate(self_, kill));
        return true;
    }
    void stats(cf::core::ExecutorStats &out) override {
        if (!p_.stats) return;
        cf_executor_stats s;
        std::memset(static_cast<void *>(&s), 0, sizeof s);
        s.struct_size = sizeof s;
        check(p_.stats(self_, &s));
        out.workers = s.workers;
        out.idle_workers = s.idle_workers;
        out.queued = s.queued;
        out.running = s.running;
        out.worker_deaths = s.worker_deaths;
        out.workers_replaced = s.workers_replaced;
        out.max_workers = s.max_workers;
        out.workers_started = s.workers_started;
    }
    bool drives_progress() const noexcept override { return p_.progress != nullptr; }
    bool progress(std::uint64_t round) override { return p_.progress(self_, round) > 0; }

private:
    cf_executor_provider p_;
    void *self_;
    std::string name_;
};

}  // namespace

extern "C" {

CF_API int cf_executor_new_provided(const cf_executor_provider *provider, void *self, cf_executor **out) {
    if (!out) return null_argument("cf_executor_new_provided", "out");
    *out = nullptr;
    if (!provider) return null_argument("cf_executor_new_provided", "provider");
    cf_executor_provider p;
    std::memset(static_cast<void *>(&p), 0, sizeof p);
    if (int rc = read_options(provider, kProviderV1, p, "cf_executor_new_provided"); rc != CF_OK) return rc;
    if (!p.submit || !p.shutdown || !p.destroy)
        return fail(CF_E_INVALID_ARGUMENT, "cf_executor_new_provided: submit, shutdown and destroy are required");
    auto owned = std::unique_ptr<CProvider>();
    int rc = guarded([&]() -> int {
        owned = std::make_unique<CProvider>(p, self);
        return CF_OK;
    });
    if (rc != CF_OK) {
        p.destroy(self);
        return rc;
    }
    return guarded([&]() -> int {
        *out = new cf_executor(std::make_shared<cf::core::ProvidedExecutor>(std::move(owned)));
        return CF_OK;
    });
}

CF_API int cf_provider_error(int status, const char *message) {
    return fail(status, message ? message : cf_strerror(status));
}

CF_API int cf_task_registered(const char *task) {
    if (!task) return 0;
    int found = 0;
    guarded([&]() -> int {
        found = cf::core::find_task(std::string_view(task)).has_value();
        return CF_OK;
    });
    return found;
}

CF_API int cf_task_run_named(const char *task, const void *arg, size_t arg_len, cf_future *f) {
    cf::core::FutureState *s = future_of(f);
    if (!s) return bad_handle("cf_task_run_named", "future", f);
    if (!task) return null_argument("cf_task_run_named", "task");
    if (!arg && arg_len) return null_argument("cf_task_run_named", "arg (with a non-zero length)");
    if (s->state() != cf::core::State::Pending)
        return fail(CF_E_INVALID_STATE, "cf_task_run_named: the future is not pending");
    return guarded([&]() -> int {
        auto registered = cf::core::find_task(std::string_view(task));
        if (!registered) {
            s->set_failure(cf::core::make_failure(cf::core::Status::UnknownTask, "UnknownTaskError",
                                                  std::string("no task is registered as '") + task + "'"));
            return CF_OK;
        }
        if (!s->try_start()) return fail(CF_E_INVALID_STATE, "cf_task_run_named: the future is not pending");
        std::string_view a(static_cast<const char *>(arg), arg ? arg_len : 0);
        cf::core::complete_with(*s, cf::core::run_task_call(registered->call, s, a));
        return CF_OK;
    });
}

CF_API int cf_chunk_results_pack(const cf_slice *results, size_t n, void *out, size_t capacity, size_t *out_len) {
    if (!out_len) return null_argument("cf_chunk_results_pack", "out_len");
    if (n && !results) return null_argument("cf_chunk_results_pack", "results (with n > 0)");
    return guarded([&]() -> int {
        std::vector<std::string_view> items;
        items.reserve(n);
        for (size_t i = 0; i < n; ++i)
            items.emplace_back(static_cast<const char *>(results[i].data), results[i].data ? results[i].len : 0);
        std::string packed = cf::core::pack_chunk(items);
        *out_len = packed.size();
        if (!out) return CF_OK;
        if (capacity < packed.size())
            return fail(CF_E_TOO_LARGE, "cf_chunk_results_pack: " + std::to_string(packed.size()) +
                                            " bytes do not fit a capacity of " + std::to_string(capacity));
        std::memcpy(out, packed.data(), packed.size());
        return CF_OK;
    });
}

}  // extern "C"
