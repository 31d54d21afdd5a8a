/*  test_main.h: the main() of a cmocka unit test file, which runs the file's
    tests as one group with no group setup or teardown:

        TEST_MAIN(cmocka_unit_test(test_a), cmocka_unit_test(test_b))

    Header-only; include after cmocka.h. A file that needs more in its main
    (a log level, group setup) writes its own. */
#ifndef LEDGER_TEST_MAIN_H
#define LEDGER_TEST_MAIN_H

#define TEST_MAIN(...)                                                                             \
    int main(void)                                                                                 \
    {                                                                                              \
        const struct CMUnitTest tests[] = {__VA_ARGS__};                                           \
        return cmocka_run_group_tests(tests, NULL, NULL);                                          \
    }

#endif
