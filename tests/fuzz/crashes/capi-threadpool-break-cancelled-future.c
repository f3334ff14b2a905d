/* Finding 1 (tests/fuzz/README.md): a failing thread-pool initializer with a cancelled queued future. */
#include <cfutures/cfutures.h>
#include <stdio.h>
#include <unistd.h>
static int init_fails(cf_task_ctx *ctx, const void *a, size_t n, void *u) { (void)a; (void)n; (void)u; usleep(100000); return cf_task_raise(ctx, "InitError", "no"); }
static int task(cf_task_ctx *ctx, const void *a, size_t n, void *u) { (void)ctx; (void)a; (void)n; (void)u; return 0; }
int main(void) {
    cf_thread_pool_options o; cf_thread_pool_options_init(&o);
    o.max_workers = 1; o.initializer = init_fails;
    cf_executor *ex; cf_future *f;
    if (cf_thread_pool_new(&o, &ex) != CF_OK) return 1;
    cf_submit(ex, task, NULL, NULL, 0, &f);           /* queued: the only thread is still in its initializer */
    printf("cancel: %d\n", cf_future_cancel(f));       /* 1: cancelled while pending */
    cf_executor_free(ex);                              /* the initializer fails -> break_pool -> terminate */
    cf_future_release(f);
    printf("not reached before the fix\n");
    return 0;
}
