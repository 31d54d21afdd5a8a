/*  test_dir.h: a test's temporary directory: test_dir_make makes a new empty
    one under /tmp, test_remove_dir removes it and all below it (an LMDB
    environment's data.mdb and lock.mdb, files a test wrote).
    Header-only, for the unit tests; test_dir_make asserts, so include it
    after cmocka.h. */
#ifndef LEDGER_TEST_DIR_H
#define LEDGER_TEST_DIR_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TEST_DIR_BYTES 64

/* Makes the new directory "/tmp/<name>.XXXXXX" and writes its path into dir. */
static inline void test_dir_make(char dir[TEST_DIR_BYTES], const char *name)
{
    int n = snprintf(dir, TEST_DIR_BYTES, "/tmp/%s.XXXXXX", name);
    assert_true(n > 0 && n < TEST_DIR_BYTES);
    assert_non_null(mkdtemp(dir));
}

/* Removes dir and everything below it (links themselves, not what they point to). */
static inline void test_remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char path[1024];
            struct stat st;
            if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
                continue;
            if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
                test_remove_dir(path);
            else
                unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

#endif
