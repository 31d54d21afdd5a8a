/*  test_dir.h: removes a test's temporary directory (one level: the files in
    it, e.g. an LMDB environment's data.mdb and lock.mdb, then the directory).
    Header-only, for the unit tests. */
#ifndef LEDGER_TEST_DIR_H
#define LEDGER_TEST_DIR_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static inline void test_remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char path[1024];
            if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path)
                unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

#endif
