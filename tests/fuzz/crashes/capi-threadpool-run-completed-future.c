/* Finding 5 (tests/fuzz/README.md). A future of a thread pool completed by the caller while queued: the pool thread's set_running_or_notify_cancel
 * throws InvalidStateError out of worker_main -> std::terminate. */
#include <cfutures/cfutures.h>
#include <unistd.h>
static int slow(cf_task_ctx *c, const void *a, size_t n, void *u) { (void)c; (void)a; (void)n; (void)u; usleep(100000); return 0; }
static int task(cf_task_ctx *c, const void *a, size_t n, void *u) { (void)c; (void)a; (void)n; (void)u; return 0; }
int main(void) {
    cf_thread_pool_options o; cf_thread_pool_options_init(&o); o.max_workers = 1;
    cf_executor *ex; cf_future *busy, *f;
    cf_thread_pool_new(&o, &ex);
    cf_submit(ex, slow, NULL, NULL, 0, &busy);   /* occupies the only thread */
    cf_submit(ex, task, NULL, NULL, 0, &f);      /* queued */
    cf_future_set_result(f, "x", 1);             /* CF_OK: the caller completes the queued future */
    cf_executor_free(ex);                        /* the thread takes f: terminate */
    cf_future_release(f); cf_future_release(busy);
    return 0;
}
