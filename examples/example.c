/* SPDX-License-Identifier: MIT */
/* The README's C example: submit, result, failure, and map on a thread pool. */
#include <cfutures/cfutures.h>
#include <stdio.h>
#include <string.h>

/* A task: the argument is a string; the result is the same string in upper case. */
static int shout(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)user_data;
    if (len == 0) return cf_task_raise(ctx, "ValueError", "nothing to shout");
    char *out = cf_task_return_buffer(ctx, len);   /* write the result in place */
    if (!out) return CF_E_NO_MEMORY;
    for (size_t i = 0; i < len; ++i) {
        char c = ((const char *)arg)[i];
        out[i] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
    }
    return CF_OK;
}

int main(void) {
    cf_executor *pool;
    cf_thread_pool_options opts;
    cf_thread_pool_options_init(&opts);
    opts.max_workers = 4;
    if (cf_thread_pool_new(&opts, &pool) != CF_OK) {
        fprintf(stderr, "pool: %s\n", cf_last_error());
        return 1;
    }

    cf_future *f;
    cf_slice result;
    cf_submit(pool, shout, NULL, "hello", 5, &f);
    if (cf_future_result(f, CF_FOREVER, &result) == CF_OK)
        printf("%.*s\n", (int)result.len, (const char *)result.data);            /* HELLO */
    cf_future_release(f);

    cf_error err;
    cf_submit(pool, shout, NULL, NULL, 0, &f);
    if (cf_future_result(f, 1.0, &result) == CF_E_TASK_FAILED && cf_future_exception(f, 0, &err) == CF_OK)
        printf("failed: %s: %s\n", err.type, err.message);                      /* ValueError: nothing to shout */
    cf_future_release(f);

    cf_slice words[3] = {{"map", 3}, {"in", 2}, {"order", 5}};
    cf_map_iter *it;
    if (cf_map(pool, shout, NULL, words, 3, NULL, &it) == CF_OK) {
        int rc;
        while ((rc = cf_map_next(it, &result)) == CF_OK) printf("%.*s ", (int)result.len, (const char *)result.data);
        printf("\n");                                                           /* MAP IN ORDER */
        cf_map_free(it);
    }
    cf_executor_free(pool);   /* shuts down and waits, like leaving a `with` block */
    return 0;
}
