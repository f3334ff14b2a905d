// SPDX-License-Identifier: MIT
// Soak with faults: many small tasks through a 2-worker process pool while a chaos thread kills a random worker
// with SIGKILL every ~50 ms. As a user would, each time the pool breaks the program drops it and makes a new one
// (one pool per "burst"), until every task has been submitted.
//
// With --replace the pool replaces dead workers (on_worker_death Replace, a restart intensity it never reaches)
// and must never break: one pool for the whole run, and every future ends with its result or with
// WorkerDiedError naming a worker the chaos thread killed.
//
// Checked: every future ends, either with its right result or with BrokenProcessPool naming a worker the chaos
// thread killed; no future waits past a generous deadline (a hang); at the end no child process is left (no
// zombie), and open descriptors and /dev/shm entries are back at their starting counts. Resident memory at the
// start and at the end is printed, and must not grow by more than 32 MiB (not checked under sanitizers, whose
// allocators keep freed memory in quarantine).
//
//   soak_chaos [--tasks N] [--start fork|forkserver|spawn] [--kill-every-ms M] [--replace]
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <cfutures/cfutures.h>
#include <cfutures/cfutures.hpp>

#include "process_probe.hpp"

namespace {

// Returns its 8-byte argument followed by this worker's pid, so the parent can check both.
int echo_with_pid(cf_task_ctx *ctx, const void *arg, size_t len, void *) {
    if (len != sizeof(std::uint64_t)) return cf_task_raise(ctx, "ValueError", "echo_with_pid wants 8 bytes");
    unsigned char out[sizeof(std::uint64_t) + sizeof(std::int32_t)];
    std::int32_t pid = static_cast<std::int32_t>(getpid());
    std::memcpy(out, arg, sizeof(std::uint64_t));
    std::memcpy(out + sizeof(std::uint64_t), &pid, sizeof pid);
    return cf_task_return(ctx, out, sizeof out);
}
CF_TASK("stress.echo_with_pid", echo_with_pid);

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

struct Settings {
    std::uint64_t tasks = 200000;
    cf::StartMethod start = cf::StartMethod::Fork;
    std::string start_name = "fork";
    int kill_every_ms = 50;
    bool replace = false;
};

Settings parse(int argc, char **argv) {
    Settings s;
    for (int i = 1; i < argc; i += 2) {
        std::string key = argv[i];
        if (key == "--replace") {
            s.replace = true;
            --i;
            continue;
        }
        if (i + 1 >= argc) throw std::invalid_argument("option " + key + " wants a value");
        std::string value = argv[i + 1];
        if (key == "--tasks") {
            s.tasks = std::stoull(value);
        } else if (key == "--kill-every-ms") {
            s.kill_every_ms = std::stoi(value);
        } else if (key == "--start") {
            s.start_name = value;
            if (value == "fork") s.start = cf::StartMethod::Fork;
            else if (value == "forkserver") s.start = cf::StartMethod::Forkserver;
            else if (value == "spawn") s.start = cf::StartMethod::Spawn;
            else throw std::invalid_argument("unknown start method " + value);
        } else {
            throw std::invalid_argument("unknown option " + key);
        }
    }
    return s;
}

// Kills a random live worker of the current pool every period, and remembers whom it killed.
class Chaos {
public:
    explicit Chaos(std::chrono::milliseconds period) : period_(period), thread_([this] { run(); }) {}
    ~Chaos() {
        {
            std::lock_guard<std::mutex> lock(mu_);
            stop_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }
    void set_pool(cf::ProcessPoolExecutor *pool) {
        std::lock_guard<std::mutex> lock(mu_);
        pool_ = pool;
    }
    bool was_killed(pid_t pid) const {
        std::lock_guard<std::mutex> lock(mu_);
        return killed_.count(pid) != 0;
    }
    std::size_t kills() const {
        std::lock_guard<std::mutex> lock(mu_);
        return killed_.size();
    }

private:
    void run() {
        std::mt19937 rng(12345);
        std::unique_lock<std::mutex> lock(mu_);
        while (!cv_.wait_for(lock, period_, [this] { return stop_; })) {
            if (!pool_) continue;
            std::vector<int> pids = pool_->worker_pids();
            if (pids.empty()) continue;
            pid_t victim = pids[std::uniform_int_distribution<std::size_t>(0, pids.size() - 1)(rng)];
            killed_.insert(victim);  // before the kill: the parent may report the death at once
            kill(victim, SIGKILL);
        }
    }

    std::chrono::milliseconds period_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;
    cf::ProcessPoolExecutor *pool_ = nullptr;
    std::set<pid_t> killed_;
    std::thread thread_;
};

struct Tally {
    std::uint64_t submitted = 0, ok = 0, broken = 0, died = 0, refused = 0, wrong = 0, hangs = 0, bursts = 0;
};

// The pid named in "worker <pid> terminated by signal 9 (SIGKILL)", or -1.
pid_t named_pid(const std::string &message) {
    static const std::regex worker_pid("worker ([0-9]+) ");
    std::smatch m;
    return std::regex_search(message, m, worker_pid) ? static_cast<pid_t>(std::stol(m[1])) : -1;
}

// Checks one finished (or hung) future; returns false when it broke the pool.
bool settle(cf::FutureBase &f, std::uint64_t index, const Chaos &chaos, Tally &t) {
    constexpr double kHangSeconds = 60;
    if (!f.wait(kHangSeconds)) {
        ++t.hangs;
        std::fprintf(stderr, "task %llu: no end after %.0f s\n", static_cast<unsigned long long>(index), kHangSeconds);
        return false;
    }
    cf::ErrorInfo e = f.error(0);
    if (e.status == cf::Status::Ok) {
        std::string_view r = f.bytes(0);
        std::uint64_t echoed = 0;
        if (r.size() == 12) std::memcpy(&echoed, r.data(), sizeof echoed);
        if (r.size() == 12 && echoed == index) {
            ++t.ok;
        } else {
            ++t.wrong;
            std::fprintf(stderr, "task %llu: wrong result (%zu bytes)\n", static_cast<unsigned long long>(index),
                         r.size());
        }
        return true;
    }
    pid_t pid = named_pid(e.message);
    if (e.status == cf::Status::WorkerDied && pid > 0 && chaos.was_killed(pid)) {
        ++t.died;  // its worker was replaced: the pool goes on
        return true;
    }
    if (e.status == cf::Status::BrokenProcessPool && pid > 0 && chaos.was_killed(pid)) {
        ++t.broken;
    } else {
        ++t.wrong;
        std::fprintf(stderr, "task %llu: unexpected failure %d: %s\n", static_cast<unsigned long long>(index),
                     static_cast<int>(e.status), e.message.c_str());
    }
    return false;
}

// One pool's life: submits in batches until the pool breaks or all tasks are out.
void burst(const Settings &s, Chaos &chaos, Tally &t) {
    cf::ProcessPoolExecutor::Options o;
    o.max_workers = 2;
    o.start_method = s.start;
    o.shared_memory_bytes = 8 << 20;
    if (s.replace) {
        o.on_worker_death = cf::WorkerDeath::Replace;
        o.max_restarts = std::size_t(1) << 40;  // never reached: the pool must survive every kill
    }
    cf::ProcessPoolExecutor pool(o);
    chaos.set_pool(&pool);
    struct Unpublish {
        Chaos &chaos;
        ~Unpublish() { chaos.set_pool(nullptr); }  // before the pool goes, however this returns
    } unpublish{chaos};
    ++t.bursts;
    constexpr std::size_t kBatch = 256;
    bool healthy = true;
    while (healthy && t.submitted < s.tasks) {
        std::vector<std::pair<std::uint64_t, cf::FutureBase>> batch;
        for (std::size_t i = 0; i < kBatch && t.submitted < s.tasks; ++i) {
            std::uint64_t index = t.submitted;
            try {
                batch.emplace_back(index, pool.submit_named("stress.echo_with_pid",
                                                            std::string_view(reinterpret_cast<const char *>(&index),
                                                                             sizeof index)));
                ++t.submitted;
            } catch (const cf::BrokenProcessPool &) {
                ++t.refused;  // not counted as submitted: the next pool takes it
                healthy = false;
                break;
            }
        }
        for (auto &[index, f] : batch) healthy = settle(f, index, chaos, t) && healthy;
    }
}

}  // namespace

int main(int argc, char **argv) {
    cf::process_worker_entry();
    Settings s = parse(argc, argv);
    namespace probe = cf_stress;

    std::size_t fds_before = probe::open_fds();
    std::size_t shm_before = probe::shm_entries().size();
    long rss_before = 0;
    Tally t;
    std::size_t kills = 0;
    auto started = std::chrono::steady_clock::now();
    {
        Chaos chaos(std::chrono::milliseconds(s.kill_every_ms));
        while (t.submitted < s.tasks && t.hangs == 0) {
            burst(s, chaos, t);
            if (t.bursts == 1) rss_before = probe::resident_kib();  // after the first pool: warmed up
        }
        kills = chaos.kills();
        std::printf("kills: %zu\n", kills);
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    // The forkserver outlives its pools by design (one per program); it is the only child that may remain.
    std::size_t zombies = 0, others = 0;
    for (const probe::Child &c : probe::children()) {
        if (c.state == 'Z') ++zombies;
        else ++others;
    }
    std::size_t allowed_children = s.start == cf::StartMethod::Forkserver ? 1 : 0;
    // ... and its control socket and the write end of its death pipe are the descriptors it keeps.
    std::size_t fds_after = probe::open_fds();
    std::size_t allowed_fds = fds_before + 2 * allowed_children;
    std::size_t shm_after = probe::shm_entries().size();
    long rss_after = probe::resident_kib();

    std::printf("soak (%s%s): %llu tasks in %.1f s over %llu pools; %llu results, %llu BrokenProcessPool, %llu "
                "WorkerDied, %llu submits refused by a broken pool, %llu wrong, %llu hangs\n",
                s.start_name.c_str(), s.replace ? ", replace" : "", static_cast<unsigned long long>(t.submitted),
                seconds, static_cast<unsigned long long>(t.bursts), static_cast<unsigned long long>(t.ok),
                static_cast<unsigned long long>(t.broken), static_cast<unsigned long long>(t.died),
                static_cast<unsigned long long>(t.refused),
                static_cast<unsigned long long>(t.wrong), static_cast<unsigned long long>(t.hangs));
    std::printf("children left: %zu zombies, %zu others (allowed %zu); fds %zu -> %zu; /dev/shm %zu -> %zu; "
                "RSS %ld KiB -> %ld KiB\n",
                zombies, others, allowed_children, fds_before, fds_after, shm_before, shm_after, rss_before,
                rss_after);

    int failures = 0;
    auto expect = [&](bool ok, const char *what) {
        if (!ok) {
            std::fprintf(stderr, "FAILED: %s\n", what);
            ++failures;
        }
    };
    expect(t.hangs == 0, "no future hangs");
    expect(t.wrong == 0, "every future ends with its result or an error naming a killed worker");
    expect(t.ok + t.broken + t.died == t.submitted, "every submitted future ended");
    expect(t.submitted == s.tasks, "every task was submitted");
    if (s.replace) {
        expect(t.bursts == 1 && t.broken == 0 && t.refused == 0, "the pool never broke");
        expect(kills > 0, "the chaos thread killed workers");
    } else {
        expect(t.broken > 0 && t.bursts > 1, "the chaos thread broke pools");
    }
    expect(zombies == 0, "no zombie children");
    expect(others <= allowed_children, "no worker outlives its pool");
    expect(fds_after <= allowed_fds, "descriptors back at their starting count");
    if (fds_after > allowed_fds) std::fprintf(stderr, "open descriptors:\n%s", probe::describe_fds().c_str());
    expect(shm_after == shm_before, "/dev/shm entries back at their starting count");
    if (!kSanitized) expect(rss_after - rss_before < 32 * 1024, "resident memory stays flat (under 32 MiB growth)");
    return failures ? 1 : 0;
}
