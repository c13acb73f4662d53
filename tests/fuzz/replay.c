/* SPDX-License-Identifier: MIT */
/* Runs a fuzz target over corpus files without libFuzzer, printing TAP (one
 * line per file). */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int n_tests;
static int n_failed;

/* Reads all of |path| into a heap block of exactly its size, so the
 * sanitizers see an over-read just as they would under libFuzzer. */
static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0;

	if (f == NULL)
		return NULL;
	for (;;) {
		size_t got;

		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			uint8_t *nb = realloc(buf, ncap);

			if (nb == NULL)
				goto fail;
			buf = nb;
			cap = ncap;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
		goto fail;
	fclose(f);
	/* Shrink to the exact size (malloc(0) may return NULL). */
	{
		uint8_t *exact = malloc(n ? n : 1);

		if (exact == NULL) {
			free(buf);
			return NULL;
		}
		if (n > 0)
			memcpy(exact, buf, n);
		free(buf);
		*len = n;
		return exact;
	}
fail:
	free(buf);
	fclose(f);
	return NULL;
}

static void
run_file(const char *path)
{
	size_t len = 0;
	uint8_t *data = slurp(path, &len);

	n_tests++;
	if (data == NULL) {
		n_failed++;
		printf("not ok %d - %s: %s\n", n_tests, path, strerror(errno));
		return;
	}
	/* An invariant violation aborts the process: TAP then has fewer
	 * lines than the plan would, and meson reports the test failed. */
	fflush(stdout);
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	printf("ok %d - %s (%zu bytes)\n", n_tests, path, len);
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every regular file directly in |dir|, in name order (reproducible). */
static void
run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;

	if (d == NULL) {
		n_tests++;
		n_failed++;
		printf("not ok %d - %s: %s\n", n_tests, dir, strerror(errno));
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **nn = realloc(names,
			    (cap ? cap * 2 : 64) * sizeof(*names));

			if (nn == NULL)
				abort();
			names = nn;
			cap = cap ? cap * 2 : 64;
		}
		names[n] = strdup(e->d_name);
		if (names[n] == NULL)
			abort();
		n++;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		size_t plen = strlen(dir) + strlen(names[i]) + 2;
		char *path = malloc(plen);
		struct stat st;

		if (path == NULL)
			abort();
		snprintf(path, plen, "%s/%s", dir, names[i]);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			run_file(path);
		free(path);
		free(names[i]);
	}
	free(names);
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s corpus-dir-or-file...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			run_dir(argv[i]);
		} else {
			run_file(argv[i]);
		}
	}
	printf("1..%d\n", n_tests);
	return n_failed ? 1 : 0;
}
